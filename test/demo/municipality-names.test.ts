import { describe, expect, it } from 'vitest';
import { demoRegionData } from '../../src/demo/demo-region';

/**
 * Issue 13 §9: the demo municipalities carry their own names, with the genitive s where the name takes one
 * ("Köpings kommun"); Västerås calls itself "Västerås stad". Source: the municipalities' own sites / SCB's list.
 */
const EXPECTED: Record<string, string> = {
  '1980': 'Västerås stad',
  '1981': 'Sala kommun',
  '1982': 'Fagersta kommun',
  '1983': 'Köpings kommun',
  '1984': 'Arboga kommun',
  '1904': 'Skinnskattebergs kommun',
  '1907': 'Surahammars kommun',
  '1960': 'Kungsörs kommun',
  '1961': 'Hallstahammars kommun',
  '1962': 'Norbergs kommun',
};

describe('demo region municipality names', () => {
  it('when the demo region is read, then each municipality has its proper name (genitive s included)', () => {
    const orgs = demoRegionData().organizations.filter((o) => o.id?.startsWith('kommun-'));
    const names = Object.fromEntries(orgs.map((o) => [o.id?.slice('kommun-'.length), o.name]));
    expect(names).toEqual(EXPECTED);
  });
});
