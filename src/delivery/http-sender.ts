import { signatureHeaders } from './signature';

export interface SendRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  secret?: string;
  eventId: string;
  timeoutMs: number;
  now: Date;
}

export interface SendResult {
  ok: boolean;
  status?: number;
  error?: string;
  /** A failure that retrying cannot fix (a 4xx other than 408/429). */
  permanent: boolean;
  durationMs: number;
}

/** POSTs one notification with the channel headers and the signature headers; never throws. */
export async function sendNotification(r: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const headers: Record<string, string> = {
    ...r.headers,
    'Content-Type': 'application/fhir+json',
    ...signatureHeaders(r.secret, r.eventId, r.body, r.now),
  };
  try {
    const res = await fetch(r.url, { method: 'POST', headers, body: r.body, signal: AbortSignal.timeout(r.timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    const durationMs = Math.round(performance.now() - started);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, permanent: false, durationMs };
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    return { ok: false, status: res.status, error: `HTTP ${res.status}`, permanent, durationMs };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const error = e.name === 'TimeoutError' ? `timeout after ${r.timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { ok: false, error, permanent: false, durationMs: Math.round(performance.now() - started) };
  }
}
