/**
 * HL7 v2 date/time (TS/DTM and DT) to ISO 8601, and an instant to an HL7 TS. A TS without an offset is local time in
 * Europe/Stockholm (the senders are Swedish EHRs), so the offset (+01:00 or +02:00) is computed for that instant; the
 * gateway writes its own TS (an ACK's MSH-7) in that local time too, with the offset spelt out.
 */
import { stockholmOffsetMs } from '../core/calendar/stockholm-time';

const TS = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(?:(\d{2})(?:\.(\d{1,4}))?)?)?([+-]\d{4})?$/;

/** Offset of Europe/Stockholm from UTC, in minutes, at the UTC instant `utcMs` (the EU rule, as the engine uses). */
function stockholmOffsetMinutes(utcMs: number): number {
  return stockholmOffsetMs(utcMs) / 60000;
}

function fmtOffset(min: number): string {
  const sign = min < 0 ? '-' : '+';
  const a = Math.abs(min);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * `YYYYMMDD[HH[MM[SS[.S…]]]][+/-ZZZZ]` → `YYYY-MM-DDTHH:MM:SS[.sss]±HH:MM`, or undefined when empty or
 * malformed. A date without time is midnight local time.
 */
export function hl7TimeToIso(ts: string | undefined): string | undefined {
  const m = TS.exec((ts ?? '').trim());
  if (!m) return undefined;
  const [, y, mo, d, hh = '00', mi = '00', ss = '00', frac, off] = m;
  if (!validDate(Number(y), Number(mo), Number(d))) return undefined;
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59) return undefined;
  const ms = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : '';
  const local = `${y}-${mo}-${d}T${hh}:${mi}:${ss}${ms}`;
  if (off) return `${local}${off.slice(0, 3)}:${off.slice(3)}`;
  // Local wall time → offset: guess with the offset at that wall time read as UTC, then correct once.
  const wallAsUtc = Date.parse(`${local}Z`);
  let offset = stockholmOffsetMinutes(wallAsUtc - 60 * 60000);
  const second = stockholmOffsetMinutes(wallAsUtc - offset * 60000);
  if (second !== offset) offset = second;
  return `${local}${fmtOffset(offset)}`;
}

/** HL7 DT/TS → `YYYY-MM-DD` (the date part only), or undefined. */
export function hl7DateToIso(dt: string | undefined): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec((dt ?? '').trim());
  if (!m) return undefined;
  const [, y, mo, d] = m;
  return validDate(Number(y), Number(mo), Number(d)) ? `${y}-${mo}-${d}` : undefined;
}

/** The instant `utcMs` as an HL7 TS in Stockholm local time with its offset: `YYYYMMDDHHMMSS.SSS+0100`. */
export function hl7TimeOf(utcMs: number): string {
  const offset = stockholmOffsetMinutes(utcMs);
  const local = new Date(utcMs + offset * 60000).toISOString(); // the wall time, spelt as if UTC
  const digits = local.slice(0, 19).replace(/\D/g, '');
  return `${digits}${local.slice(19, 23)}${fmtOffset(offset).replace(':', '')}`;
}
