import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A gateway started as its own process (`node --import tsx src/main.ts <mode>`), as an operator would. */
export interface GatewayProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or 128 + signal number style string) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until a stdout line matches `re` (or the process exits: then rejects with its output). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

export async function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'svu-faults-'));
}

export function startGatewayProcess(mode: string, env: Record<string, string | undefined>): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', mode], {
    env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'test', DEMO_REGION: 'false', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = (out + err).split('\n').find((l) => re.test(l));
        if (line) return line;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`gateway exited before ${String(re)}:\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`no ${String(re)} within ${timeoutMs} ms:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Waits until `port` is closed (true) or `timeoutMs` passed (false). */
export async function waitPortClosed(port: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await portOpen(port))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The port of the local redis-server child from the gateway's "started local redis-server" log line. */
export function localRedisPort(stdout: string): number | undefined {
  const line = stdout.split('\n').find((l) => l.includes('started local redis-server'));
  if (!line) return undefined;
  return (JSON.parse(line) as { port?: number }).port;
}
