/**
 * What the benchmarks that run the real compiled gateway share: building it, starting it on a fresh PostgreSQL
 * database, OAuth tokens, a rest-hook receiver that checks every signature, an active Subscription, and the CPU
 * of processes (/proc) — the gateway's and that of the PostgreSQL backends serving the bench database.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { Db } from '../../src/store/db.port';
import { GATEWAY_NODE_FLAGS, withGatewayRuntimeEnv } from '../../scripts/runtime-env.mjs';
import { freePort } from '../../src/platform/redis-server';
import { verifySignature } from '../../src/delivery/signature';
import { SECRET_EXTENSION } from '../../src/subscriptions/subscription-model';
import { dropDatabase } from '../../test/support/db';

const CLK_TCK = 100;

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
export const r1 = (x: number) => Math.round(x * 10) / 10;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user+system) of a process, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

export function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const pairs = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const all: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of pairs)
      if (pp === p) {
        all.push(c);
        walk(c);
      }
  };
  walk(pid);
  return all;
}

/** CPU seconds of a process and all its descendants. */
export function treeCpuSeconds(pid: number): number {
  return [pid, ...descendants(pid)].reduce((a, p) => a + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0);
}

export interface Receiver {
  url: string;
  server: Server;
  /** Encounter id → arrival (performance.now()) of the first signed notification naming it. */
  arrivals: Map<string, number>;
  badSignatures: number;
  close(): void;
}

/** A local HTTP endpoint that answers 200 at once and hands each body, its headers and arrival time to `onBody`. */
export async function hookServer(
  onBody: (raw: string, headers: IncomingHttpHeaders, at: number) => void,
): Promise<{ url: string; server: Server; close: () => void }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      res.writeHead(200).end();
      onBody(raw, req.headers, at);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    server,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A local rest-hook endpoint that checks each notification's signature (`secret`) and notes its Encounters. */
export async function receiver(secret: string): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  let badSignatures = 0;
  const hook = await hookServer((raw, headers, at) => {
    const body = JSON.parse(raw) as {
      entry?: { resource?: { resourceType?: string; id?: string } }[];
    };
    if (process.env.BENCH_NOTIFY_DEBUG && arrivals.size < 2) console.error(raw.slice(0, 1500));
    const encounters = (body.entry ?? []).filter((e) => e.resource?.resourceType === 'Encounter');
    if (encounters.length === 0) return; // handshake, heartbeat
    if (!verifySignature(secret, headers, raw).ok) {
      badSignatures++;
      return;
    }
    for (const e of encounters) {
      const enc = e.resource?.id;
      if (enc && !arrivals.has(enc)) arrivals.set(enc, at);
    }
  });
  return {
    ...hook,
    arrivals,
    get badSignatures() {
      return badSignatures;
    },
  };
}

/** An access token for a demo client (client credentials, secret `<client>-secret`). */
export async function token(base: string, client: string): Promise<string> {
  const res = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  if (!res.ok) throw new Error(`token for ${client}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** POSTs a signed rest-hook Subscription (`criteria`, full resource) and waits until its handshake made it active. */
export async function activeSubscription(
  base: string,
  bearer: string,
  endpoint: string,
  secret: string,
  criteria = 'Encounter?status=in-progress',
): Promise<string> {
  const sub = await fetch(`${base}/fhir/Subscription`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'bench',
      criteria,
      channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
      extension: [{ url: SECRET_EXTENSION, valueString: secret }],
    }),
  });
  if (!sub.ok) throw new Error(`Subscription: HTTP ${sub.status} ${await sub.text()}`);
  const subId = ((await sub.json()) as { id: string }).id;
  for (let i = 0; ; i++) {
    const s = (await (
      await fetch(`${base}/fhir/Subscription/${subId}`, { headers: { authorization: `Bearer ${bearer}` } })
    ).json()) as { status: string };
    if (s.status === 'active') return subId;
    if (i > 200) throw new Error(`Subscription stayed ${s.status}`);
    await sleep(100);
  }
}

/**
 * CPU of the PostgreSQL backends serving database `name` (on this machine, from /proc). `track` notes new
 * backends (call it often: a backend that ends between two calls is lost); `cpu` is the sum of their last seen
 * CPU seconds. Backends in `exclude` (the bench's own connections) are not counted.
 */
export class BackendCpu {
  private readonly backends = new Map<number, number>();
  readonly exclude = new Set<number>();
  constructor(
    private readonly admin: Pick<pg.Client, 'query'> | Pick<Db, 'query'>,
    private readonly name: string,
  ) {}
  async track(): Promise<void> {
    const { rows } = await (this.admin as Pick<Db, 'query'>).query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [this.name],
    );
    for (const { pid } of rows)
      if (!this.backends.has(pid) && !this.exclude.has(pid)) this.backends.set(pid, cpuSeconds(pid));
    this.cpu();
  }
  cpu(): number {
    let sum = 0;
    for (const [pid, last] of this.backends) {
      const now = cpuSeconds(pid);
      if (Number.isFinite(now)) this.backends.set(pid, now);
      sum += Number.isFinite(now) ? now : last;
    }
    return sum;
  }
}

/**
 * CPU seconds used by this database's PostgreSQL backends from now on (on this machine: /proc), or undefined for
 * PGlite (it runs inside the gateway process). The backends are looked up every second, so that one the pool opens
 * and closes between two samples is still counted with the CPU it was last seen with.
 */
export async function trackPostgresCpu(
  db: Pick<Db, 'kind' | 'query'>,
): Promise<{ seconds(): number; stop(): void } | undefined> {
  if (db.kind !== 'postgres') return undefined;
  const name = (await db.query<{ n: string }>('SELECT current_database() AS n')).rows[0]?.n ?? '';
  const backends = new BackendCpu(db, name);
  await backends.track();
  const start = backends.cpu();
  const timer = setInterval(() => void backends.track().catch(() => undefined), 1000);
  return {
    seconds: () => backends.cpu() - start,
    stop: () => clearInterval(timer),
  };
}

/** Builds the gateway (scripts/build.mjs) into `<root>/.build-bench-<pid>`; `remove()` deletes it. */
export function buildGateway(root: string): { dir: string; remove(): void } {
  const dir = join(root, `.build-bench-${process.pid}`);
  const built = spawnSync(process.execPath, ['scripts/build.mjs', '--outdir', dir], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningGateway {
  base: string;
  child: ChildProcess;
  /** The database it runs on (created for it; dropped by stop()). */
  name: string;
  /** Names the database and the queue prefix (`bench-<runId>`). */
  runId: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts `node <build>/main.js <layout>` (demo region) on a fresh database created through `admin` and waits until
 * /readyz answers. `nodeArgs` go before main.js (e.g. `--import <preload>`), `env` is added to the environment.
 * With `join`, the process joins that gateway's database and queues instead (it neither creates nor drops them);
 * a `worker` has no HTTP port, so for it `ready: false` only waits a moment and checks it is still running.
 */
export async function startGateway(opts: {
  root: string;
  build: string;
  layout: string;
  admin: pg.Client;
  adminUrl: string;
  redisUrl: string;
  dbPrefix: string;
  nodeArgs?: string[];
  env?: Record<string, string>;
  join?: RunningGateway;
  ready?: boolean;
}): Promise<RunningGateway> {
  const runId = opts.join?.runId ?? Math.random().toString(16).slice(2, 8);
  const name = opts.join?.name ?? `${opts.dbPrefix}_${runId}`;
  if (!opts.join) await opts.admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(opts.adminUrl);
  u.pathname = `/${name}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...GATEWAY_NODE_FLAGS, ...(opts.nodeArgs ?? []), join(opts.build, 'main.js'), opts.layout],
    {
      cwd: opts.root,
      env: withGatewayRuntimeEnv({
        ...process.env,
        DATABASE_URL: u.toString(),
        REDIS_URL: opts.redisUrl,
        QUEUE_PREFIX: `bench-${runId}`,
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        DATA_DIR: join(opts.build, `data-${runId}`),
        NODE_ENV: 'development',
        DEMO_REGION: 'true',
        LOG_LEVEL: 'warn',
        PUBLIC_BASE_URL: opts.join?.base ?? base, // one public address for all, as behind a load balancer
        ...opts.env,
      }),
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    if (!opts.join) await dropDatabase(opts.admin, name).catch(() => undefined);
  };
  if (opts.ready === false) {
    await sleep(3000);
    if (child.exitCode !== null) throw new Error(`gateway (${opts.layout}) exited with ${child.exitCode}`);
    return { base, child, name, runId, databaseUrl: u.toString(), stop };
  }
  try {
    const until = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway (${opts.layout}) exited with ${child.exitCode}`);
      if (Date.now() > until) throw new Error(`gateway (${opts.layout}) not ready`);
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(250);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, child, name, runId, databaseUrl: u.toString(), stop };
}
