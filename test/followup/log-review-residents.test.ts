import type { AuditEvent, Encounter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/followup/log-review/log-review.pg';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { ClosableDb, Db, QueryResult } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';

/** A Db that passes every query on and remembers each one sent outside a transaction. */
function recordingAll(db: Db): { db: Db; sent: { sql: string; values: readonly unknown[] }[] } {
  const sent: { sql: string; values: readonly unknown[] }[] = [];
  return {
    sent,
    db: {
      kind: db.kind,
      query<R>(sql: string, values: readonly unknown[] = []): Promise<QueryResult<R>> {
        sent.push({ sql, values });
        return db.query<R>(sql, values);
      },
      transaction: (fn) => db.transaction(fn),
    },
  };
}

// Stays: p1–p4 live in Sala (1981), p5 in Västerås (1980); p9 lives in Sala but nobody read it.
const HOMES: [patient: string, municipality: string][] = [
  ['p1', '1981'],
  ['p2', '1981'],
  ['p3', '1981'],
  ['p4', '1981'],
  ['p5', '1980'],
  ['p9', '1981'],
];

describe.each(testDatabases())("a municipality's log review on %s", (kind) => {
  let db: ClosableDb;

  beforeAll(async () => {
    db = await openTestDb(kind);
    const repo = createRepository(db, { system: true });
    for (const [p, municipality] of HOMES) {
      await repo.update<Encounter>({
        resourceType: 'Encounter',
        id: `e-${p}`,
        status: 'in-progress',
        class: { code: 'IMP' },
        subject: { reference: `Patient/${p}` },
      });
      await storeAndLoadFactsOfStays(
        db,
        [],
        [
          {
            id: `e-${p}#1`,
            stayId: `e-${p}`,
            kind: 'admitted',
            at: '2026-11-01T08:00:00Z',
            hospital: 'H',
            care: 'somatic',
            patient: { municipality },
          },
        ],
        'hl7',
      );
    }
    // reads of p1, p5, p2, p6 (no stay), p3, p4, p1 again, a minute apart
    const read = ['p1', 'p5', 'p2', 'p6', 'p3', 'p4', 'p1'];
    for (const [i, p] of read.entries())
      await repo.create<AuditEvent>({
        resourceType: 'AuditEvent',
        type: { code: 'rest' },
        action: 'R',
        recorded: new Date(Date.UTC(2026, 10, 2, 8, i)).toISOString(),
        outcome: '0',
        agent: [{ requestor: true, who: { identifier: { value: 'reader' } } }],
        source: { observer: { display: 'test' } },
        entity: [{ what: { reference: `Patient/${p}` }, role: { code: '1' } }],
      });
  }, 60_000);
  afterAll(async () => db.close());

  it("when a municipality's accesses are reviewed, then only the read patients' stays are looked up, and only its residents come", async () => {
    const rec = recordingAll(db);
    const rows = await reviewAccess(rec.db, { municipality: '1981', limit: 1000 });
    expect(rows.map((r) => r.patient)).toEqual(['Patient/p1', 'Patient/p4', 'Patient/p3', 'Patient/p2', 'Patient/p1']);
    // the residency read names the patients it asks about: not every stay the municipality ever had
    const residency = rec.sent.filter((s) => s.sql.includes('stay_fact'));
    expect(residency.length).toBeGreaterThan(0);
    const asked = JSON.stringify(residency.map((s) => s.values));
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) expect(asked).toContain(p);
    expect(asked).not.toContain('p9');
  });

  it('when the rows are looked up a few at a time, then the review is the same, up to its limit', async () => {
    const whole = await reviewAccess(db, { municipality: '1981', limit: 1000 });
    for (const batch of [1, 2, 3]) {
      expect(await reviewAccess(db, { municipality: '1981', limit: 1000 }, batch)).toEqual(whole);
      expect(await reviewAccess(db, { municipality: '1981', limit: 3 }, batch)).toEqual(whole.slice(0, 3));
    }
    expect((await reviewAccess(db, { municipality: '1980', limit: 1000 }, 2)).map((r) => r.patient)).toEqual([
      'Patient/p5',
    ]);
  });
});
