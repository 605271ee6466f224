/**
 * The dashboard's ready-days chart, summed in the database from the stays' summaries (local months and calendar
 * days in Europe/Stockholm in SQL), against the same worked out in this process from the drill-down's stays with
 * the core's rule (`readyDaysAt`): a synthetic year, plus stays whose ready notice or discharge is just after local
 * midnight on the days the clocks change and at the turn of a month.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { readyDaysAt } from '../../src/core/indicators/compute-indicators';
import {
  dischargeMonth,
  readyDaysSeries,
  type DashboardStay,
  type ReadyDaysCell,
} from '../../src/core/indicators/dashboard-series';
import { dashboardData, dashboardStays } from '../../src/followup/dashboard/dashboard-data.pg';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';
import { factsOf, syntheticYear, type SyntheticStay } from './synthetic-stays';

/** The agreement the dashboard reads under (Västmanland's, with its readiness gate). */
const VASTMANLAND = getAgreement(await loadAgreements(), 'vastmanland');

const edge = (id: string, readyAt: string, dischargedAt: string): SyntheticStay => ({
  id,
  municipality: '2580',
  care: 'somatic',
  readyAt: Date.parse(readyAt),
  dischargedAt: Date.parse(dischargedAt),
  withdrawn: false,
  estimated: false,
  sipNeeded: false,
  sipHeld: false,
  outpatientUnavailable: false,
  categoryB: false,
});

/** 00:30 local time after the spring and autumn changes, a discharge at 00:30 on 1 February, and a
 * notice at 23:59 on 30 June with the discharge two minutes later (on 1 July). */
const EDGES = [
  edge('edge-spring', '2022-03-26T23:30:00Z', '2022-03-27T22:30:00Z'),
  edge('edge-autumn', '2022-10-29T22:30:00Z', '2022-10-30T23:30:00Z'),
  edge('edge-month', '2022-01-29T10:00:00Z', '2022-01-31T23:30:00Z'),
  edge('edge-same-day', '2022-06-30T21:59:00Z', '2022-06-30T22:01:00Z'),
];

/** The cells the database sums for the chart, here from the stays themselves with the core's rule. */
function readyDaysCells(stays: readonly DashboardStay[]): ReadyDaysCell[] {
  const cells = new Map<string, ReadyDaysCell>();
  for (const s of stays) {
    const month = dischargeMonth(s);
    const key = `${s.municipality} ${month}`;
    let c = cells.get(key);
    if (!c) cells.set(key, (c = { municipality: s.municipality, month, days: 0, stays: 0 }));
    c.days += readyDaysAt(s.readyMs, s.dischargedMs);
    c.stays += 1;
  }
  return [...cells.values()];
}

describe.each(testDatabases())('dashboard ready days on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
    const facts = [...syntheticYear(2022, 800), ...EDGES].flatMap(factsOf);
    for (let i = 0; i < facts.length; i += 2000)
      await storeAndLoadFactsOfStays(db, [], facts.slice(i, i + 2000), 'hl7');
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it('when the year is summed in the database, then every point equals its stays worked out with the core rule', async () => {
    const data = await dashboardData(db, VASTMANLAND, '2022-12', 12);
    expect(data.readyDays.length).toBeGreaterThan(5);
    // Every stay behind every point (the drill-down), with the core's ready days, summed by the core.
    const stays: DashboardStay[] = [];
    for (const series of data.readyDays) {
      for (const month of data.months) {
        for (const s of await dashboardStays(db, VASTMANLAND, series.municipality, month)) {
          const stay = {
            stayId: s.stayId,
            municipality: s.municipality,
            readyMs: Date.parse(s.readyAt),
            dischargedMs: Date.parse(s.dischargedAt),
          };
          expect(s.readyDays, s.stayId).toBe(readyDaysAt(stay.readyMs, stay.dischargedMs));
          stays.push(stay);
        }
      }
    }
    expect(stays.length).toBeGreaterThan(500);
    expect(data.readyDays).toEqual(readyDaysSeries(data.months, readyDaysCells(stays)));
    // The edges: local calendar days, and the local month of a discharge at 00:30 on 1 February.
    const edges = data.readyDays.find((s) => s.municipality === '2580');
    expect(edges?.stays).toEqual([0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(edges?.readyDays).toEqual([null, 3, 1, null, null, null, 1, null, null, 1, null, null]);
  });
});
