import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../support/redis';

const root = path.resolve(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('production build', () => {
  // Below the repository, so agreements/, mappings/ and profiles/ are found the way dist/ finds them.
  const out = path.join(root, `.build-test-${process.pid}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'svu-dist-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('when built, then `node <out>/main.js http` runs without tsx and answers /healthz', async () => {
    const built = spawnSync(process.execPath, ['scripts/build.mjs', '--outdir', out], { cwd: root, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    expect(existsSync(path.join(out, 'migrations', '090_admin_session.sql'))).toBe(true);
    const bundle = readFileSync(path.join(out, 'main.js'), 'utf8');
    expect(bundle).not.toMatch(/from ["']tsx/);

    const port = await freePort();
    let log = '';
    child = spawn(process.execPath, [path.join(out, 'main.js'), 'http'], {
      cwd: tmpdir(), // not the repository: paths must not depend on the working directory
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        DATA_DIR: dataDir,
        REDIS_URL: testRedisUrl(),
        ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      },
    });
    child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    const until = Date.now() + 90_000;
    let status = 0;
    while (Date.now() < until && child.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status, log).toBe(200);
    expect(log).toContain('svu-gateway listening');
    expect(log).not.toContain('demo region loaded');
  }, 120_000);
});
