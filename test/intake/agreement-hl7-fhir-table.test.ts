import { readdirSync } from 'node:fs';
import type { Encounter, Extension, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION } from '../../src/fhir/constants';
import { intakeHooks } from '../../src/intake';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { adt, OBX, PNR_PSYK, PNR_SALA, PNR_VASTERAS, type AdtOptions } from '../mapping/adt-builder';
import { codeOf, intakeHarness, type IntakeHarness } from './harness';

/**
 * Issue 13, "one code path": for every agreement in `agreements/`, one table of facts walked over HL7 (the HL7
 * route) and over FHIR (Patient + Encounter versions with the gateway's extensions), each in a fresh database; the
 * resulting Tasks (code, owner, requester, status, deadline, key) must be the same both ways.
 */
const AGREEMENTS = readdirSync(new URL('../../agreements/', import.meta.url))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''));

const LISTED_UNIT = 'SE2321000172-VC01';
const PSYK_UNIT = 'SE2321000172-PSYK1';
const CRITERIA = [
  'lakarbedomning',
  'skriftlig-information',
  'fast-vardkontakt',
  'informationsoverforing',
  'hjalpmedel',
  'lakemedelslista',
];

/** The content of a step, said once and rendered as HL7 OBX/PV2/PID and as Encounter extensions/status. */
interface StepFacts {
  needs?: string[];
  consent?: string;
  estimate?: string; // YYYY-MM-DD
  placing?: string;
  outpatientUnit?: string;
  lpt?: boolean;
  criteria?: string[];
  ready?: string; // local time YYYYMMDDHHMM
  withdrawn?: boolean;
  discharge?: string; // local time
  died?: string; // local time
}

interface Step {
  /** When the hospital sends it (local Stockholm time, January: UTC+1): MSH-7/EVN-2 and the FHIR write time. */
  at: string;
  event: 'A01' | 'A08' | 'A03';
  facts: StepFacts;
}

const ADMIT = '202601151030';
const localIso = (t: string) =>
  `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:00+01:00`;

const admission: Step = {
  at: '202601151035',
  event: 'A01',
  facts: { needs: ['socialtjanst', 'kommunal-hsl'], consent: 'ja', estimate: '2026-01-22' },
};

/** A whole stay: admission with needs, routing facts, a changed estimate, criteria and ready notice, withdrawal,
 * a new ready notice, discharge. */
const FULL_STAY: Step[] = [
  admission,
  { at: '202601151400', event: 'A08', facts: { placing: '1981', outpatientUnit: PSYK_UNIT, lpt: true } },
  { at: '202601160900', event: 'A08', facts: { estimate: '2026-01-20' } },
  { at: '202601171000', event: 'A08', facts: { criteria: CRITERIA, ready: '202601170945' } },
  { at: '202601171500', event: 'A08', facts: { withdrawn: true } },
  { at: '202601180900', event: 'A08', facts: { ready: '202601180900' } },
  { at: '202601191300', event: 'A03', facts: { discharge: '202601191230' } },
];
/** A stay that ends in death before the ready notice. */
const DEATH_STAY: Step[] = [admission, { at: '202601170400', event: 'A03', facts: { died: '202601170300' } }];
/** Consent refused: nothing may be sent. */
const NO_CONSENT: Step[] = [{ ...admission, facts: { ...admission.facts, consent: 'nej' } }];

const STAYS: { name: string; pnr: string; steps: Step[] }[] = [
  { name: 'full', pnr: PNR_VASTERAS, steps: FULL_STAY },
  { name: 'death', pnr: PNR_SALA, steps: DEATH_STAY },
  { name: 'no-consent', pnr: PNR_PSYK, steps: NO_CONSENT },
];

// ---- HL7 -------------------------------------------------------------------------------------------------------

/** Sets PID-29/30 (date/time of death, indicator Y) on a built message. */
function withDeath(text: string, time: string): string {
  return text
    .split('\r')
    .map((seg) => {
      if (!seg.startsWith('PID|')) return seg;
      const f = seg.split('|');
      while (f.length < 31) f.push('');
      f[29] = time;
      f[30] = 'Y';
      return f.join('|');
    })
    .join('\r');
}

function hl7Step(visit: string, pnr: string, step: Step, n: number): string {
  const x = step.facts;
  const obx: string[] = [];
  if (x.needs) obx.push(OBX.needs(...x.needs));
  if (x.consent) obx.push(OBX.consent(x.consent));
  if (x.criteria) obx.push(OBX.criteria(...x.criteria));
  if (x.ready) obx.push(OBX.ready(x.ready));
  if (x.withdrawn) obx.push(OBX.withdrawn());
  if (x.lpt !== undefined) obx.push(OBX.lpt(x.lpt ? 'ja' : 'nej'));
  if (x.outpatientUnit) obx.push(OBX.outpatientUnit(x.outpatientUnit));
  if (x.placing) obx.push(OBX.placing(x.placing));
  const o: AdtOptions = {
    event: step.event,
    control: `${visit}-${n}`,
    pnr,
    visit,
    admit: ADMIT,
    evnTime: step.at,
    municipality: '1980',
    listedUnit: LISTED_UNIT,
    obx,
    ...(x.estimate ? { expected: x.estimate.replace(/-/g, '') } : {}),
    ...(x.discharge ? { discharge: x.discharge } : {}),
    ...(x.died ? { discharge: x.died } : {}),
  };
  const text = adt(o);
  return x.died ? withDeath(text, x.died) : text;
}

// ---- FHIR ------------------------------------------------------------------------------------------------------

/** The Encounter's extensions after a step: each step's content replaces or adds to what the EHR recorded. */
function applyToExtensions(ext: Extension[], x: StepFacts): Extension[] {
  const drop = (url: string) => (ext = ext.filter((e) => e.url !== url));
  if (x.needs) {
    drop(EXTENSION.needs);
    ext.push(...x.needs.map((code) => ({ url: EXTENSION.needs, valueCoding: { code } })));
  }
  if (x.consent) {
    drop(EXTENSION.consent);
    ext.push({ url: EXTENSION.consent, valueCode: x.consent });
  }
  if (x.estimate) {
    drop(EXTENSION.estimatedDischargeDate);
    ext.push({ url: EXTENSION.estimatedDischargeDate, valueDateTime: x.estimate });
  }
  if (x.placing) ext.push({ url: EXTENSION.placingMunicipality, valueString: x.placing });
  if (x.outpatientUnit) ext.push({ url: EXTENSION.outpatientUnit, valueString: x.outpatientUnit });
  if (x.lpt !== undefined) ext.push({ url: EXTENSION.compulsoryOutpatientCare, valueBoolean: x.lpt });
  if (x.criteria) ext.push(...x.criteria.map((c) => ({ url: EXTENSION.readinessCriteria, valueCode: c })));
  if (x.withdrawn) drop(EXTENSION.readyForDischarge);
  if (x.ready) {
    drop(EXTENSION.readyForDischarge);
    ext.push({ url: EXTENSION.readyForDischarge, valueDateTime: localIso(x.ready) });
  }
  return ext;
}

async function fhirStay(
  h: IntakeHarness,
  api: FhirRepository,
  write: { author: string; authorOrganization: string },
  visit: string,
  pnr: string,
  steps: Step[],
): Promise<string> {
  h.clock.set(localIso(steps[0]?.at ?? ADMIT));
  const patient = await api.create<Patient>(
    {
      resourceType: 'Patient',
      identifier: [{ system: 'http://electronichealth.se/identifier/personnummer', value: pnr }],
      name: [{ family: 'Andersson', given: ['Karin'] }],
      address: [{ use: 'home', line: ['Vasagatan 12'], city: 'Västerås', district: '1980' }],
      generalPractitioner: [{ identifier: { system: 'urn:oid:1.2.752.29.4.19', value: LISTED_UNIT } }],
    },
    write,
  );
  let enc: Encounter | undefined;
  for (const step of steps) {
    h.clock.set(localIso(step.at));
    const x = step.facts;
    const base: Encounter = enc ?? {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { code: 'IMP' },
      identifier: [{ system: 'urn:oid:1.2.752.129.2.1.2.1', value: visit }],
      subject: { reference: `Patient/${patient.id ?? ''}` },
      period: { start: localIso(ADMIT) },
      serviceProvider: { identifier: { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0001' } },
    };
    const next: Encounter = { ...base, extension: applyToExtensions([...(base.extension ?? [])], x) };
    const end = x.discharge ?? x.died;
    if (end) {
      next.status = 'finished';
      next.period = { ...next.period, end: localIso(end) };
      if (x.died) next.hospitalization = { dischargeDisposition: { coding: [{ code: 'exp' }] } };
    }
    enc = enc ? await api.update<Encounter>(next, write) : await api.create<Encounter>(next, write);
  }
  return enc?.id ?? '';
}

// ---- comparison ------------------------------------------------------------------------------------------------

/** A Task as both intakes must agree on it: references by organisation name, times as instants. */
function comparable(h: IntakeHarness, stayId: string, t: Task) {
  const names = new Map([h.vasteras, h.sala, h.hospital].map((o) => [`Organization/${o.id ?? ''}`, o.name ?? '']));
  const ref = (r: Task['owner']) =>
    r?.reference
      ? (names.get(r.reference) ?? r.reference)
      : `${r?.identifier?.system ?? ''}|${r?.identifier?.value ?? ''}`;
  const key = t.identifier?.find((i) => i.value?.startsWith(`${stayId}|`))?.value?.slice(stayId.length + 1);
  const end = t.restriction?.period?.end;
  // A fact id names its message: the HL7 control id ends in the step number, the FHIR version is the step number.
  const step = (k: string) =>
    k.replace(/hl7:[^#]*-(\d+)#/g, 'step$1#').replace(/fhir:Encounter\/[^/#]+\/_history\/(\d+)#/g, 'step$1#');
  return {
    key: key ? step(key) : '(no key)',
    code: codeOf(t),
    owner: ref(t.owner),
    requester: ref(t.requester),
    status: t.status,
    deadline: end ? new Date(end).toISOString() : null,
  };
}

const sorted = <T extends { key: string }>(xs: T[]) => [...xs].sort((a, b) => a.key.localeCompare(b.key));

describe.each(AGREEMENTS)('agreement %s: the same stay over HL7 and over FHIR gives the same Tasks', (agreement) => {
  let hl7: IntakeHarness;
  let fhir: IntakeHarness;
  let api: FhirRepository;
  let write: { author: string; authorOrganization: string };
  beforeAll(async () => {
    const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
    [hl7, fhir] = await Promise.all([
      intakeHarness(kind, { env: { AGREEMENT: agreement } }),
      intakeHarness(kind, { env: { AGREEMENT: agreement } }),
    ]);
    const organization = `Organization/${fhir.hospital.id ?? ''}`;
    write = { author: 'demo-ehr', authorOrganization: organization };
    api = createRepository(fhir.db, { role: 'hospital', clientId: 'demo-ehr', organization }, intakeHooks(fhir.ctx), {
      clock: fhir.clock,
    });
  });
  afterAll(async () => {
    await Promise.all([hl7?.close(), fhir?.close()]);
  });

  it.each(STAYS.map((s) => [s.name, s] as const))('stay %s', async (_name, stay) => {
    const visit = `V-${stay.name}`;
    let n = 0;
    for (const step of stay.steps) {
      hl7.clock.set(localIso(step.at));
      const ack = await hl7.send(hl7Step(visit, stay.pnr, step, ++n));
      expect(ack.getSegment('MSA')?.getField(1)?.toString()).toBe('AA');
    }
    const hl7StayId =
      (await hl7.repo.search<Encounter>('Encounter', { identifier: visit })).resources[0]?.id ?? '(no Encounter)';
    const fhirStayId = await fhirStay(fhir, api, write, visit, stay.pnr, stay.steps);
    const a = sorted((await hl7.tasks(hl7StayId)).map((t) => comparable(hl7, hl7StayId, t)));
    const b = sorted((await fhir.tasks(fhirStayId)).map((t) => comparable(fhir, fhirStayId, t)));
    expect(b).toEqual(a);
    // The table is not empty by accident: what each stay must have produced, whatever the agreement.
    const codes = new Set(a.map((t) => t.code));
    if (stay.name === 'no-consent') expect(a).toEqual([]);
    else expect(codes).toContain('inskrivningsmeddelande');
    if (stay.name === 'full')
      for (const c of ['utskrivningsklar', 'makulering', 'utskrivningsmeddelande']) expect(codes).toContain(c);
    if (stay.name === 'death') {
      expect(codes).not.toContain('utskrivningsmeddelande');
      // Both Encounters say the stay ended in death, as FHIR does.
      for (const [h, id] of [
        [hl7, hl7StayId],
        [fhir, fhirStayId],
      ] as const) {
        const enc = await h.repo.read<Encounter>('Encounter', id);
        expect(enc.hospitalization?.dischargeDisposition?.coding?.[0]?.code).toBe('exp');
        expect(enc.status).toBe('finished');
      }
    }
  });
});
