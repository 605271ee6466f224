import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intakeAdminRoutes } from '../../src/intake/admin.routes';
import type { ClosableDb, Db, QueryResult } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

/**
 * The admin's list of rejected HL7 messages must read them from the (status, id) index, also as the named
 * statement's generic plan (planned for any status, where nearly every message is 'accepted'): walking the log
 * newest first for a rare status read all of it, 0.1 s per 100 000 messages (bench/party-reads.bench.ts,
 * docs/performance.md). Here 3 000 accepted messages and one rejected, the oldest.
 */
describe.each(testDatabases())('the list of rejected HL7 messages on %s', (kind) => {
  let db: ClosableDb;

  beforeAll(async () => {
    db = await openTestDb(kind);
    await db.query(
      `INSERT INTO hl7_message (sender, control_id, raw, channel, status)
       SELECT 'EHR/H', 'c' || g, 'MSH|^~\\&|EHR|H', 'mllp', CASE WHEN g = 1 THEN 'rejected' ELSE 'accepted' END
         FROM generate_series(1, 3001) g`,
    );
    await db.query('ANALYZE hl7_message');
  });
  afterAll(async () => db.close());

  it('when the rejected messages are listed, then the generic plan reads them by status, not the whole log', async () => {
    const sent: { sql: string; values: readonly unknown[] }[] = [];
    const listing: Db = {
      kind: db.kind,
      query<R>(sql: string, values: readonly unknown[] = []): Promise<QueryResult<R>> {
        if (sql.includes('FROM hl7_message')) sent.push({ sql, values });
        return db.query<R>(sql, values);
      },
      transaction: (fn) => db.transaction(fn),
    };
    const app = express().use(intakeAdminRoutes(listing, []));
    const r = await request(app).get('/admin/api/hl7/messages?status=rejected');
    expect(r.body.messages).toHaveLength(1);
    const list = sent[0]!;
    // the statement as a named one runs it after a few calls: its generic plan
    await db.query(`PREPARE list_plan AS ${list.sql}`);
    try {
      await db.query('SET plan_cache_mode = force_generic_plan');
      const args = list.values.map((v) => `'${String(v).replace(/'/g, "''")}'`).join(', ');
      const plan = await db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, COSTS OFF) EXECUTE list_plan${args ? `(${args})` : ''}`,
      );
      const text = plan.rows.map((x) => x['QUERY PLAN']).join('\n');
      expect(text).toContain('hl7_message_status');
      expect(text).not.toMatch(/Rows Removed by Filter: \d{4}/);
    } finally {
      await db.query('RESET plan_cache_mode');
      await db.query('DEALLOCATE list_plan');
    }
  });
});
