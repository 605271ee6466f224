import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { blocksValidation, checkShape, DEFAULT_SHAPE_LIMITS } from '../../src/fhir/shape-check';

let v: Validator;
beforeAll(async () => {
  // indexes the R4 definitions the shape check reads
  v = await createValidator({ today: () => new Date('2026-11-24T00:00:00Z') });
});

const paths = (body: unknown) => checkShape(body).map((i) => `${i.kind} ${i.path}`);

describe('shape check before validation', () => {
  it('when a body uses choice types, primitive extensions with nulls, contained resources and a Bundle, then it passes', () => {
    const bundle = JSON.parse(readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8'));
    expect(checkShape(bundle)).toEqual([]);
    expect(
      checkShape({
        resourceType: 'Patient',
        deceasedBoolean: false,
        multipleBirthInteger: 2,
        name: [{ given: ['Tolvan', 'Mellan'], _given: [null, { extension: [{ url: 'u', valueCode: 'x' }] }] }],
        extension: [{ url: 'https://example.org/e', valueCodeableConcept: { coding: [{ code: 'a' }] } }],
        contained: [{ resourceType: 'Organization', id: 'o1', name: 'Sala kommun' }],
      }),
    ).toEqual([]);
  });

  it('when values have the wrong JSON type, then each is named by its path', () => {
    expect(
      paths({
        resourceType: 'Patient',
        active: 'yes',
        multipleBirthInteger: '2',
        name: { family: 'x' },
        telecom: [{ value: 5 }],
        contained: [{ id: 'no-type' }, { resourceType: 'Nonsense' }, { resourceType: 'constructor' }],
        valueOf: { a: 1 },
        gender: null,
      }),
    ).toEqual([
      'shape Patient.active',
      'shape Patient.multipleBirthInteger',
      'shape Patient.name',
      'shape Patient.telecom[0].value',
      'shape Patient.contained[0]',
      'shape Patient.contained[1]',
      'shape Patient.contained[2]',
      'unknown Patient.valueOf',
      'shape Patient.gender',
    ]);
  });

  it('when a string holds a NUL character, then it is named by its path (PostgreSQL cannot store it: it was a 500)', () => {
    const body = { resourceType: 'Patient', gender: `a${String.fromCharCode(0)}b`, name: [{ family: 'Ok' }] };
    expect(checkShape(body)).toEqual([
      { path: 'Patient.gender', message: expect.stringContaining('NUL character'), kind: 'shape' },
    ]);
    // below an unknown property too (not checked further, but it would be stored)
    const unknown = { resourceType: 'Patient', extra: [{ y: { value: `x${String.fromCharCode(0)}` } }] };
    const issues = checkShape(unknown);
    expect(issues.map((i) => [i.path, i.kind])).toEqual([
      ['Patient.extra', 'unknown'],
      ['Patient.extra[0].y.value', 'shape'],
    ]);
    expect(blocksValidation(issues)).toBe(true);
    // a resourceType key inside a datatype is skipped as a resource's own, but only when it is a plain string
    const sub = { resourceType: 'Subscription', channel: { type: 'rest-hook', resourceType: [{ id: 'x' }] } };
    expect(checkShape(sub).map((i) => [i.path, i.kind])).toEqual([['Subscription.channel.resourceType', 'shape']]);
  });

  it('when a long string stands where an object belongs, then one issue, not one per character', () => {
    const issues = v.check({ resourceType: 'Patient', meta: 'x'.repeat(100_000) } as unknown as Resource);
    expect(issues).toEqual([expect.objectContaining({ path: 'Patient.meta', kind: 'structure' })]);
  });

  it('when an object has thousands of unknown keys, then the list is cut at a few and validation does not run', () => {
    const body: Record<string, unknown> = { resourceType: 'Patient' };
    for (let i = 0; i < 50_000; i++) body[`k${i}`] = i;
    const issues = v.check(body as unknown as Resource);
    expect(issues.length).toBeLessThanOrEqual(10);
    expect(issues[0]?.path).toBe('Patient.k0');
  });

  it('when one unknown property sits beside a bad date, then the validator still reports both', () => {
    const issues = v.check({ resourceType: 'Patient', foo: 1, birthDate: '2026-13-45' } as unknown as Resource);
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['Patient.foo', 'Patient.birthDate']));
  });

  it('when a size limit is passed, then a limit issue names the path and validate answers too-large', () => {
    const deep = { maxDepth: 6 };
    const body = {
      resourceType: 'Patient',
      extension: [{ url: 'a', extension: [{ url: 'b', extension: [{ url: 'c' }] }] }],
    };
    expect(checkShape(body, { ...DEFAULT_SHAPE_LIMITS, ...deep }).map((i) => `${i.kind} ${i.path}`)).toEqual([
      'limit Patient.extension[0].extension[0].extension[0]',
    ]);
    expect(checkShape({ resourceType: 'Patient', name: [{ text: 'x'.repeat(70_000) }] })[0]).toMatchObject({
      kind: 'limit',
      path: 'Patient.name[0].text',
    });
    let code = '';
    try {
      v.validate({ resourceType: 'Patient', name: Array(10_001).fill({ text: 'x' }) });
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe('too-large');
  });

  it('when a body holds more values than the limit, then one limit issue says so, before the validator walks them', () => {
    const names = Array.from({ length: 900 }, () => ({ family: 'A', given: ['a', 'b', 'c', 'd', 'e', 'f'] }));
    const issues = v.check({ resourceType: 'Patient', name: names });
    expect(issues).toEqual([
      expect.objectContaining({ kind: 'limit', message: expect.stringMatching(/more than 5000 values/) }),
    ]);
  });
});
