import type { Task } from '@medplum/fhirtypes';
import { retryOnVersionConflict } from '../platform/errors';
import type { Db } from '../store/db.port';
import {
  claimStep,
  getStep,
  lockTask,
  recordOutcome,
  stepsOf,
  supersedeStep,
  type PendingStep,
} from './deadline-store.pg';
import { writeStepEffects, type RuleCitation } from './notices';
import { readTask, syncLockedTasks, type SyncDeps, type TimerChanges } from './task-sync';

export type FireResult =
  /** The step fired now: its effects were written in the same transaction as the claim. */
  | 'fired'
  /** Not due yet by the clock: re-delay the wake-up. */
  | 'not-yet'
  /** Nothing to do: already fired, cancelled, or the deadline moved (another timer covers the new time). */
  | 'stale'
  /** An earlier notice skipped because a later step is already due (e.g. the reminder of a Task created late). */
  | 'superseded';

export interface FireDeps extends SyncDeps {
  /** Description of a ladder step for the notice text. */
  describe(agreement: string, stepId: string): string | undefined;
  /** The rule behind the Task's deadline as the notice names it (its agreement's document and section). */
  cite?: RuleCitation;
}

/**
 * Fires one (Task, step) at most once. In one transaction: lock the Task's deadline row, re-read the Task and
 * re-plan its steps (so a completed Task or a moved deadline the outbox has not told us about yet is honoured),
 * claim the step with a conditional UPDATE and write its effects. Two workers, a retried job, a job re-added
 * by the reconciler: only one claim ever succeeds.
 */
export async function fireStep(db: Db, p: PendingStep, deps: FireDeps): Promise<{ result: FireResult } & TimerChanges> {
  // The Task's owner (or the hospital) may write the Task between the read and the write here, which the deadline
  // lock does not hold back: the write's If-Match then fails, the transaction rolls back, and the step is decided
  // again on the Task as it is now (a Task answered meanwhile may no longer need the notice).
  return retryOnVersionConflict(() => fireStepOnce(db, p, deps));
}

async function fireStepOnce(db: Db, p: PendingStep, deps: FireDeps): Promise<{ result: FireResult } & TimerChanges> {
  return db.transaction(async (tx) => {
    const none = { arm: [], disarm: [] };
    const before = await getStep(tx, p.taskId, p.stepId);
    if (!before || before.firedAt || before.cancelledAt || before.dueAt.getTime() !== p.dueAt.getTime()) {
      return { result: 'stale', ...none };
    }
    const now = deps.now();
    if (p.dueAt.getTime() > now.getTime()) return { result: 'not-yet', ...none };
    const repo = deps.repo(tx);
    // Locked before the Task is read: a step of the same Task fired at the same moment has then committed its
    // Task version, and this one writes on top of it instead of failing on If-Match.
    await lockTask(tx, p.taskId);
    const task: Task | undefined = await readTask(repo, p.taskId);
    const changes = await syncLockedTasks(tx, [{ taskId: p.taskId, task }], deps);
    const step = await getStep(tx, p.taskId, p.stepId, true);
    if (!task || !step || step.firedAt || step.cancelledAt || step.dueAt.getTime() !== p.dueAt.getTime()) {
      return { result: 'stale', ...changes };
    }
    if (step.kind === 'reminder') {
      const later = (await stepsOf(tx, p.taskId)).some(
        (s) => s.kind !== 'reminder' && s.seq > step.seq && s.dueAt.getTime() <= now.getTime(),
      );
      if (later) {
        await supersedeStep(tx, step, now);
        return { result: 'superseded', ...changes };
      }
    }
    if (!(await claimStep(tx, step, now))) return { result: 'stale', ...changes };
    const agreement = deps.agreementOf(task);
    const outcome = await writeStepEffects(repo, task, step, deps.describe(agreement, step.stepId), now, deps.cite);
    await recordOutcome(tx, step, { ...outcome });
    // The Task version written here is already accounted for: its outbox event needs no re-plan.
    await tx.query(
      'UPDATE deadline_task SET business_status = $2, version_id = COALESCE($3, version_id) WHERE task_id = $1',
      [p.taskId, outcome.businessStatus, outcome.taskVersion ?? null],
    );
    return { result: 'fired', ...changes };
  });
}
