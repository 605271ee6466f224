import type { Extension, Subscription } from '@medplum/fhirtypes';
import { getSearchParameter, parseSearchRequest, type SearchRequest } from '@medplum/core';
import { GatewayError } from '../platform/errors';
import { EXT, findTopic, type TopicDefinition } from './topics';
import { ensureSearchIndex } from './search-index';

export const SECRET_EXTENSION = 'https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret';
/** `message` asks for FHIR messaging (`Bundle.type = message`, POSTed to `<endpoint>/$process-message`). */
export const SHAPE_EXTENSION = 'https://svu-gateway.dev/fhir/StructureDefinition/notification-shape';

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** What the gateway needs from a Subscription resource, parsed and checked once. */
export interface SubscriptionSpec {
  id: string;
  status: Subscription['status'];
  /** The topic canonical for topic-based subscriptions. */
  topic?: string;
  topicDef?: TopicDefinition;
  resourceType: string;
  /** Query string of the filter (criteria form: the criteria's query; topic form: the filter criteria). */
  filter: string;
  endpoint: string;
  headers: Record<string, string>;
  payload: PayloadContent;
  shape: 'history' | 'message';
  heartbeatSeconds?: number;
  timeoutMs?: number;
  secret?: string;
}

/** R4 primitive-element extensions (`_criteria`, `_payload`), which @medplum/fhirtypes does not model. */
interface PrimitiveExt {
  extension?: Extension[];
}
type SubscriptionR4 = Subscription & {
  _criteria?: PrimitiveExt;
  channel: Subscription['channel'] & { _payload?: PrimitiveExt };
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

const ext = (list: Extension[] | undefined, url: string): Extension | undefined => list?.find((e) => e.url === url);

/**
 * A new or changed `channel.payload` must be one the gateway sends: notifications are FHIR JSON, and a subscriber
 * asking for XML would get what it cannot read. Checked on writes only, so a Subscription stored before keeps its
 * deliveries.
 */
export function assertPayloadSpoken(sub: Subscription): void {
  const payload = sub.channel?.payload;
  const mime = payload?.split(';')[0]?.trim().toLowerCase();
  if (mime === undefined || mime === 'application/fhir+json' || mime === 'application/json') return;
  const message = `channel.payload '${payload}' is not sent here: notifications are FHIR JSON (application/fhir+json)`;
  throw new GatewayError('invalid-resource', message, [{ path: 'Subscription.channel.payload', message }]);
}

/** Parses a Subscription; throws GatewayError('invalid-resource') saying what to fix. */
export function parseSubscription(resource: Subscription, canonicalBase: string): SubscriptionSpec {
  const sub = resource as SubscriptionR4;
  const bad = (message: string, path: string): never => {
    throw new GatewayError('invalid-resource', message, [{ path, message }]);
  };
  if (sub.channel?.type !== 'rest-hook') bad('Only channel.type = rest-hook is supported', 'Subscription.channel.type');
  const endpoint = sub.channel.endpoint ?? '';
  if (!/^https?:\/\/[^\s]+$/.test(endpoint))
    bad('channel.endpoint must be an http(s) URL', 'Subscription.channel.endpoint');
  const criteria = sub.criteria ?? '';
  let topicDef: TopicDefinition | undefined;
  let resourceType: string;
  let filter = '';
  let payload: PayloadContent;
  const topicCandidate = /^https?:\/\//.test(criteria);
  if (topicCandidate) {
    topicDef = findTopic(criteria, canonicalBase);
    if (!topicDef) bad(`Unknown subscription topic ${criteria}`, 'Subscription.criteria');
    resourceType = topicDef!.resourceType;
    const fc = ext(sub._criteria?.extension, EXT.filterCriteria)?.valueString;
    if (fc) {
      const [type, q = ''] = fc.includes('?') ? fc.split('?', 2) : [resourceType, fc];
      if (type && type !== resourceType) bad(`Filter criteria must be on ${resourceType}`, 'Subscription.criteria');
      filter = q;
    }
    const pc = ext(sub.channel._payload?.extension, EXT.payloadContent)?.valueCode;
    if (pc && pc !== 'empty' && pc !== 'id-only' && pc !== 'full-resource') {
      bad('payload content must be empty, id-only or full-resource', 'Subscription.channel.payload');
    }
    payload = (pc as PayloadContent | undefined) ?? (sub.channel.payload ? 'id-only' : 'empty');
  } else {
    const m = /^([A-Z][A-Za-z]+)(?:\?(.*))?$/.exec(criteria);
    if (!m)
      bad(
        'criteria must be a search such as Task?owner=Organization/<id>, or a topic canonical',
        'Subscription.criteria',
      );
    resourceType = m![1]!;
    filter = m![2] ?? '';
    const pc = ext(sub.channel._payload?.extension, EXT.payloadContent)?.valueCode as PayloadContent | undefined;
    payload = pc ?? (sub.channel.payload ? 'full-resource' : 'empty');
  }
  try {
    toSearchRequest(resourceType, filter);
  } catch (err) {
    bad(`criteria is not a valid search: ${(err as Error).message}`, 'Subscription.criteria');
  }
  const headers: Record<string, string> = {};
  for (const h of sub.channel.header ?? []) {
    const i = h.indexOf(':');
    const name = h.slice(0, i).trim();
    const value = h.slice(i + 1).trim();
    // an HTTP header: a token as its name, no line break or control character in its value (it could not be sent)
    if (i <= 0 || !HEADER_NAME.test(name) || CONTROL.test(value))
      bad(
        `channel.header "${JSON.stringify(h).slice(1, -1)}" must be "Name: value" on one line`,
        'Subscription.channel.header',
      );
    headers[name] = value;
  }
  const hb = ext(sub.channel.extension, EXT.heartbeatPeriod)?.valueUnsignedInt;
  const to = ext(sub.channel.extension, EXT.timeout)?.valueUnsignedInt;
  const shape = ext(sub.channel.extension, SHAPE_EXTENSION)?.valueCode === 'message' ? 'message' : 'history';
  return {
    id: sub.id ?? '',
    status: sub.status,
    topic: topicDef ? criteria.split('|')[0] : undefined,
    topicDef,
    resourceType,
    filter,
    endpoint,
    headers,
    payload,
    shape,
    heartbeatSeconds: hb && hb > 0 ? hb : undefined,
    timeoutMs: to && to > 0 ? to * 1000 : undefined,
    secret: ext(sub.extension, SECRET_EXTENSION)?.valueString,
  };
}

/**
 * Refuses criteria the notification matcher cannot evaluate: a parameter it does not know (a typo, a chain such as
 * `patient.identifier`) would make the criteria match nothing, and the Subscription would stay silent forever.
 * Checked when a Subscription is created or its criteria change (those stored before keep loading).
 */
export function assertMatchable(spec: SubscriptionSpec): void {
  const message = matchProblem(spec);
  if (message) throw new GatewayError('invalid-resource', message, [{ path: 'Subscription.criteria', message }]);
}

/** Why `spec`'s criteria can never match a notification (see `assertMatchable`), or undefined. */
export function matchProblem(spec: SubscriptionSpec): string | undefined {
  for (const f of toSearchRequest(spec.resourceType, spec.filter).filters ?? []) {
    if (getSearchParameter(spec.resourceType, f.code)) continue;
    return f.code.includes('.')
      ? `criteria: a chained parameter ('${f.code}') cannot be matched on notifications; subscribe without it (e.g. Task?owner=Organization/<id>) and filter the notified resources, or search with it`
      : `criteria: '${f.code}' is not a search parameter of ${spec.resourceType} the gateway matches notifications on (see GET /fhir/metadata)`;
  }
  return undefined;
}

/** Why a stored Subscription receives nothing: it cannot be parsed, or its criteria can never match; or undefined. */
export function storedSubscriptionProblem(resource: Subscription, canonicalBase: string): string | undefined {
  let spec: SubscriptionSpec;
  try {
    spec = parseSubscription(resource, canonicalBase);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return matchProblem(spec);
}

const cache = new Map<string, SearchRequest>();

/** The search request a spec's filter means (cached; parse once per filter string). */
export function toSearchRequest(resourceType: string, filter: string): SearchRequest {
  const key = `${resourceType}?${filter}`;
  let sr = cache.get(key);
  if (!sr) {
    ensureSearchIndex();
    sr = parseSearchRequest(key);
    if (cache.size > 5000) cache.clear();
    cache.set(key, sr);
  }
  return sr;
}

/** The resource without the secret extension (for anything a client reads). */
export function withoutSecret(sub: Subscription): Subscription {
  if (!sub.extension?.some((e) => e.url === SECRET_EXTENSION)) return sub;
  const extension = sub.extension.filter((e) => e.url !== SECRET_EXTENSION);
  return { ...sub, extension: extension.length ? extension : undefined };
}
