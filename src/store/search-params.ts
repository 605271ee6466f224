import { PROTECTED_ELEMENTS } from '../fhir/protected-identity';
/**
 * The search parameters the store indexes, per resource type, with plain property paths (no FHIRPath at write
 * time: extraction is a few property reads per parameter). This table is the single truth for what search
 * supports: the repository rejects any other parameter and the CapabilityStatement is generated from it.
 * Names and meanings follow FHIR R4; `deadline` on Task is the gateway's own (Task.restriction.period.end).
 */
export type ParamType = 'token' | 'reference' | 'date' | 'string' | 'uri';

export interface ParamDef {
  name: string;
  type: ParamType;
  /** Dotted property paths (arrays are flattened at every step). */
  paths: string[];
  /** For references: only targets of these types match under this name (e.g. Task `patient`). */
  targets?: string[];
  /**
   * Searched through the index rows of another parameter of the same type with the same paths (Task `patient` and
   * `for` through `subject`): the rows are written once, and `targets` narrows them at search time.
   */
  indexAs?: string;
  description: string;
}

const p = (name: string, type: ParamType, paths: string | string[], description: string, targets?: string[]) => ({
  name,
  type,
  paths: typeof paths === 'string' ? [paths] : paths,
  description,
  ...(targets ? { targets } : {}),
});

/** Parameters every type has (besides `_id` and `_lastUpdated`, which are columns). */
const COMMON: ParamDef[] = [
  p('_tag', 'token', 'meta.tag', 'Tags in meta.tag'),
  p('_security', 'token', 'meta.security', 'Security labels in meta.security'),
  p('_profile', 'uri', 'meta.profile', 'Profiles claimed in meta.profile'),
];

/** `def` searched through the rows of `of` (see ParamDef.indexAs). */
const alias = (def: ParamDef, of: string): ParamDef => ({ ...def, indexAs: of });

const identifier = p('identifier', 'token', 'identifier', 'An identifier (system|value or value alone)');

export const SEARCH_PARAMS: Record<string, ParamDef[]> = {
  Patient: [
    identifier,
    p('name', 'string', 'name', 'Any part of a name (starts with, case and accent insensitive)'),
    p('family', 'string', 'name.family', 'Family name'),
    p('given', 'string', 'name.given', 'Given name'),
    p('birthdate', 'date', 'birthDate', 'Date of birth'),
    p('gender', 'token', 'gender', 'Administrative gender'),
    p('active', 'token', 'active', 'Whether the record is active'),
    p('address', 'string', 'address', 'Any part of an address'),
    p('address-city', 'string', 'address.city', 'City of an address'),
    p('organization', 'reference', 'managingOrganization', 'Managing organization'),
    p('general-practitioner', 'reference', 'generalPractitioner', 'Listed primary care unit or practitioner'),
  ],
  Encounter: [
    identifier,
    p('subject', 'reference', 'subject', 'The patient (any subject)'),
    alias(p('patient', 'reference', 'subject', 'The patient', ['Patient']), 'subject'),
    p('status', 'token', 'status', 'planned | in-progress | finished | cancelled | ...'),
    p('class', 'token', 'class', 'Encounter class (IMP for inpatient)'),
    p('type', 'token', 'type', 'Encounter type'),
    p('date', 'date', 'period', 'The stay period (admission to discharge)'),
    p('service-provider', 'reference', 'serviceProvider', 'The hospital responsible'),
    p('location', 'reference', 'location.location', 'Ward / location'),
    p('part-of', 'reference', 'partOf', 'Encounter this is part of'),
  ],
  Task: [
    identifier,
    p('subject', 'reference', 'for', 'Task.for (any type)'),
    alias(p('patient', 'reference', 'for', 'Task.for when a Patient', ['Patient']), 'subject'),
    alias(p('for', 'reference', 'for', 'Task.for (alias of subject)'), 'subject'),
    p('encounter', 'reference', 'encounter', 'The stay the task belongs to'),
    p('focus', 'reference', 'focus', 'What the task is about'),
    p('status', 'token', 'status', 'requested | received | accepted | rejected | completed | cancelled | ...'),
    p('business-status', 'token', 'businessStatus', 'on-time | due-soon | overdue | escalated'),
    p('code', 'token', 'code', 'Task code (svu-task CodeSystem)'),
    p('owner', 'reference', 'owner', 'The organisation that must act'),
    p('requester', 'reference', 'requester', 'Who asked'),
    p('authored-on', 'date', 'authoredOn', 'When the task was created'),
    p('modified', 'date', 'lastModified', 'When the task was last modified'),
    p('period', 'date', 'executionPeriod', 'Execution period'),
    p('deadline', 'date', 'restriction.period.end', 'Gateway parameter: the deadline (restriction.period.end)'),
    p('intent', 'token', 'intent', 'Task intent'),
    p('priority', 'token', 'priority', 'Task priority'),
    p('part-of', 'reference', 'partOf', 'Parent task'),
    p('based-on', 'reference', 'basedOn', 'What the task fulfils'),
  ],
  CarePlan: [
    identifier,
    p('subject', 'reference', 'subject', 'The patient (any subject)'),
    alias(p('patient', 'reference', 'subject', 'The patient', ['Patient']), 'subject'),
    p('encounter', 'reference', 'encounter', 'The stay'),
    p('status', 'token', 'status', 'draft | active | completed | ...'),
    p('intent', 'token', 'intent', 'Plan intent'),
    p('category', 'token', 'category', 'Category (e.g. the colour triage)'),
    p('date', 'date', 'period', 'Plan period'),
    p('care-team', 'reference', 'careTeam', 'Care teams'),
    p('performer', 'reference', 'activity.detail.performer', 'Performers of activities'),
    p('author', 'reference', 'author', 'Who wrote the plan (the named care contact)'),
    p('contributor', 'reference', 'contributor', 'The invited parties'),
  ],
  Communication: [
    identifier,
    p('subject', 'reference', 'subject', 'The patient (any subject)'),
    alias(p('patient', 'reference', 'subject', 'The patient', ['Patient']), 'subject'),
    p('encounter', 'reference', 'encounter', 'The stay the comment is about'),
    p('sender', 'reference', 'sender', 'Who sent it'),
    p('recipient', 'reference', 'recipient', 'To whom'),
    p('category', 'token', 'category', 'contact wanted | homecoming | assistive devices | other'),
    p('status', 'token', 'status', 'in-progress (sent) | completed (acknowledged) | ...'),
    p('sent', 'date', 'sent', 'When it was sent'),
    p('received', 'date', 'received', 'When the recipient acknowledged it'),
  ],
  Provenance: [
    p('target', 'reference', 'target', 'What was signed or approved (a CarePlan version)'),
    p('agent', 'reference', 'agent.who', 'Who signed or approved'),
    p('recorded', 'date', 'recorded', 'When'),
  ],
  Organization: [
    identifier,
    p('name', 'string', ['name', 'alias'], 'Name or alias (starts with, case and accent insensitive)'),
    p('type', 'token', 'type', 'Organization type'),
    p('active', 'token', 'active', 'Whether the organization is active'),
    p('partof', 'reference', 'partOf', 'Parent organization'),
    p('endpoint', 'reference', 'endpoint', 'Technical endpoints'),
  ],
  Endpoint: [
    identifier,
    p('organization', 'reference', 'managingOrganization', 'Managing organization'),
    p('status', 'token', 'status', 'active | suspended | error | off | ...'),
    p('connection-type', 'token', 'connectionType', 'Protocol (e.g. hl7-fhir-rest)'),
    p('name', 'string', 'name', 'Endpoint name'),
    p('payload-type', 'token', 'payloadType', 'Payload type'),
  ],
  Subscription: [
    p('status', 'token', 'status', 'requested | active | error | off'),
    p('criteria', 'string', 'criteria', 'Criteria (starts with, case insensitive)'),
    p('url', 'uri', 'channel.endpoint', 'Notification endpoint URL'),
    p('type', 'token', 'channel.type', 'Channel type (rest-hook)'),
    p('payload', 'token', 'channel.payload', 'Payload MIME type'),
  ],
  AuditEvent: [
    p('date', 'date', 'recorded', 'When the event was recorded'),
    p('agent', 'reference', 'agent.who', 'Who took part'),
    p('entity', 'reference', 'entity.what', 'What was used'),
    p('entity-name', 'string', 'entity.name', 'Name of what was used (an OAuth client id for a client change)'),
    alias(p('patient', 'reference', 'entity.what', 'Patient among the entities', ['Patient']), 'entity'),
    p('type', 'token', 'type', 'Event type'),
    p('subtype', 'token', 'subtype', 'Event subtype'),
    p('action', 'token', 'action', 'C | R | U | D | E'),
    p('outcome', 'token', 'outcome', '0 | 4 | 8 | 12'),
    p('source', 'reference', 'source.observer', 'The reporting system'),
  ],
};

for (const list of Object.values(SEARCH_PARAMS)) list.push(...COMMON);

/**
 * The stored name of a Task's (owner, status) key: one index row per Task version with both, `system` the owner's
 * type and `value` `<owner id>|<status>` (an id never holds `|`). Not a search parameter a client can name: the
 * planner drives a Task search that has both an exact `owner` and an exact `status` from it (search-sql.ts), so a
 * work list whose two conditions each match tens of thousands of Tasks but together few or none is one index range
 * (docs/performance.md, "2026-12-06, night"). Migration 006 wrote it for the Tasks stored before.
 */
export const OWNER_STATUS = 'owner+status';

/**
 * The type a chain through a reference parameter goes to when the client names none (`Task?encounter.status=…`):
 * the parameter's only target type, or the one type FHIR R4 allows for it. Parameters that may point to several
 * types (`subject`, `focus`) need it named (`subject:Patient.identifier=…`).
 */
const CHAIN_TO: Record<string, string> = {
  'Patient.organization': 'Organization',
  'Encounter.service-provider': 'Organization',
  'Encounter.location': 'Location',
  'Encounter.part-of': 'Encounter',
  'Task.encounter': 'Encounter',
  'Task.owner': 'Organization',
  'Task.requester': 'Organization',
  'Task.part-of': 'Task',
  'CarePlan.encounter': 'Encounter',
  'Communication.encounter': 'Encounter',
  'Organization.partof': 'Organization',
  'Organization.endpoint': 'Endpoint',
  'Endpoint.organization': 'Organization',
};

/**
 * Whether `def` searches Patient elements a recipient never sees of a protected identity (address: `address`,
 * `address-city`). Such a parameter must not match those Patients for a recipient, or searching would tell what
 * reading hides (see `protectedElementsVisible`).
 */
export function searchesProtectedElements(resourceType: string, def: ParamDef): boolean {
  return (
    resourceType === 'Patient' &&
    def.paths.some((path) => (PROTECTED_ELEMENTS as readonly string[]).includes(path.split('.')[0] ?? ''))
  );
}

/** `searchesProtectedElements` for a search key (`address:contains`) of `resourceType`; false for an unknown name. */
export function searchesProtectedParam(resourceType: string, key: string): boolean {
  const def = getParam(resourceType, key.split(':')[0] ?? '');
  return def !== undefined && searchesProtectedElements(resourceType, def);
}

export function chainTarget(resourceType: string, def: ParamDef): string | undefined {
  return def.targets?.length === 1 ? def.targets[0] : CHAIN_TO[`${resourceType}.${def.name}`];
}

export const SUPPORTED_TYPES: readonly string[] = Object.keys(SEARCH_PARAMS);

export function isSupportedType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(SEARCH_PARAMS, type);
}

const byName = new Map<string, Map<string, ParamDef>>(
  Object.entries(SEARCH_PARAMS).map(([t, list]) => [t, new Map(list.map((d) => [d.name, d]))]),
);

export function getParam(resourceType: string, name: string): ParamDef | undefined {
  return byName.get(resourceType)?.get(name);
}

/**
 * Where `def`'s values are in `fhir_search`: the stored parameter name, and (for a reference parameter narrowed
 * to some target types) an SQL condition on `<alias>.system`.
 */
export function storedParam(def: ParamDef): { param: string; targets?: string[] } {
  return {
    param: def.indexAs ?? def.name,
    ...(def.targets && def.type === 'reference' ? { targets: def.targets } : {}),
  };
}
