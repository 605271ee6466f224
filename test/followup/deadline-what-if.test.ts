import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import type { StayEvaluation, TaskSpec } from '../../src/core/engine/types';
import { compareDeadlines, judge } from '../../src/core/indicators/deadline-what-if';
import { deadlineWhatIf } from '../../src/followup/what-if/deadline-what-if.pg';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { factsOf, syntheticYear } from './synthetic-stays';

const task = (code: string, over: Partial<TaskSpec>): TaskSpec =>
  ({
    key: `${code}-${Math.random()}`,
    code,
    owner: { kind: 'municipality', code: '1980' },
    requester: { kind: 'hospital', hsaId: 'H' },
    authoredOn: '2026-12-01T08:00:00Z',
    status: 'requested',
    ...over,
  }) as TaskSpec;
const evaluation = (tasks: TaskSpec[]) => ({ tasks }) as unknown as StayEvaluation;

describe('deadlines what-if (pure)', () => {
  it('when the same acts are judged under two deadlines, then met, missed and open follow each deadline', () => {
    const acks = new Map([['inskrivningsmeddelande|municipality', '2026-12-01T20:00:00Z']]);
    const now = '2026-12-03T08:00:00Z';
    const base = judge(
      evaluation([
        task('inskrivningsmeddelande', { due: '2026-12-02T08:00:00Z' }),
        task('kallelse-sip', { due: '2026-12-04T08:00:00Z' }),
        task('utskrivningsklar', {
          owner: { kind: 'hospital', hsaId: 'H' },
          due: '2026-12-01T09:00:00Z',
          metAt: '2026-12-01T08:30:00Z',
        }),
        task('avvikelse', { due: '2026-12-01T00:00:00Z' }),
        task('sip-uppfoljning', {}),
      ]),
      acks,
      now,
    );
    const alt = judge(
      evaluation([
        task('inskrivningsmeddelande', { due: '2026-12-01T12:00:00Z' }),
        task('kallelse-sip', { due: '2026-12-02T08:00:00Z' }),
        task('utskrivningsklar', {
          owner: { kind: 'hospital', hsaId: 'H' },
          due: '2026-12-01T08:10:00Z',
          metAt: '2026-12-01T08:30:00Z',
        }),
      ]),
      acks,
      now,
    );
    expect(base.map((x) => x.status)).toEqual(['met', 'open', 'met', 'no-deadline']);
    expect(alt.map((x) => x.status)).toEqual(['missed', 'missed', 'missed']);
    const rows = compareDeadlines([{ base, alternative: alt }]);
    expect(rows.at(-1)).toEqual({
      code: '*',
      base: { met: 2, missed: 0, open: 1, noDeadline: 1 },
      alternative: { met: 0, missed: 3, open: 0, noDeadline: 0 },
      difference: { met: -2, missed: 3 },
    });
    expect(rows.find((r) => r.code === 'kallelse-sip')?.difference).toEqual({ met: 0, missed: 1 });
  });
});

describe.each(testDatabases())('deadlines what-if from the store on %s', (kind) => {
  let db: ClosableDb;
  let agreements: Map<string, Agreement>;
  const year = syntheticYear(2022, 120);

  beforeAll(async () => {
    db = await openTestDb(kind);
    agreements = await loadAgreements({ extraDir: 'test/fixtures/agreements' });
    await storeAndLoadFactsOfStays(db, [], year.flatMap(factsOf), 'hl7');
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it('when March is replayed under itself and under fast-demo, then the rows add up and replaying itself differs nowhere', async () => {
    const vm = agreements.get('vastmanland')!;
    const now = new Date('2022-03-31T22:00:00Z');
    const same = await deadlineWhatIf(db, vm, vm, '2022-03', now);
    expect(same.stays).toBeGreaterThan(0);
    for (const r of same.rows) expect(r.difference).toEqual({ met: 0, missed: 0 });
    const fast = await deadlineWhatIf(db, vm, agreements.get('fast-demo')!, '2022-03', now);
    expect(fast).toMatchObject({
      agreement: 'vastmanland',
      alternative: 'fast-demo',
      month: '2022-03',
      stays: same.stays,
    });
    const total = fast.rows.find((r) => r.code === '*')!;
    const sum = (k: 'met' | 'missed') =>
      fast.rows.filter((r) => r.code !== '*').reduce((a, r) => a + r.alternative[k], 0);
    expect(total.alternative.met).toBe(sum('met'));
    expect(total.alternative.missed).toBe(sum('missed'));
    expect(total.base.met).toBeGreaterThan(0);
  });
});
