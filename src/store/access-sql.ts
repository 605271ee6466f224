import type { Resource } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM, SE_SECURITY_LABEL_SYSTEM, TAG_SYSTEM } from '../fhir/constants';
import { PROTECTED_IDENTITY_CODES } from '../fhir/protected-identity';
import { readTaskKey } from '../fhir/task';
import { ownerChangeIssues, requesterChangeIssues } from '../fhir/task-owner-change';
import { GatewayError } from '../platform/errors';
import type { AccessScope } from './repository.port';

/** Collects positional parameters while a statement is built. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** What a read knows about who holds a record (see `forScope`): the writers, and the first one's name. */
export interface RecordHolder {
  writer_orgs?: readonly string[] | null;
  holder_name?: string | null;
}

/**
 * SQL: the ids of the hospitals of the stays through which the tenant `org` (a parameter holding an Organization
 * id) reaches the Patient `patientId`: for each Task the tenant owns or requested whose subject is the Patient, the
 * `serviceProvider` of its Encounter, else the organisation that wrote the Encounter first (a stay is written by
 * its hospital, through HL7 or its FHIR client).
 */
function stayHospitalsSql(patientId: string, org: string): string {
  return `SELECT COALESCE(sp.value, substr(enc.writer_orgs[1], 14)) AS hosp FROM fhir_search t
    JOIN fhir_search te ON te.resource_type = 'Task' AND te.resource_id = t.resource_id AND te.param = 'encounter' AND te.system = 'Encounter'
    JOIN fhir_resource enc ON enc.resource_type = 'Encounter' AND enc.id = te.value
    LEFT JOIN fhir_search sp ON sp.resource_type = 'Encounter' AND sp.resource_id = te.value AND sp.param = 'service-provider' AND sp.system = 'Organization'
    WHERE t.resource_type = 'Task' AND t.param = 'subject' AND t.system = 'Patient' AND t.value = ${patientId}
      AND EXISTS (SELECT 1 FROM fhir_search w WHERE w.resource_type = 'Task' AND w.resource_id = t.resource_id AND w.param IN ('owner', 'requester') AND w.system = 'Organization' AND w.value = ${org})`;
}

/**
 * SQL: the name of a hospital of a stay through which the tenant `org` reaches the Patient row `alias`
 * (`stayHospitalsSql`; the lowest Organization id when several), NULL when it reaches none. A Patient is shared by
 * the hospitals whose HL7 messages wrote it: the first writer need not be the reader's counterpart, and naming it
 * would tell the reader where else the patient was cared for.
 */
function counterpartName(alias: string, org: string): string {
  return `(SELECT o.content::jsonb->>'name' FROM (${stayHospitalsSql(`${alias}.id`, org)}) sh
    JOIN fhir_resource o ON o.resource_type = 'Organization' AND o.id = sh.hosp
    WHERE ${alias}.resource_type = 'Patient' ORDER BY o.id LIMIT 1)`;
}

/**
 * SQL: a version of the Patient row `alias`, written by `author` (its `author_org`), may be shown to `scope` in
 * `_history` and vread: the current version (a read shows it), one written by the gateway, by the tenant itself, or
 * by the hospital of a stay through which it reaches the Patient. A Patient is shared by the hospitals whose HL7
 * messages wrote it: the versions another hospital wrote (its admission, its updates, when) tell of its stay.
 * Undefined when every version may be shown (the gateway, admins, other types than Patient).
 */
export function patientVersionVisible(
  scope: AccessScope | undefined,
  alias: string,
  author: string,
  current: string,
  params: SqlParams,
  type: string,
): string | undefined {
  if (isUnrestricted(scope) || !scope || type !== 'Patient') return undefined;
  const org = orgId(scope);
  if (!org) return current;
  const o = params.add(org);
  const counterpart = `${author} IN (SELECT 'Organization/' || sh.hosp FROM (${stayHospitalsSql(`${alias}.id`, o)}) sh)`;
  return `(${current} OR ${author} IS NULL OR ${author} = 'Organization/' || ${o}::text OR ${counterpart})`;
}

/**
 * The select-list columns of a `fhir_resource` row aliased `alias` that `forScope` needs: `writer_orgs` and, for
 * a Patient (when `type` is not known, for any row), `holder_name`: the organisation the protected-identity notice
 * names (NULL for other types). For a tenant (`scope` with an organisation) the hospital of a stay through which
 * it reaches the Patient (`counterpartName`); for the gateway and admins the Organization that wrote it first.
 */
export function holderColumns(alias: string, type?: string, scope?: AccessScope, params?: SqlParams): string {
  const org = scope && !isUnrestricted(scope) && params ? orgId(scope) : undefined;
  const name =
    type !== undefined && type !== 'Patient'
      ? 'NULL::text'
      : org !== undefined && params
        ? // looked up only for a protected Patient, the one whose notice names it (a read of any other skips the joins)
          `CASE WHEN ${protectedLabelSql(alias, params)} THEN ${counterpartName(alias, params.add(org))} END`
        : `(SELECT o.content::jsonb->>'name' FROM fhir_resource o WHERE ${alias}.resource_type = 'Patient' AND o.resource_type = 'Organization' AND o.id = substr(${alias}.writer_orgs[1], 14))`;
  // always both columns, so statements joined with UNION ALL line up
  return `${alias}.writer_orgs, ${name} AS holder_name`;
}

/**
 * SQL: the Patient row `alias` shows its protected elements (address, telecom, …) to `scope`: it carries no
 * protected-identity label, or the scope sees protected identities (`seesProtectedIdentity`: the gateway, an admin
 * with the right, the hospital whose organisation wrote it). Undefined when the scope sees every one. A search on
 * such elements adds it, so a recipient cannot find out by searching what reading hides.
 */
export function protectedElementsVisible(
  scope: AccessScope | undefined,
  alias: string,
  params: SqlParams,
): string | undefined {
  if (!scope || scope.system === true || (scope.role === 'admin' && scope.protectedIdentity === true)) return undefined;
  const labelled = protectedLabelSql(alias, params);
  if (scope.role === 'hospital' && scope.organization)
    return `(NOT ${labelled} OR ${params.add(scope.organization)} = ANY(${alias}.writer_orgs))`;
  return `NOT ${labelled}`;
}

/** SQL: the Patient row `alias` carries a protected-identity label (`meta.security`, as its index rows hold it). */
function protectedLabelSql(alias: string, params: SqlParams): string {
  return `EXISTS (SELECT 1 FROM fhir_search pl WHERE pl.resource_type = 'Patient' AND pl.resource_id = ${alias}.id AND pl.param = '_security' AND pl.value = ANY(${params.add(PROTECTED_IDENTITY_CODES)}::text[]) AND (pl.system IS NULL OR pl.system = ${params.add(SE_SECURITY_LABEL_SYSTEM)}))`;
}

/** The shared directory: every client may read it; only the gateway and admins write it. */
export const DIRECTORY_TYPES: readonly string[] = ['Organization', 'Endpoint'];
/**
 * Types a tenant sees when one of its Tasks points to them (for / encounter / focus). Not the CarePlan: a SIP is
 * read by its parties alone (`collaborationRules`), so the invitation Task of a party the plan no longer has (which
 * focuses the plan) does not open it. A cancelled SIP invitation does not open the stay either (`withdrawnInvitation`),
 * nor a Task of a party the stay left (`stayLeftSql`).
 */
export const TASK_TARGET_TYPES: readonly string[] = ['Patient', 'Encounter'];
/**
 * The Task reference parameters through which a Task opens its targets. A tenant may write a Task pointing through
 * them only to what it reads already (`assertTargetsReadable` in `write-targets.ts`): else writing a Task would
 * open another tenant's stay.
 */
export const TASK_TARGET_PARAMS: readonly string[] = ['subject', 'encounter', 'focus'];

const SIP_INVITATION = IDENTIFIER_SYSTEM.sipInvitation.replaceAll("'", "''");
const STAY_LEFT = TAG_SYSTEM.stayLeft.replaceAll("'", "''");

/** True when the scope sees everything (the gateway itself, or an integration admin). */
export function isUnrestricted(scope: AccessScope | undefined): boolean {
  return !scope || scope.system === true || scope.role === 'admin';
}

function orgId(scope: AccessScope): string | undefined {
  const org = scope.organization;
  if (!org) return undefined;
  return org.startsWith('Organization/') ? org.slice('Organization/'.length) : org;
}

/** The organisation a tenant's scope acts for, as a reference (`Organization/<id>`); undefined for none. */
export function scopeOrganization(scope: AccessScope | undefined): string | undefined {
  return scope?.organization ? `Organization/${orgId(scope) ?? ''}` : undefined;
}

/**
 * The organisation a party's write is by (`Organization/<id>`), for the hooks that count a party's act only when the
 * party itself wrote it (readiness criteria 3 and 4, a receiver's rejection, a SIP invitation): undefined for the
 * gateway and admins, whose writes report nothing on a party's behalf (an admin client has an organisation of its own,
 * the region's); `''` for a tenant without one, which is nobody's.
 */
export function writerOf(scope: AccessScope | undefined): string | undefined {
  return isUnrestricted(scope) ? undefined : (scopeOrganization(scope) ?? '');
}

/**
 * Ends a per-row EXISTS subquery. Without it PostgreSQL may turn the correlated EXISTS under the predicate's OR into
 * a hashed subplan (an alternative it picks when it expects several outer rows, as for `id = ANY(ids)`), and build
 * the hash from every Task the organisation owns, or every Task reference to the type, for each statement: 673
 * index rows read to check 2 Tasks in the delivery bench, and growing with the store. A subquery with OFFSET is
 * never converted, so it stays a lookup per row. In the ownership lookup the parameter and the organisation are
 * compared as `param || ''` and `value || ''`, which no index serves: a generic plan (or a young table without
 * statistics) cannot tell a frequent organisation from a rare id and otherwise walked the organisation's `owner`
 * rows (fhir_search_value: 1 930 rows for one Task) instead of the Task's own few rows (fhir_search_resource).
 */
const PER_ROW = ' OFFSET 0';

/** `column = value`; per row a comparison no index serves (see PER_ROW), so the lookup goes by the row's own id. */
function eq(perRow: boolean | undefined, column: string, value: string): string {
  return perRow ? `${column} || '' = ${value}` : `${column} = ${value}`;
}

/** `column IN list`, likewise. */
function within(perRow: boolean | undefined, column: string, list: string): string {
  return perRow ? `${column} || '' IN ${list}` : `${column} IN ${list}`;
}

export interface AccessPredicateOptions {
  /**
   * Check tenant ownership per row (a correlated EXISTS looked up by the Task's id) instead of as a set (the
   * Tasks the organisation owns). The same rules; for statements that check a few known ids, where the set
   * form reads every Task of the organisation each time (it is planned as a hashed subplan under the OR).
   */
  perRow?: boolean;
}

/**
 * SQL predicate over a `fhir_resource` row aliased `alias` that is true when `scope` may see the row, or
 * undefined when the scope sees everything. `resourceType` narrows the predicate when the type is known.
 *
 * Rules (contract, Security): the directory (Organization, Endpoint) is visible to all; a tenant sees what its
 * organisation wrote (any version, `writer_orgs`), the Tasks it owns (a hospital also the Tasks it requested),
 * and the Patients/Encounters those Tasks point to. A CarePlan (every CarePlan is a SIP: the SIP hook validates each
 * one against SvuCarePlan) follows the party rule alone (`collaborationRules`): a party the plan no longer has (one
 * the author removed, the unit the stay left after a take-over) reads nothing of it any more, though it wrote
 * versions and its invitation Task focuses the plan (ADR 047).
 */
export function accessPredicate(
  scope: AccessScope | undefined,
  alias: string,
  params: SqlParams,
  resourceType?: string,
  opts: AccessPredicateOptions = {},
): string | undefined {
  if (isUnrestricted(scope) || !scope) return undefined;
  if (resourceType && DIRECTORY_TYPES.includes(resourceType)) return undefined;
  const org = orgId(scope);
  const parts: string[] = [];
  if (!resourceType) parts.push(`${alias}.resource_type IN ('Organization', 'Endpoint')`);
  if (org) {
    // added when first used (an unused parameter has no type), once
    let wroteSql: string | undefined;
    const wrote = () => (wroteSql ??= `${alias}.writer_orgs @> ARRAY[${params.add(`Organization/${org}`)}::text]`);
    if (resourceType !== 'CarePlan' && resourceType !== 'Task')
      // a SIP follows the party rule alone (ADR 047), a Task its own (below); for another known type no extra condition
      parts.push(resourceType ? wrote() : `(${wrote()} AND ${alias}.resource_type NOT IN ('CarePlan', 'Task'))`);
    const wantTasks = !resourceType || resourceType === 'Task' || TASK_TARGET_TYPES.includes(resourceType);
    // add the parameter only when used (an unused parameter has no type)
    const orgP = wantTasks ? params.add(org) : '';
    const end = opts.perRow ? PER_ROW : '';
    const taskParams = tenantTaskParams(scope);
    const ownedTasks = ownedTasksSql(taskParams, orgP);
    // Per row: the same condition as `id IN (ownedTasks)`, looked up by the Task's id (fhir_search_resource).
    const owns = (task: string) =>
      opts.perRow
        ? `EXISTS (SELECT 1 FROM fhir_search o WHERE o.resource_type = 'Task' AND o.resource_id = ${task} AND ${within(true, 'o.param', taskParams)} AND o.system = 'Organization' AND ${eq(true, 'o.value', orgP)}${PER_ROW})`
        : `${task} IN (${ownedTasks})`;
    // A Task is read by its owner (a hospital: also its requester), and by a tenant that wrote it while it is still
    // its requester (the invitations a SIP's author sent); not by one that wrote it and is neither any more (the
    // owner before the requester handed the Task on, the author before a take-over). Always looked up per row (by
    // the Task's id, never by the requester's index rows): only the rows the tenant wrote get this far
    const requests = `EXISTS (SELECT 1 FROM fhir_search q WHERE q.resource_type = 'Task' AND q.resource_id = ${alias}.id AND ${eq(true, 'q.param', `'requester'`)} AND q.system = 'Organization' AND ${eq(true, 'q.value', orgP)}${PER_ROW})`;
    if (!resourceType || resourceType === 'Task')
      parts.push(`(${alias}.resource_type = 'Task' AND (${owns(`${alias}.id`)} OR (${wrote()} AND ${requests})))`);
    // A Task opens its stay unless it is a cancelled SIP invitation. As a set, the cancelled invitations are one
    // hashed set for the statement (`NOT IN`: resource_id is never NULL), read from the invitations' own index
    // (migration 173), not two lookups for each Task reference (210 000 for a vårdcentral's Encounter count on the
    // 10 000-stay store) nor every cancelled Task of the region: docs/performance.md, "2026-12-07, afternoon"
    // Nor does a Task of a party the stay left (re-routed away from it, or it rejected the stay: `stayLeftSql`), a set
    // of the tenant's own such Tasks, read by their tag's value (fhir_search_value), however long the region's history
    const opens = (task: string) =>
      opts.perRow
        ? `${owns(task)} AND NOT ${withdrawnInvitation(task)} AND NOT EXISTS (${stayLeftSql(orgP, task)}${PER_ROW})`
        : `${owns(task)} AND ${task} NOT IN (${withdrawnInvitationsSql()}) AND ${task} NOT IN (${stayLeftSql(orgP)})`;
    if (!resourceType || TASK_TARGET_TYPES.includes(resourceType))
      parts.push(
        `(${alias}.resource_type IN ('Patient', 'Encounter') AND EXISTS (SELECT 1 FROM fhir_search t WHERE t.resource_type = 'Task' AND t.param IN ${sqlList(TASK_TARGET_PARAMS)} AND t.system = ${alias}.resource_type AND t.value = ${alias}.id AND ${opens('t.resource_id')}${end}))`,
      );
    parts.push(...collaborationRules(alias, params, org, resourceType, opts.perRow));
  }
  if (parts.length === 0) return 'false';
  return `(${parts.join(' OR ')})`;
}

/**
 * SQL: the Task `task` is a SIP invitation that was cancelled (the party is no longer invited: removed from the plan,
 * or it took the plan over). Such a Task stays its owner's to read, but no longer shows it the stay's Encounter and
 * Patient: a party whose only part in the stay was the invitation has left it. Looked up by the Task's id.
 */
function withdrawnInvitation(task: string): string {
  const rowOf = (alias: string, cond: string) =>
    `EXISTS (SELECT 1 FROM fhir_search ${alias} WHERE ${alias}.resource_type = 'Task' AND ${alias}.resource_id = ${task} AND ${cond}${PER_ROW})`;
  return `(${rowOf('ws', cancelledRow('ws', true))} AND ${rowOf('wi', invitationRow('wi', true))})`;
}

/**
 * SQL: the ids of every Task `withdrawnInvitation` is true of (the same two index rows), read from the SIP
 * invitations' identifier rows (their partial index, fhir_search_sip_invitation: as many as there are
 * invitations, whatever the number of cancelled Tasks), each checked for `cancelled` by its own id. No parameter:
 * a generic plan is planned for these constants (the index's condition among them).
 */
function withdrawnInvitationsSql(): string {
  return `SELECT wi.resource_id FROM fhir_search wi WHERE wi.resource_type = 'Task' AND ${invitationRow('wi', false)} AND EXISTS (SELECT 1 FROM fhir_search ws WHERE ws.resource_type = 'Task' AND ws.resource_id = wi.resource_id AND ${cancelledRow('ws', true)}${PER_ROW})`;
}

/**
 * SQL: the ids of the Tasks of the tenant `orgP` whose stay has left it: those the gateway tagged `stay-left` with its
 * Organization id (`withStayLeft`), by the tag's index rows; with `task`, only whether that Task is one, looked up by
 * its id (per row). Such a Task stays its owner's to read, but no longer shows it the stay's Encounter and Patient.
 */
function stayLeftSql(orgP: string, task?: string): string {
  const row = `sl.resource_type = 'Task' AND ${eq(task !== undefined, 'sl.param', `'_tag'`)} AND sl.system = '${STAY_LEFT}' AND ${eq(task !== undefined, 'sl.value', orgP)}`;
  return task === undefined
    ? `SELECT sl.resource_id FROM fhir_search sl WHERE ${row}`
    : `SELECT 1 FROM fhir_search sl WHERE sl.resource_id = ${task} AND ${row}`;
}

/** SQL: the index row `alias` is a Task's status `cancelled` (per row: the parameter compared as no index serves). */
function cancelledRow(alias: string, perRow: boolean): string {
  return `${eq(perRow, `${alias}.param`, `'status'`)} AND ${alias}.system IS NULL AND ${alias}.value = 'cancelled'`;
}

/** SQL: the index row `alias` is a Task's SIP invitation identifier. */
function invitationRow(alias: string, perRow: boolean): string {
  return `${eq(perRow, `${alias}.param`, `'identifier'`)} AND ${alias}.system = '${SIP_INVITATION}'`;
}

/** The Task reference parameters through which a tenant sees a Task: its owner, for a hospital also its requester. */
function tenantTaskParamList(scope: AccessScope): readonly string[] {
  return scope.role === 'hospital' ? ['owner', 'requester'] : ['owner'];
}

/** `tenantTaskParamList` as an SQL list: `('owner', 'requester')`. */
function tenantTaskParams(scope: AccessScope): string {
  return sqlList(tenantTaskParamList(scope));
}

const sqlList = (names: readonly string[]): string => `(${names.map((n) => `'${n}'`).join(', ')})`;

/** SQL: the ids of the Tasks whose `taskParams` point to the Organization `orgP`, read by `fhir_search_value`. */
function ownedTasksSql(taskParams: string, orgP: string): string {
  return `SELECT o.resource_id FROM fhir_search o WHERE o.resource_type = 'Task' AND o.param IN ${taskParams} AND o.system = 'Organization' AND o.value = ${orgP}`;
}

/**
 * SQL: the ids of every Task `scope` may see (a superset: an id may come twice), read from the indexes: the Tasks
 * its organisation owns (or requested, a hospital) and those it wrote (of which it reads those it still requests). Undefined when the scope sees every Task or
 * none (no organisation). What a search of Tasks may be driven from when the tenant's Tasks are few (a vårdcentral
 * that owns none: docs/performance.md, "Many conditions, each matching many"); `accessPredicate` still applies.
 */
export function visibleTaskIds(scope: AccessScope | undefined, params: SqlParams): string | undefined {
  if (isUnrestricted(scope) || !scope) return undefined;
  const org = orgId(scope);
  if (!org) return undefined;
  const orgP = params.add(org);
  // one branch per parameter: \`param IN ('owner', 'requester')\` was read as a bitmap of every index row of the
  // hospital's Tasks (360 000 on the large store, 60–90 ms) before a capped count could stop
  const owned = tenantTaskParamList(scope)
    .map((p) => ownedTasksSql(sqlList([p]), orgP))
    .join(' UNION ALL ');
  // the type compared as `resource_type || ''`: without statistics the planner ANDed the GIN lookup with every
  // Task's primary key entry (360 000) on the large store
  return `${owned} UNION ALL SELECT w.id FROM fhir_resource w WHERE w.writer_orgs @> ARRAY[${params.add(`Organization/${org}`)}::text] AND w.resource_type || '' = 'Task'`;
}

/**
 * The collaboration resources (contract, "The coordinated individual plan (SIP) and messages between the parties"):
 * a SIP CarePlan is visible to its author, its invited parties (contributors) and the hospital of its stay (the
 * Encounter's serviceProvider, which approves it), as its current version names them, and to nobody else (ADR 047);
 * a Provenance (a signature, an approval, a take-over) to its agents and to whoever sees the CarePlan it targets; a
 * Communication to its sender and its recipients only.
 */
function collaborationRules(
  alias: string,
  params: SqlParams,
  org: string,
  resourceType?: string,
  perRow?: boolean,
): string[] {
  const want = (t: string) => !resourceType || resourceType === t;
  if (!want('CarePlan') && !want('Provenance') && !want('Communication')) return [];
  const o = params.add(org);
  const end = perRow ? PER_ROW : '';
  const party = (plan: string) =>
    `(EXISTS (SELECT 1 FROM fhir_search c WHERE c.resource_type = 'CarePlan' AND c.resource_id = ${plan} AND ${within(perRow, 'c.param', "('author', 'contributor')")} AND c.system = 'Organization' AND ${eq(perRow, 'c.value', o)}${end}) OR EXISTS (SELECT 1 FROM fhir_search c JOIN fhir_search e ON e.resource_type = 'Encounter' AND e.resource_id = c.value AND ${eq(perRow, 'e.param', "'service-provider'")} AND e.system = 'Organization' AND ${eq(perRow, 'e.value', o)} WHERE c.resource_type = 'CarePlan' AND c.resource_id = ${plan} AND ${eq(perRow, 'c.param', "'encounter'")} AND c.system = 'Encounter'${end}))`;
  const out: string[] = [];
  if (want('CarePlan')) out.push(`(${alias}.resource_type = 'CarePlan' AND ${party(`${alias}.id`)})`);
  if (want('Provenance'))
    out.push(
      `(${alias}.resource_type = 'Provenance' AND (EXISTS (SELECT 1 FROM fhir_search a WHERE a.resource_type = 'Provenance' AND a.resource_id = ${alias}.id AND ${eq(perRow, 'a.param', "'agent'")} AND a.system = 'Organization' AND ${eq(perRow, 'a.value', o)}${end}) OR EXISTS (SELECT 1 FROM fhir_search pt WHERE pt.resource_type = 'Provenance' AND pt.resource_id = ${alias}.id AND ${eq(perRow, 'pt.param', "'target'")} AND pt.system = 'CarePlan' AND ${party('pt.value')}${end})))`,
    );
  if (want('Communication'))
    out.push(
      `(${alias}.resource_type = 'Communication' AND EXISTS (SELECT 1 FROM fhir_search m WHERE m.resource_type = 'Communication' AND m.resource_id = ${alias}.id AND ${within(perRow, 'm.param', "('sender', 'recipient')")} AND m.system = 'Organization' AND ${eq(perRow, 'm.value', o)}${end}))`,
    );
  return out;
}

/**
 * The audit trail is append-only for everyone, admins included: only the gateway itself creates these, and
 * nobody (the gateway neither) updates or deletes them.
 */
export const APPEND_ONLY_TYPES: readonly string[] = ['AuditEvent'];

function appendOnly(resourceType: string, what: string): GatewayError {
  return new GatewayError(
    'method-not-allowed',
    `${resourceType} is append-only: the gateway writes it, nobody ${what} it (not admins either)`,
  );
}

/** 405 for a change or deletion of an append-only resource (`exists`: the resource is there already). */
export function assertMayChange(resourceType: string, exists: boolean, action: 'update' | 'delete'): void {
  if (APPEND_ONLY_TYPES.includes(resourceType) && (exists || action === 'delete'))
    throw appendOnly(resourceType, action === 'delete' ? 'deletes' : 'changes');
}

/** Writes to the directory are for the gateway and admins only; append-only types for the gateway only. */
export function assertMayWriteType(scope: AccessScope | undefined, resourceType: string): void {
  if (scope && scope.system !== true && APPEND_ONLY_TYPES.includes(resourceType))
    throw appendOnly(resourceType, 'else creates, changes or deletes');
  if (!isUnrestricted(scope) && DIRECTORY_TYPES.includes(resourceType))
    throw new GatewayError(
      'forbidden',
      `${resourceType} is part of the shared directory: only integration admins may change it`,
    );
}

/**
 * A tenant that owns a Task (and did not request it) may change only what `ownerChangeIssues` allows, and the requester
 * of a Task the gateway derived may not answer it for its owner (`requesterChangeIssues`): 403 naming each element
 * otherwise. The gateway and admins are not limited here, nor the requester of a Task a client created, but for the
 * owner of a Task the gateway derived (422). A tenant that is neither owner nor requester never gets here: it does not
 * read the Task (`accessPredicate`), so its write is 404.
 */
export function assertOwnerMayChange(before: Resource, after: Resource, scope: AccessScope | undefined): void {
  if (isUnrestricted(scope) || before.resourceType !== 'Task' || after.resourceType !== 'Task') return;
  const derived = readTaskKey(before) !== undefined;
  // A Task the gateway derived from the stay (it carries a task key) goes to the party the stay is routed to: its
  // next apply would give it back silently, so no client hands it to another organisation, its requester neither
  if (derived && (after.owner?.reference ?? '') !== (before.owner?.reference ?? '')) {
    const message = `Task/${before.id ?? ''} is the gateway's, derived from the stay: its owner follows the stay's routing. Report the right municipality, placing municipality or listed unit (an HL7 A08, or an update of the Encounter or Patient) and the gateway withdraws it from the one and tells the other; nothing was changed`;
    throw new GatewayError('rule-violation', message, [{ path: 'Task.owner', message }]);
  }
  const org = scopeOrganization(scope);
  if (!org) return;
  const owns = before.owner?.reference === org;
  const requests = before.requester?.reference === org;
  const issues =
    owns && !requests
      ? ownerChangeIssues(before, after)
      : requests && !owns && derived
        ? requesterChangeIssues(before, after)
        : [];
  if (issues.length === 0) return;
  // A body read from an older version differs where the requester or the gateway changed the Task since (a moved
  // deadline): that is a stale write, not an attempt to change those elements
  const read = after.meta?.versionId;
  const now = before.meta?.versionId;
  if (read !== undefined && now !== undefined && read !== now)
    throw new GatewayError(
      'conflict',
      `Task/${before.id ?? ''} changed since version ${read} was read (it is at version ${now}: ${issues.map((i) => i.path).join(', ')} differ): read it again, make your change on it and send it again`,
    );
  // one refusal says its own reason (a status the owner may not move to is not "only its status" refused)
  const [only] = issues;
  const message =
    issues.length === 1 && only
      ? only.message
      : owns
        ? `As the owner of Task/${before.id ?? ''} you may change only its status, statusReason, businessStatus, note and output, and move its status only as the process allows: ${issues.map((i) => i.path).join(', ')} refused`
        : `As the requester of Task/${before.id ?? ''} you may only withdraw it (status cancelled, statusReason) and write a note, not answer it for its owner nor change what the stay says: ${issues.map((i) => i.path).join(', ')} refused`;
  throw new GatewayError('forbidden', message, issues);
}
