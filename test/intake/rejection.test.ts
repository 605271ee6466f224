import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_SYSTEM } from '../../src/fhir/constants';
import { intakeHooks } from '../../src/intake';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { createRepository } from '../../src/store/repository.pg';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { codeOf, intakeHarness, receiverTask, type IntakeHarness } from './harness';

/** Issue 13 §4 / contract "Obligations": Sala rejects as ej-folkbokford; the hospital corrects; later messages follow. */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';

describe.each(testDatabases())('rejection re-routing on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });
  const stay = encounterIdFor(VISIT_SYSTEM, 'RJ-1');

  it('when Sala rejects its admission notification as ej-folkbokford, then the hospital gets a korrigera-mottagare Task', async () => {
    await h.send(adt({ event: 'A01', visit: 'RJ-1', municipality: '1981', obx: [OBX.needs('socialtjanst')] }));
    const notice = receiverTask(await h.tasks(stay), 'inskrivningsmeddelande');
    expect(notice?.owner?.reference).toBe(`Organization/${h.sala.id}`);
    // Sala's own client: only the owner's rejection re-routes the stay
    const client = createRepository(
      h.db,
      { organization: `Organization/${h.sala.id}`, role: 'municipality' },
      intakeHooks(h.ctx),
    );
    await client.update<Task>({
      ...(notice as Task),
      status: 'rejected',
      statusReason: { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'ej-folkbokford' }] },
    });
    const tasks = await h.tasks(stay);
    const fix = tasks.find((t) => codeOf(t) === 'korrigera-mottagare');
    expect(fix?.owner?.reference).toBe(`Organization/${h.hospital.id}`);
    expect(fix?.requester?.reference).toBe(`Organization/${h.sala.id}`);
    expect(fix?.description).toMatch(
      new RegExp(`^${h.sala.name ?? 'no name'} har avvisat vårdtillfället \\(ej-folkbokford\\)`),
    );
    expect(fix?.status).toBe('requested');
    expect(receiverTask(tasks, 'inskrivningsmeddelande')?.status).toBe('rejected');
  });

  it('when an A08 then gives Västerås, then Västerås is notified, the hospital Task is completed and the discharge does not go to Sala', async () => {
    await h.send(adt({ event: 'A08', visit: 'RJ-1', municipality: '1980', evnTime: '20260115140000' }));
    await h.send(
      adt({
        event: 'A03',
        visit: 'RJ-1',
        municipality: '1980',
        discharge: '20260120140000',
        evnTime: '20260120140500',
      }),
    );
    const tasks = await h.tasks(stay);
    const owners = (code: string) =>
      tasks.filter((t) => codeOf(t) === code && t.status !== 'cancelled').map((t) => t.owner?.reference);
    expect(owners('inskrivningsmeddelande')).toContain(`Organization/${h.vasteras.id}`);
    expect(owners('utskrivningsmeddelande')).not.toContain(`Organization/${h.sala.id}`);
    expect(owners('utskrivningsmeddelande')).toContain(`Organization/${h.vasteras.id}`);
    expect(tasks.find((t) => codeOf(t) === 'korrigera-mottagare')?.status).toBe('completed');
  });
});
