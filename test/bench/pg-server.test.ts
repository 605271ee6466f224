import { afterEach, describe, expect, it } from 'vitest';
import {
  LABELLED_SETTINGS,
  serverSettings,
  walCounters,
  walPerMessage,
  type WalCounters,
} from '../../bench/support/pg-server';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

/**
 * A bench on PostgreSQL labels its figures with the server's settings and counts the WAL and checkpoints of its run
 * (docs/operations.md, "PostgreSQL settings for a hub"). Checkpoints moved from `pg_stat_bgwriter` to
 * `pg_stat_checkpointer` in PostgreSQL 17: PGlite is 17 or later, the PostgreSQL of the suite 15, so the two
 * stores read one view each (PGlite has no checkpointer process: its view is read, its count stays 0).
 */
describe.each(testDatabases())('the server a bench ran on, on %s', (kind) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('when the settings are read, then each labelled setting has its value with its unit', async () => {
    db = await openTestDb(kind);
    const settings = await serverSettings(db);
    expect(Object.keys(settings).sort()).toEqual([...LABELLED_SETTINGS].sort());
    expect(settings.shared_buffers).toMatch(/^\d+(kB|MB|GB)$/);
    expect(settings.checkpoint_timeout).toMatch(/^\d+(s|min|h)$/);
  });

  it('when rows are written and a checkpoint is taken, then the WAL position has grown, and on PostgreSQL the checkpoints', async () => {
    db = await openTestDb(kind);
    const before = await walCounters(db);
    await db.query('CREATE TABLE wal_probe AS SELECT g AS n, repeat($1, 100) AS t FROM generate_series(1, 2000) g', [
      'x',
    ]);
    await db.query('CHECKPOINT');
    let after = await walCounters(db);
    // the checkpointer reports its count as it finishes, which may come a moment after CHECKPOINT returns
    for (let i = 0; i < 20 && kind === 'postgres' && after.checkpoints === before.checkpoints; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await walCounters(db);
    }
    expect(after.walBytes - before.walBytes).toBeGreaterThan(2000 * 100);
    // PGlite runs in one process without a checkpointer: its view is read (PostgreSQL 17's) but never counts
    if (kind === 'postgres') expect(after.checkpoints).toBeGreaterThan(before.checkpoints);
  });
});

describe('the WAL of a run, per message', () => {
  const at = (walBytes: number, fullPageImages: number, checkpoints: number): WalCounters => ({
    walBytes,
    fullPageImages,
    checkpoints,
  });

  it('when 1 000 messages wrote 20 MiB with 500 full pages over two checkpoints, then each wrote 20.48 kB', () => {
    expect(walPerMessage(at(1_000_000, 100, 7), at(1_000_000 + 20 * 1_048_576, 600, 9), 1000)).toEqual({
      walKbPerMsg: 20.48,
      fullPageImagesPerMsg: 0.5,
      checkpoints: 2,
    });
  });

  it('when no message was counted, then the per-message figures are zero, not infinite', () => {
    expect(walPerMessage(at(0, 0, 0), at(4096, 1, 0), 0)).toEqual({
      walKbPerMsg: 0,
      fullPageImagesPerMsg: 0,
      checkpoints: 0,
    });
  });
});
