import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPgliteDir, DataDirError } from '../../src/store/open-db';

// Issue 12 item 5: a PGlite directory that is not a database ends the start with one line, never a hang.

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'svu-open-db-'));
  dirs.push(d);
  return d;
}

describe('checkPgliteDir', () => {
  it('when the directory is empty, then it is accepted (a new database)', async () => {
    await expect(checkPgliteDir(await tempDir())).resolves.toBeUndefined();
  });

  it('when PG_VERSION is not a version or global is a file, then a DataDirError names it', async () => {
    const d = await tempDir();
    await writeFile(path.join(d, 'PG_VERSION'), 'not a database\n');
    await expect(checkPgliteDir(d)).rejects.toThrow(/PG_VERSION does not name/);
    await writeFile(path.join(d, 'PG_VERSION'), '17\n');
    await mkdir(path.join(d, 'base'));
    await writeFile(path.join(d, 'global'), 'x');
    await expect(checkPgliteDir(d)).rejects.toBeInstanceOf(DataDirError);
  });
});

describe('startWatchdog', () => {
  it('when the main thread is stuck in a loop, then the watchdog prints its line and the process ends', async () => {
    const code = `import { startWatchdog } from './src/store/open-db'; startWatchdog(500, 'stuck: one line'); for (;;) {}`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: process.cwd(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const started = Date.now();
    const { signal } = await new Promise<{ signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (_c, s) => resolve({ signal: s })),
    );
    expect(signal).toBe('SIGKILL');
    expect(stderr.trim()).toBe('stuck: one line');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
