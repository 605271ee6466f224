import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { prepareWrite } from '../../src/store/prepare-write';
import type { CurrentRow } from '../../src/store/write-sql';

const now = new Date('2026-03-01T10:00:00.000Z');
const at = { now, scope: { system: true } as const };
const p: Patient = { resourceType: 'Patient', gender: 'male' };
const row = (content: Patient, version = 3, more: Partial<CurrentRow> = {}): CurrentRow => ({
  version_id: version,
  deleted: false,
  content: JSON.stringify({ ...content, id: 'p1', meta: { versionId: String(version) } }),
  visible: true,
  ...more,
});
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'ok';
};

describe('deciding a write (prepareWrite)', () => {
  it('when nothing exists, then it creates version 1 stamped with the clock', () => {
    const w = prepareWrite(p, 'p1', undefined, 'POST', {}, at);
    expect(w.created).toBe(true);
    expect(w.write).toMatchObject({ prevVersion: 0, version: 1, action: 'create', lastUpdated: now.toISOString() });
    expect(w.resource.meta).toMatchObject({ versionId: '1', lastUpdated: now.toISOString() });
  });

  it('when the content is unchanged, then there is nothing to write and the stored version is returned', () => {
    const w = prepareWrite(p, 'p1', row(p), 'PUT', {}, at);
    expect(w.write).toBeUndefined();
    expect(w.resource.meta?.versionId).toBe('3');
  });

  it('when the content changed, then the next version replaces the current one', () => {
    const w = prepareWrite({ ...p, gender: 'female' }, 'p1', row(p), 'PUT', {}, at);
    expect(w.write).toMatchObject({ prevVersion: 3, version: 4, action: 'update', method: 'PUT' });
    expect(w.change?.before).toMatchObject({ gender: 'male' });
  });

  it('when If-Match names another version or the row is not visible, then it refuses', () => {
    expect(code(() => prepareWrite(p, 'p1', row(p), 'PUT', { ifMatch: 'W/"2"' }, at))).toBe('version-conflict');
    expect(code(() => prepareWrite(p, 'p1', row(p), 'PUT', { ifMatch: 'W/"3"' }, at))).toBe('ok');
    expect(code(() => prepareWrite(p, 'p1', row(p, 3, { visible: false }), 'PUT', {}, at))).toBe('not-found');
  });
});
