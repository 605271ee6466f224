import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { openPostgres } from '../../src/store/db.pg';
import type { Db } from '../../src/store/db.port';
import { openDb } from '../../src/store/open-db';
import { dropDatabase } from '../support/db';

// Issue 17: on a store without statistics the planner's guesses put even a search that reads nothing above
// jit_above_cost, and compiling it took 17–70 ms; the gateway's connections run with jit off unless PG_JIT=true.
// PostgreSQL only (PGlite has no JIT).

const url = process.env.DATABASE_URL;
const run = url ? describe : describe.skip;

const jitOf = async (db: Db): Promise<string | undefined> => (await db.query<{ jit: string }>('SHOW jit')).rows[0]?.jit;

run('JIT on the gateway’s PostgreSQL connections', () => {
  const name = `svu_test_${randomBytes(6).toString('hex')}`;
  let dbUrl = '';
  beforeAll(async () => {
    const admin = openPostgres(url!, { max: 1 });
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      // the server's own setting for this database, whatever postgresql.conf says
      await admin.query(`ALTER DATABASE ${name} SET jit = on`);
    } finally {
      await admin.close();
    }
    dbUrl = Object.assign(new URL(url!), { pathname: `/${name}` }).toString();
  });
  afterAll(async () => {
    const admin = openPostgres(url!, { max: 1 });
    try {
      await dropDatabase(admin, name);
    } finally {
      await admin.close();
    }
  });

  it('when the gateway opens its store with the default configuration, then every pooled connection runs with jit off', async () => {
    const config = loadConfig({});
    const db = await openDb({
      databaseUrl: dbUrl,
      preparedStatements: config.PG_PREPARED_STATEMENTS,
      jit: config.PG_JIT,
    });
    try {
      // four transactions at once: four connections, each opened with the setting
      const seen = await Promise.all(
        Array.from({ length: 4 }, () =>
          db.transaction(async (tx) => {
            await tx.query('SELECT pg_sleep(0.05)');
            return jitOf(tx);
          }),
        ),
      );
      expect(seen).toEqual(['off', 'off', 'off', 'off']);
      expect(await jitOf(db)).toBe('off');
      expect(await db.session!(jitOf)).toBe('off');
    } finally {
      await db.close();
    }
  });

  it('when PG_JIT=true, then the connections keep the server’s setting', async () => {
    const db = openPostgres(dbUrl, { max: 2, jit: loadConfig({ PG_JIT: 'true' }).PG_JIT });
    try {
      expect(await jitOf(db)).toBe('on');
      expect(await db.transaction(jitOf)).toBe('on');
    } finally {
      await db.close();
    }
  });
});
