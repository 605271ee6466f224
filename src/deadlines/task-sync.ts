import type { Task } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { FhirRepository } from '../store/repository.port';
import { isGatewayError } from '../platform/errors';
import { CLOSED_TASK_STATUSES } from '../fhir/codes';
import { dutyClosedByStatusAlone } from '../fhir/task';
import { planSteps, type LadderStepInput, type PlannedStep } from './ladder';
import {
  applyPlans,
  cancelOpenStepsOf,
  lockTask,
  upsertTaskRows,
  type PendingStep,
  type TaskRow,
} from './deadline-store.pg';

/** Codes of Tasks the deadline worker writes itself and never puts on a ladder. */
const NOT_LADDERED = new Set(['avvikelse', 'makulering']);

export interface TimerChanges {
  arm: PendingStep[];
  disarm: PendingStep[];
}

export interface SyncDeps {
  /** The ladder for Tasks of `code` under `agreement`, or undefined when the agreement sets none. */
  ladderFor(agreement: string, code: string | undefined): readonly LadderStepInput[] | undefined;
  /** Agreement id for a Task (from the Task or its stay), falling back to the region's agreement. */
  agreementOf(task: Task): string;
  repo(db: Db): FhirRepository;
  now(): Date;
}

export const SVU_TASK_SYSTEM_SUFFIX = '/CodeSystem/svu-task';

export function taskCode(task: Task): string | undefined {
  const codings = task.code?.coding ?? [];
  return (codings.find((c) => c.system?.endsWith(SVU_TASK_SYSTEM_SUFFIX)) ?? codings[0])?.code;
}

export function taskRowOf(task: Task, agreement: string): TaskRow {
  const end = task.restriction?.period?.end;
  // a duty closed by a status alone is not met: its deadline runs on (`dutyClosedByStatusAlone`)
  const closed = CLOSED_TASK_STATUSES.has(task.status) && !dutyClosedByStatusAlone(task);
  // when the Task says its duty was met: completed, or done while still open (an acknowledged SIP invitation stays
  // `received`); a cancelled or rejected Task met nothing
  const metAt = !closed || task.status === 'completed' ? task.executionPeriod?.end : undefined;
  return {
    taskId: task.id ?? '',
    code: taskCode(task),
    owner: task.owner?.reference,
    requester: task.requester?.reference,
    encounter: task.encounter?.reference,
    agreement,
    deadline: end ? new Date(end) : undefined,
    status: task.status,
    // a Task whose duty is met is not open: no due-soon list, no open count, no further step
    open: !closed && !metAt,
    businessStatus: task.businessStatus?.coding?.[0]?.code,
    versionId: task.meta?.versionId,
    firstCode: task.code?.coding?.[0]?.code,
    authoredOn: task.authoredOn,
    focus: task.focus?.reference?.replace(/^Task\//, ''),
    reasonCode: task.reasonCode?.coding?.[0]?.code,
    groupIdentifier: task.groupIdentifier?.value,
    completedNowAt: task.status === 'completed' ? task.meta?.lastUpdated : undefined,
    metAt,
  };
}

/** Reads a Task through the repository; undefined when it does not exist or was deleted. */
export async function readTask(repo: FhirRepository, id: string): Promise<Task | undefined> {
  try {
    return await repo.read<Task>('Task', id);
  } catch (e) {
    if (isGatewayError(e) && (e.code === 'not-found' || e.code === 'gone')) return undefined;
    throw e;
  }
}

/**
 * Brings the deadline rows of Tasks in line with the Tasks as they are now (not as an event said they were, so
 * events may arrive late, twice or out of order). For Tasks whose deadline rows the caller has locked (`lockTask`,
 * `lockTasks`) before reading them, each at most once, with a statement per kind of change for all of them (the
 * deadline worker's outbox batches). Returns the timers to change once the transaction has committed.
 */
export async function syncLockedTasks(
  tx: Db,
  tasks: readonly { taskId: string; task: Task | undefined }[],
  deps: SyncDeps,
): Promise<TimerChanges> {
  const now = deps.now();
  const deleted: string[] = [];
  const rows: TaskRow[] = [];
  const cancels: { taskId: string; reason: string }[] = [];
  const plans: { taskId: string; plan: PlannedStep[] }[] = [];
  for (const { taskId, task } of tasks) {
    if (!task) {
      deleted.push(taskId);
      cancels.push({ taskId, reason: 'task-deleted' });
      continue;
    }
    const code = taskCode(task);
    const agreement = deps.agreementOf(task);
    const row = taskRowOf(task, agreement);
    rows.push(row);
    const ladder = code && NOT_LADDERED.has(code) ? undefined : deps.ladderFor(agreement, code);
    // Closed, or its deadline already met while still open (a SIP invitation acknowledged): no further notice.
    if (!row.open)
      cancels.push({ taskId, reason: CLOSED_TASK_STATUSES.has(task.status) ? 'task-closed' : 'deadline-met' });
    else if (!row.deadline || !ladder || ladder.length === 0) cancels.push({ taskId, reason: 'no-deadline' });
    else {
      const authoredOn = task.authoredOn ? new Date(task.authoredOn) : undefined;
      plans.push({ taskId, plan: planSteps(ladder, row.deadline, authoredOn) });
    }
  }
  if (deleted.length > 0) {
    await tx.query(
      `UPDATE deadline_task SET open = false, status = 'deleted', updated_at = now() WHERE task_id = ANY($1::text[])`,
      [deleted],
    );
  }
  await upsertTaskRows(tx, rows);
  const disarm = await cancelOpenStepsOf(tx, cancels, now);
  const planned = await applyPlans(tx, plans, now);
  return { arm: planned.arm, disarm: [...disarm, ...planned.disarm] };
}

/** One Task's sync in its own transaction, the Task read after its lock. Returns the timers to change once the
 * transaction has committed. */
export async function syncTask(db: Db, taskId: string, deps: SyncDeps): Promise<TimerChanges> {
  return db.transaction(async (tx) => {
    await lockTask(tx, taskId); // before reading, so a concurrent sync of the same Task reads the newer version
    return syncLockedTasks(tx, [{ taskId, task: await readTask(deps.repo(tx), taskId) }], deps);
  });
}
