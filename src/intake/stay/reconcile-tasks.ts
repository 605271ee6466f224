import { newResourceId } from '../../store/resource-id';
import type { Encounter, Patient, Reference, Resource, Task } from '@medplum/fhirtypes';
import { isDutyKey } from '../../core/engine/duties';
import type { TaskSpec } from '../../core/engine/types';
import { CLOSED_TASK_STATUSES, SVU_TASK_CODE_INFO } from '../../fhir/codes';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM, PROFILE } from '../../fhir/constants';
import { taskKeyValue } from '../../fhir/references';
import {
  applyTaskSpec,
  buildTask,
  dutyClosedByStatusAlone,
  hasStayLeft,
  readTaskKey,
  withStayLeft,
} from '../../fhir/task';
import type { PartyResolver } from '../../fhir/references';
import type { PreparedWrite } from '../../store/prepare-write';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { WriteOptions } from '../../store/repository.port';
import { sameContent } from '../../store/resource-util';
import { contentOf, readStayRows, type StayRow } from './stay-rows.pg';
import { inOrderOfEvents } from './write-order';

export interface ReconcileInput {
  stayId: string;
  specs: readonly TaskSpec[];
  patient: Reference<Patient>;
  encounter: Reference<Encounter>;
  party: PartyResolver;
  now: string;
  write: WriteOptions;
}

export interface ReconcileResult {
  created: number;
  updated: number;
  cancelled: number;
}

/** One Task to write: a new one (with the id chosen for it), or a new version of `replaces`. */
export interface TaskWrite {
  task: Task;
  /** The stored version this write replaces (written with If-Match on it); absent for a create. */
  replaces?: Task;
}

export interface TaskPlan {
  writes: TaskWrite[];
  result: ReconcileResult;
}

/**
 * Decides, without I/O, how the stored Tasks of a stay come in line with the engine's TaskSpecs, matched by the
 * task-key identifier: creates new ones (ids from `newId`, so a `makulering` can point at a Task created in the
 * same plan), moves deadlines, cancels withdrawn ones (the engine adds the `makulering` Tasks), and never touches
 * a Task its owner completed. A cancelled spec that was never stored is not created, nor a `makulering` of
 * something never sent, that its owner rejected, or that its owner completed and whose result stands
 * (`withdrawsSomethingSent`). A stored Task the engine no longer derives at all is cancelled too (unless its owner
 * completed it), and when it is a party's Task (not a hospital duty), that party gets a `makulering` of it as well,
 * by the same rule. The writes are in the order they must be made: the order the facts behind them happened
 * (`inOrderOfEvents`), which is the order their notifications reach each receiver.
 */
export function planTasks(
  storedTasks: readonly Task[],
  input: Omit<ReconcileInput, 'write'>,
  newId: () => string,
): TaskPlan {
  const stored = new Map<string, Task>();
  for (const t of storedTasks) {
    const k = readTaskKey(t);
    if (k && k.stayId === input.stayId) stored.set(k.key, t);
  }
  const refs = {
    stayId: input.stayId,
    patient: input.patient,
    encounter: input.encounter,
    party: input.party,
    task: (key: string): Reference<Task> | undefined => {
      const t = stored.get(key);
      return t?.id ? { reference: `Task/${t.id}` } : undefined;
    },
  };
  const result: ReconcileResult = { created: 0, updated: 0, cancelled: 0 };
  const writes: TaskWrite[] = [];
  /** Index in `writes` of each Task written by this plan (a second spec for it rewrites that entry). */
  const planned = new Map<string, number>();
  const put = (key: string, w: TaskWrite) => {
    const at = planned.get(key);
    if (at === undefined) {
      planned.set(key, writes.length);
      writes.push(w);
    } else {
      writes[at] = { ...w, replaces: writes[at]?.replaces };
    }
    stored.set(key, w.task);
  };
  const wanted = new Set(input.specs.map((s) => s.key));
  // In the order the facts happened (so are the notifications); a makulering after the Task it withdraws.
  for (const spec of inOrderOfEvents(input.specs)) {
    const existing = stored.get(spec.key);
    if (!existing) {
      if (spec.status === 'cancelled') continue;
      const focus = spec.focusKey === undefined ? undefined : stored.get(spec.focusKey);
      if (spec.code === 'makulering' && !withdrawsSomethingSent(focus)) continue;
      put(spec.key, { task: { ...buildTask(spec, refs, { now: input.now }), id: newId() } });
      result.created++;
      continue;
    }
    const closed =
      (existing.status === 'completed' || (CLOSED_TASK_STATUSES.has(existing.status) && spec.status !== 'requested')) &&
      !dutyClosedByStatusAlone(existing);
    if (closed) {
      // A Task its owner closed stays as it was, but for the tag that the stay left its owner: what the owner
      // answered no longer opens the stay to it either
      if (spec.partyLeft && !hasStayLeft(existing)) {
        put(spec.key, { task: { ...existing, meta: withStayLeft(existing, true) }, replaces: existing });
        result.updated++;
      }
      continue;
    }
    const next = applyTaskSpec(existing, spec, refs, { now: input.now });
    // Keep the business status the deadline capability set, unless the deadline moved or the Task is met now: a duty
    // the engine completes at the time it was met (`executionPeriod.end`) is `on-time` or `overdue` for good, as late
    // as it was, whatever step of the ladder it had reached (`buildTask`)
    const metNow = next.status === 'completed' && next.executionPeriod?.end !== undefined;
    if (
      !metNow &&
      existing.businessStatus &&
      next.businessStatus &&
      existing.restriction?.period?.end === next.restriction?.period?.end
    ) {
      next.businessStatus = existing.businessStatus;
    }
    if (sameContent(next, existing)) continue;
    const isNew = planned.has(spec.key) && !writes[planned.get(spec.key) ?? -1]?.replaces;
    put(spec.key, { task: next, replaces: existing });
    if (isNew) continue;
    if (next.status === 'cancelled' && existing.status !== 'cancelled') result.cancelled++;
    else result.updated++;
  }
  // Stored Tasks the engine no longer wants at all are withdrawn, and a party's Task with a makulering to that party
  // by the same rule as a withdrawal the engine derives (`withdrawsSomethingSent`): a Task its owner completed is
  // left as answered, and its owner is told only where its news no longer holds.
  const specs = new Map(input.specs.map((s) => [s.key, s]));
  for (const [key, t] of [...stored]) {
    if (wanted.has(key) || (CLOSED_TASK_STATUSES.has(t.status) && t.status !== 'completed')) continue;
    if (t.status !== 'completed') {
      // A makulering stands while what it withdrew stays withdrawn (or gone); it goes only if that is wanted again.
      const focus = key.startsWith('makulering:') ? specs.get(key.slice('makulering:'.length)) : undefined;
      if (key.startsWith('makulering:') && (!focus || focus.status === 'cancelled')) continue;
      put(key, { task: { ...t, status: 'cancelled' }, replaces: t });
      result.cancelled++;
    }
    const notice = `makulering:${key}`;
    if (!toldOfWithdrawal(key, t) || !withdrawsSomethingSent(t) || stored.has(notice)) continue;
    put(notice, { task: { ...withdrawal(t, notice, refs.stayId, input), id: newId() } });
    result.created++;
  }
  return { writes, result };
}

/**
 * Whether the owner of a withdrawn Task (the engine's makulering, or one the engine no longer derives at all) is told
 * with a makulering, by what the owner did with the Task (as stored):
 * - never stored (never sent), or rejected by its owner (its own answer closed it): no;
 * - completed by its owner: only for news that no longer holds (`NEWS_WITHDRAWN`: the admission notification, the
 *   ready notice, a changed estimate, the discharge notice, closing the case). The owner acted on it (planning
 *   started, the case closed) and must learn that it stops or changed: a municipality that acknowledged the admission
 *   notification and is then re-routed away gets its makulering. Finished work whose result stands (information
 *   received, a named care contact appointed, a SIP invitation sent, a follow-up held, a written plan sent) gets
 *   none: a makulering would read as if it never happened. Its owner learns that the stay left it or ended from the
 *   makulering of its admission notification (a re-routing) or from `avsluta-arende` (a death);
 * - still open: yes.
 * A Task its owner closed is never changed itself (it stays as answered).
 */
function withdrawsSomethingSent(focus: Task | undefined): boolean {
  if (focus === undefined || focus.status === 'rejected') return false;
  return focus.status !== 'completed' || NEWS_WITHDRAWN.has(svuCode(focus) ?? '');
}

/** Notices whose news a withdrawal reverses: their owner is told even after completing (acknowledging) them. */
const NEWS_WITHDRAWN = new Set<string>([
  'inskrivningsmeddelande',
  'utskrivningsklar',
  'beraknad-utskrivning-andrad',
  'utskrivningsmeddelande',
  'avsluta-arende',
]);

const svuCode = (t: Task): string | undefined => t.code?.coding?.find((c) => c.system === CODE_SYSTEM.task)?.code;

/** Codes of Tasks no party is told the withdrawal of: the notice itself, the ladder's deviations, the hospital's own. */
const NOT_TOLD = new Set(['makulering', 'avvikelse', 'korrigera-mottagare']);

/** Whether the owner of a stored Task the engine no longer wants must be told (a party's Task, not a hospital duty). */
function toldOfWithdrawal(key: string, t: Task): boolean {
  const code = svuCode(t);
  return !isDutyKey(key) && code !== undefined && !NOT_TOLD.has(code);
}

/**
 * The makulering of a stored Task the engine no longer derives (e.g. its requirement went with a needs
 * re-assessment): to the same owner, from the same requester, pointing at it. The engine gave no reason, so the text
 * says what is withdrawn and names no other party.
 */
function withdrawal(t: Task, key: string, stayId: string, input: Omit<ReconcileInput, 'write'>): Task {
  const info = SVU_TASK_CODE_INFO.makulering;
  const what = t.code?.text ?? t.code?.coding?.[0]?.display ?? 'Uppgiften';
  return {
    resourceType: 'Task',
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: taskKeyValue(stayId, key) }],
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: CODE_SYSTEM.task, code: 'makulering', display: info.display }], text: info.display },
    description: `${what} återkallas: uppgiften gäller inte längre efter ändrade uppgifter om vårdtillfället`,
    focus: { reference: `Task/${t.id ?? ''}` },
    for: input.patient,
    encounter: input.encounter,
    authoredOn: input.now,
    ...(t.requester ? { requester: t.requester } : {}),
    ...(t.owner ? { owner: t.owner } : {}),
  };
}

/** The plan's writes, prepared over the stored rows they replace (If-Match on each replaced version). */
export function prepareTaskWrites(
  repo: PgRepository,
  plan: TaskPlan,
  storedRows: readonly StayRow[],
  write: WriteOptions,
): PreparedWrite<Resource>[] {
  const rows = new Map(storedRows.map((r) => [r.id, r.row]));
  return plan.writes.map((w) => {
    const id = w.task.id ?? '';
    const version = w.replaces?.meta?.versionId;
    return repo.prepare<Resource>(w.task, id, w.replaces ? rows.get(id) : undefined, w.replaces ? 'PUT' : 'POST', {
      ...write,
      ...(version ? { ifMatch: version } : {}),
    });
  });
}

/**
 * `planTasks` against the store, in the caller's transaction: reads the stay's Tasks (one statement) and writes
 * the plan (one statement; each update is a compare-and-set on the version read, so an owner's concurrent change,
 * e.g. `received`, is never overwritten: the write fails with `version-conflict` and the caller retries).
 */
export async function reconcileTasks(
  tx: Db,
  repo: PgRepository,
  input: ReconcileInput,
  newId: () => string = newResourceId,
): Promise<ReconcileResult> {
  const stored = (await readStayRows(tx, [], [], [input.stayId])).tasks.get(input.stayId) ?? [];
  const plan = planTasks(
    stored.flatMap((r) => contentOf<Task>(r) ?? []),
    input,
    newId,
  );
  await repo.commitPrepared(tx, prepareTaskWrites(repo, plan, stored, input.write));
  return plan.result;
}
