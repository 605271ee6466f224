import { beforeAll, describe, expect, it } from 'vitest';
import { matchesSearchRequest, parseSearchRequest, validateResource } from '@medplum/core';
import type { Patient, Resource, Task } from '@medplum/fhirtypes';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefinitions, readDefinitions, readDefinitionsInWorker } from '../../src/fhir/definitions';

/** The issues' FHIRPath expressions and texts of medplum's structural validation (errors only). */
function errors(resource: Resource): string[] {
  try {
    return validateResource(resource)
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.expression?.[0] ?? ''} ${i.details?.text ?? ''}`);
  } catch (e) {
    const issues = (e as { outcome?: { issue?: { expression?: string[]; details?: { text?: string } }[] } }).outcome
      ?.issue;
    if (!issues) throw e;
    return issues.map((i) => `${i.expression?.[0] ?? ''} ${i.details?.text ?? ''}`);
  }
}

describe('the shared FHIR definitions loader (trimmed, parsed in a worker, cached)', () => {
  beforeAll(() => {
    loadDefinitions({ searchParameters: true });
  });

  it('when the trimmed definitions are indexed, then cardinality, types, invariants and fixed values still fail', () => {
    // Task.status and Task.intent are 1..1
    expect(errors({ resourceType: 'Task' } as Task).join('\n')).toMatch(/Task\.status/);
    // a wrong primitive type
    expect(errors({ resourceType: 'Patient', active: 'yes' } as unknown as Patient).join('\n')).toMatch(/active/);
    // an unknown property
    expect(errors({ resourceType: 'Patient', nickname: 'x' } as unknown as Patient).join('\n')).toMatch(/nickname/);
    // the FHIRPath invariant pat-1 (kept: constraint key and expression)
    expect(errors({ resourceType: 'Patient', contact: [{ gender: 'male' }] }).join('\n')).toMatch(/pat-1/);
    // a primitive's format (its type code sits in the kept `type` of the element)
    expect(errors({ resourceType: 'Patient', birthDate: '2020-13-45' }).join('\n')).toMatch(/birthDate/);
    // a valid resource passes
    expect(errors({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'IMP' } })).toEqual([]);
  });

  it('when the search parameters are loaded, then a subscription criteria matches by them', () => {
    const task = { resourceType: 'Task', status: 'requested', intent: 'order' } as Task;
    expect(matchesSearchRequest(task, parseSearchRequest('Task?status=requested'))).toBe(true);
    expect(matchesSearchRequest(task, parseSearchRequest('Task?status=completed'))).toBe(false);
  });

  it('when a definitions file cannot be read, then the error names it instead of hanging', () => {
    expect(() => readDefinitionsInWorker(['fhir/r4/no-such-file.json'], [])).toThrow(
      /reading the FHIR definitions failed: .*no-such-file/s,
    );
  });

  it('when the definitions were read once, then the next start takes them from the cache; an unreadable cache is read again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'svu-defs-'));
    try {
      const files = ['fhir/r4/profiles-types.json'];
      const first = readDefinitions(files, [], dir);
      expect(first.fromCache).toBe(false);
      const written = readdirSync(dir);
      expect(written).toEqual([expect.stringMatching(/^fhir-r4-.+\.json$/)]);
      const second = readDefinitions(files, [], dir);
      expect(second.fromCache).toBe(true);
      expect(second.sds).toEqual(first.sds);
      // other files are another cache entry
      expect(readDefinitions(files, ['fhir/r4/search-parameters.json'], dir).fromCache).toBe(false);
      expect(readdirSync(dir)).toHaveLength(2);
      writeFileSync(join(dir, written[0] ?? ''), '{"sds": [');
      const repaired = readDefinitions(files, [], dir);
      expect(repaired.fromCache).toBe(false);
      expect(repaired.sds).toEqual(first.sds);
      expect(readDefinitions(files, [], dir).fromCache).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the worker answers, then only the fields the parser reads are kept', () => {
    const { sds, searchParameters } = readDefinitionsInWorker(['fhir/r4/profiles-types.json'], []);
    expect(searchParameters).toEqual([]);
    const identifier = sds.find((sd) => sd.url === 'http://hl7.org/fhir/StructureDefinition/Identifier');
    expect(identifier?.snapshot?.element?.length).toBeGreaterThan(5);
    const el = identifier?.snapshot?.element?.[1];
    expect(el?.path).toBe('Identifier.id');
    expect(el?.definition).toBeUndefined();
    expect(el?.mapping).toBeUndefined();
    expect((identifier as { text?: unknown }).text).toBeUndefined();
  });
});
