import { createHash } from 'node:crypto';
import { GatewayError } from '../platform/errors';

/** A SQL condition on `hl7_message` with `?` placeholders, and their values in order. */
export type Filter = [sql: string, ...values: unknown[]];

function instant(name: string, v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new GatewayError('bad-request', `${name} must be a date and time (ISO 8601)`);
  return d.toISOString();
}

/** A visit number a search can name. */
const VISIT = /^[A-Za-z0-9._-]{1,40}$/;
/** A personnummer as PID-3's text holds it for a search: 12 digits, with or without the hyphen (not `+`). */
const PNR_TEXT = /^\d{8}-?\d{4}$/;

const visitKey = (visit: string): string => `v:${visit}`;
/** The personnummer's key: the SHA-256 of its 12 digits (the index is no readable copy of it). */
const pnrKey = (digits: string): string => `p:${createHash('sha256').update(digits).digest('hex')}`;

/**
 * The keys the searches find a message by (column `search_keys`, migration 174, whose `hl7_search_keys` is the same
 * rule in SQL). The rule is the regular expression the searches ran on every message's text before (issue 17;
 * test/intake/message-filters.test.ts holds the two to the same answers): of every PV1 and PID segment (at the
 * text's start or after a CR or LF), each repetition of PV1-19 and PID-3, read up to its first component or
 * subcomponent separator. Any text has keys (maybe none): a message that cannot be parsed is read as the regular
 * expression read it, so no search falls back to it.
 */
export function searchKeys(raw: string): string[] {
  const keys = new Set<string>();
  for (const line of raw.split(/[\r\n]/)) {
    const visit = line.startsWith('PV1|');
    if (!visit && !line.startsWith('PID|')) continue;
    const field = line.split('|', visit ? 20 : 4)[visit ? 19 : 3];
    if (field === undefined) continue;
    for (const repetition of field.split('~')) {
      const token = repetition.split(/[\^&]/, 1)[0] ?? '';
      if (visit && VISIT.test(token)) keys.add(visitKey(token));
      else if (!visit && PNR_TEXT.test(token)) keys.add(pnrKey(token.replace('-', '')));
    }
  }
  return [...keys];
}

/**
 * Messages holding `key`, from the GIN index on `search_keys`. The key (checked: no quote) is written into the text,
 * so each search is planned for its value: a rare key is read from the index, where a named statement's generic plan
 * (made for an average key) could walk the log newest first.
 */
const hasKey = (key: string): Filter => [`search_keys @> ARRAY['${key}']::text[]`];

/**
 * The message browser's searches: time range (`from`, `to`: received at), visit number (`visit`: PV1-19) and
 * personnummer (`pnr`: PID-3, written with or without the hyphen), the last two by the message's search keys.
 * Values that cannot be what they claim are refused (400) rather than matched loosely.
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
    if (!VISIT.test(v)) throw new GatewayError('bad-request', 'visit must be a visit number (letters, digits, . _ -)');
    out.push(hasKey(visitKey(v)));
  }
  if (q.pnr) {
    const m = /^(\d{8})[-+]?(\d{4})$/.exec(q.pnr.trim());
    if (!m) throw new GatewayError('invalid-personnummer', 'pnr must be a personnummer of 12 digits (ÅÅÅÅMMDD-NNNN)');
    out.push(hasKey(pnrKey(`${m[1]}${m[2]}`)));
  }
  return out;
}
