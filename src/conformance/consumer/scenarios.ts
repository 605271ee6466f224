import type { Resource } from '@medplum/fhirtypes';
import type { ScenarioResult } from '../report';
import type { GatewayDouble } from './gateway-double';
import { newStay, task } from './tasks';

export interface ConsumerOptions {
  /** A 2xx must come within this many ms (the gateway's delivery timeout is 10 s; a receiver should queue). */
  maxMs: number;
  /** How long to wait for the receiver's `$events` call after an outage. */
  catchUpMs: number;
  /** Organization id the scripted Tasks are owned by. */
  owner: string;
}

interface Ctx {
  gw: GatewayDouble;
  o: ConsumerOptions;
  checks: string[];
}

/** Thrown by a check that fails: the scenario's reason. */
class Finding extends Error {}
class Skip extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One delivery must be answered 2xx within maxMs. */
async function expectOk(c: Ctx, label: string, p: ReturnType<GatewayDouble['send']>): Promise<void> {
  const d = await p;
  const seen = d.status ? `HTTP ${d.status} in ${d.ms} ms` : `no answer (${d.error}) after ${d.ms} ms`;
  c.checks.push(`${label}: ${seen}`);
  if (d.status >= 200 && d.status < 300) {
    if (d.ms > c.o.maxMs)
      throw new Finding(`${label}: answered after ${d.ms} ms; answer 2xx within ${c.o.maxMs} ms and process later`);
    return;
  }
  if (d.status >= 500)
    throw new Finding(`${label}: ${seen}; a 5xx makes the gateway retry and finally dead-letter the notification`);
  if (d.status >= 400)
    throw new Finding(`${label}: ${seen}; a 4xx tells the gateway the notification is wrong and is not retried`);
  throw new Finding(`${label}: ${seen}`);
}

async function deliverAll(c: Ctx, label: string, resources: (Resource & { id: string })[]): Promise<void> {
  for (const r of resources) {
    const ev = c.gw.record(r);
    const code = (r as { code?: { coding?: { code?: string }[] } }).code?.coding?.[0]?.code ?? r.resourceType;
    await expectOk(c, `${label}: event ${ev.eventNumber} (${code})`, c.gw.send('event-notification', [ev]));
  }
}

export interface Scenario {
  id: string;
  title: string;
  run: (c: Ctx) => Promise<string>;
}

export const CONSUMER_SCENARIOS: Scenario[] = [
  {
    id: 'handshake',
    title: 'handshake after the Subscription is created is answered 2xx',
    run: async (c) => {
      await expectOk(c, 'handshake', c.gw.send('handshake', []));
      return 'handshake accepted';
    },
  },
  {
    id: 'heartbeat',
    title: 'heartbeat (no events) is answered 2xx',
    run: async (c) => {
      await expectOk(c, 'heartbeat', c.gw.send('heartbeat', []));
      return 'heartbeat accepted';
    },
  },
  {
    id: 'admission',
    title: 'admission notification without SIP needs',
    run: async (c) => {
      const s = newStay(c.o.owner);
      await deliverAll(c, 'admission', [task(s, 'inskrivningsmeddelande', { description: 'Inskrivningsmeddelande' })]);
      return 'inskrivningsmeddelande accepted';
    },
  },
  {
    id: 'admission-sip',
    title: 'admission with SIP needs: admission notice, care-contact and SIP invitation Tasks',
    run: async (c) => {
      const s = newStay(c.o.owner);
      await deliverAll(c, 'admission with SIP', [
        task(s, 'inskrivningsmeddelande', { description: 'Inskrivningsmeddelande; SIP behövs' }),
        task(s, 'kallelse-sip', { description: 'Kallelse till SIP-möte', deadlineHours: 72 }),
      ]);
      return 'admission and SIP invitation accepted';
    },
  },
  {
    id: 'estimate-changed',
    title: 'estimated discharge date changed',
    run: async (c) => {
      const s = newStay(c.o.owner);
      await deliverAll(c, 'estimate', [task(s, 'beraknad-utskrivning-andrad', { status: 'completed' })]);
      return 'changed estimate accepted';
    },
  },
  {
    id: 'ready',
    title: 'ready for discharge (utskrivningsklar)',
    run: async (c) => {
      const s = newStay(c.o.owner);
      await deliverAll(c, 'ready', [task(s, 'utskrivningsklar', { description: 'Utskrivningsklar' })]);
      return 'ready notice accepted';
    },
  },
  {
    id: 'ready-withdrawn',
    title: 'ready status withdrawn (avbrott): the same Task cancelled',
    run: async (c) => {
      const s = newStay(c.o.owner);
      const t = task(s, 'utskrivningsklar');
      await deliverAll(c, 'withdrawal', [t, { ...t, status: 'cancelled', statusReason: { text: 'avbrott' } }]);
      return 'ready notice and its withdrawal accepted';
    },
  },
  {
    id: 'discharge',
    title: 'discharge notification (utskrivningsmeddelande)',
    run: async (c) => {
      const s = newStay(c.o.owner);
      await deliverAll(c, 'discharge', [task(s, 'utskrivningsmeddelande')]);
      return 'discharge notice accepted';
    },
  },
  {
    id: 'cancellation',
    title: 'cancellation (makulering) of a notice sent in error',
    run: async (c) => {
      const s = newStay(c.o.owner);
      const t = task(s, 'inskrivningsmeddelande');
      await deliverAll(c, 'cancellation', [
        t,
        { ...t, status: 'cancelled' },
        task(s, 'makulering', { focus: `Task/${t.id}`, description: 'Makulering av inskrivningsmeddelande' }),
      ]);
      return 'notice, its cancellation and the makulering Task accepted';
    },
  },
  {
    id: 'protected-identity',
    title: 'patient with protected identity (skyddad folkbokföring)',
    run: async (c) => {
      const s = newStay(c.o.owner, true);
      await deliverAll(c, 'protected identity', [task(s, 'inskrivningsmeddelande')]);
      return 'notice with security label accepted';
    },
  },
  {
    id: 'death',
    title: 'death during the stay: open Tasks cancelled, case closed',
    run: async (c) => {
      const s = newStay(c.o.owner);
      const t = task(s, 'utskrivningsklar');
      await deliverAll(c, 'death', [
        t,
        { ...t, status: 'cancelled', statusReason: { text: 'the patient has died' } },
        task(s, 'avsluta-arende', { description: 'Patienten har avlidit' }),
      ]);
      return 'cancellation on death and avsluta-arende accepted';
    },
  },
  {
    id: 'repeat',
    title: 'the same event delivered twice (a gateway retry) is answered 2xx both times',
    run: async (c) => {
      const s = newStay(c.o.owner);
      const ev = c.gw.record(task(s, 'inskrivningsmeddelande'));
      const first = c.gw.send('event-notification', [ev]);
      await expectOk(c, `first delivery of event ${ev.eventNumber}`, first);
      const { eventId, body } = await first;
      await sleep(1100); // a retry is signed again with a later timestamp
      await expectOk(c, `repeat of ${eventId}`, c.gw.send('event-notification', [ev], { eventId, body }));
      return 'repeat answered 2xx (the receiver must process it once; the kit sees only the answer)';
    },
  },
  {
    id: 'out-of-order',
    title: 'a burst of five events delivered concurrently and out of order',
    run: async (c) => {
      const s = newStay(c.o.owner);
      const evs = (
        [
          'inskrivningsmeddelande',
          'kallelse-sip',
          'utskrivningsklar',
          'informationsoverforing',
          'utskrivningsmeddelande',
        ] as const
      ).map((code) => c.gw.record(task(s, code)));
      const order = [4, 2, 0, 3, 1].map((i) => evs[i]!);
      await Promise.all(
        order.map((ev) => expectOk(c, `event ${ev.eventNumber}`, c.gw.send('event-notification', [ev]))),
      );
      return `events ${order.map((e) => e.eventNumber).join(', ')} accepted`;
    },
  },
  {
    id: 'bad-signature',
    title: 'forged, stale and tampered notifications are refused with 4xx; the genuine one is then accepted',
    run: async (c) => {
      if (!c.gw.spec?.secret) throw new Skip('no HMAC secret configured (give --secret); signatures cannot be tested');
      const s = newStay(c.o.owner);
      const ev = c.gw.record(task(s, 'utskrivningsklar'));
      const attempts: [string, Parameters<GatewayDouble['send']>[2]][] = [
        ['signed with the wrong secret', { secret: 'not-the-subscription-secret' }],
        ['signature timestamp one hour old', { timestampShift: -3600 }],
        ['body changed after signing', { tamper: (b) => b.replace('utskrivningsklar', 'utskrivningsmeddelande') }],
        ['no signature at all', { secret: '' }],
      ];
      for (const [label, opts] of attempts) {
        const d = await c.gw.send('event-notification', [ev], opts);
        c.checks.push(`${label}: ${d.status ? `HTTP ${d.status}` : `no answer (${d.error})`}`);
        if (d.status >= 200 && d.status < 300)
          throw new Finding(`${label}: accepted with HTTP ${d.status}; verify X-Signature and refuse with 401`);
        if (d.status >= 500)
          throw new Finding(`${label}: HTTP ${d.status}; a 5xx makes the gateway retry a forgery, answer 401/403`);
        if (d.status === 0) throw new Finding(`${label}: no answer (${d.error}); refuse with 401/403`);
      }
      await expectOk(
        c,
        `genuine delivery of event ${ev.eventNumber} after the forgeries`,
        c.gw.send('event-notification', [ev]),
      );
      return 'every forgery refused with 4xx, the genuine event accepted';
    },
  },
  {
    id: 'catch-up',
    title: 'after an outage (three events never delivered) the receiver catches up with $events',
    run: async (c) => {
      const s = newStay(c.o.owner);
      const lost = [
        c.gw.record(task(s, 'inskrivningsmeddelande')),
        c.gw.record(task(s, 'beraknad-utskrivning-andrad', { status: 'completed' })),
        c.gw.record(task(s, 'utskrivningsklar')),
      ];
      const from = lost[0]!.eventNumber;
      const to = lost[2]!.eventNumber;
      c.checks.push(`events ${from}–${to} committed but not delivered (simulated outage)`);
      const start = Date.now();
      const next = c.gw.record(task(s, 'utskrivningsmeddelande'));
      await expectOk(c, `event ${next.eventNumber} after the outage`, c.gw.send('event-notification', [next]));
      const covers = () =>
        c.gw.eventsCalls.find(
          (k) => k.at >= start && (k.since ?? 1) <= from && (k.until ?? Number.MAX_SAFE_INTEGER) >= to,
        );
      while (!covers() && Date.now() - start < c.o.catchUpMs) await sleep(50);
      const call = covers();
      if (!call) {
        const seen = c.gw.eventsCalls.filter((k) => k.at >= start);
        throw new Finding(
          `no GET Subscription/<id>/$events covering events ${from}–${to} within ${c.o.catchUpMs} ms` +
            (seen.length ? ` (saw ${seen.map((k) => `${k.since ?? ''}–${k.until ?? ''}`).join(', ')})` : '') +
            `; notice the gap in event-number and fetch the missing events from ${c.gw.base}/fhir`,
        );
      }
      c.checks.push(
        `$events?eventsSinceNumber=${call.since ?? ''}&eventsUntilNumber=${call.until ?? ''} after ${call.at - start} ms`,
      );
      if (!call.bearer) throw new Finding('$events was called without a Bearer token; the gateway answers 401');
      return `gap ${from}–${to} fetched with $events`;
    },
  },
];

export async function runScenario(s: Scenario, gw: GatewayDouble, o: ConsumerOptions): Promise<ScenarioResult> {
  const c: Ctx = { gw, o, checks: [] };
  const t0 = Date.now();
  const base = { id: s.id, title: s.title, checks: c.checks };
  try {
    const reason = await s.run(c);
    return { ...base, outcome: 'pass', reason, ms: Date.now() - t0 };
  } catch (err) {
    if (err instanceof Skip) return { ...base, outcome: 'skip', reason: err.message, ms: Date.now() - t0 };
    const reason = err instanceof Finding ? err.message : `kit error: ${(err as Error).message}`;
    return { ...base, outcome: 'fail', reason, ms: Date.now() - t0 };
  }
}
