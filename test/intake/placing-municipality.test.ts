import type { Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intakeHooks } from '../../src/intake';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { createRepository } from '../../src/store/repository.pg';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * Law 5 kap. 2 § / 003: a patient placed in housing by another municipality. The placing municipality (Sala) owns the
 * stay's municipal Tasks; the municipality of registration (Västerås) is told for information, and its text names
 * the placing municipality rather than "den placerande kommunen".
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';

describe.each(testDatabases())('a placing municipality named to the municipality of registration on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  it('when Sala placed a Västerås resident, then Västerås is told for information, naming Sala, and Sala owns the notification', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'PL-1');
    await h.send(
      adt({ event: 'A01', visit: 'PL-1', municipality: '1980', obx: [OBX.needs('socialtjanst'), OBX.placing('1981')] }),
    );
    const notices = (await h.tasks(stay)).filter((t) => codeOf(t) === 'inskrivningsmeddelande');
    const toVasteras = notices.find((t) => t.owner?.reference === `Organization/${h.vasteras.id}`);
    const toSala = notices.find((t) => t.owner?.reference === `Organization/${h.sala.id}`);
    expect(toSala).toBeDefined();
    expect(toSala?.description).not.toMatch(/för kännedom/);
    expect(toVasteras?.description).toMatch(/\(för kännedom: Sala kommun ansvarar och får meddelandena\)$/);
    expect(toVasteras?.restriction).toBeUndefined();
  });

  it('when Sala is reported as the placing municipality only in a later A08, then Västerås gets a makulering of its notice and the same for-information notice, naming Sala, as when Sala came with the A01', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'PL-2');
    await h.send(adt({ event: 'A01', visit: 'PL-2', municipality: '1980', obx: [OBX.needs('socialtjanst')] }));
    await h.send(
      adt({ event: 'A08', visit: 'PL-2', municipality: '1980', evnTime: '20260116090000', obx: [OBX.placing('1981')] }),
    );
    const tasks = await h.tasks(stay);
    const toVasteras = tasks.filter((t) => t.owner?.reference === `Organization/${h.vasteras.id}`);
    const notices = toVasteras.filter((t) => codeOf(t) === 'inskrivningsmeddelande');
    expect(notices.map((t) => t.status).sort()).toEqual(['cancelled', 'requested']);
    const former = notices.find((t) => t.status === 'cancelled');
    const info = notices.find((t) => t.status === 'requested');
    expect(info?.description).toMatch(/\(för kännedom: Sala kommun ansvarar och får meddelandena\)$/);
    expect(info?.restriction).toBeUndefined();
    const makulering = toVasteras.filter((t) => codeOf(t) === 'makulering');
    expect(makulering.map((t) => t.focus?.reference)).toEqual([`Task/${former?.id}`]);
    expect(makulering[0]?.description).toMatch(/^En placerande kommun ansvarar för patienten/);
    const toSala = tasks.filter((t) => t.owner?.reference === `Organization/${h.sala.id}`);
    expect(toSala.map(codeOf)).toEqual(['inskrivningsmeddelande']);
    expect(toSala[0]?.description).not.toMatch(/för kännedom/);
  });
  it('when Västerås acknowledged its notice for information and a later A08 reports Västerås itself as the placing municipality, then Västerås gets a makulering of that notice saying it is responsible now and the admission notification as the responsible municipality, with its deadline, and Sala gets a makulering of its own', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'PL-3');
    const needs = OBX.needs('socialtjanst');
    await h.send(adt({ event: 'A01', visit: 'PL-3', municipality: '1980', obx: [needs, OBX.placing('1981')] }));
    const vasteras = `Organization/${h.vasteras.id}`;
    const sala = `Organization/${h.sala.id}`;
    const info = (await h.tasks(stay)).find(
      (t) => codeOf(t) === 'inskrivningsmeddelande' && t.owner?.reference === vasteras,
    ) as Task;
    // Västerås acknowledges it: a notice answered as done still learns that it changed.
    await createRepository(h.db, { system: true }, intakeHooks(h.ctx)).update<Task>({ ...info, status: 'completed' });
    await h.send(
      adt({ event: 'A08', visit: 'PL-3', municipality: '1980', evnTime: '20260116090000', obx: [OBX.placing('1980')] }),
    );
    const all = await h.tasks(stay);
    const tasks = all.filter((t) => !isDuty(t));
    const of = (owner: string, code: string) => tasks.filter((t) => t.owner?.reference === owner && codeOf(t) === code);
    const notices = of(vasteras, 'inskrivningsmeddelande');
    expect(notices.map((t) => [t.id === info.id, t.status])).toEqual(
      expect.arrayContaining([
        [true, 'completed'],
        [false, 'requested'],
      ]),
    );
    expect(notices).toHaveLength(2);
    const responsible = notices.find((t) => t.status === 'requested');
    expect(responsible?.description).not.toMatch(/för kännedom/);
    // Its deadline is the hospital's duty to it, as for any responsible municipality.
    const duty = all.find((t) => isDuty(t) && t.id === responsible?.basedOn?.[0]?.reference?.slice('Task/'.length));
    expect(duty?.requester?.reference).toBe(vasteras);
    expect(duty?.restriction?.period?.end).toBeDefined();
    const toVasteras = of(vasteras, 'makulering');
    expect(toVasteras.map((t) => t.focus?.reference)).toEqual([`Task/${info.id}`]);
    expect(toVasteras[0]?.description).toMatch(/^Er kommun ansvarar nu för patienten: /);
    // Sala, no longer placing, has its notice withdrawn and is told so.
    expect(of(sala, 'inskrivningsmeddelande').map((t) => t.status)).toEqual(['cancelled']);
    expect(of(sala, 'makulering').map((t) => t.status)).toEqual(['requested']);
  });
  it('when Sala was reported as placing by mistake and a later A08 withdraws it with OBX placerande-kommun "", then Sala gets a makulering, Västerås gets the notification as the responsible municipality (its notice for information withdrawn) and the stay summary names Västerås', async () => {
    const stay = encounterIdFor(VISIT_SYSTEM, 'PL-4');
    const needs = OBX.needs('socialtjanst');
    await h.send(adt({ event: 'A01', visit: 'PL-4', municipality: '1980', obx: [needs, OBX.placing('1981')] }));
    const summary = async () =>
      (await h.db.query<{ municipality: string }>('SELECT municipality FROM stay_summary WHERE stay_id = $1', [stay]))
        .rows[0]?.municipality;
    expect(await summary()).toBe('1981');
    const vasteras = `Organization/${h.vasteras.id}`;
    const sala = `Organization/${h.sala.id}`;
    const salaNotice = (await h.tasks(stay)).find(
      (t) => codeOf(t) === 'inskrivningsmeddelande' && t.owner?.reference === sala,
    ) as Task;
    // Sala acknowledges it: a notice answered as done still learns that it no longer holds.
    await createRepository(h.db, { system: true }, intakeHooks(h.ctx)).update<Task>({
      ...salaNotice,
      status: 'completed',
    });
    const ack = await h.send(
      adt({ event: 'A08', visit: 'PL-4', municipality: '1980', evnTime: '20260116090000', obx: [OBX.placing('""')] }),
    );
    expect(ackCode(ack)).toBe('AA');
    const all = await h.tasks(stay);
    const of = (owner: string, code: string) =>
      all.filter((t) => !isDuty(t) && t.owner?.reference === owner && codeOf(t) === code);
    expect(of(sala, 'inskrivningsmeddelande').map((t) => t.status)).toEqual(['completed']);
    expect(of(sala, 'makulering').map((t) => [t.focus?.reference, t.status])).toEqual([
      [`Task/${salaNotice.id}`, 'requested'],
    ]);
    const notices = of(vasteras, 'inskrivningsmeddelande');
    expect(notices.map((t) => t.status).sort()).toEqual(['cancelled', 'requested']);
    const responsible = notices.find((t) => t.status === 'requested');
    expect(responsible?.description).not.toMatch(/för kännedom/);
    const duty = all.find((t) => isDuty(t) && t.id === responsible?.basedOn?.[0]?.reference?.slice('Task/'.length));
    expect(duty?.requester?.reference).toBe(vasteras);
    expect(duty?.restriction?.period?.end).toBeDefined();
    const informed = notices.find((t) => t.status === 'cancelled');
    expect(of(vasteras, 'makulering').map((t) => t.focus?.reference)).toEqual([`Task/${informed?.id}`]);
    // The dashboard's summary (and so the payer, docs/liability.md) is the municipality of registration again.
    expect(await summary()).toBe('1980');
  });
});
