import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStepEffects } from '../../src/deadlines/notices';
import type { StepRow } from '../../src/deadlines/deadline-store.pg';
import { ManualClock } from '../../src/platform/clock';
import type { ClosableDb } from '../../src/store/db.port';
import type { FhirRepository } from '../../src/store/repository.port';
import { EXTENSION } from '../../src/fhir/constants';
import { openTestDb, testDatabases } from '../support/db';
import { createTask, HOUR, systemRepo } from './harness';

const START = '2026-03-10T07:00:00Z';

/**
 * A deviation or escalation text names an organisation the directory has no name for as every other text of the
 * gateway does (`okänd organisation (Organization/x)`, the console, the case overview, the SIP texts), so the reader
 * can still tell which one: never a bare `okänd organisation`.
 */
describe.each(testDatabases())('deadline texts for an organisation missing from the directory on %s', (kind) => {
  let db: ClosableDb;
  let repo: FhirRepository;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    db = await openTestDb(kind);
    repo = systemRepo(db, clock);
  });
  afterAll(async () => {
    await db.close();
  });

  const step = (kind: StepRow['kind'], recipient: StepRow['recipient']): StepRow => ({
    taskId: '',
    stepId: kind,
    dueAt: clock.now(),
    kind,
    recipient,
    seq: 1,
  });

  async function ghostTask(): Promise<Task> {
    return createTask(repo, {
      owner: 'Organization/ghost-municipality',
      requester: 'Organization/ghost-hospital',
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 24 * HOUR),
    });
  }

  it('a deviation names the responsible party and the told parties with their references', async () => {
    const t = await ghostTask();
    const out = await writeStepEffects(repo, t, step('deviation', 'both-principals'), undefined, clock.now());
    expect(out.recipients).toHaveLength(2);
    const devs = (await repo.search<Task>('Task', { code: 'avvikelse', focus: `Task/${t.id ?? ''}` })).resources;
    expect(devs).toHaveLength(2);
    for (const d of devs) {
      expect(d.description).toContain('ansvarig okänd organisation (Organization/ghost-municipality)');
      expect(d.description).toContain(
        'meddelat: okänd organisation (Organization/ghost-municipality), okänd organisation (Organization/ghost-hospital)',
      );
    }
    const owners = devs.map((d) => d.owner?.display).sort();
    expect(owners).toEqual([
      'okänd organisation (Organization/ghost-hospital)',
      'okänd organisation (Organization/ghost-municipality)',
    ]);
  });

  it('an escalation note names the head of unit it went to with its reference', async () => {
    const t = await ghostTask();
    await writeStepEffects(repo, t, step('escalation', 'owner-head-of-unit'), undefined, clock.now());
    const note = (await repo.read<Task>('Task', t.id ?? '')).note?.at(-1)?.text ?? '';
    expect(note).toContain('okänd organisation (Organization/ghost-municipality) ska ha fullgjort');
    expect(note).toContain('Meddelat: okänd organisation (Organization/ghost-municipality).');
  });

  it('without the agreement at hand, a note names the rule by its document and section, not by the rule id', async () => {
    const t = await createTask(repo, {
      owner: 'Organization/ghost-municipality',
      requester: 'Organization/ghost-hospital',
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 24 * HOUR),
      extension: [{ url: EXTENSION.deadlineRule, valueString: 'vastmanland/tasks.x.deadline (000_abc.txt 5.2.1)' }],
    });
    await writeStepEffects(repo, t, step('escalation', 'owner-head-of-unit'), undefined, clock.now());
    const note = (await repo.read<Task>('Task', t.id ?? '')).note?.at(-1)?.text ?? '';
    expect(note).toContain('enligt 000_abc.txt, avsnitt 5.2.1.');
    expect(note).not.toContain('vastmanland/tasks.x.deadline');
  });
});
