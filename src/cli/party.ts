/**
 * Plays one party of a stay against a running gateway with that party's own client (the README's walkthrough,
 * part 2): list and acknowledge its Tasks, answer them, create the SIP and invite, sign, approve, record the
 * meeting, take the SIP over after a re-routing, comment, read the case overview, close its case.
 *
 *   npm run party -- --client demo-vasteras [--secret s] [--base http://localhost:8080] <command> [args]
 *
 * Commands: `COMMANDS` below (printed by `--help`).
 * Exit code 1 when the gateway refuses (its OperationOutcome is printed), 2 on bad usage.
 */
import { writeFileSync } from 'node:fs';
import type { Patient, Reference } from '@medplum/fhirtypes';
import { OPEN_TASK_STATUSES, type TaskStatusReason } from '../fhir/codes';
import { CODE_SYSTEM } from '../fhir/constants';
import { commentResource, sipDraft, taskAnswerOf } from './party-resources';

interface Args {
  client: string;
  secret: string;
  base: string;
  command: string;
  rest: string[];
  opts: Record<string, string>;
}

const USAGE = 'usage: npm run party -- --client <id> [--secret s] [--base url] <command> [args]';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`${msg}\n`);
  process.stderr.write(`${USAGE} (--help lists the commands)\n`);
  process.exit(2);
}

/** What `--help` prints after the usage line. */
const COMMANDS = `Commands (ids without the type prefix; times ISO 8601):
  tasks [encounterId]                              open Tasks the party owns (all stays, or one)
  ack <taskId>                                     acknowledge (status received; sent as a JSON Patch)
  answer <taskId> <code>=<value> ...               Task.output: ej-kand=true, aktuella-insatser=..., boende=...,
                                                   adl=..., kan-komma-hem=2026-12-01T14:00:00+01:00,
                                                   fast-vardkontakt="name, title, phone" (utse-fast-vardkontakt)
  complete <taskId>                                status completed (e.g. avsluta-arende: close the case)
  reject <taskId> [reason]                         status rejected with a coded reason: the patient is not the
                                                   party's (default by the client's role: a municipality
                                                   ej-folkbokford, "not registered here"; a vårdcentral ej-listad,
                                                   "not listed here"); the hospital gets korrigera-mottagare
  invite <encounterId> <Organization/id>... [--at time] [--place home|ward]   create the SIP as author
  sign <carePlanId> [--text "services"] [--contact "name, phone"]            write and sign the own part
  approve <carePlanId>                             the hospital approves
  meeting-held <carePlanId> [--at time]            the meeting was held (starts the one-month follow-up)
  take-over <carePlanId> [--reason text]           the named care contact after a re-routing takes the stay's
                                                   open SIP over from the unit the stay left (ADR 045): it
                                                   becomes the author; parts and signatures are kept
  comment <encounterId> <Organization/id> <kontakt-onskas|hemkomst|hjalpmedel|ovrigt> <text>
  overview <encounterId>                           the case overview (JSON)
  print <carePlanId> [--pdf] [--out file]          the plan for the patient ($print): HTML to stdout (or
                                                   --out), PDF to --out or sip-<id>.pdf (the file name printed)
`;

/** Options without a value. */
const FLAGS: ReadonlySet<string> = new Set(['pdf', 'help']);

/** What each command's first argument names (the commands that need one). */
const FIRST_ARGUMENT: Record<string, string> = {
  ack: 'taskId',
  answer: 'taskId',
  complete: 'taskId',
  reject: 'taskId',
  invite: 'encounterId',
  comment: 'encounterId',
  overview: 'encounterId',
  sign: 'carePlanId',
  approve: 'carePlanId',
  'meeting-held': 'carePlanId',
  'take-over': 'carePlanId',
  print: 'carePlanId',
};

function parseArgs(argv: string[]): Args {
  const opts: Record<string, string> = {};
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('--') && FLAGS.has(a.slice(2))) opts[a.slice(2)] = 'true';
    else if (a.startsWith('--')) opts[a.slice(2)] = argv[++i] ?? '';
    else pos.push(a);
  }
  if (opts.help !== undefined || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n\n${COMMANDS}`);
    process.exit(0);
  }
  const client = opts.client ?? usage('--client is required');
  const [command, ...rest] = pos;
  if (!command) usage();
  const needs = FIRST_ARGUMENT[command];
  // without it the request would go to `Task/` or `Encounter//$overview` and come back as a puzzling 404
  if (needs && !rest[0]) usage(`${command} needs <${needs}> (--help lists the commands)`);
  return {
    client,
    secret: opts.secret ?? `${client}-secret`,
    base: (opts.base ?? `http://localhost:${process.env.PORT ?? '8080'}`).replace(/\/$/, ''),
    command,
    rest,
    opts,
  };
}

async function token(a: Args): Promise<string> {
  const r = await fetch(`${a.base}/auth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${a.client}:${a.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await r.json()) as { access_token?: string };
  if (!r.ok || !body.access_token) throw new Error(`token refused (${r.status}): ${JSON.stringify(body)}`);
  return body.access_token;
}

type Call = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

function caller(a: Args, bearer: string): Call {
  return async (method, path, body) => {
    const r = await fetch(`${a.base}/fhir/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json',
        accept: 'application/fhir+json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await r.json()) as Record<string, unknown>;
    if (!r.ok) {
      process.stderr.write(`${method} ${path}: ${r.status}\n${JSON.stringify(json, null, 2)}\n`);
      process.exit(1);
    }
    return json;
  };
}

const params = (p: Record<string, string | undefined>) => ({
  resourceType: 'Parameters',
  parameter: Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => (name === 'date' ? { name, valueDateTime: v } : { name, valueString: v })),
});

/** Builds with a pure builder; its error is a usage error (exit 2). */
function built<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    return usage(e instanceof Error ? e.message : String(e));
  }
}

/**
 * `GET /fhir/CarePlan/<id>/$print` with the party's own token: HTML, or PDF with `--pdf`. A refusal prints the
 * gateway's OperationOutcome and exits 1. Returns nothing: the document is written here.
 */
async function print(a: Args, bearer: string, id: string): Promise<undefined> {
  const pdf = a.opts.pdf === 'true';
  const path = `CarePlan/${encodeURIComponent(id)}/$print${pdf ? '?_format=pdf' : ''}`;
  const r = await fetch(`${a.base}/fhir/${path}`, {
    headers: { authorization: `Bearer ${bearer}`, accept: pdf ? 'application/pdf' : 'text/html' },
  });
  const body = Buffer.from(await r.arrayBuffer());
  if (!r.ok) {
    const text = body.toString('utf8');
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: shown as it came
    }
    process.stderr.write(`GET ${path}: ${r.status}\n${shown}\n`);
    process.exit(1);
  }
  const type = r.headers.get('content-type') ?? '';
  if (pdf && (!type.startsWith('application/pdf') || body.subarray(0, 4).toString('latin1') !== '%PDF'))
    throw new Error(`GET ${path}: expected a PDF, got ${type || 'no content type'}`);
  const out = a.opts.out ?? (pdf ? `sip-${id}.pdf` : undefined);
  if (out === undefined) {
    process.stdout.write(body);
    return undefined;
  }
  writeFileSync(out, body);
  process.stdout.write(`${out}\n`);
  return undefined;
}

/** The reason `reject` gives by default: the code of the client's role (`role` of its token), the patient is not its. */
function defaultRejection(role: unknown): TaskStatusReason {
  return role === 'primary-care' ? 'ej-listad' : 'ej-folkbokford';
}

async function run(a: Args, call: Call, me: string, bearer: string, role: unknown): Promise<unknown> {
  const [first = '', ...more] = a.rest;
  const task = async () => call('GET', `Task/${first}`);
  switch (a.command) {
    case 'tasks': {
      // the open ones asked of the gateway (filtering a first page of every Task left out the newest on a busy store)
      const q = new URLSearchParams({ owner: me, status: OPEN_TASK_STATUSES.join(','), _count: '100' });
      if (first) q.set('encounter', `Encounter/${first}`);
      const b = (await call('GET', `Task?${q.toString()}`)) as { entry?: { resource: Record<string, never> }[] };
      const open = b.entry ?? [];
      return open.map(({ resource: t }) => ({
        id: t.id,
        code: (t.code as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code,
        status: t.status,
        encounter: (t.encounter as { reference?: string } | undefined)?.reference,
        focus: (t.focus as { reference?: string } | undefined)?.reference,
        deadline: (t.restriction as { period?: { end?: string } } | undefined)?.period?.end,
        description: t.description,
      }));
    }
    case 'ack': {
      // a JSON Patch of the status alone: whatever the hospital changed on the Task meanwhile stays as it is
      const t = await task();
      return call('PATCH', `Task/${first}`, [
        { op: 'test', path: '/status', value: t.status },
        { op: 'replace', path: '/status', value: 'received' },
      ]);
    }
    case 'complete': {
      // The owner acknowledges and accepts before it completes (requested → received → accepted → completed).
      let t = await task();
      const steps = ['requested', 'received', 'accepted', 'completed'];
      for (const next of steps.slice(Math.max(steps.indexOf(String(t.status)), 0) + 1))
        t = await call('PUT', `Task/${first}`, { ...t, status: next });
      return t;
    }
    case 'reject': {
      const reason = more[0] ?? defaultRejection(role);
      if (!/^[a-z-]+$/.test(reason)) usage(`reject: the reason must be a code of ${CODE_SYSTEM.taskStatusReason}`);
      return call('PUT', `Task/${first}`, {
        ...(await task()),
        status: 'rejected',
        statusReason: { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: reason }] },
      });
    }
    case 'answer': {
      const t = await task();
      const status = t.status === 'requested' ? 'received' : t.status;
      return call('PUT', `Task/${first}`, {
        ...t,
        status,
        output: [...((t.output as unknown[]) ?? []), ...built(() => more.map(taskAnswerOf))],
      });
    }
    case 'invite': {
      const enc = await call('GET', `Encounter/${first}`);
      const draft = built(() =>
        sipDraft({
          author: me,
          invited: more,
          encounter: `Encounter/${first}`,
          subject: enc.subject as Reference<Patient>,
          place: a.opts.place ?? 'home',
          ...(a.opts.at ? { meetingAt: a.opts.at } : {}),
        }),
      );
      return call('POST', 'CarePlan', draft);
    }
    case 'sign':
      return call('POST', `CarePlan/${first}/$sign`, params({ description: a.opts.text, contact: a.opts.contact }));
    case 'approve':
      return call('POST', `CarePlan/${first}/$approve`, params({}));
    case 'meeting-held':
      return call('POST', `CarePlan/${first}/$meeting-held`, params({ date: a.opts.at }));
    case 'take-over':
      return call('POST', `CarePlan/${encodeURIComponent(first)}/$take-over`, params({ reason: a.opts.reason }));
    case 'comment': {
      const [to, category, ...words] = more;
      const enc = await call('GET', `Encounter/${first}`);
      const comment = built(() =>
        commentResource({
          sender: me,
          recipient: to ?? '',
          encounter: `Encounter/${first}`,
          subject: enc.subject as Reference<Patient>,
          category: category ?? 'ovrigt',
          text: words.join(' '),
          sent: new Date().toISOString(),
        }),
      );
      return call('POST', 'Communication', comment);
    }
    case 'overview':
      return call('GET', `Encounter/${first}/$overview`);
    case 'print':
      return print(a, bearer, first);
    default:
      return usage(`unknown command ${a.command}`);
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const bearer = await token(a);
  const claims = JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
  const me = typeof claims.tenant === 'string' ? claims.tenant : '';
  if (!me.startsWith('Organization/')) usage(`the token of ${a.client} names no Organization`);
  const out = await run(a, caller(a, bearer), me, bearer, claims.role);
  if (out !== undefined) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
