import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { CANONICAL_BASE, PROFILE } from '../fhir/constants';
import { APPEND_ONLY_TYPES } from '../store/access-sql';
import { SEARCH_PARAMS } from '../store/search-params';
import { BACKPORT, TOPICS } from '../subscriptions/topics';

/** The project's profiles (profiles/), by the resource type they constrain. */
const SUPPORTED_PROFILES: Record<string, string[]> = {
  Task: [PROFILE.task],
  Encounter: [PROFILE.encounter],
  CarePlan: [PROFILE.carePlan],
  Subscription: [PROFILE.subscription],
  Communication: [PROFILE.communication],
  Provenance: [PROFILE.provenance],
};

/** System-level operations (`/fhir/$name`), served by the follow-up capability (src/followup). */
export const SYSTEM_OPERATIONS: { name: string; documentation: string }[] = [
  { name: 'followup-dashboard', documentation: 'The follow-up indicators of the calling party, by month' },
  { name: 'followup-dashboard-stays', documentation: 'The stays behind one indicator figure of the calling party' },
  {
    name: 'followup-deviations',
    documentation: 'The deviations of a month the calling party holds a copy of, per responsible party',
  },
  { name: 'log-review', documentation: 'Who read or changed what (loggranskning), for those given the right' },
];

/**
 * Type- and instance-level operations mounted beside the generic router: the collaboration capability (src/sip,
 * src/case-overview), the deadlines (src/deadlines) and the subscriptions (src/subscriptions, Backport IG).
 */
export const OPERATIONS: Record<string, { name: string; documentation: string }[]> = {
  Task: [
    { name: 'due-soon', documentation: 'The calling party’s Tasks whose deadline falls soon (or over a holiday)' },
  ],
  Subscription: [
    { name: 'status', documentation: 'Subscription status with events-since-subscription-start (Backport IG)' },
    { name: 'events', documentation: 'Replay of notifications by event number, to fill gaps (Backport IG)' },
  ],
  CarePlan: [
    { name: 'sign', documentation: 'A party writes (description, contact) and signs its own part of the SIP' },
    { name: 'approve', documentation: 'The stay’s hospital approves the SIP' },
    { name: 'meeting-held', documentation: 'The named care contact records the SIP meeting (date)' },
    {
      name: 'take-over',
      documentation:
        'The named care contact after a re-routing takes the stay’s SIP over from the unit the stay left (reason)',
    },
    {
      name: 'print',
      documentation:
        'The plan for the patient as printable HTML (Swedish), or PDF with _format=pdf / Accept: application/pdf',
    },
  ],
  Encounter: [{ name: 'overview', documentation: 'The case overview of the stay for the calling party' }],
};

type InteractionCode = NonNullable<CapabilityStatementRestResource['interaction']>[number]['code'];
const INTERACTIONS: InteractionCode[] = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
];
const WRITES: InteractionCode[] = ['update', 'patch', 'delete', 'create'];

const SEARCH_TYPES = { token: 'token', reference: 'reference', date: 'date', string: 'string', uri: 'uri' } as const;

/** `<Source>:<param>` for every stored reference parameter that may point to `type` (see parseRevIncludes). */
function revIncludes(type: string): string[] {
  return Object.entries(SEARCH_PARAMS).flatMap(([src, params]) =>
    params
      .filter((p) => p.type === 'reference' && (!p.targets || p.targets.includes(type)))
      .map((p) => `${src}:${p.name}`),
  );
}

/**
 * The CapabilityStatement, generated from what the router and the store actually do: the supported types,
 * interactions, the indexed search parameters (src/store/search-params.ts) and the SMART security service.
 */
export function capabilityStatement(
  baseUrl: string,
  opts: { tokenUrl?: string; version?: string; canonicalBase?: string } = {},
): CapabilityStatement {
  const canonicalBase = opts.canonicalBase ?? CANONICAL_BASE;
  const tokenUrl = opts.tokenUrl ?? `${baseUrl.replace(/\/fhir\/?$/, '')}/auth/token`;
  const resource: CapabilityStatementRestResource[] = Object.entries(SEARCH_PARAMS).map(([type, params]) => {
    const refParams = params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.name}`);
    const appendOnly = APPEND_ONLY_TYPES.includes(type);
    const interactions = appendOnly ? INTERACTIONS.filter((c) => !WRITES.includes(c)) : INTERACTIONS;
    return {
      type: type as CapabilityStatementRestResource['type'],
      ...(appendOnly
        ? { documentation: `${type} is append-only: written by the gateway, never changed or deleted` }
        : {}),
      interaction: interactions.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: !appendOnly,
      conditionalCreate: !appendOnly,
      conditionalRead: 'not-supported',
      conditionalUpdate: !appendOnly,
      conditionalDelete: appendOnly ? 'not-supported' : 'single',
      searchInclude: refParams,
      searchRevInclude: revIncludes(type),
      ...(SUPPORTED_PROFILES[type] ? { supportedProfile: SUPPORTED_PROFILES[type] } : {}),
      ...(type === 'Subscription'
        ? {
            // The topics a client can subscribe to (R4 has no SubscriptionTopic resource: their canonicals).
            extension: TOPICS.map((t) => ({
              url: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`,
              valueCanonical: t.url(canonicalBase),
            })),
          }
        : {}),
      ...(OPERATIONS[type]
        ? {
            operation: OPERATIONS[type].map((o) => ({
              ...o,
              definition: `${canonicalBase}/OperationDefinition/${type}-${o.name}`,
            })),
          }
        : {}),
      searchParam: [
        { name: '_id', type: 'token', documentation: 'Logical id' },
        {
          name: '_lastUpdated',
          type: 'date',
          documentation: 'When the current version was stored (eq, gt, lt, ge, le)',
        },
        ...params.map((p) => ({ name: p.name, type: SEARCH_TYPES[p.type], documentation: p.description })),
      ],
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    publisher: 'svu-gateway',
    software: { name: 'svu-gateway', ...(opts.version ? { version: opts.version } : {}) },
    implementation: { description: 'svu-gateway FHIR R4 API (samverkan vid utskrivning)', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    // JSON Patch, and FHIRPath Patch (a Parameters resource) in FHIR JSON
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Search is strict: an unknown parameter is a 400 (with Prefer: handling=lenient it is ignored and an OperationOutcome entry names it). Paging with _count (default 20, max 1000) and the next link. _total=accurate counts every match; _total=estimate is exact on the last page, else estimated from a sample of the store (cheap, within a few percent on a large store). _elements and _summary (true, text, data, count) cut each match, on read too. Tenants see only their own data.',
        security: {
          cors: false,
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
              ],
            },
          ],
          description: 'OAuth 2.0 client credentials (SMART Backend Services, private_key_jwt or client_secret_basic)',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: tokenUrl }],
            },
          ],
        },
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        operation: SYSTEM_OPERATIONS.map((o) => ({
          ...o,
          definition: `${canonicalBase}/OperationDefinition/${o.name}`,
        })),
      },
    ],
  };
}
