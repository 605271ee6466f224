import type { Task } from '@medplum/fhirtypes';
import type { Worker } from 'bullmq';
import type { Agreement } from '../core/agreements/agreement.schema';
import type { Db } from '../store/db.port';
import type { FhirRepository } from '../store/repository.port';
import type { OutboxBatchProcessor, OutboxEvent, OutboxProcessor } from '../delivery/outbox.types';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import { EXTENSION } from '../fhir/constants';
import { readManyAs } from '../delivery/resource-access';
import { lockTasksWithRows, type PendingStep } from './deadline-store.pg';
import { citeDeadlineRule } from './rule-citation';
import { fireStep, type FireDeps, type FireResult } from './fire-step';
import { promoteDue, reconcileTimers } from './reconciler';
import { syncLockedTasks, syncTask, type TimerChanges } from './task-sync';
import { startTimerWorker } from './timer.worker';
import { DeadlineTimers, type TimerJobData } from './timers';

export interface DeadlineServiceOptions {
  db: Db;
  redisUrl: string;
  prefix: string;
  clock: Clock;
  logger: Logger;
  agreements: ReadonlyMap<string, Agreement>;
  /** The region's agreement (config AGREEMENT), used when a Task names none. */
  defaultAgreement: string;
  /** Repository bound to a Db handle (system scope). */
  repo(db: Db): FhirRepository;
  concurrency?: number;
  onFired?(data: TimerJobData, result: FireResult): void;
}

/**
 * The Tasks that `events` (outbox order) are about, each with what its last row says: the Task as the relay read
 * it along, `undefined` when it was deleted, `null` when it must be read.
 */
function taskEventsByTask(events: readonly OutboxEvent[]): Map<string, { task: Task | null | undefined }> {
  const latest = new Map<string, { task: Task | null | undefined }>();
  for (const e of events) {
    if (e.resourceType !== 'Task' || !e.resourceId) continue;
    const task = e.action === 'delete' ? undefined : e.focusJson ? (JSON.parse(e.focusJson) as Task) : null;
    latest.set(e.resourceId, { task });
  }
  return latest;
}

/** Name of the outbox consumer queue through which the deadline worker learns of Task changes. */
export const DEADLINE_EVENTS_CONSUMER = 'deadline-events';

/**
 * The deadline machinery of one process: timers (BullMQ wake-ups), the worker that fires steps, the outbox
 * processor that keeps `deadline_step` in line with Tasks, and the reconciler. Everything it decides, it decides
 * against PostgreSQL; Redis only says "look now".
 */
export class DeadlineService {
  readonly timers: DeadlineTimers;
  readonly deps: FireDeps;
  private worker?: Worker<TimerJobData>;
  private promoting: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: DeadlineServiceOptions) {
    this.timers = new DeadlineTimers({ redisUrl: o.redisUrl, prefix: o.prefix }, o.clock);
    const agreementOf = (task: Task): string => {
      const ext = task.extension?.find((e) => e.url === EXTENSION.agreement);
      const id = ext?.valueString ?? ext?.valueCode ?? ext?.valueCanonical;
      return id && o.agreements.has(id) ? id : o.defaultAgreement;
    };
    this.deps = {
      agreementOf,
      ladderFor: (agreement) => o.agreements.get(agreement)?.escalation.steps,
      describe: (agreement, stepId) =>
        o.agreements.get(agreement)?.escalation.steps.find((s) => s.id === stepId)?.description,
      cite: (task) => citeDeadlineRule(task, o.agreements.get(agreementOf(task))),
      repo: (db) => o.repo(db),
      now: () => o.clock.now(),
    };
  }

  /** Starts the worker that fires steps. */
  startWorker(): void {
    this.worker ??= startTimerWorker({
      redisUrl: this.o.redisUrl,
      prefix: this.o.prefix,
      db: this.o.db,
      deps: this.deps,
      timers: this.timers,
      logger: this.o.logger,
      concurrency: this.o.concurrency,
      onFired: (data, result) => this.o.onFired?.(data, result),
    });
    this.worker.on('failed', (job, err) => {
      const final = job && job.attemptsMade >= (job.opts.attempts ?? 1);
      // ERROR only when someone must act: the reconciler re-arms the step, but it keeps failing.
      const meta = { jobId: job?.id, attempts: job?.attemptsMade, error: err.message };
      if (final) this.o.logger.error('deadline step failed; the reconciler will re-arm it', meta);
      else this.o.logger.warn('deadline step attempt failed', meta);
    });
  }

  /** Handler for one row of the `deadline-events` outbox consumer (its batch of one). */
  readonly outboxProcessor: OutboxProcessor = (event, tx) => this.outboxBatch([event], tx);

  /**
   * Handler for the `deadline-events` outbox consumer: re-plans the Tasks its rows are about, each once, as it is
   * now. A Task the worker has never planned and that has no deadline needs nothing at all (most of them); the
   * others are locked in one statement and skipped when already in line with this version or a newer one (e.g.
   * our own writes). The Task comes with the row when the relay read it along, else it is read here.
   */
  readonly outboxBatch: OutboxBatchProcessor = async (events, tx) => {
    const latest = taskEventsByTask(events);
    if (latest.size === 0) return;
    const ids = [...latest.keys()];
    const unread = ids.filter((id) => latest.get(id)!.task === null);
    if (unread.length > 0) {
      // as the repository reads them (system scope); a deleted or missing Task stays unread (null): deleted
      const [read] = await readManyAs(tx, [{ scope: { system: true }, type: 'Task', ids: new Set(unread), items: [] }]);
      for (const [id, task] of read!) latest.get(id)!.task = task as Task;
    }
    const withDeadline = ids.filter((id) => latest.get(id)!.task?.restriction?.period?.end);
    const seen = await lockTasksWithRows(tx, ids, withDeadline);
    const due: { taskId: string; task: Task | undefined }[] = [];
    for (const [taskId, { task }] of latest) {
      if (!seen.has(taskId)) continue; // never planned and no deadline (or deleted)
      const version = task?.meta?.versionId;
      const done = seen.get(taskId);
      if (task && version && done && /^\d+$/.test(done) && Number(done) >= Number(version)) continue;
      due.push({ taskId, task: task ?? undefined });
    }
    if (due.length === 0) return;
    const changes = await syncLockedTasks(tx, due, this.deps);
    return () => this.applyTimers(changes);
  };

  /** Re-plans one Task now (tests, the start-up scan). */
  async syncTask(taskId: string): Promise<TimerChanges> {
    const changes = await syncTask(this.o.db, taskId, this.deps);
    await this.applyTimers(changes);
    return changes;
  }

  async applyTimers(changes: TimerChanges): Promise<void> {
    await this.timers.disarm(changes.disarm);
    await this.timers.arm(changes.arm);
  }

  /** Fires one step directly (what the worker does for a job). */
  async fire(p: PendingStep): Promise<FireResult> {
    const r = await fireStep(this.o.db, p, this.deps);
    await this.applyTimers(r);
    return r.result;
  }

  async reconcile(): Promise<{ checked: number; rearmed: number }> {
    return reconcileTimers({ db: this.o.db, timers: this.timers, clock: this.o.clock, logger: this.o.logger });
  }

  /** Promotes the wake-ups of everything due by the clock (serialised; used on manual clock moves). */
  promoteDue(): Promise<number> {
    const run = this.promoting.then(() =>
      promoteDue({ db: this.o.db, timers: this.timers, clock: this.o.clock, logger: this.o.logger }),
    );
    this.promoting = run.catch(() => 0);
    return run;
  }

  async close(): Promise<void> {
    await this.promoting;
    await this.worker?.close();
    await this.timers.close();
  }
}
