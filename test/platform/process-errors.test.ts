import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const child = (how: 'rejection' | 'exception') =>
  spawnSync(process.execPath, ['--import', 'tsx', 'test/platform/fixtures/process-errors-child.ts', how], {
    encoding: 'utf8',
    timeout: 20_000,
  });

/** One JSON log line from the child's output that has `message` matching. */
function logLine(output: string, message: RegExp): Record<string, unknown> | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const j = JSON.parse(line) as Record<string, unknown>;
    if (typeof j.message === 'string' && message.test(j.message)) return j;
  }
  return undefined;
}

describe('errors nothing caught', () => {
  it('when a promise is rejected with no handler, then it is logged as JSON (personnummer redacted) and the process keeps running', () => {
    const r = child('rejection');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('STILL SERVING');
    const line = logLine(r.stdout + r.stderr, /unhandled promise rejection/);
    expect(line?.level).toBe('error');
    expect(String(line?.error)).toMatch(/lost call for \[redacted-pnr\]/);
    expect(r.stdout + r.stderr).not.toContain('191212121212');
  });

  it('when an exception escapes a callback, then it is logged and the gateway is stopped with a failure exit code', () => {
    const r = child('exception');
    expect(r.stdout).toContain('FATAL uncaught exception');
    expect(r.stdout).not.toContain('NOT STOPPED');
    expect(r.status).toBe(3);
    expect(String(logLine(r.stdout + r.stderr, /uncaught exception/)?.error)).toMatch(/thrown from a callback/);
  });
});
