import { randomBytes } from 'node:crypto';
import type { ClosableDb } from '../../src/store/db.port';
import { openPglite, pgliteImage } from '../../src/store/db.pglite';
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

/**
 * The migrated PGlite cluster, made once per test process (a fork runs many files): a database opened from it
 * skips initdb and the migrations (measured under load: ≈ 0.9 s against ≈ 5 s). `migrate` still runs on each, so
 * a database opened from it is what a migrated one is. Benches (outside vitest) open one database: no image.
 */
let migratedImage: Promise<Blob> | undefined;

export function migratedPglite(): Promise<Blob> {
  migratedImage ??= pgliteImage((db) => migrate(db)).catch((err: unknown) => {
    migratedImage = undefined;
    throw err;
  });
  return migratedImage;
}

/**
 * `SVU_TEST_PG_TEMPLATE`: a migrated PostgreSQL database the run's global setup made (`createTemplateDb`); a test
 * database is a copy of it (CREATE DATABASE … TEMPLATE), then migrated as any (nothing left to apply).
 */
const TEMPLATE_ENV = 'SVU_TEST_PG_TEMPLATE';

export async function openTestDb(
  kind: 'pglite' | 'postgres' = 'pglite',
  opts: { max?: number; preparedStatements?: boolean } = {},
): Promise<ClosableDb> {
  if (kind === 'pglite') {
    const db = await openPglite(undefined, process.env.VITEST ? { image: await migratedPglite() } : {});
    await migrate(db);
    return db;
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('openTestDb(postgres) needs DATABASE_URL');
  const name = `svu_test_${randomBytes(6).toString('hex')}`;
  const template = process.env[TEMPLATE_ENV];
  const admin = openPostgres(url, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.close();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = openPostgres(u.toString(), { max: opts.max ?? 10, preparedStatements: opts.preparedStatements });
  const drop = async () => {
    await db.close();
    const a = openPostgres(url, { max: 1 });
    try {
      await dropDatabase(a, name);
    } finally {
      await a.close();
    }
  };
  // a migration that fails (while one is being written) must not leave its database behind
  await migrate(db).catch(async (err: unknown) => {
    await drop().catch(() => undefined);
    throw err;
  });
  return {
    ...db,
    kind: 'postgres',
    query: db.query.bind(db),
    transaction: db.transaction.bind(db),
    close: drop,
  };
}

/** Creates an empty database `name` on `url`'s server and returns its URL. */
export async function createEmptyDb(url: string, name: string): Promise<string> {
  const admin = openPostgres(url, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A migrated PostgreSQL database at `url`'s server for the run's test databases to copy; returns its drop. */
export async function createTemplateDb(url: string): Promise<() => Promise<void>> {
  const name = `svu_tmpl_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  const drop = () => dropDatabase(admin, name).finally(() => admin.close());
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = openPostgres(u.toString(), { max: 1 });
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    await drop();
    throw err;
  }
  await db.close();
  process.env[TEMPLATE_ENV] = name;
  return drop;
}

/**
 * Drops a test or bench database. WITH (FORCE) ends this role's sessions on it, but refuses (42501) while an
 * autovacuum worker works there (not this role's session to end; after a bench's large load it can take longer
 * than a few retries). A plain DROP ends autovacuum workers itself, but is refused (55006) while a session of this role
 * is still connected. So each refusal switches to the other form, a few times. `admin`: any connection to another
 * database of the server (a `Db` or a `pg.Client`).
 */
export async function dropDatabase(admin: { query(sql: string): Promise<unknown> }, name: string): Promise<void> {
  let force = true;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name}${force ? ' WITH (FORCE)' : ''}`);
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (attempt >= 10 || (code !== '42501' && code !== '55006')) throw e;
      force = code !== '42501';
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}
