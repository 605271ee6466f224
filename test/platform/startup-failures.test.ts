import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';
import {
  localRedisPort,
  portOpen,
  startGatewayProcess,
  tempDataDir,
  waitPortClosed,
  type GatewayProcess,
} from './gateway-process';

// Start-up and failure behaviour of the gateway process (issue 16 item 3): a taken port or an unreachable
// dependency at start is one line on stderr and a non-zero exit; the local redis child never outlives the
// gateway; a dependency lost later is one WARN line per state change.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function occupy(port: number): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return srv;
}

async function gateway(mode: string, env: Record<string, string | undefined>): Promise<GatewayProcess> {
  const dir = await tempDataDir();
  const g = startGatewayProcess(mode, { DATA_DIR: dir, ...env });
  cleanups.push(async () => {
    if (g.child.exitCode === null && g.child.signalCode === null) g.child.kill('SIGKILL');
    await g.exited;
    await rm(dir, { recursive: true, force: true });
  });
  return g;
}

const stderrLines = (g: GatewayProcess) => g.stderr().trim().split('\n').filter(Boolean);

describe('gateway start-up failures', () => {
  it('when the HTTP port is taken, then one line names PORT, the exit is non-zero and no redis child is left', async () => {
    const [port, mllp] = [await freePort(), await freePort()];
    await occupy(port);
    const g = await gateway('all', { PORT: String(port), MLLP_PORT: String(mllp), REDIS_URL: undefined });
    const { code } = await g.exited;
    expect(code).not.toBe(0);
    expect(stderrLines(g)).toEqual([`PORT=${port} is already in use by another process`]);
    expect(g.stdout()).not.toContain('listening');
    const redisPort = localRedisPort(g.stdout());
    expect(redisPort).toBeDefined();
    expect(await waitPortClosed(redisPort!)).toBe(true);
  }, 90_000);

  it('when the MLLP port is taken, then one line names MLLP_PORT and the exit is non-zero', async () => {
    const [port, mllp] = [await freePort(), await freePort()];
    await occupy(mllp);
    const g = await gateway('api', { PORT: String(port), MLLP_PORT: String(mllp), REDIS_URL: undefined });
    const { code } = await g.exited;
    expect(code).not.toBe(0);
    expect(stderrLines(g).filter((l) => !l.includes('"level":"warn"'))).toEqual([
      `MLLP_PORT=${mllp} is already in use by another process`,
    ]);
    expect(await portOpen(port)).toBe(false);
  }, 90_000);

  it('when REDIS_URL is unreachable at start, then one line names it and the exit is non-zero', async () => {
    const dead = await freePort();
    const g = await gateway('worker', { REDIS_URL: `redis://user:secret@127.0.0.1:${dead}` });
    const { code } = await g.exited;
    expect(code).not.toBe(0);
    const lines = stderrLines(g);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^Cannot reach Redis at redis://127\\.0\\.0\\.1:${dead}.*REDIS_URL.*ECONNREFUSED`),
    );
    expect(lines[0]).not.toContain('secret');
  }, 90_000);
});

describe('PGlite file errors', () => {
  // Alone this failed in 2 s, but on 2 loaded cores PGlite's start-up on such a directory held the child's event
  // loop past 90 s (the open timer could not run). The directory is now checked before PGlite sees it, and a
  // watchdog thread ends a start that PGlite holds anyway.
  it('when the PGlite directory holds something that is not a database, then one line names DATA_DIR and the exit is non-zero (no hang)', async () => {
    const dir = await tempDataDir();
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(path.join(dir, 'pglite', 'base'), { recursive: true });
    await writeFile(path.join(dir, 'pglite', 'PG_VERSION'), 'not a database\n');
    await writeFile(path.join(dir, 'pglite', 'global'), 'x');
    // Bounded well inside the test's own limit: a slow or stuck open must end in the same one line.
    // DATABASE_URL unset: with it (as in CI) the gateway opens PostgreSQL, never looks at DATA_DIR, and runs on.
    const g = await gateway('worker', {
      DATA_DIR: dir,
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      DB_OPEN_TIMEOUT_SECONDS: '40',
    });
    const { code } = await g.exited;
    expect(code).not.toBe(0);
    const lines = stderrLines(g);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Cannot open the database \(PGlite in DATA_DIR=/);
  }, 90_000);
});

describe('the local redis child', () => {
  it.each(['SIGKILL', 'SIGTERM', 'SIGINT'] as const)(
    'when the gateway ends by %s, then its redis child is gone too',
    async (signal) => {
      const [port, mllp] = [await freePort(), await freePort()];
      const g = await gateway('worker', { PORT: String(port), MLLP_PORT: String(mllp), REDIS_URL: undefined });
      await g.waitFor(/svu-gateway running/, 180_000);
      const redisPort = localRedisPort(g.stdout());
      expect(redisPort).toBeDefined();
      expect(await portOpen(redisPort!)).toBe(true);
      g.child.kill(signal);
      await g.exited;
      expect(await waitPortClosed(redisPort!)).toBe(true);
    },
    90_000,
  );
});

describe('a dependency lost after start', () => {
  let redis: LocalRedis | undefined;
  cleanups.push(async () => redis?.stop());

  it('when Redis goes away and comes back, then one WARN line says so, /readyz answers 503, then ready again', async () => {
    redis = await startLocalRedis();
    const redisPort = redis.port;
    const [port, mllp] = [await freePort(), await freePort()];
    const g = await gateway('all', { PORT: String(port), MLLP_PORT: String(mllp), REDIS_URL: redis.url });
    await g.waitFor(/svu-gateway listening/, 180_000);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const before = stderrLines(g).length;

    await redis.stop();
    await g.waitFor(/dependency is down/, 15_000);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    await new Promise((r) => setTimeout(r, 6000)); // retries keep going meanwhile
    const during = stderrLines(g).slice(before);
    expect(during.filter((l) => l.includes('"level":"warn"'))).toHaveLength(1);
    expect(g.child.exitCode).toBeNull();

    redis = await startLocalRedis({ port: redisPort });
    await g.waitFor(/dependency is back/, 15_000);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  }, 120_000);
});
