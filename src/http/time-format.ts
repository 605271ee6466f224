/**
 * The times people read on the gateway's pages (the admin console, the follow-up dashboard, the case overview):
 * every instant in Swedish time (Europe/Stockholm) with its UTC offset, `2026-03-01 09:00:00 +01:00`, whatever the
 * browser's or the server's own zone (the APIs keep UTC ISO 8601 for scripts).
 * `when(iso)` formats one instant; `isInstant(v)` tells an ISO 8601 instant with a zone (`…Z`, `…+01:00`) from
 * other text; `fromStockholm('2026-03-01T09:00')` reads a `datetime-local` value as Swedish time and answers UTC ISO.
 * Plain script (no TypeScript) so the pages' scripts, the server-rendered pages (`swedishTime`) and the test all
 * run the very same text.
 */
import { runInThisContext } from 'node:vm';

export const TIME_SCRIPT = `
const STHLM = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Stockholm', year: 'numeric', month: '2-digit',
  day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset' });
const sthlmParts = (d) => Object.fromEntries(STHLM.formatToParts(d).map((p) => [p.type, p.value]));
const isInstant = (v) => typeof v === 'string' && /^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$/.test(v);
const when = (v) => {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v ?? '');
  const p = sthlmParts(d);
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : p.timeZoneName.replace('GMT', '');
  return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ':' + p.second + ' ' + offset;
};
const fromStockholm = (local) => {
  const wall = Date.parse(local + 'Z');
  if (Number.isNaN(wall)) return local;
  const offsetAt = (ms) => { const p = sthlmParts(new Date(ms)); return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000; };
  const first = wall - offsetAt(wall);
  return new Date(wall - offsetAt(first)).toISOString();
};
`;

const SERVER_SIDE = runInThisContext(`(() => {${TIME_SCRIPT}; return { when };\n})()`, {
  filename: 'time-format.ts#TIME_SCRIPT',
}) as { when: (v: string) => string };

/**
 * One instant for a page rendered on the server (no script): `TIME_SCRIPT`'s `when`, e.g. `2026-03-01 09:00:00
 * +01:00`; undefined without an instant, the text itself when it is not a time.
 */
export function swedishTime(iso: string | undefined): string | undefined {
  return iso ? SERVER_SIDE.when(iso) : undefined;
}

/**
 * One instant to the minute in Swedish time, without seconds or offset, for a text that says once that its times
 * are Swedish time (the SIP invitation, the printed plan): `swedishTime`'s `2026-03-01 09:00:00 +01:00` read as
 * `2026-03-01 09:00`; undefined without an instant, the text itself when it is not a time.
 */
export function swedishMinute(iso: string | undefined): string | undefined {
  const t = swedishTime(iso);
  return t && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /.test(t) ? t.slice(0, 16) : t;
}
