/**
 * Swedish personal identity numbers (personnummer, Skatteverket) and coordination numbers
 * (samordningsnummer: the day of birth + 60). Pure: the 10-digit form needs a reference date to pick the
 * century, which the caller passes in (the core has no clock).
 *
 * Accepted input: `YYMMDD-NNNC`, `YYMMDD+NNNC` (`+` = 100 years or older), `YYMMDDNNNC`, `YYYYMMDDNNNC`,
 * `YYYYMMDD-NNNC`. The check digit C is the Luhn digit over the 10-digit form `YYMMDDNNN`.
 */

/** HL7 Sweden base profiles' identifier systems (contract). */
export const PERSONNUMMER_SYSTEM = 'http://electronichealth.se/identifier/personnummer';
export const SAMORDNINGSNUMMER_SYSTEM = 'http://electronichealth.se/identifier/samordningsnummer';
/** Older national OID forms, accepted on input. */
export const PERSONNUMMER_OID = 'urn:oid:1.2.752.129.2.1.3.1';
export const SAMORDNINGSNUMMER_OID = 'urn:oid:1.2.752.129.2.1.3.3';

export type PersonnummerKind = 'personnummer' | 'samordningsnummer';

export type PersonnummerCheck =
  { ok: true; normalized: string; kind: PersonnummerKind; birthDate: string } | { ok: false; reason: string };

export interface PersonnummerOptions {
  /**
   * The reference date (`YYYY-MM-DD` or a Date) used to pick the century of a 10-digit number: the most
   * recent century in which the birth date is not after it (`-`), or 100 years earlier than that (`+`).
   * Without it a 10-digit number is rejected (12 digits need no reference).
   */
  today?: string | Date;
}

/** Which kind a system URI names, or undefined when it is not a Swedish person identifier system. */
export function identifierSystemKind(system: string | undefined): PersonnummerKind | undefined {
  if (system === PERSONNUMMER_SYSTEM || system === PERSONNUMMER_OID) return 'personnummer';
  if (system === SAMORDNINGSNUMMER_SYSTEM || system === SAMORDNINGSNUMMER_OID) return 'samordningsnummer';
  return undefined;
}

/** The canonical (HL7 Sweden) system for a kind. */
export function systemForKind(kind: PersonnummerKind): string {
  return kind === 'personnummer' ? PERSONNUMMER_SYSTEM : SAMORDNINGSNUMMER_SYSTEM;
}

/** Luhn check digit over a string of digits (weights 2,1,2,1,… from the left, as Skatteverket uses). */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = (digits.charCodeAt(i) - 48) * (i % 2 === 0 ? 2 : 1);
    if (d > 9) d -= 9;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

function referenceParts(today: string | Date): { y: number; md: number } | undefined {
  const iso = typeof today === 'string' ? today : today.toISOString();
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return undefined;
  return { y: Number(m[1]), md: Number(m[2]) * 100 + Number(m[3]) };
}

const FORMAT = /^(\d{2})?(\d{6})([-+])?(\d{4})$/;

/** Validate and normalise a personnummer or samordningsnummer to 12 digits `YYYYMMDDNNNC`. */
export function checkPersonnummer(value: string, options: PersonnummerOptions = {}): PersonnummerCheck {
  const trimmed = value.trim();
  const m = FORMAT.exec(trimmed);
  if (!m) {
    return { ok: false, reason: 'expected 10 or 12 digits, optionally with "-" or "+" before the last four' };
  }
  const century = m[1];
  const yymmdd = m[2] ?? '';
  const sep = m[3];
  const last4 = m[4] ?? '';
  const ten = yymmdd + last4;
  const expected = luhnCheckDigit(ten.slice(0, 9));
  if (expected !== Number(ten[9])) {
    return { ok: false, reason: `check digit is ${ten[9]}, expected ${expected}` };
  }
  const yy = Number(yymmdd.slice(0, 2));
  const month = Number(yymmdd.slice(2, 4));
  let day = Number(yymmdd.slice(4, 6));
  let kind: PersonnummerKind = 'personnummer';
  if (day > 60) {
    kind = 'samordningsnummer';
    day -= 60;
  }
  if (month < 1 || month > 12) return { ok: false, reason: `month ${pad(month, 2)} is not a valid month` };

  let year: number;
  if (century !== undefined) {
    year = Number(century) * 100 + yy;
  } else {
    if (options.today === undefined) {
      return { ok: false, reason: 'a 10-digit number needs a reference date to decide the century' };
    }
    const ref = referenceParts(options.today);
    if (!ref) return { ok: false, reason: 'invalid reference date' };
    year = Math.floor(ref.y / 100) * 100 + yy;
    if (year * 10000 + month * 100 + day > ref.y * 10000 + ref.md) year -= 100;
    if (sep === '+') year -= 100;
  }
  if (day < 1 || day > daysInMonth(year, month)) {
    const what = kind === 'samordningsnummer' ? 'day (minus 60)' : 'day';
    return { ok: false, reason: `${what} ${pad(day, 2)} is not a valid day of ${year}-${pad(month, 2)}` };
  }
  return {
    ok: true,
    kind,
    normalized: pad(year, 4) + yymmdd.slice(2) + last4,
    birthDate: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`,
  };
}
