import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { type?: string; entry?: { resource?: Record<string, unknown> }[] };
  at: number;
}

/** A real HTTP receiver on 127.0.0.1 that records what arrives and answers `status()` (default 200). */
export interface TestReceiver {
  url: string;
  received: Received[];
  /** What to answer next; change it to simulate a receiver that is down or rejects. */
  status: (r: Received) => number;
  /** Answer after this many ms (timeouts). */
  delayMs: number;
  close(): Promise<void>;
  /** Only the event notifications (not handshakes or heartbeats). */
  events(): Received[];
}

export async function startReceiver(): Promise<TestReceiver> {
  const received: Received[] = [];
  const r: TestReceiver = {
    url: '',
    received,
    status: () => 200,
    delayMs: 0,
    close: async () => undefined,
    events: () => received.filter((x) => notificationType(x) === 'event-notification'),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json = {};
      try {
        json = JSON.parse(body) as Received['json'];
      } catch {
        /* not JSON */
      }
      const rec: Received = { path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      const status = r.status(rec);
      if (status >= 200 && status < 300) received.push(rec);
      setTimeout(() => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end('{}');
      }, r.delayMs);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** The Backport status Parameters' `type` of a notification (handshake, heartbeat, event-notification). */
export function notificationType(r: Received): string | undefined {
  const entries = r.json.entry ?? [];
  const params = entries.map((e) => e.resource).find((x) => x?.resourceType === 'Parameters') as
    { parameter?: { name: string; valueCode?: string }[] } | undefined;
  return params?.parameter?.find((p) => p.name === 'type')?.valueCode;
}

/** Event numbers in a notification. */
export function eventNumbers(r: Received): number[] {
  const params = (r.json.entry ?? []).map((e) => e.resource).find((x) => x?.resourceType === 'Parameters') as
    { parameter?: { name: string; part?: { name: string; valueString?: string }[] }[] } | undefined;
  return (params?.parameter ?? [])
    .filter((p) => p.name === 'notification-event')
    .map((p) => Number(p.part?.find((x) => x.name === 'event-number')?.valueString));
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
