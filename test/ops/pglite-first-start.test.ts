import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/store/db.pglite';

// A first start creates the PGlite cluster (initdb) in a child process, so the gateway does not keep initdb's
// grown WASM memory (≈ 200 MB of ArrayBuffers and ≈ 700 MB RSS when it ran in-process).
describe('PGlite first start', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'svu-pglite-first-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('when the data directory is new, then it is created outside this process and opens and answers', async () => {
    const dir = path.join(tmp(), 'pglite');
    const before = process.memoryUsage().arrayBuffers;
    const db = await openPglite(dir);
    try {
      expect(existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
      await db.query('CREATE TABLE t (x int)');
      await db.query('INSERT INTO t VALUES (1)');
      expect((await db.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 1 }]);
      // initdb in this process leaves ≈ 195 MB of ArrayBuffers (measured); opening an existing cluster ≈ 10 MB
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await db.close();
    }
    const again = await openPglite(dir);
    try {
      expect((await again.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 1 }]);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('when the data directory cannot be created, then the error names the directory', async () => {
    const file = path.join(tmp(), 'not-a-dir');
    writeFileSync(file, 'x');
    await expect(openPglite(path.join(file, 'pglite'))).rejects.toThrow(
      /creating the PGlite data directory .*not-a-dir/,
    );
  }, 120_000);
});
