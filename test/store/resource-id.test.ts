import { describe, expect, it } from 'vitest';
import { newResourceId } from '../../src/store/resource-id';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

describe('new resource ids', () => {
  it('are UUID version 7, valid FHIR ids, that sort in the order they were made', () => {
    const ids = Array.from({ length: 5000 }, () => newResourceId());
    for (const id of ids) {
      expect(id).toMatch(V7);
      expect(id).toMatch(FHIR_ID);
    }
    // within one millisecond too: the store's B-trees grow at their right edge
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('start with the time they were made', () => {
    const before = Date.now();
    const id = newResourceId();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
