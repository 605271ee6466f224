import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/platform/redis-server';

/**
 * A throw-away PostgreSQL server of its own (initdb in a temporary directory, a free port, trust auth on
 * loopback), so a test can restart or stop it without disturbing the shared test server other tests use.
 * Needs the PostgreSQL binaries and either to run as `postgres` or as root (then `runuser -u postgres`).
 */
export interface OwnPostgres {
  url: string;
  port: number;
  restart(): void;
  stop(): void;
  start(): void;
  remove(): Promise<void>;
}

const BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) =>
  existsSync(path.join(d, 'initdb')),
);

function postgresUid(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** True when this machine can run `startOwnPostgres` (the test is skipped otherwise). */
export function canRunOwnPostgres(): boolean {
  if (!BIN || !postgresUid()) return false;
  const me = process.getuid?.();
  return me === 0 || me === postgresUid()?.uid;
}

function asPostgres(cmd: string, args: string[]): void {
  const me = process.getuid?.();
  const [file, argv] = me === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  if (!BIN) throw new Error('PostgreSQL binaries not found');
  const owner = postgresUid();
  if (!owner) throw new Error('no postgres user');
  const dir = await mkdtemp(path.join(tmpdir(), 'svu-own-pg-'));
  await chmod(dir, 0o700);
  await chown(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  asPostgres(path.join(BIN, 'initdb'), ['-D', data, '-U', 'svu', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const ctl = (...args: string[]) =>
    asPostgres(path.join(BIN, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      ...args,
    ]);
  ctl('start');
  return {
    url: `postgres://svu@127.0.0.1:${port}/postgres`,
    port,
    restart: () => ctl('restart', '-m', 'fast'),
    stop: () => ctl('stop', '-m', 'fast'),
    start: () => ctl('start'),
    async remove() {
      try {
        ctl('stop', '-m', 'immediate');
      } catch {
        /* not running */
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
