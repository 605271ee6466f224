import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { ClosableDb } from './db.port';
import { openPglite } from './db.pglite';
import { openPostgres } from './db.pg';
import { migrate } from './migrate';

/** Opens the configured database (PostgreSQL when `databaseUrl` is set, else PGlite in `dataDir`) and migrates it. */
export async function openDb(opts: {
  databaseUrl?: string;
  dataDir?: string;
  inMemory?: boolean;
}): Promise<ClosableDb> {
  let db: ClosableDb;
  if (opts.databaseUrl) db = openPostgres(opts.databaseUrl);
  else if (opts.inMemory || !opts.dataDir) db = await openPglite();
  else {
    const dir = path.resolve(opts.dataDir, 'pglite');
    await mkdir(dir, { recursive: true });
    db = await openPglite(dir);
  }
  await migrate(db);
  return db;
}
