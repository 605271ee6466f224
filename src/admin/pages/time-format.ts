/**
 * The console's times, as page script: every instant is shown in Swedish time (Europe/Stockholm) with its UTC
 * offset, `2026-03-01 09:00:00 +01:00`, whatever the browser's own zone (the API keeps UTC ISO 8601 for scripts).
 * `when(iso)` formats one instant; `isInstant(v)` tells an ISO 8601 instant with a zone (`…Z`, `…+01:00`) from
 * other text; `fromStockholm('2026-03-01T09:00')` reads a `datetime-local` value as Swedish time and answers UTC ISO.
 * Plain script (no TypeScript) so the test runs the very text the page runs.
 */
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
