import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/store/db.pglite';
import { initPgliteDataDir } from '../../src/store/pglite-init';

describe('PGlite data directory created in a worker thread', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'svu-pglite-init-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('when the data directory is new, then a worker creates it and the process opens and uses it; a second call does nothing', async () => {
    const dir = path.join(root, 'pglite');
    expect(await initPgliteDataDir(dir)).toBe(true);
    expect(existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
    const db = await openPglite(dir);
    try {
      await db.query('CREATE TABLE t (x int)');
      await db.query('INSERT INTO t VALUES (41)');
      expect((await db.query<{ x: number }>('SELECT x + 1 AS x FROM t')).rows).toEqual([{ x: 42 }]);
    } finally {
      await db.close();
    }
    expect(await initPgliteDataDir(dir)).toBe(false);
    const again = await openPglite(dir);
    expect((await again.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 41 }]);
    await again.close();
  }, 120_000);
});
