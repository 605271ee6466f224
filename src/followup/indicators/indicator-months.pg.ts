/**
 * The indicators of consecutive months from the store, month by month. Each stay is read once per run: its fold
 * (from the fold cache or the engine), its patient, and its Tasks from the deadline worker's projection
 * (`deadline_task`, migration 110: deadline, first completion, authoredOn, focus, …), kept in memory only while a
 * later month still needs it. Per month the rows are the ones `loadIndicatorRows` reads (the same stays, Tasks and
 * deviations), so `computeIndicators` gives the same values; only the Task source differs: the projection, as of
 * the deadline worker's last event, instead of each Task's JSON and history.
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import {
  computeIndicators,
  type IndicatorStay,
  type IndicatorTask,
  type IndicatorValue,
} from '../../core/indicators/compute-indicators';
import type { Db } from '../../store/db.port';
import { arrayParam } from '../../store/packed-array';
import { BATCH, inBatches } from '../stays/batches';
import { foldsOf, type FoldStats } from '../stays/stay-folds.pg';
import { indexStays, monthStart, nextMonthStart, type StayIndex } from '../stays/stay-index.pg';
import { StringPool } from '../stays/string-pool';
import { patients } from './indicator-rows.pg';

const DAY = 86_400_000;

/** A Task as the projection has it. */
interface ProjectedTask {
  id: string;
  code: string;
  owner: string;
  requester?: string;
  deadline?: string;
  deadlineMs: number;
  completedAt?: string;
  status: string;
  authoredOn?: string;
  focus?: string;
  reason?: string;
  group?: string;
}

interface Entry {
  stay: IndicatorStay;
  tasks: ProjectedTask[];
}

interface TaskRow {
  task_id: string;
  encounter: string;
  first_code: string | null;
  owner: string | null;
  requester: string | null;
  deadline: string | null;
  status: string;
  completed_at: string | null;
  authored_on: string | null;
  focus: string | null;
  reason_code: string | null;
  group_identifier: string | null;
}

/** An instant as `toISOString` writes it, formatted by PostgreSQL (no Date parsed and formatted again here). */
const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${col}`;

async function tasksOf(db: Db, stayIds: readonly string[], pool: StringPool): Promise<Map<string, ProjectedTask[]>> {
  const params: unknown[] = [];
  const refs = arrayParam(
    params,
    stayIds.map((id) => `Encounter/${id}`),
    'text',
  );
  const r = await db.query<TaskRow>(
    `SELECT task_id, encounter, first_code, owner, requester, ${ISO('deadline')}, status, ${ISO('completed_at')},
       authored_on, focus, reason_code, group_identifier
     FROM deadline_task WHERE encounter = ANY(${refs}) AND status <> 'deleted' ORDER BY task_id`,
    params,
  );
  const out = new Map<string, ProjectedTask[]>();
  for (const row of r.rows) {
    const t: ProjectedTask = {
      id: row.task_id,
      code: pool.of(row.first_code ?? ''),
      owner: pool.of(row.owner ?? ''),
      status: pool.of(row.status),
      deadlineMs: row.deadline === null ? NaN : Date.parse(row.deadline),
    };
    if (row.requester !== null) t.requester = pool.of(row.requester);
    if (row.deadline !== null) t.deadline = row.deadline;
    if (row.completed_at !== null) t.completedAt = row.completed_at;
    if (row.authored_on !== null) t.authoredOn = row.authored_on;
    if (row.focus !== null) t.focus = row.focus;
    if (row.reason_code !== null) t.reason = pool.of(row.reason_code);
    if (row.group_identifier !== null) t.group = row.group_identifier;
    const stay = row.encounter.replace(/^Encounter\//, '');
    const list = out.get(stay);
    if (list) list.push(t);
    else out.set(stay, [t]);
  }
  return out;
}

async function entriesAt(
  db: Db,
  agreement: Agreement,
  index: StayIndex,
  ranks: readonly number[],
  pool: StringPool,
  stats?: FoldStats,
): Promise<Entry[]> {
  return inBatches(ranks.length, async (i) => {
    const part = ranks.slice(i, i + BATCH);
    const ids = part.map((r) => index.ids[r] ?? '');
    const fps = part.map((r) => index.facts[r] ?? '');
    const [folds, who, tasks] = await Promise.all([
      foldsOf(db, agreement, ids, fps, 'indicator', stats),
      patients(db, ids),
      tasksOf(db, ids, pool),
    ]);
    return folds.map((f, k) => {
      const id = ids[k] ?? '';
      const stay: IndicatorStay = f;
      if (stay.municipality !== undefined) stay.municipality = pool.of(stay.municipality);
      if (stay.hospital !== undefined) stay.hospital = pool.of(stay.hospital);
      if (stay.primaryCareUnit !== undefined) stay.primaryCareUnit = pool.of(stay.primaryCareUnit);
      const p = who.get(id);
      if (p) Object.assign(stay, p);
      const ts = tasks.get(id) ?? [];
      // The SIP invitation's deadline: "SIP held within the deadline" compares the meeting with it.
      for (const t of ts)
        if (t.code === 'kallelse-sip' && t.status !== 'cancelled' && t.deadline) stay.sipDue = t.deadline;
      return { stay, tasks: ts };
    });
  });
}

function toIndicatorTask(t: ProjectedTask, codeOf: (taskId: string) => string | undefined): IndicatorTask {
  const out: IndicatorTask = {
    id: t.id,
    code: t.code,
    owner: t.owner,
    cancelled: t.status === 'cancelled' || t.status === 'entered-in-error',
  };
  if (t.deadline) out.deadline = t.deadline;
  if (t.completedAt) out.completedAt = t.completedAt;
  if (t.code === 'avvikelse') {
    if (t.requester) out.responsible = t.requester;
    // Automatic: the missed Task's code; reported by a person: the kind it was reported under.
    const missed = (t.focus ? codeOf(t.focus) : undefined) ?? t.reason;
    if (missed) out.missedCode = missed;
    if (t.focus) out.missedTask = t.focus;
  }
  return out;
}

/** The month's rows for `computeIndicators` from the entries of its stays (in the stays' order). */
function rowsOf(month: string, entries: readonly Entry[]) {
  const lo = monthStart(month) - DAY;
  const hi = nextMonthStart(month) + DAY;
  // A deviation's missed Task is one of its own stay's; any of the month's stays is looked in only when not.
  let codes: Map<string, string> | undefined;
  const codeAmong = (id: string): string | undefined => {
    if (!codes) {
      codes = new Map<string, string>();
      for (const e of entries) for (const t of e.tasks) codes.set(t.id, t.code);
    }
    return codes.get(id);
  };
  const tasks: IndicatorTask[] = [];
  const deviations: IndicatorTask[] = [];
  const seenReports = new Set<string>();
  for (const e of entries) {
    for (const t of e.tasks) {
      if (t.code === 'avvikelse') {
        if ((t.authoredOn ?? '').slice(0, 7) !== month) continue;
        // A deviation reported by a person has a copy per recipient sharing groupIdentifier: counted once.
        if (t.group !== undefined) {
          if (seenReports.has(t.group)) continue;
          seenReports.add(t.group);
        }
        deviations.push(toIndicatorTask(t, (id) => e.tasks.find((x) => x.id === id)?.code ?? codeAmong(id)));
      } else if (t.deadlineMs >= lo && t.deadlineMs < hi) {
        // Only a deadline in the month is judged (the exact local month is checked by computeIndicators).
        tasks.push(toIndicatorTask(t, codeAmong));
      }
    }
  }
  return { stays: entries.map((e) => e.stay), tasks, deviations };
}

/**
 * The indicator values of each month, in order (consecutive months; `now` judges steps still open), one month at
 * a time. `index`: the stays of these months when already found.
 */
export async function* indicatorMonths(
  db: Db,
  agreement: Agreement,
  months: readonly string[],
  now: string,
  index?: StayIndex,
  stats?: FoldStats,
): AsyncGenerator<{ month: string; values: IndicatorValue[] }> {
  const idx = index ?? (await indexStays(db, months));
  if (idx.months.join() !== months.join()) throw new Error('the stay index is for other months');
  const kept = new Map<number, Entry>();
  const pool = new StringPool();
  for (let m = 0; m < months.length; m++) {
    const month = months[m] ?? '';
    const ranks: number[] = [];
    const fresh: number[] = [];
    for (let r = 0; r < idx.ids.length; r++) {
      if (((idx.indicators[r] ?? 0) & (1 << m)) === 0) continue;
      ranks.push(r);
      if (!kept.has(r)) fresh.push(r);
    }
    const read = await entriesAt(db, agreement, idx, fresh, pool, stats);
    read.forEach((e, k) => kept.set(fresh[k] ?? 0, e));
    const entries = ranks.map((r) => kept.get(r) as Entry);
    yield { month, values: computeIndicators({ month, ...rowsOf(month, entries), now }) };
    // Keep only the stays a later month still reads.
    const later = ~((2 << m) - 1);
    for (const r of ranks) if (((idx.indicators[r] ?? 0) & later) === 0) kept.delete(r);
  }
}

/** One month's indicator values (one month of `indicatorMonths`). */
export async function indicatorsOfMonth(
  db: Db,
  agreement: Agreement,
  month: string,
  now: string,
): Promise<IndicatorValue[]> {
  for await (const one of indicatorMonths(db, agreement, [month], now)) return one.values;
  return [];
}
