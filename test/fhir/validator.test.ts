import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, Patient, Resource, Subscription, Task } from '@medplum/fhirtypes';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { CODE_SYSTEM, PERSONNUMMER_OID, PERSONNUMMER_SYSTEM, SAMORDNINGSNUMMER_SYSTEM } from '../../src/fhir/constants';
import { GatewayError } from '../../src/platform/errors';

let v: Validator;
beforeAll(async () => {
  v = await createValidator({ today: () => new Date('2026-11-24T00:00:00Z') });
});

function caught(fn: () => void): GatewayError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('expected a GatewayError');
}

const patient = (value: string, system = PERSONNUMMER_SYSTEM): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system, value }],
});

const task = (code: string, status = 'requested'): Task =>
  ({
    resourceType: 'Task',
    status,
    intent: 'order',
    code: { coding: [{ system: CODE_SYSTEM.task, code }] },
  }) as Task;

describe('validator (base R4 + rule checks)', () => {
  it('when a valid Patient with a personnummer is given, then it passes', () => {
    expect(() => v.validate(patient('191212121212'))).not.toThrow();
    expect(() => v.validate(patient('19121212-1212', PERSONNUMMER_OID))).not.toThrow();
  });

  it('when the personnummer check digit is wrong, then invalid-personnummer names the identifier path', () => {
    const e = caught(() => v.validate(patient('191212121213')));
    expect(e.code).toBe('invalid-personnummer');
    expect(e.status).toBe(400);
    expect(e.issues[0]?.path).toBe('Patient.identifier[0].value');
  });

  it('when a samordningsnummer is sent under the personnummer system, then it is rejected', () => {
    expect(caught(() => v.validate(patient('197010632391'))).code).toBe('invalid-personnummer');
    expect(() => v.validate(patient('197010632391', SAMORDNINGSNUMMER_SYSTEM))).not.toThrow();
  });

  it('when Encounter.status is not an R4 code, then invalid-resource names Encounter.status', () => {
    const enc = { resourceType: 'Encounter', status: 'bogus', class: { code: 'IMP' } } as unknown as Encounter;
    const e = caught(() => v.validate(enc));
    expect(e.code).toBe('invalid-resource');
    expect(e.status).toBe(422);
    expect(e.issues.map((i) => i.path)).toContain('Encounter.status');
  });

  it('when the base validator itself fails on a shape (a primitive extension object beside a string), then 422, not a crash', () => {
    // found by the fuzz test: @medplum/core assigns `_birthDate`'s keys into the string `birthDate` and throws
    const odd = {
      ...patient('191212121212'),
      birthDate: '1931-11-30',
      _birthDate: { '9': [-669896518] },
    } as unknown as Patient;
    const e = caught(() => v.validate(odd));
    expect([e.code, e.status]).toEqual(['invalid-resource', 422]);
    expect(e.issues[0]?.message).toMatch(/structure could not be read/);
  });

  it('when a property is unknown or a date malformed, then medplum structural issues are reported with paths', () => {
    const bad = {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { code: 'IMP' },
      foo: 1,
      period: { start: '2026-13-01' },
    } as unknown as Resource;
    const paths = v.check(bad).map((i) => i.path);
    expect(paths).toContain('Encounter.foo');
    expect(paths).toContain('Encounter.period.start');
  });

  it('when an answer is an empty string, then one issue at the element says so, not a missing value[x] and an unknown property', () => {
    const answered = {
      ...task('utse-fast-vardkontakt'),
      output: [{ type: { text: 'fast vårdkontakt' }, valueString: '' }],
    } as Task;
    expect(v.check(answered)).toEqual([
      {
        path: 'Task.output[0].valueString',
        severity: 'error',
        kind: 'structure',
        message: 'an empty string is not a FHIR value: give a value, or leave the element out',
      },
    ]);
    // an unknown property is still said as one
    const unknown = { ...answered, output: [{ type: { text: 'x' }, valueStrin: 'a' }] } as unknown as Task;
    expect(v.check(unknown).map((i) => i.message)).toContain('Invalid additional property "valueStrin"');
  });

  it('when Task.code uses our CodeSystem with an unknown code, then it is rejected; known codes pass', () => {
    expect(() => v.validate(task('utskrivningsklar'))).not.toThrow();
    const e = caught(() => v.validate(task('utskrivningsklarr')));
    expect(e.issues[0]?.path).toBe('Task.code.coding[0].code');
  });

  it('when Task.status or Subscription.status is bogus, then it is rejected', () => {
    expect(caught(() => v.validate(task('makulering', 'done'))).issues[0]?.path).toBe('Task.status');
    const sub = {
      resourceType: 'Subscription',
      status: 'on',
      reason: 'x',
      criteria: 'Task?owner=Organization/1',
      channel: { type: 'rest-hook', endpoint: 'https://example.org/hook' },
    } as unknown as Subscription;
    expect(caught(() => v.validate(sub)).issues[0]?.path).toBe('Subscription.status');
  });

  it('when a transaction Bundle holds a bad Patient, then the entry path is named', () => {
    const b: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: patient('191212121213'), request: { method: 'POST', url: 'Patient' } }],
    };
    const e = caught(() => v.validate(b));
    expect(e.issues[0]?.path).toBe('Bundle.entry[0].resource.identifier[0].value');
  });

  it('when an unknown profile URL is asked for, then it fails clearly', () => {
    expect(caught(() => v.validate(task('makulering'), 'https://example.org/nope')).message).toContain(
      'unknown profile',
    );
  });
});
