import type { Resource } from '@medplum/fhirtypes';
import { planAsGeneric, sendBeforeNext, type Db } from '../../store/db.port';
import { advisoryLocksSql, type CurrentRow } from '../../store/write-sql';

/** A current resource row as intake needs it: id, version and content (for `PgRepository.prepare`). */
export interface StayRow {
  id: string;
  row: CurrentRow;
  /** Patients only: the author of version 1 (`INTAKE_AUTHOR` when HL7 intake created it), see `patientForSender`. */
  createdBy?: string | null;
}

/** The resource a row holds (undefined for none or a deletion). */
export function contentOf<T extends Resource>(row: StayRow | undefined): T | undefined {
  return row?.row.content ? (JSON.parse(row.row.content) as T) : undefined;
}

export interface StayRows {
  /** Encounters by `system|value` of the sender's visit identifier. */
  encounters: Map<string, StayRow[]>;
  /** Patients by `system|value` of their personnummer / samordningsnummer identifier. */
  patients: Map<string, StayRow[]>;
  /** Tasks by the id of the Encounter (stay) they belong to. */
  tasks: Map<string, StayRow[]>;
}

export interface IdentifierKey {
  system: string;
  value: string;
}

/** Who wrote a Patient, and who created it (version 1: the current row's author, else the history's). */
const PATIENT_COLUMNS = `r.writer_orgs, CASE WHEN r.version_id = 1 THEN r.author ELSE (SELECT h.author FROM fhir_resource_history h WHERE h.resource_type = 'Patient' AND h.id = r.id AND h.version_id = 1) END AS created_by`;

/**
 * The current `type` rows whose `param` index row matches each key of `keys` (a FROM item naming its columns `val`,
 * and `sys` when the key has a system), tagged `kind` and keyed by `key`. Each key is looked up on its own
 * (LATERAL ... OFFSET 0 keeps the subquery parameterised): without statistics (a young table, PGlite, which never
 * analyses) the planner otherwise hash-joins the keys against every row of the parameter, which grows with the table.
 */
const rowsByIndex = (kind: string, type: string, param: string, keys: string, key: string, system: string) => `
    SELECT '${kind}' AS kind, ${key} AS k, r.id, r.version_id, r.content, ${kind === 'P' ? PATIENT_COLUMNS : 'NULL::text[] AS writer_orgs, NULL::text AS created_by'}
    FROM ${keys}
    CROSS JOIN LATERAL (
      SELECT s.resource_id FROM fhir_search s
      WHERE s.resource_type = '${type}' AND s.param = '${param}' AND s.value = k.val AND s.system = ${system} OFFSET 0
    ) s
    JOIN fhir_resource r ON r.resource_type = '${type}' AND r.id = s.resource_id AND NOT r.deleted`;

const byIdentifier = (kind: string, type: string, sys: string, val: string) =>
  rowsByIndex(
    kind,
    type,
    'identifier',
    `unnest(${planAsGeneric(sys, 'text[]')}, ${planAsGeneric(val, 'text[]')}) AS k(sys, val)`,
    "k.sys || '|' || k.val",
    'k.sys',
  );

/** The current Tasks of the stays in `stayIds` (a text[] expression), tagged 'T' and keyed by stay id. */
export const tasksOfStaysSql = (stayIds: string): string =>
  rowsByIndex('T', 'Task', 'encounter', `unnest(${stayIds}) AS k(val)`, 'k.val', "'Encounter'");

export const READ_SQL = `WITH enc AS (${byIdentifier('E', 'Encounter', '$1', '$2')}
  ), pat AS (${byIdentifier('P', 'Patient', '$3', '$4')}
  ), task AS (${tasksOfStaysSql(planAsGeneric('$5', 'text[]'))}
  )
  SELECT * FROM enc UNION ALL SELECT * FROM pat UNION ALL SELECT * FROM task ORDER BY kind, k, id`;

const PERSON_RECORDS_SQL = `${byIdentifier('P', 'Patient', '$1', '$2')} ORDER BY r.id`;

/**
 * The current Patients with one of the identifiers `keys` (each looked up in the index on its own, as
 * `readStayRows` does): a person's records, whatever their writer. A FHIR search here (ordered by `_lastUpdated`,
 * with a limit) let the planner walk every Patient in that order looking for one that matches: 1.8 s a write at a
 * few thousand Patients in the `api` bench, for a new person who has no other record.
 */
export async function readPersonRecords(
  tx: Db,
  keys: readonly IdentifierKey[],
): Promise<{ id: string; content: string }[]> {
  if (keys.length === 0) return [];
  const r = await tx.query<{ id: string; content: string }>(PERSON_RECORDS_SQL, [
    keys.map((k) => k.system),
    keys.map((k) => k.value),
  ]);
  const seen = new Set<string>();
  return r.rows.filter((row) => !seen.has(row.id) && seen.add(row.id));
}

const STAYS_OF_PATIENT_SQL = `${rowsByIndex('E', 'Encounter', 'subject', '(VALUES ($1::text)) AS k(val)', 'k.val', "'Patient'")}
    ORDER BY r.last_updated, r.id`;

/**
 * The current Encounters whose subject is the Patient `patientId`, oldest update first (the order a FHIR search
 * gives), looked up in the index by the reference (as `readPersonRecords`). A FHIR search here
 * (`Encounter?subject=Patient/<id>`, ordered by `_lastUpdated`, with a limit) let the planner walk every Encounter in
 * that order looking for the patient's: the fewer stays the patient has, the longer (docs/performance.md).
 */
export async function readStaysOfPatient(tx: Db, patientId: string): Promise<{ id: string; content: string }[]> {
  const r = await tx.query<{ id: string; content: string }>(STAYS_OF_PATIENT_SQL, [patientId]);
  return r.rows.map(({ id, content }) => ({ id, content }));
}

/** Files a row of `rowsByIndex`'s shape (id, version, content) under its key `k` in `map`. */
export function addStayRow(
  map: Map<string, StayRow[]>,
  row: {
    k: string;
    id: string;
    version_id: number | null;
    content: string;
    writer_orgs?: string[] | null;
    created_by?: string | null;
  },
): void {
  const list = map.get(row.k) ?? [];
  list.push({
    id: row.id,
    row: {
      version_id: Number(row.version_id),
      deleted: false,
      content: row.content,
      visible: true,
      ...(row.writer_orgs ? { writer_orgs: row.writer_orgs } : {}),
    },
    ...(row.created_by !== undefined ? { createdBy: row.created_by } : {}),
  });
  map.set(row.k, list);
}

/**
 * The current Encounters (by visit identifier), Patients (by person identifier) and Tasks (by stay id) of a batch
 * of stays, in one statement. No row locks: the caller holds the stays' advisory locks, and every write is a
 * compare-and-set on the version read here (a concurrent writer makes it fail with `version-conflict`).
 */
export async function readStayRows(
  tx: Db,
  visits: readonly IdentifierKey[],
  patients: readonly IdentifierKey[],
  stayIds: readonly string[],
): Promise<StayRows> {
  const r = await tx.query<{
    kind: 'E' | 'P' | 'T';
    k: string;
    id: string;
    version_id: number;
    content: string;
    writer_orgs: string[] | null;
    created_by: string | null;
  }>(READ_SQL, [
    visits.map((v) => v.system),
    visits.map((v) => v.value),
    patients.map((p) => p.system),
    patients.map((p) => p.value),
    [...stayIds],
  ]);
  const out: StayRows = { encounters: new Map(), patients: new Map(), tasks: new Map() };
  const target = { E: out.encounters, P: out.patients, T: out.tasks };
  for (const row of r.rows) addStayRow(target[row.kind], row);
  return out;
}

/**
 * The stay's current Encounter by id, with the author of that version (`INTAKE_AUTHOR` when the gateway built it
 * from HL7; a client's id when a FHIR client wrote it). No row lock, as `readStayRows`.
 */
export async function readStayEncounter(
  tx: Db,
  stayId: string,
): Promise<(StayRow & { author: string | null }) | undefined> {
  const r = await tx.query<{
    version_id: number;
    content: string;
    writer_orgs: string[] | null;
    author: string | null;
  }>(
    `SELECT version_id, content, writer_orgs, author FROM fhir_resource
     WHERE resource_type = 'Encounter' AND id = $1 AND NOT deleted`,
    [stayId],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const { version_id, content, writer_orgs, author } = row;
  const cur = { version_id: Number(version_id), deleted: false, content, visible: true };
  return { id: stayId, row: writer_orgs ? { ...cur, writer_orgs } : cur, author };
}

/**
 * Serialises all work on stays across processes and connections (HL7 batches, FHIR push): transaction-scoped
 * advisory locks on the keys (`stay:<stay id>`, `stay:visit:<system|value>`, `stay:patient:<system|value>`), taken
 * in a fixed (sorted) order so two transactions never wait on each other in a cycle. On PGlite, which has one
 * connection, transactions are serial anyway and the call is cheap.
 */
export async function lockStays(tx: Db, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await sendBeforeNext(tx, advisoryLocksSql(keys.map((k) => `stay:${k}`)));
}
