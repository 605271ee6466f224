import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS, GATEWAY_RUNTIME_ENV } from '../../scripts/runtime-env.mjs';
import { freePort } from '../../src/platform/redis-server';
import { createEmptyDb, dropDatabase } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const root = path.resolve(import.meta.dirname, '..', '..');

/** The command line and the environment a running process was started with (/proc). */
function started(pid: number): { argv: string[]; env: string[] } {
  const split = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter(Boolean);
  return { argv: split('cmdline'), env: split('environ') };
}

describe('the runtime settings of scripts/runtime-env.mjs', () => {
  it('when the gateway is run by `npm run start:prod` or the image, then it gets the same node flags and environment as `npm start`', () => {
    const startProd = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts['start:prod']!;
    const dockerfile = readFileSync(path.join(root, 'docker', 'Dockerfile'), 'utf8');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const prodArgs = startProd.split(/\s+/);
    expect(prodArgs.slice(prodArgs.indexOf('node') + 1, prodArgs.indexOf('dist/main.js'))).toEqual([
      ...GATEWAY_NODE_FLAGS,
    ]);
    expect(entrypoint).toEqual(['node', ...GATEWAY_NODE_FLAGS, 'dist/main.js']);
    for (const [name, value] of Object.entries(GATEWAY_RUNTIME_ENV)) {
      expect(startProd).toContain(`${name}=\${${name}:-${value}}`);
      expect(dockerfile).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
    }
  });

  describe.skipIf(!process.env.DATABASE_URL)('npm start on PostgreSQL', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'svu-runtime-env-'));
    const name = `svu_runtime_env_${randomBytes(4).toString('hex')}`;
    let child: ChildProcess | undefined;

    afterAll(async () => {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child!.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await dropDatabase(admin, name);
      await admin.end();
    });

    it('when `npm start` runs the split layout, then its api and worker processes run with the node flags and environment of runtime-env.mjs', async () => {
      const databaseUrl = await createEmptyDb(process.env.DATABASE_URL!, name);
      let log = '';
      child = spawn(process.execPath, [path.join(root, 'scripts', 'start.mjs')], {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'development',
          LOG_LEVEL: 'info',
          PORT: String(await freePort()),
          MLLP_PORT: String(await freePort()),
          DATA_DIR: dataDir,
          DATABASE_URL: databaseUrl,
          REDIS_URL: testRedisUrl(),
          QUEUE_PREFIX: uniquePrefix(),
        },
      });
      child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
      const end = Date.now() + 150_000;
      let line: string | undefined;
      while (!line && Date.now() < end && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 250));
        line = log.split('\n').find((l) => l.includes('"mode":"split"'));
      }
      expect(line, log).toBeDefined();
      const { api, worker } = JSON.parse(line!) as { api: number; worker: number };
      for (const pid of [api, worker]) {
        const { argv, env } = started(pid);
        expect(argv.slice(1, 1 + GATEWAY_NODE_FLAGS.length)).toEqual([...GATEWAY_NODE_FLAGS]);
        for (const [k, v] of Object.entries(GATEWAY_RUNTIME_ENV)) expect(env).toContain(`${k}=${v}`);
      }
    }, 180_000);
  });
});
