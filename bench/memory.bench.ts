/**
 * Memory after start: builds the bundle (`npm run build`), starts `node dist/main.js <mode>` as a child, waits for
 * /healthz, lets it settle and samples the process's RSS (VmRSS) and peak (VmHWM) from /proc. Cases:
 *   all-in-one on PGlite, first start (fresh DATA_DIR: initdb, migrations, demo region) and restart (same DATA_DIR);
 *   the API process (mode `api` = HTTP + MLLP) on PostgreSQL when DATABASE_URL is set (a fresh database).
 * Targets (issue 16): API on PostgreSQL < 300 MB, all-in-one PGlite demo < 500 MB. Writes bench/results/memory.json.
 * Needs a Redis: REDIS_URL, else a private redis-server is started on a free port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres } from '../src/store/db.pg';

const root = join(import.meta.dirname, '..');
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 20_000);

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
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js', mode], {
    cwd: root,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', PORT: String(port), MLLP_PORT: String(await freePort()), ...env },
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
    const result = {
      name,
      mode,
      startedMs,
      rssMb: Math.round(kb(child.pid!, 'VmRSS') / 1024),
      peakMb: Math.round(kb(child.pid!, 'VmHWM') / 1024),
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
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
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
  JSON.stringify({ date: new Date().toISOString(), settleMs: SETTLE_MS, results }, null, 2),
);
