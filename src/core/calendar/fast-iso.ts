/**
 * Fast UTC field arithmetic (Howard Hinnant's civil-from-days), used on the engine's hot path where
 * `Date#toISOString` and `Date` getters cost more than the rest of an evaluation.
 */
const DAY = 86_400_000;

export interface UtcFields {
  year: number;
  month: number; // 1–12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

export function utcFields(ms: number): UtcFields {
  const days = Math.floor(ms / DAY);
  let rem = ms - days * DAY;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rem / 3_600_000);
  rem -= hour * 3_600_000;
  const minute = Math.floor(rem / 60_000);
  rem -= minute * 60_000;
  const second = Math.floor(rem / 1000);
  return { year, month, day, hour, minute, second, ms: rem - second * 1000, weekday: (((days + 4) % 7) + 7) % 7 };
}

const p2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const p3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** A small memo: one stay formats the same few instants many times (one per recipient and task). */
const memo = new Map<number, string>();

/** Same output as `new Date(ms).toISOString()` for years 0–9999. */
export function isoUtc(ms: number): string {
  const hit = memo.get(ms);
  if (hit !== undefined) return hit;
  const f = utcFields(ms);
  const y = f.year < 1000 ? String(f.year).padStart(4, '0') : String(f.year);
  const s = `${y}-${p2(f.month)}-${p2(f.day)}T${p2(f.hour)}:${p2(f.minute)}:${p2(f.second)}.${p3(f.ms)}Z`;
  if (memo.size >= 4096) memo.clear();
  memo.set(ms, s);
  return s;
}
