import type { Organization, Task } from '@medplum/fhirtypes';
import { loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { DeadlineService } from '../../src/deadlines/deadline-service';
import type { FireResult } from '../../src/deadlines/fire-step';
import type { TimerJobData } from '../../src/deadlines/timers';
import { CODE_SYSTEM } from '../../src/fhir/constants';
import { ManualClock, type Clock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import type { ClosableDb, Db } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';

export const FIXTURE_AGREEMENTS = 'test/fixtures/agreements';
let agreementsCache: Promise<Map<string, Agreement>> | undefined;
export function agreements(): Promise<Map<string, Agreement>> {
  agreementsCache ??= loadAgreements({ extraDir: FIXTURE_AGREEMENTS });
  return agreementsCache;
}

export const logger = createLogger(process.env.DEADLINE_TEST_LOG ?? 'error');

export function systemRepo(db: Db, clock: Clock): FhirRepository {
  return createRepository(db, { system: true }, undefined, { clock });
}

export interface Harness {
  service: DeadlineService;
  fired: { data: TimerJobData; result: FireResult }[];
  close(): Promise<void>;
}

/** A DeadlineService on `db`, its promote-on-clock-move wiring, and a log of fire attempts. */
export async function startService(
  db: ClosableDb | Db,
  clock: Clock,
  redisUrl: string,
  prefix: string,
  opts: { agreement?: string; worker?: boolean; agreements?: Map<string, Agreement> } = {},
): Promise<Harness> {
  const fired: Harness['fired'] = [];
  const service = new DeadlineService({
    db,
    redisUrl,
    prefix,
    clock,
    logger,
    agreements: opts.agreements ?? (await agreements()),
    defaultAgreement: opts.agreement ?? 'vastmanland',
    repo: (d) => systemRepo(d, clock),
    onFired: (data, result) => fired.push({ data, result }),
  });
  if (opts.worker !== false) service.startWorker();
  const off = clock instanceof ManualClock ? clock.onChange(() => void service.promoteDue()) : undefined;
  return {
    service,
    fired,
    async close() {
      off?.();
      await service.close();
    },
  };
}

export async function createOrgs(
  repo: FhirRepository,
): Promise<{ municipality: string; hospital: string; head: string }> {
  const head = await repo.create<Organization>({ resourceType: 'Organization', name: 'Socialförvaltningen' });
  const municipality = await repo.create<Organization>({
    resourceType: 'Organization',
    name: 'Hemtjänst Västerås',
    partOf: { reference: `Organization/${head.id}` },
  });
  const hospital = await repo.create<Organization>({ resourceType: 'Organization', name: 'Västmanlands sjukhus' });
  return {
    municipality: `Organization/${municipality.id}`,
    hospital: `Organization/${hospital.id}`,
    head: `Organization/${head.id}`,
  };
}

export async function createTask(
  repo: FhirRepository,
  o: {
    owner: string;
    requester: string;
    deadline: Date;
    authoredOn: Date;
    code?: string;
    extension?: Task['extension'];
  },
): Promise<Task> {
  return repo.create<Task>({
    resourceType: 'Task',
    ...(o.extension ? { extension: o.extension } : {}),
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: CODE_SYSTEM.task, code: o.code ?? 'inskrivningsmeddelande' }] },
    owner: { reference: o.owner },
    requester: { reference: o.requester },
    authoredOn: o.authoredOn.toISOString(),
    restriction: { period: { end: o.deadline.toISOString() } },
  });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StepState {
  step_id: string;
  kind: string;
  due_at: Date;
  fired_at: Date | null;
  cancelled_at: Date | null;
  outcome: Record<string, unknown> | null;
}

export async function stepStates(db: Db, taskId: string): Promise<Record<string, StepState>> {
  const r = await db.query<StepState>(
    'SELECT step_id, kind, due_at, fired_at, cancelled_at, outcome FROM deadline_step WHERE task_id = $1',
    [taskId],
  );
  return Object.fromEntries(r.rows.map((s) => [s.step_id, s]));
}

export async function firedSteps(db: Db, taskId: string): Promise<string[]> {
  const r = await db.query<{ step_id: string }>(
    'SELECT step_id FROM deadline_step WHERE task_id = $1 AND fired_at IS NOT NULL ORDER BY seq',
    [taskId],
  );
  return r.rows.map((x) => x.step_id);
}

export const HOUR = 3600_000;
