/**
 * Log review (*loggranskning*): who accessed which patient's data, and when, from the stored AuditEvents' patient
 * entities. Filters by patient, accessor (client id), period and the patients' municipality (residents: the
 * municipality of registration on their stays' admission facts). Ids only, no patient names or personnummer; the
 * accessor's organisation by name (the directory's) beside its reference.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Db } from '../../store/db.port';
import { organisationDirectory } from '../../store/organisation-names.pg';
import { arrayParam } from '../../store/packed-array';

export interface LogReviewQuery {
  patient?: string;
  accessor?: string;
  from?: string;
  to?: string;
  municipality?: string;
  limit: number;
}

export interface AccessRow {
  recorded: string;
  /** The accessor's organisation (its tenant) by name, for the person reviewing; its reference is `tenant`. */
  organisation?: string;
  accessor: string;
  tenant?: string;
  patient: string;
  action: string;
  interaction: string;
  what?: string;
  outcome: string;
  requestId?: string;
}

/** At most this many rows' patients have their residency looked up in one statement. */
const RESIDENCY_ROWS = 2000;

/**
 * Which of `patients` (`Patient/<id>`) are residents of `municipality`: one of their stays has an admission or a
 * patient update naming it. Only the patients asked about are looked up (their Encounters by the `subject` index
 * rows), so a review costs what it shows, not every stay the municipality ever had (issue 17, docs/performance.md).
 */
async function residentsAmong(db: Db, municipality: string, patients: readonly string[]): Promise<Set<string>> {
  const ids = patients.filter((p) => p.startsWith('Patient/')).map((p) => p.slice('Patient/'.length));
  if (ids.length === 0) return new Set();
  const params: unknown[] = [municipality];
  const list = arrayParam(params, ids, 'text');
  const r = await db.query<{ patient: string | null }>(
    `SELECT DISTINCT e.content::jsonb -> 'subject' ->> 'reference' AS patient
     FROM fhir_search s
     JOIN fhir_resource e ON e.resource_type = 'Encounter' AND e.id = s.resource_id
     JOIN stay_fact f ON f.stay_id = e.id
     WHERE s.resource_type = 'Encounter' AND s.param = 'subject' AND s.system = 'Patient' AND s.value = ANY(${list})
       AND f.kind IN ('admitted', 'patient-updated')
       AND COALESCE(f.body -> 'patient' ->> 'municipality', '') = $1`,
    params,
  );
  // the Encounter's own subject decides, as it names the patient (not only its index row)
  const asked = new Set(patients);
  return new Set(r.rows.map((x) => x.patient ?? '').filter((p) => asked.has(p)));
}

function rowsOf(e: AuditEvent): AccessRow[] {
  const client = e.agent?.find((a) => a.requestor)?.who?.identifier?.value ?? 'unknown';
  const tenant = e.agent?.find((a) => !a.requestor)?.who?.reference;
  const what = e.entity?.find((x) => x.role?.code !== '1')?.what?.reference;
  return (e.entity ?? [])
    .filter((x) => x.role?.code === '1' && x.what?.reference)
    .map((x) => ({
      recorded: e.recorded,
      accessor: client,
      ...(tenant ? { tenant } : {}),
      patient: x.what?.reference ?? '',
      action: e.action ?? '',
      interaction: e.subtype?.[0]?.code ?? '',
      ...(what ? { what } : {}),
      outcome: e.outcome ?? '',
      ...(e.source?.site ? { requestId: e.source.site.replace(/^request-id:/, '') } : {}),
    }));
}

/**
 * Delivered notifications (a Subscription's rest-hook POSTed the resource to its subscriber): one row per
 * notification that named a patient (Task.for, Encounter/CarePlan/Communication.subject, or a Patient itself),
 * the subscriber's client as accessor and its tenant. Read from the notification log (subscription_event).
 */
async function deliveredNotifications(db: Db, q: LogReviewQuery): Promise<AccessRow[]> {
  const r = await db.query<{
    at: Date | string;
    patient: string | null;
    client: string | null;
    tenant: string | null;
    what: string;
    subscription: string;
  }>(
    `SELECT e.delivered_at AS at, e.subscription_id AS subscription,
            e.focus_type || '/' || e.focus_id || COALESCE('/_history/' || e.focus_version, '') AS what,
            s.scope ->> 'clientId' AS client, s.scope ->> 'organization' AS tenant,
            CASE WHEN e.focus_type = 'Patient' THEN 'Patient/' || e.focus_id
                 ELSE COALESCE(f.content::jsonb -> 'for' ->> 'reference', f.content::jsonb -> 'subject' ->> 'reference') END AS patient
     FROM subscription_event e
     JOIN subscription_registry s ON s.id = e.subscription_id
     LEFT JOIN fhir_resource f ON f.resource_type = e.focus_type AND f.id = e.focus_id
     WHERE e.status = 'delivered' AND e.delivered_at IS NOT NULL
       AND ($1::timestamptz IS NULL OR e.delivered_at >= $1::timestamptz)
       AND ($2::timestamptz IS NULL OR e.delivered_at < $2::timestamptz)
       AND ($3::text IS NULL OR s.scope ->> 'clientId' = $3::text)`,
    [q.from ?? null, q.to ?? null, q.accessor ?? null],
  );
  return r.rows
    .filter((x) => x.patient?.startsWith('Patient/'))
    .map((x) => ({
      recorded: new Date(x.at).toISOString(),
      accessor: x.client ?? `Subscription/${x.subscription}`,
      ...(x.tenant ? { tenant: x.tenant } : {}),
      patient: x.patient ?? '',
      action: 'R',
      interaction: 'notification',
      what: x.what,
      outcome: '0',
    }));
}

export async function reviewAccess(
  db: Db,
  q: LogReviewQuery,
  /** Rows whose patients' residency is looked up together (smaller in tests, to cross the batches). */
  residencyRows = RESIDENCY_ROWS,
): Promise<AccessRow[]> {
  const r = await db.query<{ content: string }>(
    `SELECT content FROM fhir_resource
     WHERE resource_type = 'AuditEvent' AND NOT deleted
       AND content::jsonb -> 'entity' @> '[{"role": {"code": "1"}}]'::jsonb
       AND ($1::text IS NULL OR content::jsonb -> 'entity' @> jsonb_build_array(jsonb_build_object('what', jsonb_build_object('reference', $1::text))))
       AND ($2::text IS NULL OR content::jsonb -> 'agent' @> jsonb_build_array(jsonb_build_object('who', jsonb_build_object('identifier', jsonb_build_object('value', $2::text)))))
       AND ($3::timestamptz IS NULL OR (content::jsonb ->> 'recorded')::timestamptz >= $3::timestamptz)
       AND ($4::timestamptz IS NULL OR (content::jsonb ->> 'recorded')::timestamptz < $4::timestamptz)
     ORDER BY content::jsonb ->> 'recorded' DESC, id`,
    [q.patient ?? null, q.accessor ?? null, q.from ?? null, q.to ?? null],
  );
  const all = [
    ...r.rows.flatMap((row) => rowsOf(JSON.parse(row.content) as AuditEvent)),
    ...(await deliveredNotifications(db, q)),
  ].filter((a) => !q.patient || a.patient === q.patient);
  // Newest first, reads and notifications together.
  all.sort((a, b) => (a.recorded < b.recorded ? 1 : a.recorded > b.recorded ? -1 : 0));
  const out: AccessRow[] = [];
  // a municipality's residents among the patients of the next rows, looked up as the rows are reached
  const resident = new Map<string, boolean>();
  for (let from = 0; from < all.length && out.length < q.limit; from += residencyRows) {
    const rows = all.slice(from, from + residencyRows);
    if (q.municipality) {
      const unknown = [...new Set(rows.map((a) => a.patient))].filter((p) => !resident.has(p));
      const yes = await residentsAmong(db, q.municipality, unknown);
      for (const p of unknown) resident.set(p, yes.has(p));
    }
    for (const a of rows) {
      if (q.municipality && !resident.get(a.patient)) continue;
      out.push(a);
      if (out.length >= q.limit) break;
    }
  }
  return named(db, out);
}

/** Each row with its accessor's organisation (its tenant) by name, as the directory names it. */
async function named(db: Db, rows: AccessRow[]): Promise<AccessRow[]> {
  const dir = await organisationDirectory(db);
  return rows.map(({ recorded, ...rest }) =>
    rest.tenant ? { recorded, organisation: dir.name(rest.tenant), ...rest } : { recorded, ...rest },
  );
}
