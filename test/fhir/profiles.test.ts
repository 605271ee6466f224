import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CarePlan, CodeSystem, Encounter, Provenance, Resource, Subscription } from '@medplum/fhirtypes';
import { generateAll } from '../../profiles/src/generate';
import { SVU_TASK_CODES, type StayState, type TaskSpec } from '../../src/core/engine/types';
import { buildSipCarePlan } from '../../src/fhir/careplan';
import { CODE_SYSTEM, EXTENSION, PROFILE } from '../../src/fhir/constants';
import { applyStayStateToEncounter } from '../../src/fhir/encounter-extensions';
import { buildTask } from '../../src/fhir/task';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { provenance } from '../../src/sip/sip-operations';
import { takeOverProvenance } from '../../src/sip/take-over';

const dir = fileURLToPath(new URL('../../profiles/', import.meta.url));
let v: Validator;
let compiledValidator: Validator;
let fullValidator: Validator;
beforeAll(async () => {
  compiledValidator = await createValidator();
  fullValidator = await createValidator({ fullProfileValidation: true });
  v = compiledValidator;
});

const spec: TaskSpec = {
  key: 'kallelse-sip@primary-care:SE2321000206-2000',
  code: 'kallelse-sip',
  owner: { kind: 'primary-care', hsaId: 'SE2321000206-2000' },
  requester: { kind: 'hospital', hsaId: 'SE2321000206-1000' },
  authoredOn: '2026-03-05T13:30:00+01:00',
  due: '2026-03-08T13:30:00+01:00',
  status: 'requested',
};
const refs = { stayId: 'stay-9', patient: { reference: 'Patient/p9' }, encounter: { reference: 'Encounter/e9' } };
const state: StayState = {
  stayId: 'stay-9',
  status: 'in-progress',
  homeHealthCare: true,
  needs: ['kommunal-hsl'],
  category: 'D',
  inTargetGroup: true,
  sipNeeded: true,
  estimatedDischarge: '2026-03-09T12:00:00+01:00',
  criteriaMet: [],
  missingCriteria: [],
  compulsoryOutpatientCare: false,
  outpatientServicesUnavailable: true,
  care: 'psychiatric',
  agreement: 'gavleborg',
};
const encounter = (): Encounter =>
  applyStayStateToEncounter(
    {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: { reference: 'Patient/p9' },
      period: { start: '2026-03-01T10:00:00+01:00' },
    },
    state,
  );
const carePlan = (): CarePlan =>
  buildSipCarePlan({
    stayId: 'stay-9',
    patient: refs.patient,
    encounter: refs.encounter,
    fvk: { kind: 'municipal-nurse', municipality: '2180' },
    contributors: [{ kind: 'municipality', code: '2180' }],
    activities: [{ party: { kind: 'municipality', code: '2180' }, description: 'Hemsjukvård' }],
    triage: 'red',
    created: '2026-03-05T14:00:00+01:00',
  });
const subscription = (): Subscription => ({
  resourceType: 'Subscription',
  meta: { profile: [PROFILE.subscription] },
  status: 'requested',
  reason: 'Tasks for Gävle',
  criteria: 'Task?owner=Organization/gavle',
  channel: { type: 'rest-hook', endpoint: 'https://kommun.example/hook', payload: 'application/fhir+json' },
  extension: [{ url: EXTENSION.subscriptionSecret, valueString: 's3cret' }],
});

const paths = (r: Resource, profile?: string) => v.check(r, profile).map((i) => i.path);

describe('profiles/ conformance resources', () => {
  it('when the generator runs, then the committed JSON files are exactly what it produces', () => {
    const generated = generateAll();
    const onDisk = readdirSync(dir).filter((n) => n.endsWith('.json'));
    expect(onDisk.sort()).toEqual([...generated.keys()].sort());
    for (const [name, resource] of generated) {
      expect(JSON.parse(readFileSync(path.join(dir, name), 'utf8')), name).toEqual(resource);
    }
  });

  it('when the CodeSystem svu-task is read, then it has every code of the contract', () => {
    const cs = JSON.parse(readFileSync(path.join(dir, 'CodeSystem-svu-task.json'), 'utf8')) as CodeSystem;
    expect(cs.url).toBe(CODE_SYSTEM.task);
    expect(cs.concept?.map((c) => c.code)).toEqual([...SVU_TASK_CODES]);
    for (const code of ['inskrivningsmeddelande', 'utskrivningsklar', 'makulering', 'kallelse-sip', 'avvikelse']) {
      expect(cs.concept?.some((c) => c.code === code)).toBe(true);
    }
  });

  it('when the CodeSystem svu-task-status-reason is read, then it has the municipality’s and the vårdcentral’s reason, with their Swedish texts', () => {
    const cs = JSON.parse(readFileSync(path.join(dir, 'CodeSystem-svu-task-status-reason.json'), 'utf8')) as CodeSystem;
    expect(cs.url).toBe(CODE_SYSTEM.taskStatusReason);
    expect(cs.count).toBe(2);
    expect(cs.concept).toEqual([
      { code: 'ej-folkbokford', display: 'Patienten är inte folkbokförd i kommunen (ej folkbokförd här)' },
      { code: 'ej-listad', display: 'Patienten är inte listad på vårdcentralen (ej listad här)' },
    ]);
  });

  it('when every conformance resource is validated as R4, then none has a structural error', () => {
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      expect(v.check(JSON.parse(readFileSync(path.join(dir, name), 'utf8'))), name).toEqual([]);
    }
    expect(v.profiles().sort()).toEqual(Object.values(PROFILE).sort());
  });
});

describe.each([
  ['compiled profile checks', false],
  ["medplum's full profile validation", true],
])('builder output against the profiles (%s)', (_name, full) => {
  beforeAll(() => {
    v = full ? fullValidator : compiledValidator;
  });
  it('when Task, Encounter, CarePlan and Subscription come from the builders, then each validates', () => {
    expect(v.check(buildTask(spec, refs), PROFILE.task)).toEqual([]);
    expect(v.check(encounter(), PROFILE.encounter)).toEqual([]);
    expect(v.check(carePlan(), PROFILE.carePlan)).toEqual([]);
    expect(v.check(subscription(), PROFILE.subscription)).toEqual([]);
  });

  it('when a Task lacks its owner or has another intent, then the profile names Task.owner and Task.intent', () => {
    const t = buildTask(spec, refs);
    delete t.owner;
    expect(paths(t)).toContain('Task.owner');
    expect(paths({ ...buildTask(spec, refs), intent: 'plan' })).toContain('Task.intent');
  });

  it('when a Task has no svu-task coding, then invariant svu-task-1 fails on Task', () => {
    const t = { ...buildTask(spec, refs), code: { text: 'something' } };
    const issues = v.check(t);
    expect(issues.some((i) => i.path === 'Task' && i.message.includes('svu-task-1'))).toBe(true);
  });

  it('when an Encounter is not inpatient or repeats a single-valued extension, then the path is named', () => {
    const amb = { ...encounter(), class: { code: 'AMB' } };
    expect(v.check(amb).some((i) => i.message.includes('svu-enc-1'))).toBe(true);
    const enc = encounter();
    enc.extension = [
      ...(enc.extension ?? []),
      { url: EXTENSION.readyForDischarge, valueDateTime: '2026-03-05T10:00:00+01:00' },
      { url: EXTENSION.readyForDischarge, valueDateTime: '2026-03-06T10:00:00+01:00' },
    ];
    expect(paths(enc)).toContain('Encounter.extension');
  });

  it('when an extension has the wrong value type, then its index is named; a foreign code of the stay is no error (the intake leaves it out and says so)', () => {
    const enc = encounter();
    enc.extension = [
      { url: EXTENSION.estimatedDischargeDate, valueString: 'tomorrow' },
      { url: EXTENSION.patientCategory, valueCoding: { system: CODE_SYSTEM.patientCategory, code: 'F' } },
    ];
    expect(paths(enc)).toEqual(['Encounter.extension[0]']);
  });

  it('when a CarePlan lacks its author or an activity its performer, then the profile says so', () => {
    const cp = carePlan();
    delete cp.author;
    expect(paths(cp)).toContain('CarePlan.author');
    const noPerformer = carePlan();
    delete noPerformer.activity?.[0]?.detail?.performer;
    expect(v.check(noPerformer).some((i) => i.message.includes('svu-cp-2'))).toBe(true);
  });

  it('when a SIP Provenance is a signature, then it has its signature and one agent; a take-over names two agents and no signature', () => {
    const plan: CarePlan = { ...carePlan(), id: 'sip-1', meta: { versionId: '4' } };
    const vc = { reference: 'Organization/vc-1', display: 'Sala vårdcentral' };
    const old = { reference: 'Organization/vc-2', display: 'Skultuna vårdcentral' };
    const at = '2026-03-06T10:00:00+01:00';
    const signed = provenance(plan, vc, 'signering', 'ZGlnZXN0', at);
    const taken = takeOverProvenance(plan, vc, old, at, 'Ny listning');
    expect(v.check(signed, PROFILE.provenance)).toEqual([]);
    expect(v.check(taken, PROFILE.provenance)).toEqual([]);
    const prov3 = (p: Provenance) => v.check(p, PROFILE.provenance).some((i) => i.message.includes('svu-prov-3'));
    const { signature: _s, ...unsigned } = signed;
    expect(prov3(unsigned)).toBe(true);
    expect(prov3({ ...signed, agent: [...signed.agent, { who: old }] })).toBe(true);
    expect(prov3({ ...taken, agent: [...taken.agent, { who: vc }] })).toBe(true);
    expect(prov3({ ...taken, agent: taken.agent.slice(0, 1) })).toBe(true);
  });

  it('when a rest-hook Subscription has no endpoint or a non-string secret, then it is rejected', () => {
    const s = subscription();
    delete s.channel.endpoint;
    expect(v.check(s).some((i) => i.message.includes('svu-sub-1'))).toBe(true);
    const badSecret = { ...subscription(), extension: [{ url: EXTENSION.subscriptionSecret, valueInteger: 42 }] };
    expect(paths(badSecret)).toContain('Subscription.extension[0]');
  });

  it('when a resource claims a profile in meta.profile, then that profile is applied without asking', () => {
    const t = buildTask(spec, refs);
    delete t.requester;
    expect(paths(t)).toContain('Task.requester');
    delete t.meta;
    expect(paths(t)).toEqual([]);
  });
});

describe('profiles inside Bundles', () => {
  it('when a transaction entry claims SvuTask but lacks its owner, then the entry path is named', () => {
    const t = buildTask(spec, refs);
    delete t.owner;
    const bundle = {
      resourceType: 'Bundle' as const,
      type: 'transaction' as const,
      entry: [{ resource: t, request: { method: 'POST' as const, url: 'Task' } }],
    };
    expect(compiledValidator.check(bundle).map((i) => i.path)).toContain('Bundle.entry[0].resource.owner');
  });
});
