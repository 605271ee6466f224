import { GatewayError } from '../platform/errors';

/** A SQL condition on `hl7_message` with `?` placeholders, and their values in order. */
export type Filter = [sql: string, ...values: unknown[]];

const SEP = '[\\r\\n]';
const FIELD = '[^|\\r\\n]*';
/** The end of an HL7 value: a component, repetition or field separator, a segment end, or the end of the text. */
const VALUE_END = '([~^&|\\r\\n]|$)';

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `raw ~ pattern`, tried only on a message whose text holds one of `literals` (a match always holds one): a text
 * search is ≈ 10 times cheaper than the regular expression, which otherwise ran on every message of the log (1.2 s
 * for 100 000 messages, issue 17, docs/performance.md). CASE keeps the order, which PostgreSQL may change in an AND.
 */
function rawMatch(pattern: string, literals: string[]): Filter {
  const holds = literals.map(() => 'strpos(raw, ?) > 0').join(' OR ');
  return [`CASE WHEN ${holds} THEN raw ~ ? ELSE false END`, ...literals, pattern];
}

function instant(name: string, v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new GatewayError('bad-request', `${name} must be a date and time (ISO 8601)`);
  return d.toISOString();
}

/**
 * A regular expression (PostgreSQL ARE) matching a message whose segment `segment` has, in field `field`, a
 * repetition starting with `value` (HL7 numbering: PV1-19 is the 19th field after the segment name).
 */
export function fieldPattern(segment: string, field: number, value: string): string {
  return `(^|${SEP})${segment}(\\|${FIELD}){${field - 1}}\\|(${FIELD}~)?${value}${VALUE_END}`;
}

/**
 * The message browser's searches in the raw text: time range (`from`, `to`: received at), visit number
 * (`visit`: PV1-19) and personnummer (`pnr`: PID-3, written with or without the hyphen). Values that cannot be
 * what they claim are refused (400) rather than matched loosely.
 */
export function rawFilters(q: Record<string, string | undefined>): Filter[] {
  const out: Filter[] = [];
  // Written into the text (an ISO 8601 instant, checked): planned for its value, a window far back is read from the
  // `received_at` BRIN index (migration 171), a recent one by walking the log newest first; a named statement's
  // generic plan, made for any window, would read every message of a wide window or walk the log back to a far one
  if (q.from) out.push([`received_at >= '${instant('from', q.from)}'::timestamptz`]);
  if (q.to) out.push([`received_at < '${instant('to', q.to)}'::timestamptz`]);
  if (q.visit) {
    const v = q.visit.trim();
    if (!/^[A-Za-z0-9._-]{1,40}$/.test(v)) {
      throw new GatewayError('bad-request', 'visit must be a visit number (letters, digits, . _ -)');
    }
    out.push(rawMatch(fieldPattern('PV1', 19, escapeRegex(v)), [v]));
  }
  if (q.pnr) {
    const m = /^(\d{8})[-+]?(\d{4})$/.exec(q.pnr.trim());
    if (!m) throw new GatewayError('invalid-personnummer', 'pnr must be a personnummer of 12 digits (ÅÅÅÅMMDD-NNNN)');
    out.push(rawMatch(fieldPattern('PID', 3, `${m[1]}-?${m[2]}`), [`${m[1]}${m[2]}`, `${m[1]}-${m[2]}`]));
  }
  return out;
}
