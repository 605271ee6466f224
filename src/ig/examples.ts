import type { Bundle, Encounter, Resource, Subscription, Task } from '@medplum/fhirtypes';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE } from '../fhir/constants';
import { parseSubscription } from '../subscriptions/subscription-model';
import { buildNotification } from '../subscriptions/notification';
import { EXT } from '../subscriptions/topics';

export interface Example {
  id: string;
  title: string;
  /** What the example shows and who sends it. */
  description: string;
  resource: Resource;
  /** The profile it must validate against (else its meta.profile / the R4 base). */
  profile?: string;
}

const BASE = 'https://gateway.example.se/fhir';
const HOSPITAL = { identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: 'SE2321000172-DEMO0001' } };

const encounter: Encounter = {
  resourceType: 'Encounter',
  id: 'example-stay',
  meta: { profile: [PROFILE.encounter] },
  identifier: [{ system: 'urn:oid:1.2.752.129.2.1.2.1', value: 'VS-2026-0001' }],
  status: 'in-progress',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
  subject: { reference: 'Patient/example-patient' },
  period: { start: '2026-01-15T10:30:00+01:00' },
  serviceProvider: HOSPITAL,
  extension: [
    { url: EXTENSION.estimatedDischargeDate, valueDate: '2026-01-22' },
    { url: EXTENSION.needs, valueCoding: { system: CODE_SYSTEM.needs, code: 'socialtjanst' } },
    { url: EXTENSION.needs, valueCoding: { system: CODE_SYSTEM.needs, code: 'kommunal-hsl' } },
    { url: EXTENSION.sipNeeded, valueBoolean: true },
    { url: EXTENSION.consent, valueCode: 'ja' },
  ],
};

const ready: Encounter = {
  ...encounter,
  id: 'example-stay-ready',
  extension: [
    ...(encounter.extension ?? []),
    { url: EXTENSION.readyForDischarge, valueDateTime: '2026-01-20T09:00:00+01:00' },
  ],
};

const admissionTask: Task = {
  resourceType: 'Task',
  id: 'example-admission-notice',
  meta: { profile: [PROFILE.task] },
  identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: 'example-stay|inskrivningsmeddelande@municipality:1980' }],
  status: 'requested',
  intent: 'order',
  code: { coding: [{ system: CODE_SYSTEM.task, code: 'inskrivningsmeddelande', display: 'Inskrivningsmeddelande' }] },
  description: 'Inskrivningsmeddelande med beräknad tidpunkt för utskrivning: 2026-01-22',
  for: { reference: 'Patient/example-patient' },
  encounter: { reference: 'Encounter/example-stay' },
  focus: { reference: 'Encounter/example-stay' },
  requester: { reference: 'Organization/vastmanlands-sjukhus-vasteras', display: 'Västmanlands sjukhus Västerås' },
  owner: { reference: 'Organization/kommun-1980', display: 'Västerås stad' },
  authoredOn: '2026-01-15T10:35:00+01:00',
  restriction: { period: { end: '2026-01-16T10:30:00+01:00' } },
};

const { restriction: _noDeadline, ...withoutDeadline } = admissionTask;
void _noDeadline;
const makulering: Task = {
  ...withoutDeadline,
  id: 'example-makulering',
  identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: 'example-stay|makulering@municipality:1980' }],
  code: { coding: [{ system: CODE_SYSTEM.task, code: 'makulering', display: 'Makulering' }] },
  description: 'Inskrivningen är makulerad: allt som skickats för vårdtillfället återkallas',
  focus: { reference: 'Task/example-admission-notice' },
};

const subscription: Subscription = {
  resourceType: 'Subscription',
  id: 'example-subscription',
  meta: { profile: [PROFILE.subscription, EXT.subscriptionProfile] },
  status: 'requested',
  reason: 'Västerås stad: Tasks owned by the municipality',
  criteria: 'https://svu-gateway.dev/fhir/SubscriptionTopic/task-for-my-organisation',
  extension: [{ url: EXTENSION.subscriptionSecret, valueString: 'a-long-random-secret-known-only-to-both' }],
  channel: {
    type: 'rest-hook',
    endpoint: 'https://integration.vasteras.example.se/svu/notify',
    payload: 'application/fhir+json',
    extension: [{ url: EXT.heartbeatPeriod, valueUnsignedInt: 60 }],
  },
};

/** A notification as the gateway's own delivery builds it (the same function), for the subscription above. */
function notification(shape: 'history' | 'message'): Bundle {
  const spec = {
    ...parseSubscription(subscription, 'https://svu-gateway.dev/fhir'),
    payload: 'full-resource' as const,
    shape,
  };
  const b = buildNotification({
    spec,
    fhirBase: BASE,
    type: 'event-notification',
    status: 'active',
    eventsSinceStart: 42,
    events: [
      {
        eventNumber: 42,
        timestamp: '2026-01-15T10:35:02+01:00',
        focusType: 'Task',
        focusId: 'example-admission-notice',
        action: 'create',
        resource: admissionTask,
      },
    ],
    now: new Date('2026-01-15T09:35:03Z'),
  });
  return { ...b, id: `example-notification-${shape}` };
}

export function examples(): Example[] {
  return [
    {
      id: 'encounter-admission',
      title: 'Encounter at admission (SvuEncounter)',
      description:
        'The hospital sends the stay with the estimated discharge date, needs after discharge, SIP needed and consent. PUT /fhir/Encounter or a transaction Bundle.',
      resource: encounter,
    },
    {
      id: 'encounter-ready',
      title: 'Encounter when ready for discharge (SvuEncounter)',
      description:
        'The same stay, a later version: ready-for-discharge time set. The gateway derives the ready notice.',
      resource: ready,
    },
    {
      id: 'task-admission-notice',
      title: 'Admission notice to the municipality (SvuTask)',
      description:
        'Owned by the receiver that must act; restriction.period.end is the deadline from the agreement. The receiver acknowledges by setting status = received.',
      resource: admissionTask,
    },
    {
      id: 'task-makulering',
      title: 'Cancellation (makulering) of a notice sent in error (SvuTask)',
      description: 'focus names the Task it cancels; the cancelled Task itself turns cancelled.',
      resource: makulering,
    },
    {
      id: 'subscription',
      title: 'Topic-based Subscription of a municipality (SvuSubscription)',
      description:
        'Created by the municipality with POST /fhir/Subscription. The secret extension is write-only: the gateway signs each notification with it and never returns it.',
      resource: subscription,
    },
    {
      id: 'notification-history',
      title: 'Event notification (history Bundle, Subscriptions Backport IG)',
      description: 'POSTed to channel.endpoint with X-Event-Id, X-Signature-Timestamp and X-Signature headers.',
      resource: notification('history'),
    },
    {
      id: 'notification-message',
      title: 'Event notification in the FHIR messaging shape (message Bundle)',
      description: 'With the notification-shape extension = message: POSTed to <endpoint>/$process-message.',
      resource: notification('message'),
    },
  ];
}
