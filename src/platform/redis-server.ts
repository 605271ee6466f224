import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

export const REDIS_INSTALL_HINT =
  'redis-server not found: install it with `apt-get install -y redis-server` (Debian) or set REDIS_URL to a running Redis';

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalRedis {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The watchdog `startLocalRedis` runs redis-server under (`node -e`, so it needs no file of its own in `dist/`).
 * It holds the read end of a pipe from the gateway: when the gateway exits in any way (SIGINT, SIGTERM, a crash,
 * a failed start, even SIGKILL) the kernel closes that pipe and the watchdog stops redis-server and exits, so
 * the child never outlives the gateway. SIGINT is ignored (own process group: a Ctrl-C reaches the gateway, which
 * drains first); SIGTERM stops redis-server. Its output is redis-server's.
 */
const WATCHDOG = `
const { spawn } = require('node:child_process');
const redis = spawn('redis-server', process.argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
const end = () => {
  if (redis.exitCode !== null || redis.signalCode !== null) return;
  redis.kill('SIGTERM');
  setTimeout(() => redis.kill('SIGKILL'), 5000).unref();
};
process.stdin.on('end', end);
process.stdin.on('error', end);
process.stdin.resume();
process.on('SIGTERM', end);
process.on('SIGINT', () => undefined);
redis.on('exit', (code) => process.exit(code ?? 0));
redis.on('error', (err) => { console.log('redis-server failed to start: ' + err.message); process.exit(1); });
`;

/**
 * Starts a private `redis-server` child on a free loopback port, under a watchdog that stops it when this
 * process ends (see WATCHDOG). `hz 100` makes delayed jobs fire within ~15 ms of their time (stack notes).
 * With `dataDir` it keeps an append-only file there (durable across restarts of `npm start`); without, it keeps
 * nothing (tests).
 */
export async function startLocalRedis(
  opts: {
    dataDir?: string;
    port?: number;
    /** Own process group, so a Ctrl-C to the terminal does not kill Redis before the gateway has drained. */
    detached?: boolean;
  } = {},
): Promise<LocalRedis> {
  if (!hasRedisServer()) throw new Error(REDIS_INSTALL_HINT);
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--hz', '100', '--maxmemory-policy', 'noeviction'];
  if (opts.dataDir) {
    const dir = path.resolve(opts.dataDir, 'redis');
    await mkdir(dir, { recursive: true });
    args.push('--dir', dir, '--appendonly', 'yes', '--save', '');
  } else {
    args.push('--save', '', '--appendonly', 'no');
  }
  const child = spawn(process.execPath, ['-e', WATCHDOG, '--', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  // The pipe must not keep this process alive; it closes when the process ends.
  (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  child.stdin?.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${lastLine(out)}`)));
      setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${lastLine(out)}`)), 10_000).unref();
    });
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

const lastLine = (out: string): string => out.trim().split('\n').pop()?.slice(-300) ?? '';
