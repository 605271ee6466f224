import type { ParametersParameter, Patient, Task } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyFhirPathPatch, parseFhirPathPatch } from '../../src/fhir-api/fhirpath-patch';
import { loadDefinitions } from '../../src/fhir/definitions';

const op = (type: string, path: string, ...parts: ParametersParameter[]): ParametersParameter => ({
  name: 'operation',
  part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...parts],
});
const apply = <T extends Task | Patient>(resource: T, ...ops: ParametersParameter[]): T =>
  applyFhirPathPatch(structuredClone(resource), parseFhirPathPatch({ resourceType: 'Parameters', parameter: ops }));
const value = (v: Omit<ParametersParameter, 'name'>): ParametersParameter => ({ name: 'value', ...v });

const task: Task = {
  resourceType: 'Task',
  id: 't',
  status: 'requested',
  intent: 'order',
  note: [{ text: 'a' }, { text: 'b' }],
  input: [{ type: { text: 'kind' }, valueString: 's' }],
  extension: [
    { url: 'https://example.org/one', valueString: 'ett' },
    { url: 'https://example.org/two', valueString: 'två' },
  ],
};
const patient: Patient = { resourceType: 'Patient', id: 'p', name: [{ given: ['Anna', 'Maria', 'Anna'] }] };

describe('FHIRPath Patch: the element a path selects', () => {
  beforeAll(() => loadDefinitions());

  it('when a path ends in a filter on a primitive list ([n], first(), last()), then that position changes', () => {
    expect(
      apply(patient, op('replace', 'Patient.name.given[1]', value({ valueString: 'Eva' }))).name?.[0]?.given,
    ).toEqual(['Anna', 'Eva', 'Anna']);
    expect(apply(patient, op('delete', 'Patient.name.given.last()')).name?.[0]?.given).toEqual(['Anna', 'Maria']);
    expect(apply(patient, op('delete', "Patient.name.given.where($this = 'Maria')")).name?.[0]?.given).toEqual([
      'Anna',
      'Anna',
    ]);
  });

  it('when a where() selects a primitive whose value is there twice, then 422: which one cannot be told', () => {
    expect(() => apply(patient, op('delete', "Patient.name.given.where($this = 'Anna').first()"))).toThrow(
      /operation 0 \(delete .*cannot be located/,
    );
  });

  it("when a path names an extension by url (extension('…')), then that extension is replaced or deleted", () => {
    const r = apply(
      task,
      op('replace', "Task.extension('https://example.org/two').value", value({ valueString: 'TVÅ' })),
      op('delete', "Task.extension('https://example.org/one')"),
    );
    expect(r.extension).toEqual([{ url: 'https://example.org/two', valueString: 'TVÅ' }]);
  });

  it('when a choice element is replaced by a value of another type, then its property is named by the new type', () => {
    const r = apply(task, op('replace', 'Task.input[0].value', value({ valueInteger: 3 })));
    expect(r.input).toEqual([{ type: { text: 'kind' }, valueInteger: 3 }]);
  });

  it('when a complex value of a backbone element is added in parts, then its nested lists and choices follow the definitions', () => {
    const r = apply(
      task,
      op(
        'add',
        'Task',
        { name: 'name', valueString: 'input' },
        {
          name: 'value',
          part: [
            { name: 'type', part: [{ name: 'coding', part: [{ name: 'code', valueCode: 'x' }] }] },
            { name: 'value', valueBoolean: true },
          ],
        },
      ),
    );
    expect(r.input?.[1]).toEqual({ type: { coding: [{ code: 'x' }] }, valueBoolean: true });
  });

  it('when a name or a part of the value is not an element name (__proto__, constructor), then 400 and nothing is set', () => {
    const add = (name: string, v: ParametersParameter) => () =>
      apply(task, op('add', 'Task', { name: 'name', valueString: name }, v));
    expect(add('__proto__', value({ valueString: 'x' }))).toThrow(/'__proto__' is not an element name/);
    expect(add('note', value({ part: [{ name: '__proto__', part: [{ name: 'text', valueString: 'x' }] }] }))).toThrow(
      /named '__proto__', not an element/,
    );
    // an unknown name is set as the resource's own property (the validator refuses it), not read from Object
    expect(Object.hasOwn(add('constructor', value({ valueString: 'x' }))(), 'constructor')).toBe(true);
    expect(({} as Record<string, unknown>).text).toBeUndefined();
  });

  it('when a path selects the resource itself for delete or replace, then 422', () => {
    expect(() => apply(task, op('delete', 'Task'))).toThrow(/cannot be applied/);
    expect(() => apply(task, op('replace', 'Task', value({ valueString: 'x' })))).toThrow(/cannot be applied/);
  });

  it('when move names a source beyond the list, or insert a path that is not a list, then 422 naming the operation', () => {
    expect(() =>
      apply(
        task,
        op('move', 'Task.note', { name: 'source', valueInteger: 2 }, { name: 'destination', valueInteger: 0 }),
      ),
    ).toThrow(/operation 0 \(move 'Task\.note'\) cannot be applied: source 2 is beyond the list's 2 elements/);
    expect(() =>
      apply(task, op('insert', 'Task.status', { name: 'index', valueInteger: 0 }, value({ valueCode: 'x' }))),
    ).toThrow(/status is not a list/);
  });
});
