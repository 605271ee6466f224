import type { Task } from '@medplum/fhirtypes';
import type { Worker } from 'bullmq';
import type { Agreement } from '../core/agreements/agreement.schema';
import type { Db } from '../store/db.port';
import type { FhirRepository } from '../store/repository.port';
import type { OutboxProcessor } from '../delivery/outbox.types';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import { EXTENSION } from '../fhir/constants';
import { lockTask, type PendingStep } from './deadline-store.pg';
import { fireStep, type FireDeps, type FireResult } from './fire-step';
import { promoteDue, reconcileTimers } from './reconciler';
import { readTask, syncTask, syncTaskInTx, type TimerChanges } from './task-sync';
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

/** Has the deadline row already been brought in line with this version of the Task (or a newer one)? */
async function seenVersion(tx: Db, taskId: string, versionId: string | null): Promise<boolean> {
  if (!versionId || !/^\d+$/.test(versionId)) return false;
  const r = await tx.query<{ version_id: string | null }>('SELECT version_id FROM deadline_task WHERE task_id = $1', [
    taskId,
  ]);
  const seen = r.rows[0]?.version_id;
  return !!seen && /^\d+$/.test(seen) && Number(seen) >= Number(versionId);
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

  /** Handler for the `deadline-events` outbox consumer: re-plans the Task an event is about. */
  readonly outboxProcessor: OutboxProcessor = async (event, tx) => {
    if (event.resourceType !== 'Task' || !event.resourceId) return;
    const id = event.resourceId;
    const known = await tx.query('SELECT 1 FROM deadline_task WHERE task_id = $1', [id]);
    if (known.rows.length === 0) {
      // Most Tasks the worker has never planned and that have no deadline need nothing at all.
      if (event.action === 'delete') return;
      const peek = await readTask(this.o.repo(tx), id);
      if (!peek?.restriction?.period?.end) return;
    }
    await lockTask(tx, id);
    if (event.action !== 'delete' && (await seenVersion(tx, id, event.versionId))) return; // e.g. our own writes
    const task = event.action === 'delete' ? undefined : await readTask(this.o.repo(tx), id);
    const changes = await syncTaskInTx(tx, id, task, this.deps);
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
