/**
 * The benches' load client: POSTs over node:http with kept-alive connections. The load generator shares the
 * machine's two cores with the gateway and PostgreSQL; global `fetch` (undici) used 0.87–0.94 ms of CPU per
 * transaction Bundle here, node:http 0.35–0.40 (api bench, 2026-12-05), so less is taken from what is measured.
 * BENCH_CLIENT=fetch sends with `fetch` as the benches did before, to compare with earlier figures.
 */
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface Answer {
  status: number;
  text: string;
}

function viaHttp(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function viaFetch(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

/** Which client the load uses (`http` unless BENCH_CLIENT=fetch). */
export const loadClient: 'http' | 'fetch' = process.env.BENCH_CLIENT === 'fetch' ? 'fetch' : 'http';

/** POSTs `body` to `url` and reads the whole answer. */
export function post(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return loadClient === 'fetch' ? viaFetch(url, headers, body) : viaHttp(url, headers, body);
}

/** POSTs a FHIR Bundle with a bearer token. */
export function postFhir(base: string, token: string, body: string): Promise<Answer> {
  return post(`${base}/fhir`, { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body);
}

/** Closes the kept-alive connections (so the bench process can end). */
export function closeLoadClient(): void {
  agent.destroy();
}
