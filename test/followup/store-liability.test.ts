import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { computeLiability } from '../../src/core/liability/compute-liability';
import { paymentModelSchema } from '../../src/core/liability/payment-model';
import type { StayFact } from '../../src/core/stay/facts';
import { liabilityFromStore, reportLiability, whatIfFromStore } from '../../src/followup/liability/store-liability';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { ClosableDb } from '../../src/store/db.port';
import { rates } from '../core/liability/helpers';
import { openTestDb, testDatabases } from '../support/db';
import { factsOf, fileLineOf, syntheticYear } from './synthetic-stays';

const AGREEMENTS = ['lag', 'gavleborg', 'vastmanland', 'jonkoping', 'stockholm'];
const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, '0')}`);

const sortById = <T extends { id: string }>(xs: T[]): T[] => [...xs].sort((a, b) => a.id.localeCompare(b.id));

async function insertFacts(db: ClosableDb, facts: StayFact[]) {
  for (let i = 0; i < facts.length; i += 2000) {
    const chunk = facts.slice(i, i + 2000);
    await storeAndLoadFactsOfStays(db, [], chunk, 'hl7');
  }
}

describe.each(testDatabases())('payment liability from the stored stays on %s', (kind) => {
  let db: ClosableDb;
  let agreements: Map<string, Agreement>;
  const year = syntheticYear(2022, 500);

  beforeAll(async () => {
    db = await openTestDb(kind);
    agreements = await loadAgreements();
    await insertFacts(db, year.flatMap(factsOf));
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it.each(AGREEMENTS)(
    'when a year of stays is stored under %s, then every month bills as the file mode does',
    async (id) => {
      const agreement = agreements.get(id)!;
      const payment = paymentModelSchema.parse(agreement.payment);
      const file = year.map(fileLineOf);
      let billed = 0;
      for (const month of MONTHS) {
        const expected = computeLiability({ agreement: id, month, payment, stays: file, rates });
        const got = await liabilityFromStore({ db, agreements, rates }, { agreement: id, month });
        // the store's answer adds each municipality's name and each stay's facts to what the file mode gives
        const strip = got.municipalities.map(({ name: _n, ...m }) => ({
          ...m,
          stays: sortById(m.stays.map(({ facts: _f, ...s }) => s)),
        }));
        const want = expected.municipalities.map((m) => ({ ...m, stays: sortById(m.stays) }));
        expect(strip, `${id} ${month}`).toEqual(want);
        expect(got.excluded).toEqual([]);
        billed += got.municipalities.reduce((a, m) => a + m.amount, 0);
      }
      expect(billed).toBeGreaterThan(0);
    },
    60_000,
  );

  it('when Jönköping bills March 2022 from the store, then seed 003 kommun A–D come out as in the seed', async () => {
    const r = await liabilityFromStore({ db, agreements, rates }, { agreement: 'jonkoping', month: '2022-03' });
    const by = Object.fromEntries(r.municipalities.map((m) => [m.municipality, m]));
    expect(by['0601']).toMatchObject({ days: 0, amount: 0 });
    expect(by['0602']).toMatchObject({ days: 7, amount: 65_100 });
    expect(by['0603']).toMatchObject({ days: 6, amount: 55_800 });
    expect(by['0604']).toMatchObject({ days: 49.6, amount: 461_280 });
  });

  it('when a stay was withdrawn and ready again, then its contribution lists every ready notice and the withdrawal', async () => {
    const s = year.find((x) => x.withdrawn && !x.categoryB)!;
    const month = new Date(s.dischargedAt).toISOString().slice(0, 7);
    const r = await liabilityFromStore({ db, agreements, rates }, { agreement: 'lag', month: month });
    const stay = r.municipalities.flatMap((m) => m.stays).find((x) => x.id === s.id);
    const kinds = stay?.facts.map((f) => f.kind) ?? [];
    expect(kinds.filter((k) => k === 'ready-for-discharge')).toHaveLength(2);
    expect(kinds).toContain('ready-withdrawn');
    expect(kinds).toContain('discharged');
    // Both ready periods count: the withdrawn one up to its withdrawal (one day), then ready → discharge.
    expect(stay?.periods?.map((p) => p.endedBy)).toEqual(['withdrawn', 'discharged']);
    const first = stay?.periods?.[0];
    expect(Date.parse(first?.readyAt ?? '')).toBe(s.readyAt - 2 * 86_400_000);
    expect(Date.parse(first?.endedAt ?? '')).toBe(s.readyAt - 86_400_000);
    // One calendar day under the law, or none when the notice came after 12.00.
    expect([0, 1]).toContain(first?.days);
    expect(stay?.days).toBe((stay?.periods ?? []).reduce((a, p) => a + p.days, 0));
  });

  it('when a category B stay and one outside the target group are stored, then neither is liable', async () => {
    const b = year.find((x) => x.categoryB && x.dischargedAt - x.readyAt > 6 * 86_400_000)!;
    const month = new Date(b.dischargedAt).toISOString().slice(0, 7);
    const r = await liabilityFromStore({ db, agreements, rates }, { agreement: 'lag', month });
    const stay = r.municipalities.flatMap((m) => m.stays).find((x) => x.id === b.id)!;
    expect(stay).toMatchObject({ basis: 'not-liable', billableDays: 0 });
    expect(stay.reason).toContain('category B');
    const jk = await liabilityFromStore({ db, agreements, rates }, { agreement: 'jonkoping', month });
    expect(jk.municipalities.flatMap((m) => m.stays).find((x) => x.id === b.id)?.basis).toBe('not-liable');
  });

  it('when a late fact arrives after the month was reported, then the month shows it as a correction', async () => {
    const q = { agreement: 'lag', month: '2022-06' };
    const first = await reportLiability({ db, agreements, rates }, q, 'controller');
    expect(first.reported?.seq).toBe(1);
    const again = await liabilityFromStore({ db, agreements, rates }, q);
    expect(again.corrections).toEqual([]);
    // A stay discharged in June after 9 days, its facts arriving after the report.
    const ready = Date.UTC(2022, 5, 10, 7);
    const late = factsOf({
      ...year[0]!,
      id: 'late-1',
      municipality: '2180',
      placing: undefined,
      care: 'somatic',
      readyAt: ready,
      dischargedAt: ready + 9 * 86_400_000,
      withdrawn: false,
      estimated: true,
      sipNeeded: false,
      sipHeld: false,
      outpatientUnavailable: false,
      categoryB: false,
    });
    await insertFacts(db, late);
    const after = await liabilityFromStore({ db, agreements, rates }, q);
    const c = after.corrections.find((x) => x.municipality === '2180')!;
    expect(c.kind).toBe('debit');
    expect(c.difference).toEqual({ days: 6, amount: 6 * 9300 });
    expect(c.stays).toEqual([{ id: 'late-1', reported: 0, current: 6 }]);
    expect(after.reported).toMatchObject({ seq: 1, reportedBy: 'controller' });
    // Reporting again makes the new basis the reference: no correction left.
    await reportLiability({ db, agreements, rates }, q);
    expect((await liabilityFromStore({ db, agreements, rates }, q)).corrections).toEqual([]);
  });

  it('when March 2022 is replayed under the law instead of Jönköping, then each municipality shows both and the difference', async () => {
    const deps = { db, agreements, rates };
    const w = await whatIfFromStore(deps, { agreement: 'jonkoping', alternative: 'lag', month: '2022-03' });
    const jk = await liabilityFromStore(deps, { agreement: 'jonkoping', month: '2022-03' });
    const law = await liabilityFromStore(deps, { agreement: 'lag', month: '2022-03' });
    const d = w.municipalities.find((m) => m.municipality === '0604')!;
    expect(d.base.amount).toBe(461_280);
    expect(d.alternative.amount).toBe(law.municipalities.find((m) => m.municipality === '0604')!.amount);
    expect(d.difference.amount).toBe(Math.round((d.alternative.amount - d.base.amount) * 100) / 100);
    const total = (r: typeof jk) => r.municipalities.reduce((a, m) => a + m.amount, 0);
    expect(w.total.base).toBeCloseTo(total(jk), 2);
    expect(w.total.alternative).toBeCloseTo(total(law), 2);
    expect(w.total.difference).not.toBe(0);
  });
});
