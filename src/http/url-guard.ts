import type { RequestHandler } from 'express';
import { GatewayError } from '../platform/errors';

/**
 * Rejects a URL the handlers cannot read faithfully, before any route sees it: a path segment or query part
 * that is not valid percent-encoded UTF-8, or that holds a NUL or another control character (PostgreSQL
 * cannot store NUL in text, and a lenient decoder would turn bad bytes into U+FFFD silently). 400 naming
 * the part; never a 500 from the router's decoder or the database.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** True when a decoded text holds a NUL or another control character (tab, LF and CR are allowed). */
export const hasControl = (s: string): boolean => CONTROL.test(s);

/** The decoded text, or why it cannot be decoded; `plus` = `+` means a space (query strings). */
export function decodeUrlPart(raw: string, plus: boolean): { value: string } | { error: string } {
  if (BAD_PERCENT.test(raw)) return { error: 'has a % not followed by two hex digits' };
  let value: string;
  try {
    value = decodeURIComponent(plus ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return { error: 'is not valid percent-encoded UTF-8' };
  }
  if (CONTROL.test(value)) return { error: 'holds a NUL or another control character' };
  return { value };
}

const shown = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** Throws a 400 GatewayError naming the first bad part of `originalUrl`. */
export function checkUrl(originalUrl: string): void {
  const q = originalUrl.indexOf('?');
  const path = q < 0 ? originalUrl : originalUrl.slice(0, q);
  for (const seg of path.split('/')) {
    const d = decodeUrlPart(seg, false);
    if ('error' in d) throw new GatewayError('bad-request', `The URL path segment '${shown(seg)}' ${d.error}`);
  }
  if (q < 0) return;
  for (const pair of originalUrl.slice(q + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const name = decodeUrlPart(rawName, true);
    if ('error' in name)
      throw new GatewayError('bad-request', `The query parameter name '${shown(rawName)}' ${name.error}`);
    const value = decodeUrlPart(eq < 0 ? '' : pair.slice(eq + 1), true);
    if ('error' in value)
      throw new GatewayError('bad-request', `The value of the query parameter '${shown(name.value)}' ${value.error}`, [
        { path: shown(name.value), message: value.error },
      ]);
  }
}

/** Express middleware form of `checkUrl`. */
export const urlGuard: RequestHandler = (req, _res, next) => {
  try {
    checkUrl(req.originalUrl);
    next();
  } catch (e) {
    next(e);
  }
};
