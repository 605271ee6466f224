/**
 * Memory after start: builds the bundle (`npm run build`), starts `node dist/main.js <mode>` as a child, waits for
 * /healthz, lets it settle and samples the process's RSS (VmRSS) and peak (VmHWM) from /proc. Cases:
 *   all-in-one on PGlite, first start (fresh DATA_DIR: initdb, migrations, demo region) and restart (same DATA_DIR);
 *   the API process (mode `api` = HTTP + MLLP) on PostgreSQL when DATABASE_URL is set (a fresh database).
 * After that a load: BENCH_MEM_STAYS whole stays (A01, A08, A03; default 300 = 900 messages) over 4 MLLP
 * connections from a sender child process (bench/support/hl7-senders.ts), then the same settle and sample again.
 * Targets (issue 16): API on PostgreSQL < 300 MB, all-in-one PGlite demo < 500 MB. Writes bench/results/memory.json.
 * Needs a Redis: REDIS_URL, else a private redis-server is started on a free port.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres } from '../src/store/db.pg';
import { GATEWAY_NODE_FLAGS, withGatewayRuntimeEnv } from '../scripts/runtime-env.mjs';
import { dropDatabase } from '../test/support/db';

const root = join(import.meta.dirname, '..');
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 20_000);
const LOAD_STAYS = Number(process.env.BENCH_MEM_STAYS ?? 300);

/** Sends `stays` whole stays over MLLP from a child process; resolves with the count of messages acknowledged AA. */
function sendLoad(mllpPort: number, stays: number): Promise<{ acked: number; notAA: number }> {
  const child = fork(
    join(root, 'bench', 'support', 'hl7-senders.ts'),
    [String(mllpPort), String(stays), '4', `mem${process.pid}${Date.now() % 100000}`],
    { execArgv: ['--import', 'tsx'] },
  );
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      const r = m as { ackMs: number[]; notAA: number };
      resolve({ acked: r.ackMs.length, notAA: r.notAA });
    });
    child.once('exit', (code) => reject(new Error(`the sender process exited with ${code}`)));
  });
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const kb = (pid: number, field: string): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(name: string, mode: string, env: Record<string, string>) {
  const port = await freePort();
  const mllpPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, 'dist/main.js', mode], {
    cwd: root,
    env: withGatewayRuntimeEnv({
      PATH: process.env.PATH,
      LOG_LEVEL: 'warn',
      PORT: String(port),
      MLLP_PORT: String(mllpPort),
      ...env,
    }),
    stdio: 'inherit',
  });
  const t0 = Date.now();
  try {
    while (
      (await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (child.exitCode !== null || Date.now() - t0 > 180_000) throw new Error(`${name}: the gateway did not start`);
      await sleep(250);
    }
    const startedMs = Date.now() - t0;
    await sleep(SETTLE_MS);
    const rssMb = Math.round(kb(child.pid!, 'VmRSS') / 1024);
    const peakMb = Math.round(kb(child.pid!, 'VmHWM') / 1024);
    const t1 = Date.now();
    const load = await sendLoad(mllpPort, LOAD_STAYS);
    const loadMs = Date.now() - t1;
    await sleep(SETTLE_MS);
    const result = {
      name,
      mode,
      startedMs,
      rssMb,
      peakMb,
      load: { messages: load.acked, notAA: load.notAA, ms: loadMs },
      afterLoadRssMb: Math.round(kb(child.pid!, 'VmRSS') / 1024),
      afterLoadPeakMb: Math.round(kb(child.pid!, 'VmHWM') / 1024),
    };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
let redis: ChildProcess | undefined;
let redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  const p = await freePort();
  redis = spawn('redis-server', ['--port', String(p), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  redisUrl = `redis://127.0.0.1:${p}`;
  await sleep(500);
}
const results = [];
const dataDir = mkdtempSync(join(tmpdir(), 'svu-mem-'));
try {
  const common = { REDIS_URL: redisUrl, QUEUE_PREFIX: `mem${process.pid}`, NODE_ENV: 'development' };
  results.push(await measure('all-in-one PGlite, first start', 'all', { ...common, DATA_DIR: dataDir }));
  results.push(await measure('all-in-one PGlite, restart', 'all', { ...common, DATA_DIR: dataDir }));
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = `svu_mem_${process.pid}`;
    const admin = openPostgres(url, { max: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    try {
      const env = { ...common, DATA_DIR: dataDir, DATABASE_URL: u.toString() };
      results.push(await measure('API process (http + mllp) on PostgreSQL', 'api', env));
    } finally {
      await dropDatabase(admin, name);
      await admin.close();
    }
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  redis?.kill();
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'memory.json'),
  JSON.stringify({ date: new Date().toISOString(), settleMs: SETTLE_MS, loadStays: LOAD_STAYS, results }, null, 2),
);
