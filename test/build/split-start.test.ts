import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createEmptyDb, dropDatabase } from '../support/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids of the direct children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!process.env.DATABASE_URL)('split process layout (API and worker as two processes)', () => {
  const out = path.join(root, `.build-test-split-${process.pid}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'svu-split-'));
  const name = `svu_split_${randomBytes(4).toString('hex')}`;
  let databaseUrl = '';
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    const built = spawnSync(process.execPath, ['scripts/build.mjs', '--outdir', out], { cwd: root, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    databaseUrl = await createEmptyDb(process.env.DATABASE_URL!, name);
  }, 60_000);

  afterAll(async () => {
    for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await dropDatabase(admin, name);
    await admin.end();
  });

  async function startGateway(mode: string[], env: NodeJS.ProcessEnv) {
    const port = await freePort();
    let log = '';
    const child = spawn(process.execPath, [path.join(out, 'main.js'), ...mode], {
      cwd: tmpdir(),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        PORT: String(port),
        MLLP_PORT: String(await freePort()),
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        ...env,
      },
    });
    started.push(child);
    child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    return { child, port, log: () => log };
  }

  it('when started without a mode on PostgreSQL, then an api and a worker process run on one private Redis, and none outlives a SIGKILL of the supervisor', async () => {
    const gw = await startGateway([], { DATABASE_URL: databaseUrl });
    await until('the split layout to be running', () => /"mode":"split"/.test(gw.log()));
    const ok = await fetch(`http://127.0.0.1:${gw.port}/readyz`).then((r) => r.status);
    expect(ok, gw.log()).toBe(200);
    const line = JSON.parse(
      gw
        .log()
        .split('\n')
        .find((l) => l.includes('"mode":"split"'))!,
    ) as {
      api: number;
      worker: number;
    };
    expect(gw.log()).toMatch(/"mode":"worker"/);
    expect(gw.log()).toMatch(/"mode":"api"/);
    const all = [line.api, line.worker, ...childrenOf(gw.child.pid!)];
    // the two roles plus the redis-server watchdog
    expect(new Set(all).size).toBe(3);
    const redisWatchdog = all.find((p) => p !== line.api && p !== line.worker)!;
    const redis = childrenOf(redisWatchdog);
    expect(redis.length).toBe(1);
    gw.child.kill('SIGKILL');
    await until(
      'every child to end after the supervisor was killed',
      () => [...all, ...redis].every((p) => !alive(p)),
      30_000,
    );
  }, 150_000);

  it('when the worker process dies, then the supervisor stops the API and exits with 1 (never an API that admits without notifying)', async () => {
    const gw = await startGateway(['split'], { DATABASE_URL: databaseUrl });
    await until('the split layout to be running', () => /"mode":"split"/.test(gw.log()));
    const line = JSON.parse(
      gw
        .log()
        .split('\n')
        .find((l) => l.includes('"mode":"split"'))!,
    ) as {
      api: number;
      worker: number;
    };
    process.kill(line.worker, 'SIGKILL');
    const code = await new Promise<number | null>((r) => gw.child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(alive(line.api)).toBe(false);
    expect(gw.log()).toContain('gateway child process ended');
  }, 150_000);

  it('when split is asked for on PGlite, then the start ends with one line naming DATABASE_URL', async () => {
    const gw = await startGateway(['split'], {});
    const code = await new Promise<number | null>((r) => gw.child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(gw.log()).toContain('Mode split needs DATABASE_URL');
  }, 60_000);
});
