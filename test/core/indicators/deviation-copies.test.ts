import { describe, expect, it } from 'vitest';
import { computeIndicators, type IndicatorTask } from '../../../src/core/indicators/compute-indicators';

/** A deviation goes to every principal (owner, requester, region, municipality): one missed step counts once. */
describe('deviation indicator with one copy per principal', () => {
  const copy = (id: string, owner: string, missedTask: string): IndicatorTask => ({
    id,
    code: 'avvikelse',
    owner,
    cancelled: false,
    responsible: 'Organization/vc-1',
    missedCode: 'utse-fast-vardkontakt',
    missedTask,
  });

  it('when three principals each got a copy of one missed step and one of another, then the count is 2', () => {
    const deviations = [
      copy('d1', 'Organization/vc-1', 't1'),
      copy('d2', 'Organization/hospital', 't1'),
      copy('d3', 'Organization/kommun-1980', 't1'),
      copy('d4', 'Organization/vc-1', 't2'),
    ];
    const vs = computeIndicators({ month: '2026-11', stays: [], tasks: [], deviations, now: '2026-12-01T00:00:00Z' });
    const v = vs.find((x) => x.indicator === 'deviations' && x.unit === 'Organization/vc-1');
    expect(v?.value).toBe(2);
  });
});
