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
import { factsFingerprint, indexStays, monthStart, nextMonthStart, type StayIndex } from '../stays/stay-index.pg';
import { StringPool } from '../stays/string-pool';
import { patients } from './indicator-rows.pg';

const DAY = 86_400_000;

/**
 * A Task as the projection has it, kept small: a run keeps about two months of stays with their Tasks (a quarter of a
 * million stays at national size), so instants are numbers (an ISO string is made only for the month that judges
 * the Task) and what only a deviation needs is only on a deviation.
 */
interface ProjectedTask {
  code: string;
  owner: string;
  status: string;
  /** NaN: no deadline. */
  deadlineMs: number;
  /** NaN: not completed. */
  completedMs: number;
  deviation?: ProjectedDeviation;
}

/** An `avvikelse` Task's own fields, with its missed Task's code already looked up among its stay's Tasks. */
interface ProjectedDeviation {
  id: string;
  /** `YYYY-MM` of authoredOn: the month the deviation counts in. */
  month: string;
  requester?: string;
  /** The missed Task's id (`focus`). */
  missedTask?: string;
  /** The missed Task's code, or the kind a person reported it under. */
  missedCode?: string;
  group?: string;
}

interface Entry {
  stay: IndicatorStay;
  tasks: ProjectedTask[];
}

const ENCOUNTER = 'Encounter/';

interface TaskRow {
  task_id: string | null;
  missed_code: string | null;
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

/** An instant as epoch milliseconds (no Date parsed here). */
const MS = (col: string) => `floor(extract(epoch FROM ${col}) * 1000)::bigint AS ${col}`;

async function tasksOf(db: Db, stayIds: readonly string[], pool: StringPool): Promise<Map<string, ProjectedTask[]>> {
  const params: unknown[] = [];
  const refs = arrayParam(
    params,
    stayIds.map((id) => `${ENCOUNTER}${id}`),
    'text',
  );
  // What only a deviation needs is read only for deviations (NULL otherwise: nothing to parse), its missed Task's code
  // with it: the missed Task is one of the same stay's (the engine's own, or checked so when a person reports).
  const dev = (col: string) => `CASE WHEN t.first_code = 'avvikelse' THEN t.${col} END AS ${col}`;
  const r = await db.query<TaskRow>(
    `SELECT t.encounter, t.first_code, t.owner, t.status, ${MS('deadline')}, ${MS('completed_at')}, ${dev('task_id')},
       ${dev('requester')}, ${dev('authored_on')}, ${dev('focus')}, ${dev('reason_code')}, ${dev('group_identifier')},
       CASE WHEN t.first_code = 'avvikelse' AND t.focus IS NOT NULL THEN
         (SELECT f.first_code FROM deadline_task f
          WHERE f.task_id = t.focus AND f.encounter = t.encounter AND f.status <> 'deleted') END AS missed_code
     FROM deadline_task t WHERE t.encounter = ANY(${refs}) AND t.status <> 'deleted' ORDER BY t.task_id`,
    params,
  );
  const out = new Map<string, ProjectedTask[]>();
  for (const row of r.rows) {
    const t: ProjectedTask = {
      code: pool.of(row.first_code ?? ''),
      owner: pool.of(row.owner ?? ''),
      status: pool.of(row.status),
      deadlineMs: row.deadline === null ? NaN : Number(row.deadline),
      completedMs: row.completed_at === null ? NaN : Number(row.completed_at),
    };
    if (t.code === 'avvikelse') {
      const d: ProjectedDeviation = { id: row.task_id ?? '', month: pool.of((row.authored_on ?? '').slice(0, 7)) };
      if (row.requester !== null) d.requester = pool.of(row.requester);
      // Automatic: the missed Task's code; reported by a person: the kind it was reported under.
      const missed = row.missed_code ?? row.reason_code;
      if (missed) d.missedCode = pool.of(missed);
      if (row.focus !== null) d.missedTask = row.focus;
      if (row.group_identifier !== null) d.group = row.group_identifier;
      t.deviation = d;
    }
    const stay = row.encounter.slice(ENCOUNTER.length);
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
    const fps = part.map((r) => factsFingerprint(index, r));
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
      for (const t of ts) {
        if (t.code !== 'kallelse-sip' || t.status === 'cancelled') continue;
        const due = isoOf(t.deadlineMs);
        if (due) stay.sipDue = due;
      }
      return { stay, tasks: ts };
    });
  });
}

const isoOf = (ms: number): string | undefined => (Number.isNaN(ms) ? undefined : new Date(ms).toISOString());

/** The Task as `computeIndicators` takes it (it reads `id` only of deviations). */
function toIndicatorTask(t: ProjectedTask): IndicatorTask {
  const out: IndicatorTask = {
    id: t.deviation?.id ?? '',
    code: t.code,
    owner: t.owner,
    cancelled: t.status === 'cancelled' || t.status === 'entered-in-error',
  };
  const deadline = isoOf(t.deadlineMs);
  const completedAt = isoOf(t.completedMs);
  if (deadline) out.deadline = deadline;
  if (completedAt) out.completedAt = completedAt;
  const d = t.deviation;
  if (d) {
    if (d.requester) out.responsible = d.requester;
    if (d.missedCode) out.missedCode = d.missedCode;
    if (d.missedTask) out.missedTask = d.missedTask;
  }
  return out;
}

/** The month's rows for `computeIndicators` from the entries of its stays (in the stays' order). */
function rowsOf(month: string, entries: readonly Entry[]) {
  const lo = monthStart(month) - DAY;
  const hi = nextMonthStart(month) + DAY;
  const tasks: IndicatorTask[] = [];
  const deviations: IndicatorTask[] = [];
  const seenReports = new Set<string>();
  for (const e of entries) {
    for (const t of e.tasks) {
      const d = t.deviation;
      if (d) {
        if (d.month !== month) continue;
        // A deviation reported by a person has a copy per recipient sharing groupIdentifier: counted once.
        if (d.group !== undefined) {
          if (seenReports.has(d.group)) continue;
          seenReports.add(d.group);
        }
        deviations.push(toIndicatorTask(t));
      } else if (t.deadlineMs >= lo && t.deadlineMs < hi) {
        // Only a deadline in the month is judged (the exact local month is checked by computeIndicators).
        tasks.push(toIndicatorTask(t));
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
