import { randomBytes } from 'node:crypto';
import type { ClosableDb } from '../../src/store/db.port';
import { openPglite } from '../../src/store/db.pglite';
import { openPostgres } from '../../src/store/db.pg';
import { migrate } from '../../src/store/migrate';

/**
 * The databases every store-touching test runs against: a fresh in-memory PGlite always, and a fresh
 * PostgreSQL database when `DATABASE_URL` is set (created per call, dropped by `close`).
 * Use with `describe.each(testDatabases())('... on %s', (kind) => ...)`.
 */
export function testDatabases(): ('pglite' | 'postgres')[] {
  return process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export async function openTestDb(
  kind: 'pglite' | 'postgres' = 'pglite',
  opts: { max?: number; preparedStatements?: boolean } = {},
): Promise<ClosableDb> {
  if (kind === 'pglite') {
    const db = await openPglite();
    await migrate(db);
    return db;
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('openTestDb(postgres) needs DATABASE_URL');
  const name = `svu_test_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = openPostgres(u.toString(), { max: opts.max ?? 10, preparedStatements: opts.preparedStatements });
  await migrate(db);
  return {
    ...db,
    kind: 'postgres',
    query: db.query.bind(db),
    transaction: db.transaction.bind(db),
    async close() {
      await db.close();
      const a = openPostgres(url, { max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}
