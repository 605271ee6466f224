import { describe, expect, it } from 'vitest';
import { TextMap } from '../../src/store/text-map';

describe('TextMap', () => {
  it('keeps texts of one length, head and tail that differ in the middle apart, and reads, replaces and deletes each', () => {
    const m = new TextMap<number>();
    const long = (mid: string) => `${'x'.repeat(100)}${mid}${'y'.repeat(100)}`;
    m.set(long('a'), 1);
    m.set(long('b'), 2);
    m.set('short', 3);
    expect(m.size).toBe(3);
    expect(m.get(long('a'))).toBe(1);
    expect(m.get(long('b'))).toBe(2);
    expect(m.get(long('c'))).toBeUndefined();
    expect(m.get('short')).toBe(3);
    m.set(long('b'), 4);
    expect(m.size).toBe(3);
    expect(m.get(long('b'))).toBe(4);
    m.delete(long('a'));
    m.delete(long('c'));
    expect(m.size).toBe(2);
    expect(m.get(long('a'))).toBeUndefined();
    expect(m.get(long('b'))).toBe(4);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get('short')).toBeUndefined();
  });

  it('forgets the oldest of more than MAX_ALIKE texts alike at both ends, so a look-up never scans a long list', () => {
    const m = new TextMap<number>();
    const long = (i: number) => `${'x'.repeat(100)}${String(i).padStart(4, '0')}${'y'.repeat(100)}`;
    for (let i = 0; i <= TextMap.MAX_ALIKE; i++) m.set(long(i), i);
    expect(m.size).toBe(TextMap.MAX_ALIKE);
    expect(m.get(long(0))).toBeUndefined();
    expect(m.get(long(TextMap.MAX_ALIKE))).toBe(TextMap.MAX_ALIKE);
  });
});
