import http from 'node:http';
import https from 'node:https';
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

// Keep-alive connections per endpoint. node:http costs far less CPU per POST than fetch on Node 20 (no web
// streams), which matters when one process sends thousands of notifications a second.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, scheduling: 'lifo' }),
};

/** How much of a refusing receiver's answer is kept (its OperationOutcome, for the admin's delivery view). */
export const ERROR_BODY_MAX_CHARS = 500;

interface Answer {
  status: number;
  /** The start of the body of a non-2xx answer (whitespace collapsed), or undefined. */
  body?: string;
}

function postOnce(url: URL, headers: Record<string, string>, body: Buffer, deadline: number): Promise<Answer> {
  const lib = url.protocol === 'https:' ? https : http;
  const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
  return new Promise<Answer>((resolve, reject) => {
    const req = lib.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(body.length) } },
      (res) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        // A 2xx body is not used; a refusal's first bytes say why (kept for the admin, bounded).
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (ok || kept >= ERROR_BODY_MAX_CHARS * 4) return;
          chunks.push(c);
          kept += c.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
          resolve({ status, body: text ? text.slice(0, ERROR_BODY_MAX_CHARS) : undefined });
        });
        res.on('error', fail);
      },
    );
    // The whole exchange has one deadline (like AbortSignal.timeout), not an idle timeout.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
      Math.max(1, deadline - Date.now()),
    );
    function fail(err: Error & { code?: string }): void {
      clearTimeout(timer);
      // A kept-alive connection the receiver closed just as we reused it: nothing was processed, try anew.
      if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) err.code = 'STALE_SOCKET';
      reject(err);
    }
    req.on('error', fail);
    req.end(body);
  });
}

async function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  try {
    return await postOnce(url, headers, body, deadline);
  } catch (err) {
    if ((err as { code?: string }).code !== 'STALE_SOCKET') throw err;
    return postOnce(url, headers, body, deadline);
  }
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
    const url = new URL(r.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported URL ${url.protocol}`);
    const { status, body } = await post(url, headers, Buffer.from(r.body, 'utf8'), r.timeoutMs);
    const durationMs = Math.round(performance.now() - started);
    if (status >= 200 && status < 300) return { ok: true, status, permanent: false, durationMs };
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    return { ok: false, status, error: body ? `HTTP ${status}: ${body}` : `HTTP ${status}`, permanent, durationMs };
  } catch (err) {
    const e = err as Error & { code?: string };
    const error = e.code === 'TIMEOUT' ? `timeout after ${r.timeoutMs} ms` : (e.code ?? e.message);
    return { ok: false, error, permanent: false, durationMs: Math.round(performance.now() - started) };
  }
}
