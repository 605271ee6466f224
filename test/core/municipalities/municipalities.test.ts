import { describe, expect, it } from 'vitest';
import { demoRegionData } from '../../../src/demo/demo-region';
import { IDENTIFIER_SYSTEM } from '../../../src/fhir/constants';
import {
  municipalityCodes,
  municipalityLabel,
  municipalityName,
} from '../../../src/core/municipalities/municipalities';

/** SCB's county codes with the number of municipalities in each (290 in all, the division valid 2024–2026). */
const PER_COUNTY: Record<string, [string, number]> = {
  '01': ['Stockholm', 26],
  '03': ['Uppsala', 8],
  '04': ['Södermanland', 9],
  '05': ['Östergötland', 13],
  '06': ['Jönköping', 13],
  '07': ['Kronoberg', 8],
  '08': ['Kalmar', 12],
  '09': ['Gotland', 1],
  '10': ['Blekinge', 5],
  '12': ['Skåne', 33],
  '13': ['Halland', 6],
  '14': ['Västra Götaland', 49],
  '17': ['Värmland', 16],
  '18': ['Örebro', 12],
  '19': ['Västmanland', 10],
  '20': ['Dalarna', 15],
  '21': ['Gävleborg', 10],
  '22': ['Västernorrland', 7],
  '23': ['Jämtland', 8],
  '24': ['Västerbotten', 15],
  '25': ['Norrbotten', 14],
};

describe("Sweden's municipalities (SCB)", () => {
  it('when the table is read, then it holds 290 unique four-digit codes, each in one of the 21 counties', () => {
    const codes = municipalityCodes();
    expect(codes).toHaveLength(290);
    expect(new Set(codes).size).toBe(290);
    for (const code of codes) {
      expect(code).toMatch(/^\d{4}$/);
      expect(Object.keys(PER_COUNTY)).toContain(code.slice(0, 2));
    }
  });

  it('when the codes are counted per county, then each county has as many municipalities as SCB lists', () => {
    const counted: Record<string, number> = {};
    for (const code of municipalityCodes()) counted[code.slice(0, 2)] = (counted[code.slice(0, 2)] ?? 0) + 1;
    expect(counted).toEqual(Object.fromEntries(Object.entries(PER_COUNTY).map(([c, [, n]]) => [c, n])));
  });

  it.each([
    ['0180', 'Stockholm'],
    ['0380', 'Uppsala'],
    ['1280', 'Malmö'],
    ['1480', 'Göteborg'],
    ['1980', 'Västerås'],
    ['1981', 'Sala'],
    ['2584', 'Kiruna'],
    ['0114', 'Upplands Väsby'],
    ['0139', 'Upplands-Bro'],
    ['1440', 'Ale'],
    ['2583', 'Haparanda'],
    ['0192', 'Nynäshamn'],
    ['2180', 'Gävle'],
    ['0880', 'Kalmar'],
    ['1880', 'Örebro'],
    ['0980', 'Gotland'],
    ['2023', 'Malung-Sälen'],
    ['1438', 'Dals-Ed'],
    ['1462', 'Lilla Edet'],
    // codes some public lists get wrong (Emmaboda is not 0682, Ljusnarsberg not 1886)
    ['0862', 'Emmaboda'],
    ['1864', 'Ljusnarsberg'],
    ['0331', 'Heby'],
  ])('when %s is looked up, then its name is %s', (code, name) => {
    expect(municipalityName(code)).toBe(name);
  });

  it('when a name has Swedish letters, then they are the composed UTF-8 characters SCB writes', () => {
    for (const code of municipalityCodes())
      expect(municipalityName(code)).toBe(municipalityName(code)?.normalize('NFC'));
    expect([...municipalityName('1280')!].at(-1)).toBe('\u00f6');
  });

  it('when a code is not in the list, then it has no name and its label is the code (today’s text)', () => {
    for (const code of ['0000', '0100', '1917', '9999', 'constructor', ''])
      expect(municipalityName(code)).toBeUndefined();
    expect(municipalityLabel('9999')).toBe('kommun 9999');
    expect(municipalityLabel('9999', 'Kommun 9999')).toBe('Kommun 9999');
  });

  it('when a code is in the list, then its label is the name with the code', () => {
    expect(municipalityLabel('0180')).toBe('Stockholm (kommun 0180)');
    expect(municipalityLabel('0114', 'Kommun 0114')).toBe('Upplands Väsby (kommun 0114)');
  });

  it('when the demo region names its municipalities, then each directory name begins with SCB’s name for its code', () => {
    const orgs = demoRegionData().organizations.flatMap((o) =>
      (o.identifier ?? [])
        .filter((i) => i.system === IDENTIFIER_SYSTEM.kommunkod)
        .map((i) => [i.value ?? '', o.name ?? ''] as const),
    );
    expect(orgs.length).toBeGreaterThanOrEqual(10);
    for (const [code, name] of orgs) expect(name.startsWith(municipalityName(code) ?? '?')).toBe(true);
  });
});
