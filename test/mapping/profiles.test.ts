import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfiles, selectProfile } from '../../src/mapping/profile';

describe('sender profiles in mappings/', () => {
  const profiles = loadProfiles();
  it('when mappings/ is loaded, then generic and cosmic validate', () => {
    expect(profiles.map((p) => p.id).sort()).toEqual(['cosmic', 'generic']);
  });
  it('when every profile is checked, then it maps all trigger events of the contract', () => {
    for (const p of profiles) {
      expect(Object.keys(p.events).sort()).toEqual([
        'A01',
        'A02',
        'A03',
        'A04',
        'A05',
        'A08',
        'A11',
        'A12',
        'A13',
        'A21',
        'A22',
        'A31',
        'A52',
        'A53',
      ]);
    }
  });
  it('when the sender is COSMIC, then cosmic; when unknown, then generic', () => {
    expect(selectProfile(profiles, 'COSMIC', 'X').id).toBe('cosmic');
    expect(selectProfile(profiles, 'OTHER', 'X').id).toBe('generic');
  });
  it('when a profile names an unknown code map, then loading fails naming the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'svu-map-'));
    const bad = {
      ...profiles.find((p) => p.id === 'generic'),
      rows: [{ id: 'x', target: 'needs', field: 'ZZZ-1', type: 'code', codeMap: 'nope' }],
    };
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
    expect(() => loadProfiles(dir)).toThrow(/bad\.json.*nope/);
  });
  it('when a field path is malformed, then loading fails', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'svu-map-'));
    const generic = profiles.find((p) => p.id === 'generic')!;
    writeFileSync(
      path.join(dir, 'bad.json'),
      JSON.stringify({ ...generic, fields: { ...generic.fields, ward: ['PV1_3'] } }),
    );
    expect(() => loadProfiles(dir)).toThrow(/bad\.json/);
  });
});
