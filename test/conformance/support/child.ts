import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
export const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Starts a child process whose output is kept (for a failing test's message); stop() kills it by pid. */
export function startChild(
  cmd: string,
  args: string[],
): { proc: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return {
    proc,
    output: () => out,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}
