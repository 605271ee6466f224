import { describe, expect, it } from 'vitest';
import { laneOf } from '../../src/intake/hl7v2/apply-queue';

describe('the apply lane of a stay', () => {
  it('when a stay key is placed again, then it gets the same lane, and many stays spread over every lane', () => {
    const keys = Array.from({ length: 4000 }, (_, i) => `urn:oid:1.2.752.29.4.19.1|V-${i}`);
    for (const lanes of [2, 3, 4, 8]) {
      const count = new Array<number>(lanes).fill(0);
      for (const k of keys) {
        const lane = laneOf(k, lanes);
        expect(laneOf(k, lanes)).toBe(lane);
        count[lane] = (count[lane] ?? 0) + 1;
      }
      // every lane gets its share within a fifth
      for (const n of count) expect(Math.abs(n - keys.length / lanes)).toBeLessThan(keys.length / lanes / 5);
    }
    expect(laneOf('anything', 1)).toBe(0);
    expect(laneOf('Växjö|ö', 4)).toBe(laneOf('Växjö|ö', 4));
  });
});
