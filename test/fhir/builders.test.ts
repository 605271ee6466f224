import { beforeAll, describe, expect, it } from 'vitest';
import type { Encounter } from '@medplum/fhirtypes';
import type { StayState, TaskSpec } from '../../src/core/engine/types';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE } from '../../src/fhir/constants';
import { applyTaskSpec, buildTask, readTaskKey, taskBusinessStatus, type TaskRefs } from '../../src/fhir/task';
import { applyStayStateToEncounter, readStayExtensions } from '../../src/fhir/encounter-extensions';
import { buildSipCarePlan, readSipMeeting, sipCarePlanStatus } from '../../src/fhir/careplan';
import { toOperationOutcome } from '../../src/fhir-api/operation-outcome';
import { partyLogicalReference } from '../../src/fhir/references';
import { GatewayError } from '../../src/platform/errors';
import { createValidator, type Validator } from '../../src/fhir/validator';

let v: Validator;
beforeAll(async () => {
  v = await createValidator();
});

const spec: TaskSpec = {
  key: 'inskrivningsmeddelande@municipality:1980',
  code: 'inskrivningsmeddelande',
  owner: { kind: 'municipality', code: '1980' },
  requester: { kind: 'hospital', hsaId: 'SE2321000206-1000' },
  authoredOn: '2026-03-02T10:00:00+01:00',
  due: '2026-03-03T10:00:00+01:00',
  deadlineRule: {
    agreement: 'vastmanland',
    rule: 'tasks.inskrivningsmeddelande.deadline',
    source: { document: '001_72df90efc2697425.txt', section: '5.2.1' },
  },
  status: 'requested',
};

const refs: TaskRefs = {
  stayId: 'stay-1',
  patient: { reference: 'Patient/p1' },
  encounter: { reference: 'Encounter/e1' },
  party: (p) => (p.kind === 'municipality' && p.code === '1980' ? { reference: 'Organization/vasteras' } : undefined),
};

const state: StayState = {
  stayId: 'stay-1',
  status: 'in-progress',
  hospital: 'SE2321000206-1000',
  care: 'somatic',
  municipality: '1980',
  homeHealthCare: false,
  admittedAt: '2026-03-02T09:00:00+01:00',
  needs: ['socialtjanst', 'kommunal-hsl'],
  category: 'C+D',
  inTargetGroup: true,
  sipNeeded: true,
  estimatedDischarge: '2026-03-06',
  criteriaMet: [],
  missingCriteria: [],
  readyAt: '2026-03-05T13:30:00+01:00',
  compulsoryOutpatientCare: false,
  outpatientServicesUnavailable: false,
  agreement: 'vastmanland',
};

describe('buildTask', () => {
  it('when built from a spec, then code, refs, deadline and task key follow the contract', () => {
    const t = buildTask(spec, refs, { now: '2026-03-02T12:00:00+01:00' });
    expect(t.code?.coding?.[0]).toMatchObject({ system: CODE_SYSTEM.task, code: 'inskrivningsmeddelande' });
    expect(t.owner).toEqual({ reference: 'Organization/vasteras' });
    expect(t.requester?.identifier).toEqual({ system: IDENTIFIER_SYSTEM.hsaId, value: 'SE2321000206-1000' });
    expect(t.restriction?.period?.end).toBe(spec.due);
    expect(t.for).toEqual(refs.patient);
    expect(t.encounter).toEqual(refs.encounter);
    expect(t.focus).toEqual(refs.encounter);
    expect(t.identifier?.[0]).toEqual({ system: IDENTIFIER_SYSTEM.taskKey, value: `stay-1|${spec.key}` });
    expect(t.businessStatus?.coding?.[0]?.code).toBe('on-time');
    expect(readTaskKey(t)).toEqual({ stayId: 'stay-1', key: spec.key });
    expect(v.check(t)).toEqual([]);
  });

  it.each([
    ['2026-03-03T05:00:00+01:00', false, 'on-time'],
    ['2026-03-03T07:00:00+01:00', false, 'due-soon'],
    ['2026-03-03T10:00:01+01:00', false, 'overdue'],
    ['2026-03-03T10:00:01+01:00', true, 'escalated'],
  ])('when now is %s (escalated %s), then businessStatus is %s', (now, esc, expected) => {
    expect(taskBusinessStatus(spec.due!, now, undefined, esc)).toBe(expected);
  });

  it('when a makulering names a focus key, then focus is a logical reference to that Task', () => {
    const t = buildTask({ ...spec, key: 'makulering#1', code: 'makulering', focusKey: spec.key, due: undefined }, refs);
    expect(t.focus).toEqual({
      type: 'Task',
      identifier: { system: IDENTIFIER_SYSTEM.taskKey, value: `stay-1|${spec.key}` },
    });
    expect(t.businessStatus).toBeUndefined();
  });

  it('when a stored Task was received by its owner, then a rebuilt spec keeps received; a cancel wins', () => {
    const stored = { ...buildTask(spec, refs), id: 't1', status: 'received' as const };
    expect(applyTaskSpec(stored, { ...spec, due: '2026-03-04T10:00:00+01:00' }, refs).status).toBe('received');
    const cancelled = applyTaskSpec(stored, { ...spec, status: 'cancelled' }, refs);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.id).toBe('t1');
  });

  it('when the owner party is unknown to the resolver, then the owner is a logical kommunkod reference', () => {
    const t = buildTask({ ...spec, owner: { kind: 'municipality', code: '1981' } }, refs);
    expect(t.owner?.identifier).toEqual({ system: IDENTIFIER_SYSTEM.kommunkod, value: '1981' });
    expect(t.owner?.display).toBe('Sala (kommun 1981)');
  });
});

describe('party references', () => {
  it('when the adapter passes the municipality’s name, then the stand-in for its home health care names it; without one, SCB’s name with the kommunkod', () => {
    const nurse = { kind: 'municipal-nurse', municipality: '1980' } as const;
    expect(partyLogicalReference(nurse, 'Västerås stad')).toEqual({
      type: 'Organization',
      identifier: { system: IDENTIFIER_SYSTEM.kommunkod, value: '1980' },
      display: 'Kommunal hälso- och sjukvård, Västerås stad',
    });
    expect(partyLogicalReference(nurse).display).toBe('Kommunal hälso- och sjukvård, Västerås (kommun 1980)');
    expect(partyLogicalReference({ kind: 'municipality', code: '1980' }, 'Västerås stad').display).toBe(
      'Västerås stad',
    );
  });

  it('when a municipality is outside the directory, then its logical reference names it by SCB’s name with the kommunkod; a code SCB does not list keeps the code', () => {
    expect(partyLogicalReference({ kind: 'municipality', code: '0180' })).toEqual({
      type: 'Organization',
      identifier: { system: IDENTIFIER_SYSTEM.kommunkod, value: '0180' },
      display: 'Stockholm (kommun 0180)',
    });
    expect(partyLogicalReference({ kind: 'municipal-nurse', municipality: '1280' }).display).toBe(
      'Kommunal hälso- och sjukvård, Malmö (kommun 1280)',
    );
    expect(partyLogicalReference({ kind: 'municipality', code: '1917' }).display).toBe('Kommun 1917');
    expect(partyLogicalReference({ kind: 'municipal-nurse', municipality: '1917' }).display).toBe(
      'Kommunal hälso- och sjukvård, kommun 1917',
    );
  });
});

describe('Encounter extensions', () => {
  const enc: Encounter = {
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: 'Patient/p1' },
    extension: [{ url: 'https://example.org/other', valueString: 'kept' }],
  };

  it('when the state is applied and read back, then every value round-trips and other extensions stay', () => {
    const out = applyStayStateToEncounter(enc, state);
    expect(out.meta?.profile).toContain(PROFILE.encounter);
    expect(out.extension?.[0]?.url).toBe('https://example.org/other');
    expect(readStayExtensions(out)).toEqual({
      estimatedDischarge: '2026-03-06',
      readyAt: state.readyAt,
      needs: ['socialtjanst', 'kommunal-hsl'],
      category: 'C+D',
      agreement: 'vastmanland',
      care: 'somatic',
      sipNeeded: true,
      outpatientServicesUnavailable: false,
    });
    expect(v.check(out)).toEqual([]);
  });

  it('when applied twice, then the extensions are replaced, not duplicated', () => {
    const twice = applyStayStateToEncounter(applyStayStateToEncounter(enc, state), { ...state, readyAt: undefined });
    expect(twice.extension?.filter((e) => e.url === EXTENSION.readyForDischarge)).toHaveLength(0);
    expect(twice.extension?.filter((e) => e.url === EXTENSION.needs)).toHaveLength(2);
    expect(twice.meta?.profile?.filter((p) => p === PROFILE.encounter)).toHaveLength(1);
  });
});

describe('SIP CarePlan', () => {
  it('when built, then FVK is author, parties are contributors and performers, triage and meeting are set', () => {
    const plan = buildSipCarePlan(
      {
        stayId: 'stay-1',
        patient: refs.patient,
        encounter: refs.encounter,
        fvk: { kind: 'primary-care', hsaId: 'SE2321000206-2000' },
        contributors: [
          { kind: 'municipality', code: '1980' },
          { kind: 'primary-care', hsaId: 'SE2321000206-2000' },
        ],
        activities: [
          { party: { kind: 'municipality', code: '1980' }, description: 'Hemtjänst' },
          { party: { kind: 'primary-care', hsaId: 'SE2321000206-2000' }, description: 'Läkemedelsgenomgång' },
        ],
        triage: 'yellow',
        meeting: { start: '2026-03-07T10:00:00+01:00', place: 'I hemmet' },
        created: '2026-03-05T14:00:00+01:00',
      },
      refs.party,
    );
    expect(plan.status).toBe('draft');
    expect(plan.author?.identifier?.value).toBe('SE2321000206-2000');
    expect(plan.contributor?.[0]).toEqual({ reference: 'Organization/vasteras' });
    expect(plan.activity).toHaveLength(2);
    expect(plan.category?.[1]?.coding?.[0]).toMatchObject({ system: CODE_SYSTEM.sipTriage, code: 'yellow' });
    expect(readSipMeeting(plan)).toEqual({ start: '2026-03-07T10:00:00+01:00', place: 'I hemmet' });
    expect(v.check(plan)).toEqual([]);
    expect(sipCarePlanStatus(2, 2, true)).toBe('active');
    expect(sipCarePlanStatus(2, 2, false)).toBe('draft');
  });
});

describe('OperationOutcome', () => {
  it('when built from a GatewayError, then each detail has its path as expression and the outcome validates', () => {
    const oo = toOperationOutcome(
      new GatewayError('invalid-personnummer', 'Patient is not valid', [
        { path: 'Patient.identifier[0].value', message: 'check digit is 3, expected 2' },
      ]),
    );
    expect(oo.issue[0]).toMatchObject({ code: 'value', diagnostics: 'Patient is not valid' });
    expect(oo.issue[1]).toMatchObject({ code: 'value', expression: ['Patient.identifier[0].value'] });
    expect(v.check(oo)).toEqual([]);
  });

  it('when the one detail repeats the message, then the outcome has one issue with its place, not the text twice', () => {
    const message = "criteria: 'foo' is not a search parameter of Task";
    const oo = toOperationOutcome(
      new GatewayError('invalid-resource', message, [{ path: 'Subscription.criteria', message }]),
    );
    expect(oo.issue).toEqual([
      expect.objectContaining({ diagnostics: message, expression: ['Subscription.criteria'] }),
    ]);
    expect(v.check(oo)).toEqual([]);
  });
});
