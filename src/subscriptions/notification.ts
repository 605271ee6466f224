import { randomUUID } from 'node:crypto';
import type {
  Bundle,
  BundleEntry,
  Coding,
  MessageHeader,
  Parameters,
  ParametersParameter,
  Resource,
} from '@medplum/fhirtypes';
import { protectIdentity } from '../fhir/protected-identity';
import { EXT } from './topics';
import type { SubscriptionSpec } from './subscription-model';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface NotificationEvent {
  eventNumber: number;
  timestamp: string;
  focusType: string;
  focusId: string;
  action?: string | null;
  /** The focus resource when the payload is full-resource and the subscriber may read it. */
  resource?: Resource;
}

export interface NotificationInput {
  spec: SubscriptionSpec;
  /** Public FHIR base of the gateway (fullUrl and references), e.g. http://localhost:8080/fhir. */
  fhirBase: string;
  type: NotificationType;
  status: string;
  eventsSinceStart: number;
  events: NotificationEvent[];
  now: Date;
}

const SVU_TASK_SYSTEM = 'https://svu-gateway.dev/fhir/CodeSystem/svu-task';

/** The SubscriptionStatus (Backport IG, R4: a Parameters resource) that opens every notification. */
export function statusParameters(input: NotificationInput): Parameters {
  const { spec, fhirBase } = input;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${fhirBase}/Subscription/${spec.id}` } },
  ];
  if (spec.topic) parameter.push({ name: 'topic', valueCanonical: spec.topic });
  parameter.push(
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceStart) },
  );
  for (const e of input.events) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(e.eventNumber) },
      { name: 'timestamp', valueInstant: e.timestamp },
    ];
    if (input.spec.payload !== 'empty') {
      part.push({ name: 'focus', valueReference: { reference: `${fhirBase}/${e.focusType}/${e.focusId}` } });
    }
    parameter.push({ name: 'notification-event', part });
  }
  return { resourceType: 'Parameters', id: randomUUID(), meta: { profile: [EXT.statusProfile] }, parameter };
}

function focusEntries(input: NotificationInput): BundleEntry[] {
  if (input.spec.payload === 'empty') return [];
  return input.events.map((e) => {
    const entry: BundleEntry = {
      fullUrl: `${input.fhirBase}/${e.focusType}/${e.focusId}`,
      request: {
        method: e.action === 'delete' ? 'DELETE' : e.action === 'create' ? 'POST' : 'PUT',
        url: `${e.focusType}/${e.focusId}`,
      },
      response: { status: e.action === 'create' ? '201' : '200' },
    };
    if (input.spec.payload === 'full-resource' && e.resource) entry.resource = protectIdentity(e.resource); // every payload, whoever subscribes (it leaves the gateway)
    return entry;
  });
}

/** A `history` Bundle whose first entry is the status Parameters (Backport IG notification shape). */
export function historyBundle(input: NotificationInput): Bundle {
  const status = statusParameters(input);
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'history',
    timestamp: input.now.toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${status.id}`,
        resource: status,
        request: { method: 'GET', url: `${input.fhirBase}/Subscription/${input.spec.id}/$status` },
        response: { status: '200' },
      },
      ...focusEntries(input),
    ],
  };
}

function eventCoding(e: NotificationEvent | undefined): Coding | undefined {
  const coding = (e?.resource as { code?: { coding?: Coding[] } } | undefined)?.code?.coding;
  return coding?.find((c) => c.system === SVU_TASK_SYSTEM);
}

/**
 * FHIR messaging alternative: a `message` Bundle (MessageHeader first, `eventCoding` from the svu-task
 * CodeSystem when the focus is a Task), then the status Parameters and the focus resources.
 */
export function messageBundle(input: NotificationInput): Bundle {
  const status = statusParameters(input);
  const first = input.events[0];
  const coding = eventCoding(first);
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: randomUUID(),
    ...(coding
      ? { eventCoding: { system: SVU_TASK_SYSTEM, code: coding.code, display: coding.display } }
      : { eventUri: input.spec.topic ?? `${input.fhirBase}/Subscription/${input.spec.id}#${input.type}` }),
    source: { endpoint: input.fhirBase, name: 'svu-gateway' },
    destination: [{ endpoint: input.spec.endpoint }],
    focus: input.events.map((e) => ({ reference: `${input.fhirBase}/${e.focusType}/${e.focusId}` })),
  };
  const entries: BundleEntry[] = [
    { fullUrl: `urn:uuid:${header.id}`, resource: header },
    { fullUrl: `urn:uuid:${status.id}`, resource: status },
  ];
  for (const e of focusEntries(input)) entries.push({ fullUrl: e.fullUrl, resource: e.resource });
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'message',
    timestamp: input.now.toISOString(),
    entry: entries,
  };
}

export function buildNotification(input: NotificationInput): Bundle {
  return input.spec.shape === 'message' ? messageBundle(input) : historyBundle(input);
}

/** Where a notification goes: the endpoint, or `<endpoint>/$process-message` for the messaging shape. */
export function targetUrl(spec: SubscriptionSpec): string {
  return spec.shape === 'message' ? `${spec.endpoint.replace(/\/$/, '')}/$process-message` : spec.endpoint;
}
