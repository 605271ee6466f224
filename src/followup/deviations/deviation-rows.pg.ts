/**
 * The deviations that occurred in a window, read from the store as `src/core/indicators/deviations.ts` defines
 * them; the deviation list, the dashboard and the indicators all read them here.
 *
 * - Fired by the deadline ladder: a fired `deviation` step (`deadline_step`, written in the transaction that wrote
 *   its `avvikelse` copies), at its due time (the agreement's point after the deadline; a step fires only once due,
 *   so `fired_at >= due_at` and the index on `fired_at` bounds the read), under its missed Task's code (the deadline
 *   worker's projection, `deadline_task`). The copies' holders are the step's recipients (`outcome.recipients`);
 *   the responsible party is the missed Task's owner when it fired (`outcome.responsible`; for steps fired before
 *   that was recorded, its owner now).
 * - Reported by a party: the `avvikelse` Tasks of `$report-deviation` (groupIdentifier in DEVIATION_REPORT_SYSTEM,
 *   one per recipient), read as stored: its requester is the responsible party, its reasonCode the kind.
 */
import { UNKNOWN_KIND, distinctDeviations, visibleTo, type Deviation } from '../../core/indicators/deviations';
import type { Db } from '../../store/db.port';
import { DEVIATION_REPORT_SYSTEM } from './deviation-report';

interface StepRow {
  task_id: string;
  step_id: string;
  due_at: Date | string;
  owner: string | null;
  requester: string | null;
  code: string | null;
  recipients: unknown;
  responsible: string | null;
}

async function ladderDeviations(db: Db, from: Date, to: Date, owners?: readonly string[]): Promise<Deviation[]> {
  const r = await db.query<StepRow>(
    `SELECT s.task_id, s.step_id, s.due_at, t.owner, t.requester, COALESCE(t.code, t.first_code) AS code,
       s.outcome -> 'recipients' AS recipients, s.outcome ->> 'responsible' AS responsible
     FROM deadline_step s LEFT JOIN deadline_task t ON t.task_id = s.task_id
     WHERE s.kind = 'deviation' AND s.fired_at >= $1 AND s.due_at >= $1 AND s.due_at < $2
       AND ($3::text[] IS NULL OR s.outcome -> 'recipients' ?| $3::text[]
         OR (s.outcome -> 'recipients' IS NULL AND (t.owner = ANY($3::text[]) OR t.requester = ANY($3::text[]))))`,
    [from.toISOString(), to.toISOString(), owners ? [...owners] : null],
  );
  return r.rows.map((row) => {
    const recipients = Array.isArray(row.recipients) ? row.recipients.filter((x) => typeof x === 'string') : [];
    const holders = recipients.length > 0 ? recipients : [row.owner, row.requester].filter((x) => x !== null);
    return {
      key: `deadline:${row.task_id}/${row.step_id}`,
      source: 'deadline' as const,
      at: new Date(row.due_at).toISOString(),
      responsible: row.responsible ?? row.owner ?? '',
      kind: row.code ?? UNKNOWN_KIND,
      holders,
    };
  });
}

interface ReportRow {
  report: string;
  at: string | null;
  responsible: string | null;
  kind: string | null;
  holder: string | null;
}

async function reportedDeviations(db: Db, from: Date, to: Date): Promise<Deviation[]> {
  // Only a Task whose text names groupIdentifier is parsed: the reports are a few of the region's deviations (600 of
  // 33 000 in the region-year bench). OFFSET 0 keeps each one's JSON parsed once.
  const r = await db.query<ReportRow>(
    `SELECT j -> 'groupIdentifier' ->> 'value' AS report, j ->> 'authoredOn' AS at,
       j -> 'requester' ->> 'reference' AS responsible, j -> 'reasonCode' -> 'coding' -> 0 ->> 'code' AS kind,
       j -> 'owner' ->> 'reference' AS holder
     FROM (SELECT c.content::jsonb AS j FROM fhir_resource c
       WHERE c.resource_type = 'Task' AND NOT c.deleted
         AND c.id IN (SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'code' AND value = 'avvikelse')
         AND strpos(c.content, '"groupIdentifier"') > 0 OFFSET 0) t
     WHERE j -> 'groupIdentifier' ->> 'system' = $1 AND j ->> 'status' <> 'entered-in-error'`,
    [DEVIATION_REPORT_SYSTEM],
  );
  const reports = new Map<string, Deviation & { holders: string[] }>();
  for (const row of r.rows) {
    const ms = row.at ? Date.parse(row.at) : NaN;
    if (!row.report || Number.isNaN(ms)) continue;
    const at = new Date(ms).toISOString();
    let d = reports.get(row.report);
    if (!d) {
      d = {
        key: `report:${row.report}`,
        source: 'report',
        at,
        responsible: row.responsible ?? '',
        kind: row.kind ?? UNKNOWN_KIND,
        holders: [],
      };
      reports.set(row.report, d);
    }
    if (at < d.at) d.at = at;
    if (row.holder && !d.holders.includes(row.holder)) d.holders.push(row.holder);
  }
  return [...reports.values()].filter((d) => {
    const ms = Date.parse(d.at);
    return ms >= from.getTime() && ms < to.getTime();
  });
}

/**
 * The deviations that occurred in [from, to), each once; `owners` (a tenant's organisations) keeps those it holds a
 * copy of, undefined the whole region's.
 */
export async function deviationsBetween(
  db: Db,
  from: Date,
  to: Date,
  owners?: readonly string[],
): Promise<Deviation[]> {
  const [ladder, reported] = await Promise.all([
    ladderDeviations(db, from, to, owners),
    reportedDeviations(db, from, to),
  ]);
  return distinctDeviations([...ladder, ...reported].filter((d) => visibleTo(d, owners)));
}
