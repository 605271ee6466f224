/**
 * The `split` process layout (what `npm start` runs on PostgreSQL): one small supervisor process that owns the
 * local redis-server (when REDIS_URL is unset) and forks two children of the same entry file, `api` (HTTP + MLLP)
 * and `worker` (outbox relay, matching, dispatch, deadlines). A saturated API then cannot starve delivery: the two
 * share no event loop and the OS schedules them separately (docs/performance.md has the measurement).
 *
 * Lifetimes: each child is forked with an IPC channel and shuts itself down when that channel closes (the
 * supervisor ended in any way, even SIGKILL); the redis-server watchdog does the same on its pipe. So nothing
 * outlives the supervisor. A child that exits on its own ends the whole layout with exit code 1 (the service
 * manager restarts it; a half-running gateway that accepts admissions but never notifies is worse).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from './platform/logger';

/** The message a supervised child sends once it has started (listening / workers running). */
export const READY_MESSAGE = 'svu-ready';

export interface SplitLayout {
  /** pid per child role. */
  readonly pids: Readonly<Record<string, number | undefined>>;
  /** Resolves with the exit code the supervisor should end with when a child ended on its own. */
  readonly failed: Promise<number>;
  /** SIGTERM to every child still running; resolves when all have exited (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export interface SplitOptions {
  entry: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Roles forked in this order, each only after the previous one reported ready (migrations run once, first). */
  roles?: string[];
  readyTimeoutMs?: number;
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

export async function startSplit(o: SplitOptions): Promise<SplitLayout> {
  const roles = o.roles ?? ['api', 'worker'];
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let fail: (code: number) => void = () => undefined;
  const failed = new Promise<number>((resolve) => (fail = resolve));

  const stop = async (graceMs = 20_000): Promise<void> => {
    stopping = true;
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (exited(c)) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => {
              if (!exited(c)) c.kill('SIGKILL');
            }, graceMs).unref();
          }),
      ),
    );
  };

  for (const role of roles) {
    const child = fork(o.entry, [role], { env: o.env, execArgv: o.execArgv, stdio: 'inherit' });
    children.set(role, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      o.logger.error('gateway child process ended; stopping the others', {
        role,
        code: code ?? undefined,
        signal: signal ?? undefined,
      });
      fail(1);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the ${role} process did not start within ${o.readyTimeoutMs ?? 120_000} ms`)),
          o.readyTimeoutMs ?? 120_000,
        );
        child.on('message', (m) => {
          if (m === READY_MESSAGE) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the ${role} process exited during start-up (code ${code ?? 'none'})`));
        });
      });
    } catch (err) {
      await stop(5000);
      throw err;
    }
  }
  const pids = Object.fromEntries([...children].map(([r, c]) => [r, c.pid]));
  return { pids, failed, stop };
}
