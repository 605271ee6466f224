import type { Task } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock';
import { EXTENSION } from '../../src/fhir/constants';
import type { ClosableDb } from '../../src/store/db.port';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import {
  createOrgs,
  createTask,
  firedSteps,
  HOUR,
  sleep,
  startService,
  stepStates,
  systemRepo,
  waitFor,
  type Harness,
} from './harness';
import { timerJobId } from '../../src/deadlines/timers';

const START = '2026-03-10T07:00:00Z';

describe.each(testDatabases())('escalation ladder on %s', (kind) => {
  let db: ClosableDb;
  let clock: ManualClock;
  let repo: FhirRepository;
  let h: Harness;
  let orgs: Awaited<ReturnType<typeof createOrgs>>;

  // One database per file (PGlite start-up is the slow part); each test has its own Tasks, clock and queue
  // prefix, and leaves no pending step behind.
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    clock = new ManualClock(START);
    repo = systemRepo(db, clock);
    orgs = await createOrgs(repo);
    h = await startService(db, clock, testRedisUrl(), uniquePrefix());
  });
  afterEach(async () => {
    await h.close();
    await db.query('UPDATE deadline_step SET cancelled_at = now() WHERE fired_at IS NULL AND cancelled_at IS NULL');
  });

  async function admissionTask(): Promise<Task> {
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 24 * HOUR),
      // the rule behind the deadline in the form the engine's Tasks carry it (src/fhir/task.ts)
      extension: [
        {
          url: EXTENSION.deadlineRule,
          valueString: 'vastmanland/tasks.inskrivningsmeddelande.deadline (001_72df90efc2697425.txt 5.2.1)',
        },
      ],
    });
    await h.service.syncTask(t.id!);
    return t;
  }

  const readTask = (id: string) => repo.read<Task>('Task', id);
  const status = async (id: string) => (await readTask(id)).businessStatus?.coding?.[0]?.code;
  const deviations = async (id: string) =>
    (await repo.search<Task>('Task', { code: 'avvikelse', focus: `Task/${id}` })).resources;

  it('when a 24 h admission-notification deadline is missed, then reminder, overdue notice, escalation and deviation come at their times', async () => {
    const t = await admissionTask();
    const steps = await stepStates(db, t.id!);
    const due = (s: string) => new Date(steps[s]!.due_at).toISOString();
    expect(due('reminder')).toBe('2026-03-11T03:00:00.000Z');
    expect(due('overdue')).toBe('2026-03-11T07:00:00.000Z');
    expect(due('escalation')).toBe('2026-03-12T07:00:00.000Z');
    expect(due('deviation')).toBe('2026-03-14T07:00:00.000Z');

    clock.advance(19 * HOUR + 59 * 60_000); // one minute before the reminder
    await h.service.promoteDue();
    await sleep(150);
    expect(await firedSteps(db, t.id!)).toEqual([]);

    clock.advance(60_000); // 20 h: reminder
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('reminder'), 15_000, 'reminder');
    expect(await status(t.id!)).toBe('due-soon');

    clock.set('2026-03-11T07:00:00Z'); // deadline: overdue notice
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('overdue'), 15_000, 'overdue');
    expect(await status(t.id!)).toBe('overdue');
    const overdue = await repo.search<Task>('Task', { 'business-status': 'overdue', owner: orgs.municipality });
    expect(overdue.resources.map((r) => r.id)).toEqual([t.id]);

    clock.set('2026-03-12T06:59:59Z'); // one second before the grace period ends
    await h.service.promoteDue();
    await sleep(100);
    expect(await firedSteps(db, t.id!)).toEqual(['reminder', 'overdue']);

    clock.set('2026-03-12T07:00:00Z'); // escalation to the owner's head of unit
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('escalation'), 15_000, 'escalation');
    const escalated = await readTask(t.id!);
    expect(escalated.businessStatus?.coding?.[0]?.code).toBe('escalated');
    // Texts a person reads name organisations, not references (issue 16 item 6).
    expect(escalated.note?.at(-1)?.text).toContain('Socialförvaltningen');
    expect(escalated.note?.at(-1)?.text).toContain('Hemtjänst Västerås');
    expect(escalated.note?.at(-1)?.text).not.toContain('Organization/');
    // The deadline (07:00 UTC) in Swedish time with its offset, as the admin console shows it.
    expect(escalated.note?.at(-1)?.text).toContain('ska ha fullgjort uppgiften senast 2026-03-11 08:00:00 +01:00');
    // The rule is named by its document and section, not by the gateway's rule id and seed file name.
    expect(escalated.note?.at(-1)?.text).toContain(
      'enligt Överenskommelse om samverkan vid utskrivning, Västmanland, avsnitt 5.2.1',
    );
    expect(escalated.note?.at(-1)?.text).not.toContain('.txt');
    expect((await stepStates(db, t.id!)).escalation?.outcome?.recipients).toEqual([orgs.head]);
    expect(await deviations(t.id!)).toHaveLength(0);

    clock.set('2026-03-14T07:00:00Z'); // deviation shared with both principals
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('deviation'), 15_000, 'deviation');
    const devs = await deviations(t.id!);
    expect(devs.map((d) => d.owner?.reference).sort()).toEqual([orgs.hospital, orgs.municipality].sort());
    expect(devs.every((d) => d.requester?.reference === orgs.municipality)).toBe(true);
    expect(devs[0]?.description).toContain('ansvarig Hemtjänst Västerås');
    expect(devs[0]?.description).not.toContain('Organization/');
    expect(devs[0]?.description).toContain(
      'tidsfrist 2026-03-11 08:00:00 +01:00 enligt Överenskommelse om samverkan vid utskrivning, Västmanland, avsnitt 5.2.1;',
    );

    // Every step fired exactly once, and the outbox carries the Task updates for the subscriptions.
    expect(h.fired.filter((f) => f.result === 'fired')).toHaveLength(4);
    const outbox = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM outbox WHERE resource_type = 'Task' AND resource_id = $1 AND action = 'update'`,
      [t.id],
    );
    expect(Number(outbox.rows[0]!.n)).toBe(3); // due-soon, overdue, escalated (the deviation adds new Tasks)
  });

  it('when the Task is completed in time, then no reminder, overdue notice or escalation is produced', async () => {
    const t = await admissionTask();
    clock.advance(10 * HOUR);
    await repo.update<Task>({ ...(await readTask(t.id!)), status: 'completed' });
    await h.service.syncTask(t.id!);
    clock.advance(200 * HOUR);
    await h.service.promoteDue();
    await sleep(200);
    expect(await firedSteps(db, t.id!)).toEqual([]);
    const steps = Object.values(await stepStates(db, t.id!));
    expect(steps.every((s) => s.cancelled_at !== null)).toBe(true);
    expect(await status(t.id!)).toBeUndefined();
    expect(await deviations(t.id!)).toHaveLength(0);
    expect(await h.service.timers.queue.getDelayedCount()).toBe(0);
  });

  it('when the Task is completed but its outbox event has not been handled yet, then the due steps still do not fire', async () => {
    const t = await admissionTask();
    // completed before any step is due (the reminder is due 18 h in: completing at 23 h raced the promote that the
    // clock's advance starts, which may fire the reminder, due and rightly so, before the completion commits)
    clock.advance(1 * HOUR);
    await repo.update<Task>({ ...(await readTask(t.id!)), status: 'completed' }); // no syncTask: the event is late
    clock.advance(100 * HOUR);
    await h.service.promoteDue();
    await waitFor(async () => h.fired.length >= 1, 15_000, 'a wake-up');
    await sleep(200);
    expect(await firedSteps(db, t.id!)).toEqual([]);
    expect(h.fired.every((f) => f.result !== 'fired')).toBe(true);
    expect(await deviations(t.id!)).toHaveLength(0);
  });

  it('when the deadline moves, then the old timer is removed and the steps fire at the new time', async () => {
    const t = await admissionTask();
    const before = await stepStates(db, t.id!);
    const oldJob = timerJobId({ taskId: t.id!, stepId: 'overdue', dueAt: new Date(before.overdue!.due_at) });
    expect(await h.service.timers.queue.getJob(oldJob)).toBeDefined();

    const moved = new Date(clock.now().getTime() + 72 * HOUR);
    const cur = await readTask(t.id!);
    await repo.update<Task>({ ...cur, restriction: { period: { end: moved.toISOString() } } });
    await h.service.syncTask(t.id!);
    expect(await h.service.timers.queue.getJob(oldJob)).toBeUndefined();
    const newJob = timerJobId({ taskId: t.id!, stepId: 'overdue', dueAt: moved });
    expect(await h.service.timers.queue.getJob(newJob)).toBeDefined();

    clock.advance(25 * HOUR); // past the old deadline (and the old reminder)
    await h.service.promoteDue();
    await sleep(200);
    expect(await firedSteps(db, t.id!)).toEqual([]);

    clock.set(moved);
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('overdue'), 15_000, 'overdue at the new time');
    // The clock jumped past the new reminder time straight to the new deadline: the reminder is skipped.
    const reminder = await waitFor(async () => {
      const r = (await stepStates(db, t.id!)).reminder;
      return r && (r.fired_at || r.cancelled_at) ? r : undefined;
    });
    expect(reminder.outcome?.reason).toBe('superseded');
  });

  it('when the deadline moves into the past (an FVK due at a discharge that has happened), then the Task is overdue at once and the reminder is skipped', async () => {
    const t = await admissionTask();
    const discharge = new Date(clock.now().getTime() - HOUR);
    await repo.update<Task>({ ...(await readTask(t.id!)), restriction: { period: { end: discharge.toISOString() } } });
    await h.service.syncTask(t.id!);
    await waitFor(async () => (await status(t.id!)) === 'overdue', 15_000, 'overdue at once');
    expect((await stepStates(db, t.id!)).overdue?.due_at).toEqual(discharge);
    const reminder = await waitFor(async () => {
      const r = (await stepStates(db, t.id!)).reminder;
      return r && (r.fired_at || r.cancelled_at) ? r : undefined;
    });
    expect(reminder.outcome?.reason).toBe('superseded');
  });

  it("when a wake-up comes before the gateway's clock reaches the step, then it is put back and fires only when the clock gets there", async () => {
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 300), // the overdue job's real delay is 300 ms
    });
    await h.service.syncTask(t.id!);
    await waitFor(async () => h.fired.some((f) => f.data.stepId === 'overdue' && f.result === 'not-yet'), 15_000);
    expect(await firedSteps(db, t.id!)).toEqual(['reminder']);
    clock.advance(300);
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('overdue'), 15_000, 'overdue');
    expect(await firedSteps(db, t.id!)).toEqual(['reminder', 'overdue']);
  });

  it('when a Task is created after its reminder time, then the reminder fires at once and nothing fires early', async () => {
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 2 * HOUR),
    });
    await h.service.syncTask(t.id!);
    await waitFor(async () => (await firedSteps(db, t.id!)).includes('reminder'), 15_000, 'reminder');
    await sleep(100);
    expect(await firedSteps(db, t.id!)).toEqual(['reminder']);
  });
});
