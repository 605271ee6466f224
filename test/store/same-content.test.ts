import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentKey, sameContent } from '../../src/store/resource-util';

/** JSON-like values with the odd undefined and null, small enough to collide often. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.constantFrom('a', 'b', 1, 0, true, null, undefined), fc.integer({ min: 0, max: 2 })),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('x', 'y', 'z'), tie('node'), { maxKeys: 3 }),
  ),
})).node;

const meta = fc.option(
  fc.record(
    { versionId: fc.constantFrom('1', '2'), lastUpdated: fc.constantFrom('2026-01-01T00:00:00Z'), tag: value },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const resource = fc
  .record({ id: fc.constantFrom('a', 'b'), status: value, note: value, meta }, { requiredKeys: [] })
  .map((r) => ({ resourceType: 'Task', ...r }) as unknown as Resource);

describe('sameContent', () => {
  it('when any two resources are compared, then sameContent agrees with comparing contentKey strings', () => {
    fc.assert(
      fc.property(resource, resource, (a, b) => {
        expect(sameContent(a, b)).toBe(contentKey(a) === contentKey(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('when a resource is compared with itself changed in one field, then sameContent agrees with contentKey', () => {
    const field = fc.oneof(
      fc.record({ k: fc.constantFrom('status', 'note'), v: value }),
      fc.record({ k: fc.constant('meta'), v: meta }),
    );
    fc.assert(
      fc.property(resource, field, (a, { k, v }) => {
        const b = { ...a, [k]: v };
        expect(sameContent(a, b)).toBe(contentKey(a) === contentKey(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('when only server-set meta differs, then the content is the same; a changed tag or field is not', () => {
    const a = { resourceType: 'Task', id: 't', status: 'requested', meta: { versionId: '1', lastUpdated: 'x' } };
    const b = { ...a, meta: { versionId: '2', lastUpdated: 'y' } };
    expect(sameContent(a as Resource, b as Resource)).toBe(true);
    expect(sameContent(a as Resource, { ...b, meta: { ...b.meta, tag: [{ code: 'x' }] } } as Resource)).toBe(false);
    expect(sameContent(a as Resource, { ...a, status: 'received' } as Resource)).toBe(false);
    expect(sameContent(a as Resource, { ...a, note: undefined } as Resource)).toBe(true);
    // contentKey keeps a meta that has any other key, even an undefined one.
    expect(sameContent({ ...a, meta: { tag: undefined } } as Resource, { ...a, meta: undefined } as Resource)).toBe(
      false,
    );
  });
});
