import { readFileSync } from 'node:fs';
import type { Bundle, Encounter, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION, IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import type { FhirRepository } from '../../src/store/repository.port';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, hospitalApi, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * An outpatient unit (contract OBX `oppenvardsenhet`, FHIR extension `outpatient-unit`) reported by mistake is
 * withdrawn as a placing municipality is: HL7 OBX-5 `""` (an empty OBX-5 or no OBX changes nothing), or a FHIR
 * Encounter version without the extension its previous version had. The unit is told its Tasks are withdrawn (a
 * `makulering`); the listed vårdcentral is told, and appoints the named care contact (FVK), as without the unit.
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const VC = 'SE2321000172-VC1';
const PSYK = 'SE2321000172-PSYK1';
/** Municipal and region care (category D): the vårdcentral is told and appoints the FVK. */
const NEEDS = OBX.needs('socialtjanst', 'kommunal-hsl');

const bundle = (): Bundle =>
  JSON.parse(readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')) as Bundle;

/** The receiver's Tasks (no hospital duties) of the unit `hsa`, as `code status`. */
const ofUnit = (tasks: Task[], hsa: string): Task[] =>
  tasks.filter((t) => !isDuty(t) && t.owner?.identifier?.value === hsa);
const shown = (tasks: Task[]): string[] => tasks.map((t) => `${codeOf(t)} ${t.status}`).sort();
/** The units (HSA-ids) with an open receiver's Task other than a `makulering`: who is told now. */
const toldUnits = (tasks: Task[]): string[] => [
  ...new Set(
    tasks
      .filter((t) => !isDuty(t) && t.status === 'requested' && codeOf(t) !== 'makulering')
      .filter((t) => t.owner?.identifier?.system === IDENTIFIER_SYSTEM.hsaId)
      .map((t) => t.owner?.identifier?.value ?? ''),
  ),
];

describe.each(testDatabases())('an outpatient unit withdrawn on %s', (kind) => {
  let h: IntakeHarness;
  let api: FhirRepository;
  let EHR: { author: string; authorOrganization: string };
  beforeAll(async () => {
    h = await intakeHarness(kind);
    ({ api, EHR } = hospitalApi(h));
  });
  afterAll(async () => {
    await h.close();
  });

  it('when an A08 sends OBX oppenvardsenhet "", then the unit gets a makulering and the listed vårdcentral keeps its notice and the FVK; an empty OBX-5 or none changes nothing', async () => {
    const visit = 'OU-1';
    const stay = encounterIdFor(VISIT_SYSTEM, visit);
    const a08 = (obx: string[], evnTime: string) =>
      h.send(adt({ event: 'A08', visit, listedUnit: VC, evnTime, obx: [NEEDS, ...obx] }));
    await h.send(adt({ event: 'A01', visit, listedUnit: VC, obx: [NEEDS, OBX.outpatientUnit(PSYK)] }));
    const admitted = await h.tasks(stay);
    expect(shown(ofUnit(admitted, PSYK))).toEqual(['inskrivningsmeddelande requested']);
    const vcTasks = shown(ofUnit(admitted, VC));
    expect(vcTasks).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande requested', 'utse-fast-vardkontakt requested']),
    );

    // An empty OBX-5, or no OBX at all, withdraws nothing.
    expect(ackCode(await a08([OBX.outpatientUnit('')], '20260116080000'))).toBe('AA');
    expect(ackCode(await a08([], '20260116083000'))).toBe('AA');
    expect(shown(ofUnit(await h.tasks(stay), PSYK))).toEqual(['inskrivningsmeddelande requested']);

    expect(ackCode(await a08([OBX.outpatientUnit('""')], '20260116090000'))).toBe('AA');
    const all = await h.tasks(stay);
    const psyk = ofUnit(all, PSYK);
    expect(shown(psyk)).toEqual(['inskrivningsmeddelande cancelled', 'makulering requested']);
    const notice = psyk.find((t) => codeOf(t) === 'inskrivningsmeddelande');
    const makulering = psyk.find((t) => codeOf(t) === 'makulering');
    expect(makulering?.focus?.reference).toBe(`Task/${notice?.id}`);
    expect(makulering?.description).toMatch(/inte längre patientens öppenvårdsenhet/);
    // The vårdcentral's Tasks are as they were: it is told and appoints the FVK; no other unit is told.
    expect(shown(ofUnit(all, VC))).toEqual(vcTasks);
    expect(toldUnits(all)).toEqual([VC]);
  });

  it('when the outpatient unit was the FVK (no vårdcentral listed) and an A08 lists one and sends oppenvardsenhet "", then the unit gets a makulering of its notice and of the FVK Task, and the vårdcentral gets both', async () => {
    const visit = 'OU-2';
    const stay = encounterIdFor(VISIT_SYSTEM, visit);
    await h.send(adt({ event: 'A01', visit, obx: [NEEDS, OBX.outpatientUnit(PSYK)] }));
    expect(shown(ofUnit(await h.tasks(stay), PSYK))).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande requested', 'utse-fast-vardkontakt requested']),
    );
    const ack = await h.send(
      adt({
        event: 'A08',
        visit,
        listedUnit: VC,
        evnTime: '20260116090000',
        obx: [NEEDS, OBX.outpatientUnit('""')],
      }),
    );
    expect(ackCode(ack)).toBe('AA');
    const all = await h.tasks(stay);
    const psyk = ofUnit(all, PSYK);
    for (const code of ['inskrivningsmeddelande', 'utse-fast-vardkontakt']) {
      const withdrawn = psyk.find((t) => codeOf(t) === code);
      expect(withdrawn?.status).toBe('cancelled');
      expect(
        psyk.filter((t) => codeOf(t) === 'makulering' && t.focus?.reference === `Task/${withdrawn?.id}`),
      ).toHaveLength(1);
    }
    expect(toldUnits(all)).toEqual([VC]);
    expect(shown(ofUnit(all, VC))).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande requested', 'utse-fast-vardkontakt requested']),
    );
  });

  it('when a later FHIR Encounter version leaves out the outpatient unit, then the unit gets a makulering and the vårdcentral the patient is listed at keeps its notice and the FVK', async () => {
    const b = bundle();
    for (const e of b.entry ?? []) {
      const r = e.resource;
      if (r?.resourceType === 'Patient')
        r.generalPractitioner = [{ identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: VC } }];
      if (r?.resourceType === 'Encounter')
        r.extension = [
          ...(r.extension ?? []),
          { url: EXTENSION.needs, valueCoding: { code: 'kommunal-hsl' } },
          { url: EXTENSION.outpatientUnit, valueString: PSYK },
        ];
    }
    await api.processBundle(b, EHR);
    const enc = (
      await h.repo.search<Encounter>('Encounter', { identifier: 'urn:oid:1.2.752.129.2.1.2.1|FHIR-VS-2026-0001' })
    ).resources[0] as Encounter;
    const stay = enc.id ?? '';
    const admitted = await h.tasks(stay);
    expect(shown(ofUnit(admitted, PSYK))).toEqual(['inskrivningsmeddelande requested']);
    const vcTasks = shown(ofUnit(admitted, VC));
    expect(vcTasks).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande requested', 'utse-fast-vardkontakt requested']),
    );

    const v1 = await api.read<Encounter>('Encounter', stay);
    await api.update<Encounter>(
      { ...v1, extension: v1.extension?.filter((e) => e.url !== EXTENSION.outpatientUnit) },
      EHR,
    );
    const all = await h.tasks(stay);
    const psyk = ofUnit(all, PSYK);
    expect(shown(psyk)).toEqual(['inskrivningsmeddelande cancelled', 'makulering requested']);
    const notice = psyk.find((t) => codeOf(t) === 'inskrivningsmeddelande');
    expect(psyk.find((t) => codeOf(t) === 'makulering')?.focus?.reference).toBe(`Task/${notice?.id}`);
    expect(shown(ofUnit(all, VC))).toEqual(vcTasks);
    expect(toldUnits(all)).toEqual([VC]);
  });
});
