/**
 * A span of time as a person reads it, in its two largest units: `45 s`, `3 min 20 s`, `2 h 5 min`, `1 dygn 4 h`
 * (a unit that is 0 is left out: `2 h`, `3 dygn`). `duration(seconds, day)` takes the word for a day (`dygn`,
 * English `d`); anything that is not a number of seconds is shown as it is. Plain script, like TIME_SCRIPT
 * (src/http/time-format.ts), so the console's pages and the test run the very same text.
 */
import { runInThisContext } from 'node:vm';

export const DURATION_SCRIPT = `
const duration = (v, day = 'dygn') => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v;
  const s = Math.max(0, Math.round(v));
  const units = [[86400, day], [3600, 'h'], [60, 'min'], [1, 's']];
  const i = units.findIndex(([n]) => s >= n);
  if (i < 0) return '0 s';
  const [big, bigName] = units[i];
  const first = Math.floor(s / big) + ' ' + bigName;
  const next = units[i + 1];
  const rest = next ? Math.floor((s % big) / next[0]) : 0;
  return rest ? first + ' ' + rest + ' ' + next[1] : first;
};
`;

const SERVER_SIDE = runInThisContext(`(() => {${DURATION_SCRIPT}; return { duration };\n})()`, {
  filename: 'duration.ts#DURATION_SCRIPT',
}) as { duration: (v: unknown, day?: string) => unknown };

/** `DURATION_SCRIPT`'s `duration`, for the server and the tests. */
export function duration(seconds: unknown, day?: string): unknown {
  return SERVER_SIDE.duration(seconds, day);
}
