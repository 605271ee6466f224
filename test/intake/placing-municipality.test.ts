import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { codeOf, intakeHarness, type IntakeHarness } from './harness';

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
});
