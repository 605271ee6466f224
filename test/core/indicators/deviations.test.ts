/**
 * What a deviation is for the follow-up (src/core/indicators/deviations.ts): each counted once however many copies,
 * against the responsible party and the duty's kind, in the local month (Europe/Stockholm) it occurred; a party sees
 * those it holds a copy of.
 */
import { describe, expect, it } from 'vitest';
import { computeIndicators } from '../../../src/core/indicators/compute-indicators';
import {
  deviationMonth,
  deviationsPerMonth,
  localMonthWindow,
  summariseDeviations,
  visibleTo,
  type Deviation,
} from '../../../src/core/indicators/deviations';

const VC = 'Organization/vc-1';
const KOMMUN = 'Organization/kommun-1980';
const HOSPITAL = 'Organization/hospital';

const dev = (key: string, at: string, responsible: string, kind: string, holders: string[]): Deviation => ({
  key,
  source: key.startsWith('report:') ? 'report' : 'deadline',
  at,
  responsible,
  kind,
  holders,
});

const LIST = [
  dev('deadline:t1/deviation', '2026-11-03T10:00:00Z', VC, 'utse-fast-vardkontakt', [VC, HOSPITAL]),
  dev('deadline:t2/deviation', '2026-11-10T10:00:00Z', VC, 'utse-fast-vardkontakt', [VC, KOMMUN]),
  dev('report:r1', '2026-11-12T10:00:00Z', HOSPITAL, 'informationsoverforing', [HOSPITAL, KOMMUN, VC]),
  // 00:30 on 1 December in Stockholm: December's, though it is still 30 November in UTC.
  dev('deadline:t3/deviation', '2026-11-30T23:30:00Z', KOMMUN, 'utskrivningsklar', [KOMMUN, HOSPITAL]),
  // 00:30 on 1 November in Stockholm (31 October in UTC): November's.
  dev('report:r2', '2026-10-31T23:30:00Z', KOMMUN, 'annan', [KOMMUN, HOSPITAL]),
];

describe('deviations (pure)', () => {
  it('when a deviation occurs just after local midnight at a month end, then it counts in the local month', () => {
    expect(LIST.map(deviationMonth)).toEqual(['2026-11', '2026-11', '2026-11', '2026-12', '2026-11']);
    expect(localMonthWindow('2026-11')).toEqual({
      from: new Date('2026-10-31T23:00:00Z'),
      to: new Date('2026-11-30T23:00:00Z'),
    });
    expect(localMonthWindow('2026-12').to).toEqual(new Date('2026-12-31T23:00:00Z'));
    expect(deviationsPerMonth(['2026-10', '2026-11', '2026-12'], LIST)).toEqual([0, 4, 1]);
  });

  it('when the same deviation is read twice, then it counts once', () => {
    expect(deviationsPerMonth(['2026-11'], [...LIST, ...LIST])).toEqual([4]);
    expect(summariseDeviations([...LIST, LIST[0]!]).total).toBe(5);
  });

  it('when summarised, then per responsible party and kind, and per source', () => {
    const s = summariseDeviations(LIST);
    expect(s.bySource).toEqual({ deadline: 3, report: 2 });
    expect(s.parties).toEqual([
      { party: HOSPITAL, total: 1, byCode: { informationsoverforing: 1 } },
      { party: KOMMUN, total: 2, byCode: { utskrivningsklar: 1, annan: 1 } },
      { party: VC, total: 2, byCode: { 'utse-fast-vardkontakt': 2 } },
    ]);
  });

  it('when a party looks, then it sees the deviations it holds a copy of; the region sees all', () => {
    expect(LIST.filter((d) => visibleTo(d, [KOMMUN])).map((d) => d.key)).toEqual([
      'deadline:t2/deviation',
      'report:r1',
      'deadline:t3/deviation',
      'report:r2',
    ]);
    expect(LIST.filter((d) => visibleTo(d)).length).toBe(5);
  });

  it('when the indicator is computed, then the month’s deviations count per responsible party and kind', () => {
    const vs = computeIndicators({
      month: '2026-11',
      stays: [],
      tasks: [],
      deviations: LIST,
      now: '2026-12-05T00:00:00Z',
    });
    const counts = Object.fromEntries(
      vs.filter((v) => v.indicator === 'deviations').map((v) => [`${v.unit} ${v.detail}`, v.value]),
    );
    expect(counts).toEqual({
      [`${VC} utse-fast-vardkontakt`]: 2,
      [`${HOSPITAL} informationsoverforing`]: 1,
      [`${KOMMUN} annan`]: 1,
    });
  });
});
