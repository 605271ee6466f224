import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '@medplum/fhirtypes';
import { createAuditWriter } from '../../src/audit/audit-writer';
import { createLogger } from '../../src/platform/logger';
import { createRepository } from '../../src/store/repository.pg';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { recordMessages } from '../support/record-messages';

const event = (n: number): AuditEvent => ({
  resourceType: 'AuditEvent',
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  recorded: new Date(Date.UTC(2026, 11, 6, 0, 0, n)).toISOString(),
  source: { site: `request-id:batch-${n}`, observer: { display: 'svu-gateway' } },
  agent: [{ requestor: true, who: { display: 'demo-ehr' } }],
});

describe.each(testDatabases())('the audit writer on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());
  afterEach(() => vi.restoreAllMocks());

  it('when 40 events wait, then a flush stores every one of them, each once, in one transaction with one write', async () => {
    const writer = createAuditWriter({
      db,
      repository: (d) => createRepository(d, { system: true }),
      logger: createLogger('error'),
      flushIntervalMs: 60_000, // only the flush writes
    });
    const sent: string[] = [];
    if (kind === 'postgres') recordMessages(sent);
    for (let n = 0; n < 40; n++) writer.record(event(n));
    await writer.flush();
    vi.restoreAllMocks();
    const stored = await createRepository(db, { system: true }).search<AuditEvent>('AuditEvent', { _count: '100' });
    const sites = stored.resources.map((e) => e.source.site).sort();
    expect(sites).toEqual(Array.from({ length: 40 }, (_, n) => `request-id:batch-${n}`).sort());
    if (kind === 'postgres') {
      // BEGIN travels with the write, the write with COMMIT: one round trip, one statement writing the 40 versions
      const writes = sent.filter((s) => /INSERT INTO fhir_resource/i.test(s));
      expect(writes).toHaveLength(1);
      expect(sent.filter((s) => /\bSAVEPOINT\b/i.test(s))).toEqual([]);
    }
    await writer.close();
  });
});
