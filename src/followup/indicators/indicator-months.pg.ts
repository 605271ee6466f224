/**
 * The indicators of consecutive months from the store, month by month. Each stay is read once per run: its fold
 * (from the fold cache or the engine), its patient, and its Tasks from the deadline worker's projection
 * (`deadline_task`, migration 110: deadline, first completion, …), kept in memory only while a later month still
 * needs it. Per month the rows are the ones `loadIndicatorRows` reads (the same stays and Tasks), so
 * `computeIndicators` gives the same values; only the Task source differs: the projection, as of the deadline
 * worker's last event, instead of each Task's JSON and history. The month's deviations are not the stays': every
 * deviation that occurred in the month, whatever its stay (`deviationsBetween`, as the deviation list and the
 * dashboard read them).
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import {
  computeIndicators,
  type IndicatorStay,
  type IndicatorTask,
  type IndicatorValue,
} from '../../core/indicators/compute-indicators';
import { localMonthWindow } from '../../core/indicators/deviations';
import type { Db } from '../../store/db.port';
import { arrayParam } from '../../store/packed-array';
import { deviationsBetween } from '../deviations/deviation-rows.pg';
import { BATCH, inBatches } from '../stays/batches';
import { foldsOf, type FoldStats } from '../stays/stay-folds.pg';
import { factsFingerprint, indexStays, monthStart, nextMonthStart, type StayIndex } from '../stays/stay-index.pg';
import { StringPool } from '../stays/string-pool';
import { patients } from './indicator-rows.pg';

const DAY = 86_400_000;

/**
 * A Task as the projection has it, kept small: a run keeps about two months of stays with their Tasks (a quarter of a
 * million stays at national size), so instants are numbers (an ISO string is made only for the month that judges
 * the Task).
 */
interface ProjectedTask {
  code: string;
  owner: string;
  status: string;
  /** NaN: no deadline. */
  deadlineMs: number;
  /** NaN: not completed. */
  completedMs: number;
}

interface Entry {
  stay: IndicatorStay;
  tasks: ProjectedTask[];
}

const ENCOUNTER = 'Encounter/';

interface TaskRow {
  encounter: string;
  first_code: string | null;
  owner: string | null;
  deadline: string | null;
  status: string;
  completed_at: string | null;
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
  // The deviations (`avvikelse` Tasks) are read apart, per month (`deviationsBetween`), not as the stays' Tasks.
  const r = await db.query<TaskRow>(
    `SELECT t.encounter, t.first_code, t.owner, t.status, ${MS('deadline')}, ${MS('completed_at')}
     FROM deadline_task t WHERE t.encounter = ANY(${refs}) AND t.status <> 'deleted'
       AND t.first_code IS DISTINCT FROM 'avvikelse' ORDER BY t.task_id`,
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

/** The Task as `computeIndicators` takes it (it does not read `id`). */
function toIndicatorTask(t: ProjectedTask): IndicatorTask {
  const out: IndicatorTask = {
    id: '',
    code: t.code,
    owner: t.owner,
    cancelled: t.status === 'cancelled' || t.status === 'entered-in-error',
  };
  const deadline = isoOf(t.deadlineMs);
  const completedAt = isoOf(t.completedMs);
  if (deadline) out.deadline = deadline;
  if (completedAt) out.completedAt = completedAt;
  return out;
}

/** The month's rows for `computeIndicators` from the entries of its stays (in the stays' order). */
function rowsOf(month: string, entries: readonly Entry[]) {
  const lo = monthStart(month) - DAY;
  const hi = nextMonthStart(month) + DAY;
  const tasks: IndicatorTask[] = [];
  for (const e of entries) {
    for (const t of e.tasks) {
      // Only a deadline in the month is judged (the exact local month is checked by computeIndicators).
      if (t.deadlineMs >= lo && t.deadlineMs < hi) tasks.push(toIndicatorTask(t));
    }
  }
  return { stays: entries.map((e) => e.stay), tasks };
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
    const { from, to } = localMonthWindow(month);
    const deviations = await deviationsBetween(db, from, to);
    yield { month, values: computeIndicators({ month, ...rowsOf(month, entries), deviations, now }) };
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
