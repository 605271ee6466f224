import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mark, type ApplyOutcome } from '../../src/intake/hl7v2/apply-queue';
import { MessageLog, type LogEntry } from '../../src/intake/hl7v2/message-log';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { logEntry } from './harness';

/**
 * The message log's batch INSERT and the apply queue's status update send their columns packed
 * (`src/store/packed-array.ts`): whatever a message holds, the row keeps it exactly.
 */
describe.each(testDatabases())('hl7_message rows written in packed batches on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  // this test's own sender: its rows are read back by it
  const entry = (controlId: string | null, raw: string, more: Partial<LogEntry> = {}): LogEntry =>
    logEntry(controlId, raw, { sender: 'EHR|SE2321000172-DEMO0001', ...more });

  it('when a batch holds separators, quotes, backslashes, empty texts, nulls and multi-byte text, then each row keeps its own values', async () => {
    const log = new MessageLog(db);
    const entries = [
      entry('P-1', 'MSH|^~\\&|EHR\rPID|1||Åsa "Ö" 🏥'),
      entry('P-2', 'MSH|^~\\&|EHR\rNTE|1||a\u001fb\u001ec', { remote: '' }),
      entry(null, '', { event: null, status: 'rejected', errorCode: 'bad-hl7-structure', errorReason: "it's \\ odd" }),
      entry('P-3', 'MSH|^~\\&|EHR', { event: '', ackCode: null, remote: '127.0.0.1' }),
    ];
    // handed in the same tick: one INSERT for all four
    const logged = await Promise.all(entries.map((e) => log.store(e)));
    const ids = logged.map((l) => l.id).filter((id) => id > 0);
    expect(ids).toHaveLength(3);
    const rows = await db.query<Record<string, unknown>>(
      `SELECT control_id, event, raw, remote, status, error_code, error_reason, ack_code FROM hl7_message
       WHERE sender = $1 ORDER BY id`,
      ['EHR|SE2321000172-DEMO0001'],
    );
    expect(rows.rows).toEqual(
      entries.map((e) => ({
        control_id: e.controlId,
        event: e.event,
        raw: e.raw,
        remote: e.remote,
        status: e.status,
        error_code: e.errorCode,
        error_reason: e.errorReason,
        ack_code: e.ackCode,
      })),
    );

    const outcomes: ApplyOutcome[] = [
      {
        status: 'accepted',
        ackCode: 'AA',
        stayId: 'stay-1',
        outcome: {
          warnings: [{ code: 'unknown-local-value', text: 'ward "X\\Y" \u001f unknown – Västerås' }],
          tasks: { created: ['t1'], changed: [], cancelled: [] },
        },
      },
      { status: 'rejected', ackCode: 'AR', error: { code: 'bad-hl7-structure', reason: 'a\u001fb' } },
      { status: 'error', ackCode: 'AE', stayId: '', error: { code: 'internal', reason: '' } },
    ];
    await mark(
      db,
      ids.map((id, i) => ({ id, outcome: outcomes[i] as ApplyOutcome })),
    );
    const marked = await db.query<Record<string, unknown>>(
      `SELECT status, stay_id, error_code, error_reason, ack_code, outcome FROM hl7_message
       WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    expect(marked.rows).toEqual(
      outcomes.map((o, i) => ({
        status: o.status,
        stay_id: o.stayId ?? null,
        error_code: o.error?.code ?? null,
        error_reason: o.error?.reason ?? null,
        // an ACK code decided on store is kept
        ack_code: entries.filter((e) => e.controlId !== null)[i]?.ackCode ?? o.ackCode,
        outcome: o.outcome ?? null,
      })),
    );
  });
});
