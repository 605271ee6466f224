/**
 * Every read a person triggers, timed on a large store as each party makes it (issue 17: "speed where users feel
 * it"): the admin console's pages and JSON APIs (HL7 message list with its filters and paging, queues, deliveries,
 * resource browser, case pages), the case overview (`$overview`, JSON and HTML), the follow-up views (dashboard,
 * indicators, deviations, liability, what-if, log review), and the parties' FHIR reads (the work list the party CLI
 * asks for, `_include`, `_revinclude`, `_total=accurate` and `=estimate`, paging by `next` links, a person by identifier), each
 * with the party's own token: an admin, two municipalities, a vårdcentral, the hospital.
 *
 * The composed gateway (every capability, as `main` mounts them, in this process) over HTTP on a database filled
 * by `bench/search-large.bench.ts` and kept (20 000 stays through the real intake):
 *   DATABASE_URL=postgres://… BENCH_STAYS=20000 BENCH_KEEP=1 npx tsx bench/search-large.bench.ts
 *   DATABASE_URL=postgres://… npx tsx bench/party-reads.bench.ts
 * BENCH_DB names the database (default svu_bigsearch); BENCH_CALLS calls per read (default 20, after two not
 * counted); BENCH_ONLY a regular expression on "party read" to run some. Needs Redis (REDIS_URL, default
 * redis://127.0.0.1:6379). Reported per read: HTTP status, answer size, p50 / p95 / max in ms.
 * Results in bench/results/party-reads.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveClient, type ClientRole } from '../src/auth/client-store';
import { generateSigningKey } from '../src/auth/signing-key';
import { buildGateway } from '../src/compose';
import { OPEN_TASK_STATUSES } from '../src/fhir/codes';
import { openPostgres } from '../src/store/db.pg';
import { pct, r1 } from './support/gateway';
import { benchContext } from './support/app-context';

const url = process.env.DATABASE_URL;
if (!url) {
  console.log('party-reads: skipped (needs DATABASE_URL and a large store, see the header)');
  process.exit(0);
}
const NAME = process.env.BENCH_DB ?? 'svu_bigsearch';
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// a run of every bench (`npm run bench`) without the kept store skips this one
const admin = openPostgres(url, { max: 1 });
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [NAME])).rows.length > 0;
await admin.close();
if (!exists) {
  console.log(`party-reads: skipped (no database ${NAME}: fill it first, see the header)`);
  process.exit(0);
}
const pool = openPostgres(Object.assign(new URL(url), { pathname: `/${NAME}` }).toString(), { max: 8 });
/** Statements slower than BENCH_SLOW_MS (default 50) with the read that ran them: where a slow read's time goes. */
const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 50);
let reading = '';
const slowStatements = new Map<string, Map<string, number[]>>();
const db: typeof pool = new Proxy(pool, {
  get(target, key, receiver) {
    if (key !== 'query') return Reflect.get(target, key, receiver) as unknown;
    return async (sql: string, params?: readonly unknown[]) => {
      const t = performance.now();
      const out = await target.query(sql, params);
      const ms = performance.now() - t;
      if (ms > SLOW_MS && reading) {
        const byText = slowStatements.get(reading) ?? new Map<string, number[]>();
        const text = sql.replace(/\s+/g, ' ').slice(0, 200);
        byText.set(text, [...(byText.get(text) ?? []), ms]);
        slowStatements.set(reading, byText);
      }
      return out;
    };
  },
});
const one = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows[0] as T;

const size = await one<{ encounters: number; tasks: number; messages: number; mb: number }>(
  `SELECT (SELECT count(*)::int FROM fhir_resource WHERE resource_type = 'Encounter') AS encounters,
          (SELECT count(*)::int FROM fhir_resource WHERE resource_type = 'Task') AS tasks,
          (SELECT count(*)::int FROM hl7_message) AS messages,
          (pg_database_size(current_database()) / 1048576)::int AS mb`,
);
if (size.encounters < 1000) {
  console.log(`party-reads: skipped (${NAME} holds ${size.encounters} stays: fill it first, see the header)`);
  process.exit(0);
}
console.table([size]);

// The parties: the Organizations the intake harness registered (bench/support/intake-harness.ts), by identifier.
const org = async (value: string) =>
  `Organization/${
    (
      await one<{ id: string }>(
        `SELECT resource_id AS id FROM fhir_search WHERE resource_type = 'Organization' AND param = 'identifier' AND value = $1`,
        [value],
      )
    ).id
  }`;
const parties: [name: string, role: ClientRole, organization: string | undefined][] = [
  ['admin', 'admin', undefined],
  ['kommun-1980', 'municipality', await org('1980')],
  ['kommun-1981', 'municipality', await org('1981')],
  ['vårdcentral', 'primary-care', await org('SE2321000172-DEMO0101')],
  ['hospital', 'hospital', await org('SE2321000172-DEMO0001')],
];

const ctx = benchContext(db, { AGREEMENT: 'vastmanland', QUEUE_PREFIX: `bench-reads-${process.pid}` });
const gateway = await buildGateway(ctx, { signingKey: await generateSigningKey() });
const server: Server = gateway.app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** Each party's token, fetched again before it expires (a full run takes longer than a token lives). */
const tokens = new Map<string, { token: string; at: number }>();
for (const [name, role, organization] of parties)
  await saveClient(db, {
    clientId: `bench-reads-${name}`,
    secret: 'bench-reads-secret',
    role,
    ...(organization ? { organization } : {}),
    admin: role === 'admin',
    allowedScopes: ['system/*.cruds'],
  });
async function tokenOf(name: string): Promise<string> {
  const had = tokens.get(name);
  if (had && performance.now() - had.at < 60_000) return had.token;
  const r = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`bench-reads-${name}:bench-reads-secret`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const token = ((await r.json()) as { access_token: string }).access_token;
  tokens.set(name, { token, at: performance.now() });
  return token;
}

// Values from the store: a stay of each municipality (its Encounter, its visit number, the patient's personnummer),
// an HL7 message in the middle of the log, the sender.
const salaOwner = parties[2]![2]!;
const stayOf = async (owner: string) =>
  one<{ encounter: string; patient: string }>(
    `SELECT e.value AS encounter, p.value AS patient FROM fhir_search o
       JOIN fhir_search e ON e.resource_id = o.resource_id AND e.resource_type = 'Task' AND e.param = 'encounter'
       JOIN fhir_search p ON p.resource_id = o.resource_id AND p.resource_type = 'Task' AND p.param = 'subject'
      WHERE o.resource_type = 'Task' AND o.param = 'owner' AND o.value = $1 ORDER BY o.resource_id DESC LIMIT 1`,
    [owner.replace('Organization/', '')],
  );
const sala = await stayOf(salaOwner);
const pnr = await one<{ system: string; value: string }>(
  `SELECT system, value FROM fhir_search WHERE resource_type = 'Patient' AND param = 'identifier' AND resource_id = $1`,
  [sala.patient],
);
const msg = await one<{ id: number; sender: string; stay_id: string; mid: number; visit: string; midAt: Date }>(
  `SELECT m.id, m.sender, m.stay_id, (SELECT (max(id) / 2)::int FROM hl7_message) AS mid,
          (SELECT min(received_at) + (max(received_at) - min(received_at)) / 2 FROM hl7_message) AS "midAt",
          substring(m.raw from 'PV1(?:\\|[^|\\r]*){18}\\|([^|^\\r]*)') AS visit
     FROM hl7_message m WHERE m.stay_id = $1 ORDER BY m.id LIMIT 1`,
  [sala.encounter],
);
const month = '2025-06';
const open = OPEN_TASK_STATUSES.join(',');
const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
const enc = `Encounter/${sala.encounter}`;
const person = `${pnr.system}|${pnr.value}`;
const pnrText = `${pnr.value.slice(0, 8)}-${pnr.value.slice(-4)}`;

/** A read: the party, what a person does, the path, the answer type asked for; `next` follows the answer's link. */
type Read = [party: string, what: string, path: string, accept?: string];
const html = 'text/html';
const fhirReads = (party: string, me: string | undefined): Read[] => [
  // the party CLI's `tasks` (src/cli/party.ts): the open Tasks it owns, 100 a page
  ...(me
    ? ([
        [party, 'work list (party CLI tasks)', `/fhir/Task?${q({ owner: me, status: open, _count: '100' })}`],
      ] as Read[])
    : []),
  ...(me
    ? ([
        [party, 'work list of one stay', `/fhir/Task?${q({ owner: me, status: open, _count: '100', encounter: enc })}`],
      ] as Read[])
    : []),
  [party, 'Tasks, no parameters', '/fhir/Task'],
  [party, 'Tasks requested, _total=accurate', `/fhir/Task?${q({ status: 'requested', _total: 'accurate' })}`],
  [party, 'Tasks requested, _total=estimate', `/fhir/Task?${q({ status: 'requested', _total: 'estimate' })}`],
  [party, 'Tasks, newest first', `/fhir/Task?${q({ _sort: '-_lastUpdated', _count: '50' })}`],
  [party, 'Tasks, page 2 by next link', `/fhir/Task?${q({ status: open, _count: '20' })}#next`],
  [party, 'Tasks, page 5 by next links', `/fhir/Task?${q({ status: open, _count: '20' })}#next4`],
  [
    party,
    'Tasks with _include Encounter and Patient',
    `/fhir/Task?${q({ status: 'requested', _count: '50', _include: 'Task:encounter' })}&_include=Task:patient`,
  ],
  [party, 'Tasks of a stay', `/fhir/Task?${q({ encounter: enc })}`],
  [
    party,
    'Encounters in progress, _revinclude Tasks',
    `/fhir/Encounter?${q({ status: 'in-progress', _count: '20', _revinclude: 'Task:encounter' })}`,
  ],
  [party, 'Encounters, _total=accurate', `/fhir/Encounter?${q({ _total: 'accurate', _count: '20' })}`],
  [party, 'Encounters, _total=estimate', `/fhir/Encounter?${q({ _total: 'estimate', _count: '20' })}`],
  [party, 'a person by personnummer', `/fhir/Patient?${q({ identifier: person })}`],
  [
    party,
    'a person by personnummer, _revinclude Encounters',
    `/fhir/Patient?${q({ identifier: person, _revinclude: 'Encounter:subject' })}`,
  ],
  [
    party,
    'a stay and its Tasks (_revinclude)',
    `/fhir/Encounter?${q({ _id: sala.encounter, _revinclude: 'Task:encounter' })}`,
  ],
  [party, 'the stay', `/fhir/${enc}`],
  [party, 'case overview JSON', `/fhir/${enc}/$overview`],
  [party, 'case overview HTML', `/fhir/${enc}/$overview`, html],
  [party, 'CarePlans of a stay', `/fhir/CarePlan?${q({ encounter: enc })}`],
  [party, 'Communications of a stay', `/fhir/Communication?${q({ encounter: enc })}`],
  [party, 'Tasks due soon', '/fhir/Task/$due-soon'],
];
const reads: Read[] = [
  // the admin console: pages (no data), then the JSON they call
  ['admin', 'console overview page', '/admin', html],
  ['admin', 'HL7 page', '/admin/hl7', html],
  ['admin', 'delivery overview and queues', '/admin/api/overview'],
  ['admin', 'deliveries, 50', '/admin/api/deliveries?_count=50'],
  ['admin', 'endpoints', '/admin/api/endpoints'],
  ['admin', 'dead letters', '/admin/api/dead-letters'],
  ['admin', 'subscriptions', '/admin/api/subscriptions'],
  ['admin', 'clients', '/admin/api/clients'],
  ['admin', 'sessions', '/admin/api/sessions'],
  ['admin', 'HL7 summary', '/admin/api/hl7/summary'],
  ['admin', 'HL7 messages, newest 50', '/admin/api/hl7/messages'],
  ['admin', 'HL7 messages, next page', '/admin/api/hl7/messages#next'],
  ['admin', 'HL7 messages, before the middle', `/admin/api/hl7/messages?before=${msg.mid}`],
  ['admin', 'HL7 messages, status accepted', '/admin/api/hl7/messages?status=accepted'],
  ['admin', 'HL7 messages, status rejected (none)', '/admin/api/hl7/messages?status=rejected'],
  ['admin', 'HL7 messages, event A03', '/admin/api/hl7/messages?event=A03'],
  ['admin', 'HL7 messages, sender', `/admin/api/hl7/messages?${q({ sender: msg.sender })}`],
  ['admin', 'HL7 messages of a stay', `/admin/api/hl7/messages?stay=${msg.stay_id}`],
  ['admin', 'HL7 messages, by visit number', `/admin/api/hl7/messages?${q({ visit: msg.visit })}`],
  ['admin', 'HL7 messages, by personnummer', `/admin/api/hl7/messages?${q({ pnr: pnrText })}`],
  [
    'admin',
    'HL7 messages, a day in June',
    `/admin/api/hl7/messages?${q({ from: '2025-06-10T00:00:00Z', to: '2025-06-11T00:00:00Z' })}`,
  ],
  [
    'admin',
    'HL7 messages, a minute in the middle of the log',
    `/admin/api/hl7/messages?${q({ from: msg.midAt.toISOString(), to: new Date(msg.midAt.getTime() + 60_000).toISOString() })}`,
  ],
  [
    'admin',
    'HL7 messages, since a day before the log',
    `/admin/api/hl7/messages?${q({ from: new Date(msg.midAt.getTime() - 86_400_000).toISOString() })}`,
  ],
  ['admin', 'HL7 messages, raw text', '/admin/api/hl7/messages?include=raw'],
  ['admin', 'one HL7 message', `/admin/api/hl7/messages/${msg.id}`],
  ['admin', 'resource browser Tasks', '/admin/api/resources/Task'],
  ['admin', 'resource browser Encounters', '/admin/api/resources/Encounter'],
  [
    'admin',
    'resource browser Tasks of an owner',
    `/admin/api/resources/Task?${q({ owner: salaOwner, status: 'requested' })}`,
  ],
  ['admin', 'resource browser a person', `/admin/api/resources/Patient?${q({ identifier: person })}`],
  ['admin', 'resource browser one Encounter with history', `/admin/api/resources/${enc}`],
  ['admin', 'case page', `/admin/cases/${sala.encounter}`, html],
  ['admin', 'deadlines due soon', '/admin/api/deadlines/due-soon'],
  ['admin', 'holidays', '/admin/api/deadlines/holidays'],
  ['admin', 'deviations of a month', `/admin/api/deviations?month=${month}`],
  ['admin', 'dashboard, the year', '/admin/api/dashboard?to=2025-12'],
  ['admin', 'dashboard stays of a month', `/admin/api/dashboard/stays?municipality=1981&month=${month}`],
  ['admin', 'indicators of a month', `/admin/api/indicators?month=${month}`],
  ['admin', 'liability of a month', `/admin/api/liability?month=${month}&daily-amount=9000`],
  ['admin', 'what-if deadlines', `/admin/api/what-if/deadlines?month=${month}&alternative=vastmanland`],
  ['admin', 'log review of a person', `/admin/api/log-review?patient=Patient/${sala.patient}`],
  ['admin', 'follow-up dashboard page', '/followup/dashboard', html],
  ...fhirReads('admin', undefined),
  ...parties
    .slice(1)
    .flatMap(([name, , organization]): Read[] => [
      ...fhirReads(name, organization),
      [name, 'own dashboard', '/fhir/$followup-dashboard?to=2025-12'],
      [name, 'own deviations', `/fhir/$followup-deviations?month=${month}`],
      [name, 'log review', '/fhir/$log-review'],
    ]),
];

interface Row {
  party: string;
  read: string;
  status: number;
  kB: number;
  found: number | string;
  p50: number;
  p95: number;
  max: number;
}
const rows: Row[] = [];
for (const [party, what, target, accept] of reads) {
  if (ONLY && !ONLY.test(`${party} ${what}`)) continue;
  const headers = { authorization: `Bearer ${await tokenOf(party)}`, accept: accept ?? 'application/fhir+json' };
  const [path, follow] = target.split('#');
  const hops = follow === 'next' ? 1 : follow?.startsWith('next') ? Number(follow.slice(4)) : 0;
  // the page a person opens by a `next` link: found once, then timed alone
  let page = `${base}${path}`;
  for (let h = 0; h < hops; h++) {
    const body = (await (await fetch(page, { headers })).json()) as {
      link?: { relation: string; url: string }[];
      next?: string;
    };
    const next =
      body.link?.find((l) => l.relation === 'next')?.url ??
      (body.next ? `${page.split('?')[0]}?${body.next}` : undefined);
    if (!next) throw new Error(`${party} ${what}: no next link on page ${h + 1}`);
    page = next.replace('http://gateway.bench', base);
  }
  const ms: number[] = [];
  reading = `${party} ${what}`;
  let status = 0;
  let bytes = 0;
  let found: number | string = '';
  for (let i = 0; i < CALLS + 2; i++) {
    const t = performance.now();
    const r = await fetch(page, { headers });
    const body = await r.text();
    if (i >= 2) ms.push(performance.now() - t);
    status = r.status;
    bytes = body.length;
    if (i === 0 && status >= 400) found = body.replace(/\s+/g, ' ').slice(0, 160);
    if (i === 0 && status === 200 && !accept) {
      const j = JSON.parse(body) as { entry?: unknown[]; total?: number; messages?: unknown[]; resources?: unknown[] };
      found = j.entry?.length ?? j.messages?.length ?? j.resources?.length ?? (Array.isArray(j) ? j.length : '');
      if (j.total !== undefined) found = `${found} of ${j.total}`;
    }
  }
  const row = {
    party,
    read: what,
    status,
    kB: r1(bytes / 1024),
    found,
    p50: r1(pct(ms, 50)),
    p95: r1(pct(ms, 95)),
    max: r1(Math.max(...ms)),
  };
  rows.push(row);
  console.log(
    `${party} ${what}: ${status}, ${row.kB} kB, ${found} found, p50 ${row.p50} ms, p95 ${row.p95} ms, max ${row.max} ms`,
  );
}
reading = '';
await new Promise((r) => server.close(r));
await gateway.close();
await db.close();
for (const [read, byText] of slowStatements)
  for (const [text, times] of byText)
    console.log(`slow statement in ${read}: ${times.length}× p50 ${r1(pct(times, 50))} ms: ${text}`);

console.table(rows);
const slow = rows.filter((r) => r.p95 > 300);
console.log(
  slow.length ? `over 300 ms at p95: ${slow.map((r) => `${r.party} ${r.read}`).join('; ')}` : 'none over 300 ms at p95',
);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'party-reads.json'),
  `${JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, loadavg: loadavg().map(r1), database: NAME, size, calls: CALLS, rows }, null, 2)}\n`,
);
process.exit(0);
