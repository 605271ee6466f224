import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Notification signatures (docs/delivery.md). With a secret, every POST carries
 *   X-Signature-Timestamp: <unix seconds>
 *   X-Event-Id: <subscription id>:<event number>   (handshake/heartbeat: <subscription id>:<type>:<uuid>)
 *   X-Signature: <lowercase hex HMAC-SHA256(secret, "<timestamp>.<event id>.<raw body>")>
 * A receiver recomputes it, rejects timestamps older than its tolerance (5 min) and event ids it has already
 * accepted: a captured notification cannot be replayed, nor its body moved to another event.
 */
export function sign(secret: string, timestamp: number, eventId: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${eventId}.${body}`).digest('hex');
}

export function signatureHeaders(
  secret: string | undefined,
  eventId: string,
  body: string,
  now: Date,
): Record<string, string> {
  const ts = Math.floor(now.getTime() / 1000);
  const h: Record<string, string> = { 'X-Event-Id': eventId, 'X-Signature-Timestamp': String(ts) };
  if (secret) h['X-Signature'] = sign(secret, ts, eventId, body);
  return h;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Receiver side: checks signature and freshness. (Replay of an accepted event id is the caller's check.) */
export function verifySignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  opts: { now?: Date; toleranceSeconds?: number } = {},
): VerifyResult {
  const one = (k: string): string | undefined => {
    const v = headers[k.toLowerCase()] ?? headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const sig = one('x-signature');
  const ts = Number(one('x-signature-timestamp'));
  const eventId = one('x-event-id');
  if (!sig || !eventId || !Number.isFinite(ts)) return { ok: false, reason: 'missing signature headers' };
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSeconds ?? 300)) return { ok: false, reason: 'timestamp outside tolerance' };
  const expected = Buffer.from(sign(secret, ts, eventId, body), 'hex');
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad signature' };
  return { ok: true };
}
