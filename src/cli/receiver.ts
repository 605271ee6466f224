/**
 * `npm run receiver` — plays a municipality (or primary care) receiving notifications from the gateway:
 * gets a token (client credentials), creates a topic-based Subscription for its organisation's Tasks (or, with
 * `--topic comment-for-my-organisation`, the comments sent to it) with an HMAC secret, verifies every notification's signature and freshness, refuses replays, notices gaps in the
 * event numbers and fills them with `$events`, and prints what arrives. Ctrl-C (or SIGTERM) deletes the Subscription
 * (not with `--keep`); on start it deletes those an earlier receiver of the same client left at the same address.
 *
 *   npm run receiver -- [--gateway http://localhost:8080] [--client demo-vasteras] [--secret <client secret>]
 *                       [--port 9090] [--public-url http://127.0.0.1:9090/notify] [--payload full-resource|id-only|empty]
 *                       [--topic task-for-my-organisation|comment-for-my-organisation|stay-of-my-patient]
 *                       [--criteria 'Task?owner=Organization/<id>'] [--keep]
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { verifySignature } from '../delivery/signature';

const { values: a } = parseArgs({
  options: {
    gateway: { type: 'string', default: process.env.GATEWAY_URL ?? 'http://localhost:8080' },
    client: { type: 'string', default: 'demo-vasteras' },
    secret: { type: 'string' },
    port: { type: 'string', default: '9090' },
    'public-url': { type: 'string' },
    payload: { type: 'string', default: 'full-resource' },
    topic: { type: 'string', default: 'task-for-my-organisation' },
    criteria: { type: 'string' },
    canonical: { type: 'string', default: 'https://svu-gateway.dev/fhir' },
    keep: { type: 'boolean', default: false },
  },
});

const gateway = a.gateway.replace(/\/$/, '');
const clientSecret = a.secret ?? `${a.client}-secret`;
const port = Number(a.port);
const publicUrl = a['public-url'] ?? `http://127.0.0.1:${port}/notify`;
const hmacSecret = randomBytes(24).toString('hex');
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

interface Bundle {
  type?: string;
  entry?: { fullUrl?: string; resource?: Record<string, unknown> & { resourceType?: string } }[];
}
interface Param {
  name: string;
  valueString?: string;
  valueCode?: string;
  part?: Param[];
}

async function token(): Promise<string> {
  const res = await fetch(`${gateway}/auth/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${a.client}:${clientSecret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'system/Subscription.cruds system/Task.rs system/Encounter.rs system/Patient.rs system/Communication.rs',
    }),
  });
  if (!res.ok) throw new Error(`token: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

let accessToken = '';
const fhir = async (path: string, init: RequestInit = {}): Promise<Response> => {
  const call = () =>
    fetch(`${gateway}/fhir/${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${accessToken}`,
        'Content-Type': 'application/fhir+json',
        ...(init.headers ?? {}),
      },
    });
  let res = await call();
  if (res.status === 401) {
    accessToken = await token();
    res = await call();
  }
  return res;
};

const seen = new Set<string>();
let lastEvent = 0;
let subscriptionId = '';

function statusOf(b: Bundle): { type?: string; since: number; events: number[] } {
  const p = b.entry?.map((e) => e.resource).find((r) => r?.resourceType === 'Parameters') as
    { parameter?: Param[] } | undefined;
  const params = p?.parameter ?? [];
  return {
    type: params.find((x) => x.name === 'type')?.valueCode,
    since: Number(params.find((x) => x.name === 'events-since-subscription-start')?.valueString ?? NaN),
    events: params
      .filter((x) => x.name === 'notification-event')
      .map((x) => Number(x.part?.find((y) => y.name === 'event-number')?.valueString)),
  };
}

function describe(b: Bundle): string {
  return (b.entry ?? [])
    .filter((e) => e.resource?.resourceType !== 'Parameters' && e.resource?.resourceType !== 'MessageHeader')
    .map((e) => {
      const r = e.resource as
        | {
            resourceType?: string;
            id?: string;
            status?: string;
            code?: { coding?: { code?: string }[] };
            category?: { coding?: { code?: string }[] }[];
            sender?: { display?: string; reference?: string };
          }
        | undefined;
      if (!r) return e.fullUrl ?? '?';
      const what = r.code?.coding?.[0]?.code ?? r.category?.[0]?.coding?.[0]?.code ?? '';
      const from =
        r.resourceType === 'Communication' && r.sender ? `from ${r.sender.display ?? r.sender.reference}` : '';
      return `${r.resourceType}/${r.id} ${what} ${r.status ?? ''} ${from}`.replace(/\s+/g, ' ').trim();
    })
    .join(', ');
}

async function catchUp(from: number, to: number): Promise<void> {
  const res = await fhir(`Subscription/${subscriptionId}/$events?eventsSinceNumber=${from}&eventsUntilNumber=${to}`);
  if (!res.ok) return console.log(`  ! $events failed: HTTP ${res.status}`);
  const b = (await res.json()) as Bundle;
  console.log(`  ↻ caught up events ${from}–${to} with $events: ${describe(b) || '(nothing readable)'}`);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const check = verifySignature(hmacSecret, req.headers, body);
    const eventId = String(req.headers['x-event-id'] ?? '');
    if (!check.ok) {
      console.log(`✗ rejected (${check.reason}) ${eventId}`);
      res.writeHead(401).end();
      return;
    }
    if (seen.has(eventId)) {
      console.log(`✗ replay of ${eventId} refused`);
      res.writeHead(200).end(); // already processed: acknowledge, do nothing
      return;
    }
    seen.add(eventId);
    res.writeHead(200).end();
    const b = JSON.parse(body) as Bundle;
    const st = statusOf(b);
    const time = new Date().toISOString().slice(11, 19);
    if (st.type === 'event-notification') {
      const first = Math.min(...st.events);
      if (lastEvent && first > lastEvent + 1) void catchUp(lastEvent + 1, first - 1);
      lastEvent = Math.max(lastEvent, ...st.events);
      console.log(`${time} ✓ event ${st.events.join(',')} (signature ok): ${describe(b)}`);
    } else {
      console.log(`${time} ✓ ${st.type} (events so far: ${st.since})`);
      if (st.type === 'heartbeat' && st.since > lastEvent && lastEvent > 0) void catchUp(lastEvent + 1, st.since);
    }
  });
});

const REASON = `svu-gateway test receiver (${a.client})`;

/**
 * Deletes the Subscriptions an earlier receiver of this client left at this address (stopped without Ctrl-C, or
 * with `--keep`): their secrets are gone with that process, so what they deliver here could only be refused as
 * badly signed, and the gateway would keep retrying them. Only the receiver's own (by its `reason`) are touched.
 */
async function replaceEarlier(): Promise<void> {
  const res = await fhir(`Subscription?url=${encodeURIComponent(publicUrl)}&_count=100`);
  if (!res.ok) return console.log(`could not look for earlier Subscriptions at ${publicUrl}: HTTP ${res.status}`);
  const bundle = (await res.json()) as Bundle;
  for (const e of bundle.entry ?? []) {
    const r = e.resource;
    if (r?.resourceType !== 'Subscription' || r.reason !== REASON || typeof r.id !== 'string') continue;
    const del = await fhir(`Subscription/${r.id}`, { method: 'DELETE' });
    console.log(`Subscription/${r.id} of an earlier receiver at this address deleted (${del.status})`);
  }
}

async function main(): Promise<void> {
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  console.log(`receiver listening on ${publicUrl} as ${a.client}`);
  accessToken = await token();
  await replaceEarlier();
  const sub = {
    resourceType: 'Subscription',
    status: 'requested',
    reason: REASON,
    criteria: a.criteria ?? `${a.canonical}/SubscriptionTopic/${a.topic}`,
    extension: [
      { url: 'https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret', valueString: hmacSecret },
    ],
    meta: { profile: [`${BACKPORT}/backport-subscription`] },
    channel: {
      type: 'rest-hook',
      endpoint: publicUrl,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: a.payload }] },
      extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: 60 }],
    },
  };
  const res = await fhir('Subscription', { method: 'POST', body: JSON.stringify(sub) });
  if (!res.ok) throw new Error(`create Subscription: HTTP ${res.status} ${await res.text()}`);
  subscriptionId = ((await res.json()) as { id: string }).id;
  console.log(`Subscription/${subscriptionId} created (status requested; active after the handshake). Ctrl-C to stop.`);
}

const stop = () => {
  void (async () => {
    if (subscriptionId && !a.keep) {
      const r = await fhir(`Subscription/${subscriptionId}`, { method: 'DELETE' }).catch(() => undefined);
      console.log(`\nSubscription/${subscriptionId} deleted (${r?.status ?? 'failed'})`);
    }
    server.close();
    process.exit(0);
  })();
};
// Ctrl-C, and a stop by kill or a process manager: either way the Subscription goes with the receiver
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err: unknown) => {
  console.error(String(err instanceof Error ? err.message : err));
  process.exit(1);
});
