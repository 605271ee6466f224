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
});
