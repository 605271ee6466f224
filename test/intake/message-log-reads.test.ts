import type express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { messageRoutesRecording } from './harness';

/**
 * The admin's HL7 summary and time searches must not read every message of the log (issue 17): a day far back was
 * found by walking the log newest first (no index on `received_at`), and the summary read every message's row, raw
 * text and all. Here 3 000 messages, one a minute from 2026-01-01, each with 1 kB of text: 2 990 accepted, 7
 * rejected, 3 errors.
 */
describe.each(testDatabases())('the HL7 log summary and time searches on %s', (kind) => {
  let db: ClosableDb;
  const sent: string[] = [];
  let app: express.Express;

  beforeAll(async () => {
    db = await openTestDb(kind);
    await db.query(
      `INSERT INTO hl7_message (sender, control_id, raw, channel, status, received_at)
       SELECT 'EHR/H', 'c' || g, 'MSH|^~\\&|EHR|H' || repeat('x', 1000), 'mllp',
              CASE WHEN g % 400 = 7 THEN 'rejected' WHEN g % 1000 = 9 THEN 'error' ELSE 'accepted' END,
              timestamptz '2026-01-01T00:00:00Z' + g * interval '1 minute'
         FROM generate_series(1, 3000) g`,
    );
    await db.query('VACUUM ANALYZE hl7_message');
    app = messageRoutesRecording(db, sent);
  });
  afterAll(async () => db.close());

  const plan = async (sql: string, values: unknown[] = []) =>
    (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, values)).rows
      .map((x) => x['QUERY PLAN'])
      .join('\n');

  it('when the summary is asked for, then it counts each status as the definition does, from the status index', async () => {
    sent.length = 0;
    const r = await request(app).get('/admin/api/hl7/summary');
    const definition = (
      await db.query<{ status: string; n: number; last: Date | string }>(
        'SELECT status, count(*)::int AS n, max(received_at) AS last FROM hl7_message GROUP BY status',
      )
    ).rows;
    expect(r.body.byStatus).toEqual(
      Object.fromEntries(
        definition.map((x) => [x.status, { count: x.n, lastReceivedAt: new Date(x.last).toISOString() }]),
      ),
    );
    expect(Object.keys(r.body.byStatus).sort()).toEqual(['accepted', 'error', 'rejected']);
    const summary = sent[0]!;
    const text = await plan(
      summary,
      summary.includes('$1') ? [['pending', 'accepted', 'ignored', 'rejected', 'error']] : [],
    );
    expect(text).toContain('hl7_message_status');
    expect(text).not.toContain('Seq Scan on hl7_message');
    expect(text).not.toMatch(/Rows Removed by Filter: \d{3}/);
  });

  it('when a time window is searched, then its messages are found by the received-at index, not a walk of the log', async () => {
    for (const [from, to, expected] of [
      ['2025-06-01T00:00:00Z', '2025-06-02T00:00:00Z', 0], // a day with none, before the log
      ['2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z', 60], // an hour of the first day
    ] as const) {
      sent.length = 0;
      const r = await request(app).get(`/admin/api/hl7/messages?from=${from}&to=${to}&limit=500`);
      expect(r.status).toBe(200);
      const got = (r.body.messages as { receivedAt: string }[]).map((m) => m.receivedAt);
      expect(got).toHaveLength(expected);
      expect(got.every((at) => at >= from.replace('Z', '.000Z') && at < to.replace('Z', '.000Z'))).toBe(true);
      const text = await plan(sent[0]!);
      expect(text).toContain('hl7_message_received');
      expect(text).not.toMatch(/Rows Removed by Filter: \d{4}/);
    }
  });
});
