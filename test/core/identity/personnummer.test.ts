import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checkPersonnummer,
  identifierSystemKind,
  luhnCheckDigit,
  PERSONNUMMER_OID,
  PERSONNUMMER_SYSTEM,
  SAMORDNINGSNUMMER_OID,
  SAMORDNINGSNUMMER_SYSTEM,
} from '../../../src/core/identity/personnummer';

const today = '2026-11-24';

describe('checkPersonnummer', () => {
  it.each([
    ['19121212-1212', '191212121212', '1912-12-12'],
    ['191212121212', '191212121212', '1912-12-12'],
    ['811218-9876', '198112189876', '1981-12-18'],
    ['8112189876', '198112189876', '1981-12-18'],
    ['121212+1212', '191212121212', '1912-12-12'],
    ['200002292381', '200002292381', '2000-02-29'],
  ])('when %s is valid, then it normalises to %s', (input, normalized, birthDate) => {
    const r = checkPersonnummer(input, { today });
    expect(r).toEqual({ ok: true, kind: 'personnummer', normalized, birthDate });
  });

  it('when the day is 60 more than a real day, then it is a samordningsnummer with the real birth date', () => {
    const r = checkPersonnummer('701063-2391', { today });
    expect(r).toEqual({ ok: true, kind: 'samordningsnummer', normalized: '197010632391', birthDate: '1970-10-03' });
  });

  it('when the check digit is wrong, then it is rejected naming the expected digit', () => {
    const r = checkPersonnummer('19121212-1213');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('expected 2');
  });

  it.each([
    ['19121312-1219', 'month'], // month 13 (valid Luhn for the digits)
    ['19120230-1211', 'day'], // 30 February
    ['19010229-1217', 'day'], // 1901 is not a leap year
  ])('when %s has a bad date or format, then the reason mentions %s', (input, word) => {
    // Give bad dates a correct check digit so only the date part can fail.
    const digits = input.replace(/[-+]/g, '');
    let fixed = input;
    if (/^\d{12}$/.test(digits)) {
      const ten = digits.slice(2);
      fixed = `${digits.slice(0, 8)}-${ten.slice(6, 9)}${luhnCheckDigit(ten.slice(0, 9))}`;
    }
    const r = checkPersonnummer(fixed, { today });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(word);
  });

  it.each(['abc', '1912121-21212', '19121212--1212', ''])(
    'when %j is not in a known format, then it is rejected',
    (v) => {
      const r = checkPersonnummer(v, { today });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('digits');
    },
  );

  it('when a 10-digit number comes without a reference date, then it is rejected (century unknown)', () => {
    expect(checkPersonnummer('811218-9876').ok).toBe(false);
  });

  it('when a 10-digit birth date would lie after the reference date, then the previous century is chosen', () => {
    const r = checkPersonnummer('261231-0000'.slice(0, 10) + String(luhnCheckDigit('261231000')), { today });
    expect(r.ok && r.birthDate).toBe('1926-12-31');
  });

  it('when any 9 digits get their Luhn digit, then a single changed digit is always detected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 9 }), (pos, delta) => {
        const base = '811218987';
        const good = base + String(luhnCheckDigit(base));
        const chars = good.split('');
        chars[pos] = String((Number(chars[pos]) + delta) % 10);
        const changed = chars.join('');
        return Number(changed[9]) !== luhnCheckDigit(changed.slice(0, 9));
      }),
    );
  });
});

describe('identifierSystemKind', () => {
  it('when given the URI or the OID form, then both map to the same kind', () => {
    expect(identifierSystemKind(PERSONNUMMER_SYSTEM)).toBe('personnummer');
    expect(identifierSystemKind(PERSONNUMMER_OID)).toBe('personnummer');
    expect(identifierSystemKind(SAMORDNINGSNUMMER_SYSTEM)).toBe('samordningsnummer');
    expect(identifierSystemKind(SAMORDNINGSNUMMER_OID)).toBe('samordningsnummer');
    expect(identifierSystemKind('urn:oid:1.2.752.29.4.19')).toBeUndefined();
  });
});
