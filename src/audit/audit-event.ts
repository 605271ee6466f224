import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import { redact } from '../platform/logger';
import type { AuthContext } from '../auth/auth-context';
import { APPLICATION_AGENT, clientAgent, gatewaySource, tenantAgent } from './audit-parts';

/** What the audit middleware knows about one finished `/fhir` request. */
export interface AuditedRequest {
  method: string;
  /** Path below `/fhir`, e.g. `/Encounter/123/_history/2` (no query string). */
  path: string;
  query: Record<string, unknown>;
  status: number;
  auth?: AuthContext;
  /** Remote address of the caller. */
  ip?: string;
  requestId?: string;
  recorded: Date;
  /** `Location` header of a create (`…/Type/id/_history/v`), to name what was created. */
  location?: string;
  /** Patients the response exposed (`Patient/<id>`), one entity each for log review. */
  patients?: readonly string[];
  /** For a refusal: the elements it named (FHIRPath, no values), e.g. `Task.owner`; kept in `outcomeDesc`. */
  refused?: string;
}

/** One entity per patient a request exposed (role 1 = Patient), so a log reviewer can ask who saw whom. */
function patientEntities(patients: readonly string[] | undefined): AuditEventEntity[] {
  return (patients ?? []).map((reference) => ({
    what: { reference },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  }));
}

const SUBTYPE_SYSTEM = 'http://hl7.org/fhir/restful-interaction';
const TYPE_REST = {
  system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  code: 'rest',
  display: 'RESTful Operation',
};

/**
 * Search parameters whose values may stay in the audit text: they name codes, dates, statuses or references by
 * server id, never a person. Every other value (identifier, name, birthdate, address, phone, ...) is replaced by
 * `***`, and what remains is also scrubbed of anything that looks like a personnummer.
 */
const SAFE_PARAMS = new Set([
  '_id',
  '_count',
  '_offset',
  '_sort',
  '_lastUpdated',
  '_include',
  '_revinclude',
  '_summary',
  '_elements',
  '_total',
  '_since',
  '_at',
  '_format',
  '_type',
  '_page',
  'status',
  'code',
  'owner',
  'requester',
  'encounter',
  'subject',
  'patient',
  'focus',
  'based-on',
  'part-of',
  'date',
  'period',
  'authored-on',
  'modified',
  'business-status',
  'organization',
  'endpoint',
  'type',
  'class',
  'service-provider',
  'location',
  'category',
  'intent',
  'criteria',
  'url',
  'version',
  'partof',
  'active',
  'agent',
  'entity',
  'action',
  'outcome',
  'site',
]);
/** Resource types whose `identifier` is an organisation's (HSA-id, kommunkod), never a person's. */
const NON_PERSONAL_IDENTIFIER_TYPES = new Set([
  'Organization',
  'Endpoint',
  'Location',
  'HealthcareService',
  'Subscription',
]);

function redactQuery(resourceType: string | undefined, query: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [name, raw] of Object.entries(query)) {
    const values = Array.isArray(raw) ? raw : [raw];
    const base = name.split(':')[0] ?? name;
    const safe =
      (SAFE_PARAMS.has(base) && !name.includes('.')) ||
      (base === 'identifier' && resourceType !== undefined && NON_PERSONAL_IDENTIFIER_TYPES.has(resourceType));
    for (const v of values) {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      parts.push(`${encodeURIComponent(name)}=${safe ? encodeURIComponent(redact(text)) : '***'}`);
    }
  }
  return parts.join('&');
}

interface Interaction {
  subtype: string;
  action: NonNullable<AuditEvent['action']>;
  resourceType?: string;
  id?: string;
  versionId?: string;
  isQuery: boolean;
}

function classify(method: string, path: string): Interaction {
  const seg = path.split('/').filter(Boolean);
  const [type, second, third, fourth] = seg;
  if (seg.some((s) => s.startsWith('$'))) {
    return {
      subtype: 'operation',
      action: 'E',
      resourceType: type?.startsWith('$') ? undefined : type,
      id: second?.startsWith('$') ? undefined : second,
      isQuery: false,
    };
  }
  if (!type) {
    if (method === 'POST') return { subtype: 'transaction', action: 'E', isQuery: false };
    return { subtype: 'search-system', action: 'E', isQuery: true };
  }
  if (type === '_history') return { subtype: 'history-system', action: 'R', isQuery: true };
  if (!second || second === '_search') {
    if (method === 'POST' && !second) return { subtype: 'create', action: 'C', resourceType: type, isQuery: false };
    if (method === 'PUT' || method === 'PATCH')
      return { subtype: method === 'PUT' ? 'update' : 'patch', action: 'U', resourceType: type, isQuery: true };
    if (method === 'DELETE') return { subtype: 'delete', action: 'D', resourceType: type, isQuery: true };
    return { subtype: 'search-type', action: 'E', resourceType: type, isQuery: true };
  }
  if (second === '_history') return { subtype: 'history-type', action: 'R', resourceType: type, isQuery: true };
  if (third === '_history') {
    return fourth
      ? { subtype: 'vread', action: 'R', resourceType: type, id: second, versionId: fourth, isQuery: false }
      : { subtype: 'history-instance', action: 'R', resourceType: type, id: second, isQuery: false };
  }
  switch (method) {
    case 'PUT':
      return { subtype: 'update', action: 'U', resourceType: type, id: second, isQuery: false };
    case 'PATCH':
      return { subtype: 'patch', action: 'U', resourceType: type, id: second, isQuery: false };
    case 'DELETE':
      return { subtype: 'delete', action: 'D', resourceType: type, id: second, isQuery: false };
    default:
      return { subtype: 'read', action: 'R', resourceType: type, id: second, isQuery: false };
  }
}

function outcomeOf(status: number): NonNullable<AuditEvent['outcome']> {
  if (status < 400) return '0';
  if (status < 500) return '4';
  return '8';
}

/** Builds the R4 AuditEvent for one `/fhir` request (allowed or refused). Pure; no personal data in it. */
export function buildAuditEvent(r: AuditedRequest, canonicalBase: string): AuditEvent {
  const i = classify(r.method, r.path);
  let id = i.id;
  if (!id && i.subtype === 'create' && r.location) {
    const m = /\/([A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/|$)/.exec(r.location);
    if (m && m[1] === i.resourceType) id = m[2];
  }
  const entity: AuditEventEntity = {
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
  };
  if (i.resourceType && id) {
    entity.what = { reference: `${i.resourceType}/${id}${i.versionId ? `/_history/${i.versionId}` : ''}` };
  }
  const query = redactQuery(i.resourceType, r.query);
  if (i.isQuery || query) {
    const text = `${i.resourceType ?? ''}${query ? `?${query}` : ''}`;
    entity.query = Buffer.from(text, 'utf8').toString('base64');
    entity.description = text.slice(0, 1000);
  }
  const clientId = r.auth?.clientId;
  const agent: AuditEvent['agent'] = [
    clientAgent({
      canonicalBase,
      clientId: clientId ?? 'unauthenticated',
      display: clientId ?? 'unauthenticated caller',
      type: APPLICATION_AGENT,
      ip: r.ip,
    }),
  ];
  if (r.auth?.access.organization) agent.push(tenantAgent(r.auth.access.organization));
  return {
    resourceType: 'AuditEvent',
    type: TYPE_REST,
    subtype: [{ system: SUBTYPE_SYSTEM, code: i.subtype }],
    action: i.action,
    recorded: r.recorded.toISOString(),
    outcome: outcomeOf(r.status),
    ...(r.status >= 400 ? { outcomeDesc: `HTTP ${r.status}${r.refused ? ` refused: ${r.refused}` : ''}` } : {}),
    agent,
    source: gatewaySource(r.requestId),
    entity: [entity, ...patientEntities(r.patients)],
  };
}
