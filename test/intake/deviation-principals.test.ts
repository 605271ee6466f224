import type { Organization, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStepEffects } from '../../src/deadlines/notices';
import { createRepository } from '../../src/store/repository.pg';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { codeOf, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * Issue 13: a deviation (`avvikelse`) reaches both principals of the agreement, region and municipality, even for a
 * step between two region units (the hospital and the vårdcentral), and its text names the organisations.
 */
describe.each(testDatabases())('deviations to both principals on %s', (kind) => {
  let h: IntakeHarness;
  let vc: Organization;
  let tasks: Task[];
  beforeAll(async () => {
    h = await intakeHarness(kind);
    vc = await h.repo.create<Organization>({
      resourceType: 'Organization',
      name: 'Vårdcentralen Skultuna',
      identifier: [{ system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-VC01' }],
    });
    await h.send(
      adt({
        event: 'A01',
        visit: 'DEV-1',
        listedUnit: 'SE2321000172-VC01',
        expected: '20260122',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')],
      }),
    );
    const enc = (await h.repo.search('Encounter', { identifier: 'DEV-1' })).resources[0];
    tasks = await h.tasks(enc?.id ?? '');
  });
  afterAll(async () => {
    await h.close();
  });
  const org = (o: Organization) => `Organization/${o.id ?? ''}`;

  it('when the engine builds a Task with a deadline, then restriction.recipient names the region (hospital) and the municipality', () => {
    const fvk = tasks.find((t) => codeOf(t) === 'utse-fast-vardkontakt' && !isDuty(t));
    expect(fvk?.owner?.reference).toBe(org(vc));
    expect(fvk?.restriction?.recipient?.map((r) => r.reference)).toEqual([org(h.hospital), org(h.vasteras)]);
  });

  it('when a step between the hospital and the vårdcentral turns into a deviation, then the hospital, the vårdcentral and Västerås each read their own avvikelse naming the organisations', async () => {
    const fvk = tasks.find((t) => codeOf(t) === 'utse-fast-vardkontakt' && !isDuty(t)) as Task;
    const now = new Date('2026-01-20T10:00:00Z');
    const out = await writeStepEffects(
      h.repo,
      fvk,
      {
        taskId: fvk.id ?? '',
        stepId: 'deviation',
        dueAt: now,
        kind: 'deviation',
        recipient: 'both-principals',
        seq: 4,
      },
      undefined,
      now,
    );
    expect(new Set(out.recipients)).toEqual(new Set([org(vc), org(h.hospital), org(h.vasteras)]));
    for (const [who, role] of [
      [h.hospital, 'hospital'],
      [vc, 'primary-care'],
      [h.vasteras, 'municipality'],
    ] as const) {
      const client = createRepository(h.db, { role, clientId: `c-${role}`, organization: org(who) });
      const seen = (await client.search<Task>('Task', { code: 'avvikelse' })).resources;
      expect(seen, `${who.name ?? ''} reads its deviation`).toHaveLength(1);
      expect(seen[0]?.owner?.reference).toBe(org(who));
      expect(seen[0]?.owner?.display, 'the owner is named').toBe(who.name);
      expect(seen[0]?.requester?.display, 'the responsible party is named').toBe('Vårdcentralen Skultuna');
      expect(seen[0]?.description).toContain('ansvarig Vårdcentralen Skultuna');
      expect(seen[0]?.description).toContain('Västerås stad');
      expect(seen[0]?.description).toContain('Västmanlands sjukhus Västerås');
      expect(seen[0]?.description).not.toMatch(/Organization\//);
    }
  });
});
