/**
 * A synthetic national year in PostgreSQL, written in bulk by SQL (INSERT … SELECT over generate_series), shaped
 * like what intake and the deadline worker write: per stay its facts (`stay_fact`: admission with municipality,
 * hospital and vårdcentral, needs, criteria, estimated discharge, ready notices, some withdrawn, SIP meetings,
 * 5 kap. 5 §, discharge; some stays still admitted or cancelled), the Encounter and the Patient (65+ for most,
 * some re-admitted within 30 days), and Tasks with history, search rows and their `deadline_task` projection
 * row: the municipality's admission notification, the hospital's duties (admission notification within 24 h,
 * discharge notice the same day: most met, some late, some open), the vårdcentral's named care contact and SIP
 * invitation where a SIP is needed, deviations for late duties and some reported by people (copies sharing a
 * groupIdentifier). 290 municipalities (or `municipalities`: a region's year), 21 regions with 3 hospitals each,
 * 4 vårdcentraler per municipality.
 */
import type { Db } from '../../src/store/db.port';

const TS = (x: string) => `to_char((${x}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const SYS = 'https://svu-gateway.dev/fhir/CodeSystem/svu-task';

/** The stays' parameters, one row per stay (a work table dropped at the end). */
function stayTable(n: number, year: number, municipalities: number): string {
  const k = Math.max(1, Math.floor(n / 36)); // ≈ 10 days earlier in the national stream
  return `
CREATE UNLOGGED TABLE nat_stay AS
SELECT i, id, muni, placed_by, hospital, vc, care, adm, ready, CASE WHEN open THEN NULL ELSE dis END AS dis,
  withdrawn, sip, sip_held, cat_b, unavailable, estimated, cancelled, patient, birth, late_adm, late_dis, sip_state
FROM (
  SELECT i, 'nat-' || lpad(i::text, 8, '0') AS id,
    (1001 + mi * 29)::text AS muni,
    CASE WHEN random() < 0.02 THEN (1001 + ((mi + 7) % ${municipalities}) * 29)::text END AS placed_by,
    'SE2321000000-H' || (mi % 21) || '-' || (i % 3) AS hospital,
    'SE2321000000-V' || mi || '-' || (i % 4) AS vc,
    CASE WHEN random() < 0.08 THEN 'psychiatric' ELSE 'somatic' END AS care,
    adm, adm + (1 + floor(random() * 8)) * interval '1 day' + floor(random() * 10) * interval '1 hour' AS ready,
    random() < 0.01 AS open, random() < 0.08 AS withdrawn,
    sip, sip AND random() < 0.8 AS sip_held, random() < 0.04 AS cat_b, random() < 0.02 AS unavailable,
    random() < 0.97 AS estimated, random() < 0.005 AS cancelled,
    'pat-' || CASE WHEN i > ${k} AND random() < 0.06 THEN i - ${k} ELSE i END AS patient,
    CASE WHEN random() < 0.7 THEN date '1925-01-01' + floor(random() * 12000)::int
         ELSE date '1960-01-01' + floor(random() * 14000)::int END AS birth,
    random() < 0.1 AS late_adm, random() < 0.05 AS late_dis,
    floor(random() * 10)::int AS sip_state, rd
  FROM (
    SELECT i, floor(random() * ${municipalities})::int AS mi, random() < 0.35 AS sip,
      timestamptz '${year}-01-01 00:00+01' + ((i - 1)::float8 / ${n}) * interval '365 days'
        + floor(random() * 20) * interval '1 hour' AS adm,
      CASE WHEN random() < 0.85 THEN floor(random() * 5) ELSE 5 + floor(random() * 16) END AS rd
    FROM generate_series(1, ${n}) i) a
) b
CROSS JOIN LATERAL (SELECT ready + rd * interval '1 day' + floor(random() * 8) * interval '1 hour' AS dis) d;
CREATE INDEX ON nat_stay (i);
ANALYZE nat_stay;`;
}

/** Facts of the stays in [lo, hi]. */
function facts(lo: number, hi: number): string {
  const f = (n: number, kind: string, at: string, extra: string, where = 'true') => `
SELECT id || '#${n}', id, '${kind}', ${at},
  jsonb_build_object('id', id || '#${n}', 'stayId', id, 'kind', '${kind}', 'at', ${TS(at)}) ${extra}, 'hl7'
FROM nat_stay WHERE i BETWEEN ${lo} AND ${hi} AND ${where}`;
  const parts = [
    f(
      1,
      'admitted',
      'adm',
      `|| jsonb_build_object('hospital', hospital, 'care', care, 'patient', jsonb_strip_nulls(jsonb_build_object(
        'municipality', muni, 'placingMunicipality', placed_by, 'primaryCareUnit', vc)))`,
    ),
    f(
      2,
      'needs-assessed',
      "adm + interval '1 hour'",
      `|| CASE WHEN cat_b THEN '{"needs":["oppenvard"],"consent":"ja","category":"B","sipNeeded":false}'::jsonb
          ELSE jsonb_build_object('needs', '["socialtjanst","kommunal-hsl"]'::jsonb, 'consent', 'ja', 'sipNeeded', sip) END`,
    ),
    f(
      3,
      'readiness-criteria-met',
      "adm + interval '2 hours'",
      `|| '{"criteria":["physician-assessed","written-information","fvk-appointed","information-transferred","assistive-devices","medication-list"]}'::jsonb`,
    ),
    f(
      4,
      'estimated-discharge-set',
      "adm + interval '3 hours'",
      `|| jsonb_build_object('date', to_char(COALESCE(dis, ready) AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM-DD'))`,
      'estimated',
    ),
    f(5, 'ready-for-discharge', "adm + interval '4 hours'", '', 'withdrawn'),
    f(6, 'ready-withdrawn', "adm + interval '6 hours'", '', 'withdrawn'),
    f(7, 'ready-for-discharge', 'ready', ''),
    f(8, 'sip-meeting-held', "ready + interval '2 hours'", '', 'sip_held'),
    f(
      9,
      'outpatient-services-unavailable',
      "ready + interval '1 hour'",
      `|| '{"unavailable":true}'::jsonb`,
      'unavailable',
    ),
    f(10, 'discharged', 'dis', '', 'dis IS NOT NULL'),
    f(11, 'admission-cancelled', "adm + interval '5 hours'", '', 'cancelled'),
  ];
  return `INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source) ${parts.join('\nUNION ALL')};`;
}

function encountersAndPatients(lo: number, hi: number): string {
  return `
INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, content, method)
SELECT 'Encounter', id, 1, now(), jsonb_build_object('resourceType', 'Encounter', 'id', id,
  'meta', jsonb_build_object('versionId', '1'), 'status', CASE WHEN dis IS NULL THEN 'in-progress' ELSE 'finished' END,
  'class', '{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"}'::jsonb,
  'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:oid:1.2.752.29.4.19.national', 'value', id)),
  'subject', jsonb_build_object('reference', 'Patient/' || patient),
  'serviceProvider', jsonb_build_object('identifier', jsonb_build_object('value', hospital)),
  'period', jsonb_strip_nulls(jsonb_build_object('start', ${TS('adm')}, 'end', ${TS('dis')}))
  )::text, 'PUT'
FROM nat_stay WHERE i BETWEEN ${lo} AND ${hi};
INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, content, method)
SELECT 'Patient', 'pat-' || i, 1, now(), jsonb_build_object('resourceType', 'Patient', 'id', 'pat-' || i,
  'meta', jsonb_build_object('versionId', '1'), 'birthDate', birth::text,
  'name', '[{"family":"Nationell","given":["Test"]}]'::jsonb,
  'address', jsonb_build_array(jsonb_build_object('use', 'home', 'district', muni)))::text, 'PUT'
FROM nat_stay WHERE i BETWEEN ${lo} AND ${hi};`;
}

/**
 * Tasks: (suffix, code, owner, requester, deadline, completed at, condition, focus, reason, group). `done` NULL
 * leaves the Task open (requested); a completed Task has version 1 (requested) in the history.
 */
function tasks(lo: number, hi: number): string {
  const t = (
    suffix: string,
    code: string,
    owner: string,
    requester: string,
    due: string,
    done: string,
    authored: string,
    where: string,
    extra = "NULL::text AS focus, NULL::text AS reason, NULL::text AS grp, 'requested' AS open_status",
  ) => `
SELECT id AS stay, id || '-${suffix}' AS task, '${code}' AS code, ${owner} AS owner, ${requester} AS requester,
  ${due} AS due, ${done} AS done, ${authored} AS authored, ${extra}
FROM nat_stay WHERE i BETWEEN ${lo} AND ${hi} AND NOT cancelled AND ${where}`;
  const muni = "'Organization/kommun-' || COALESCE(placed_by, muni)";
  const hosp = "'Organization/' || hospital";
  const vc = "'Organization/' || vc";
  const parts = [
    t(
      'im',
      'inskrivningsmeddelande',
      muni,
      hosp,
      'NULL::timestamptz',
      "adm + interval '30 minutes'",
      'adm',
      'true',
      "NULL::text AS focus, NULL::text AS reason, NULL::text AS grp, 'received' AS open_status",
    ),
    t(
      'a-im',
      'inskrivningsmeddelande',
      hosp,
      muni,
      "adm + interval '24 hours'",
      "adm + CASE WHEN late_adm THEN interval '30 hours' ELSE interval '20 minutes' END",
      'adm',
      'true',
    ),
    t(
      'a-um',
      'utskrivningsmeddelande',
      hosp,
      muni,
      "date_trunc('day', dis AT TIME ZONE 'Europe/Stockholm') AT TIME ZONE 'Europe/Stockholm' + interval '1 day'",
      "CASE WHEN late_dis THEN NULL ELSE dis + interval '1 hour' END",
      'ready',
      'dis IS NOT NULL',
    ),
    t(
      'fvk',
      'utse-fast-vardkontakt',
      vc,
      hosp,
      "adm + interval '3 days'",
      "CASE WHEN sip_state < 8 THEN adm + (sip_state * 12) * interval '1 hour' END",
      'adm',
      'sip',
    ),
    t(
      'sip',
      'kallelse-sip',
      vc,
      hosp,
      "ready + interval '3 days'",
      "CASE WHEN sip_state < 8 THEN ready + (sip_state * 12) * interval '1 hour' END",
      'ready',
      'sip',
    ),
    t(
      'dev',
      'avvikelse',
      muni,
      hosp,
      'NULL::timestamptz',
      'NULL::timestamptz',
      "adm + interval '25 hours'",
      'late_adm',
      "id || '-a-im', NULL::text, NULL::text, 'requested'",
    ),
    t(
      'rep1',
      'avvikelse',
      hosp,
      muni,
      'NULL::timestamptz',
      'NULL::timestamptz',
      "ready + interval '1 hour'",
      'sip_state = 9 AND unavailable',
      "NULL::text, 'informationsoverforing', id || '-rep', 'requested'",
    ),
    t(
      'rep2',
      'avvikelse',
      muni,
      muni,
      'NULL::timestamptz',
      'NULL::timestamptz',
      "ready + interval '1 hour'",
      'sip_state = 9 AND unavailable',
      "NULL::text, 'informationsoverforing', id || '-rep', 'requested'",
    ),
  ];
  const content = (status: string, version: string, updated: string) => `jsonb_strip_nulls(jsonb_build_object(
    'resourceType', 'Task', 'id', task, 'meta', jsonb_build_object('versionId', ${version}, 'lastUpdated', ${TS(updated)}),
    'status', ${status}, 'intent', 'order',
    'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', '${SYS}', 'code', code))),
    'description', 'Synthetic national-year Task', 'encounter', jsonb_build_object('reference', 'Encounter/' || stay),
    'for', jsonb_build_object('reference', 'Patient/pat-' || substr(stay, 5)::int),
    'authoredOn', ${TS('authored')}, 'owner', jsonb_build_object('reference', owner),
    'requester', jsonb_build_object('reference', requester),
    'restriction', CASE WHEN due IS NOT NULL THEN jsonb_build_object('period', jsonb_build_object('end', ${TS('due')})) END,
    'focus', CASE WHEN focus IS NOT NULL THEN jsonb_build_object('reference', 'Task/' || focus) END,
    'reasonCode', CASE WHEN reason IS NOT NULL THEN jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('code', reason))) END,
    'groupIdentifier', CASE WHEN grp IS NOT NULL THEN jsonb_build_object('system', 'https://svu-gateway.dev/fhir/deviation-report', 'value', grp) END
  ))::text`;
  return `
CREATE UNLOGGED TABLE nat_task AS ${parts.join('\nUNION ALL')};
INSERT INTO fhir_resource (resource_type, id, version_id, last_updated, content, method)
SELECT 'Task', task, CASE WHEN done IS NULL THEN 1 ELSE 2 END, COALESCE(done, authored),
  ${content("CASE WHEN done IS NULL THEN open_status ELSE 'completed' END", "CASE WHEN done IS NULL THEN '1' ELSE '2' END", 'COALESCE(done, authored)')}, 'PUT'
FROM nat_task;
INSERT INTO fhir_resource_history (resource_type, id, version_id, last_updated, method, content)
SELECT 'Task', task, 1, authored, 'POST', ${content('open_status', "'1'", 'authored')} FROM nat_task WHERE done IS NOT NULL;
INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
SELECT 'Task', task, 'encounter', 'Encounter', stay FROM nat_task
UNION ALL SELECT 'Task', task, 'code', '${SYS}', code FROM nat_task
UNION ALL SELECT 'Task', task, 'status', NULL, CASE WHEN done IS NULL THEN open_status ELSE 'completed' END FROM nat_task;
INSERT INTO deadline_task (task_id, code, owner, requester, encounter, agreement, deadline, status, open,
  business_status, version_id, first_code, completed_at, authored_on, focus, reason_code, group_identifier)
SELECT task, code, owner, requester, 'Encounter/' || stay, 'lag', due,
  CASE WHEN done IS NULL THEN open_status ELSE 'completed' END, done IS NULL,
  CASE WHEN due IS NULL THEN NULL WHEN done IS NULL OR done > due THEN 'overdue' ELSE 'on-time' END,
  CASE WHEN done IS NULL THEN '1' ELSE '2' END, code, done, ${TS('authored')}, focus, reason, grp
FROM nat_task;
DROP TABLE nat_task;`;
}

export interface FillReport {
  stays: number;
  facts: number;
  tasks: number;
  ms: number;
  sizeMb: number;
}

/** Fills an empty, migrated database with `n` stays of `year`, in chunks; `log` gets progress lines. */
export async function fillNationalYear(
  db: Db,
  n: number,
  year: number,
  log: (s: string) => void,
  municipalities = 290,
): Promise<FillReport> {
  const t0 = Date.now();
  await db.query('SELECT setseed(0.42)');
  await db.query('DROP TABLE IF EXISTS nat_stay, nat_task');
  await db.query(stayTable(n, year, municipalities));
  const chunk = 100_000;
  for (let lo = 1; lo <= n; lo += chunk) {
    const hi = Math.min(n, lo + chunk - 1);
    await db.query(facts(lo, hi));
    await db.query(encountersAndPatients(lo, hi));
    await db.query(tasks(lo, hi));
    log(`  filled stays ${lo}–${hi} (${Math.round((Date.now() - t0) / 1000)} s)`);
  }
  await db.query('DROP TABLE nat_stay');
  // The facts went in without intake: the dashboard's stay summaries are made from them in one pass.
  await db.query('SELECT svu_rebuild_stay_summary()');
  await db.query('VACUUM ANALYZE');
  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  return {
    stays: n,
    facts: await count('SELECT count(*) AS n FROM stay_fact'),
    tasks: await count(`SELECT count(*) AS n FROM deadline_task`),
    ms: Date.now() - t0,
    sizeMb: Math.round((await count('SELECT pg_database_size(current_database()) AS n')) / 1048576),
  };
}
