import { describe, expect, it } from 'vitest';
import {
  computeIndicators,
  quantile,
  type IndicatorStay,
  type IndicatorTask,
  type IndicatorValue,
} from '../../src/core/indicators/compute-indicators';

const find = (vs: IndicatorValue[], indicator: string, unit: string, detail = '') =>
  vs.find((v) => v.indicator === indicator && v.unit === unit && v.detail === detail);

const stay = (over: Partial<IndicatorStay> & { stayId: string }): IndicatorStay => ({
  municipality: '1980',
  hospital: 'SE2321000016-H001',
  primaryCareUnit: 'SE2321000016-VC01',
  sipNeeded: false,
  ...over,
});

describe('indicators (pure)', () => {
  it('when stays are discharged in the month, then ready days average per municipality, hospital and vårdcentral', () => {
    const stays = [
      stay({ stayId: 'a', readyAt: '2026-11-02T09:00:00+01:00', dischargedAt: '2026-11-05T10:00:00+01:00' }),
      stay({ stayId: 'b', readyAt: '2026-11-10T15:00:00+01:00', dischargedAt: '2026-11-10T18:00:00+01:00' }),
      stay({
        stayId: 'c',
        municipality: '1983',
        readyAt: '2026-11-01T08:00:00+01:00',
        dischargedAt: '2026-11-08T08:00:00+01:00',
      }),
      // discharged in October (local time): not in November
      stay({ stayId: 'd', readyAt: '2026-10-20T08:00:00+02:00', dischargedAt: '2026-10-31T23:30:00+01:00' }),
    ];
    const vs = computeIndicators({ month: '2026-11', stays, tasks: [], deviations: [], now: '2026-12-02T00:00:00Z' });
    expect(find(vs, 'ready-days', '1980')).toMatchObject({ value: 1.5, numerator: 3, denominator: 2 });
    expect(find(vs, 'ready-days', '1983')).toMatchObject({ value: 7, denominator: 1 });
    expect(find(vs, 'ready-days', 'SE2321000016-H001')).toMatchObject({ dimension: 'hospital', value: 3.33 });
    expect(find(vs, 'ready-days', 'SE2321000016-VC01')).toMatchObject({ dimension: 'primary-care', denominator: 3 });
  });

  it('when steps have deadlines in the month, then share met, median and p90 lateness per owner and code', () => {
    const t = (id: string, deadline: string, completedAt?: string): IndicatorTask => ({
      id,
      code: 'kallelse-sip',
      owner: 'Organization/vc-1',
      deadline,
      cancelled: false,
      ...(completedAt ? { completedAt } : {}),
    });
    const tasks = [
      t('1', '2026-11-03T12:00:00Z', '2026-11-03T11:00:00Z'), // on time
      t('2', '2026-11-04T12:00:00Z', '2026-11-04T14:00:00Z'), // 2 h late
      t('3', '2026-11-05T12:00:00Z', '2026-11-05T22:00:00Z'), // 10 h late
      t('4', '2026-11-30T12:00:00Z'), // open, past the deadline at `now`: 36 h late so far
      t('5', '2026-11-30T23:00:00Z'), // open, deadline not reached: not judged
      { ...t('6', '2026-11-06T12:00:00Z'), cancelled: true },
    ];
    const vs = computeIndicators({ month: '2026-11', stays: [], tasks, deviations: [], now: '2026-12-02T00:00:00Z' });
    expect(find(vs, 'step-timeliness', 'Organization/vc-1', 'kallelse-sip')).toMatchObject({
      value: 0.25,
      numerator: 1,
      denominator: 4,
    });
    expect(find(vs, 'step-lateness-median', 'Organization/vc-1', 'kallelse-sip')?.value).toBe(10);
    expect(find(vs, 'step-lateness-p90', 'Organization/vc-1', 'kallelse-sip')?.value).toBe(36);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
  });

  it('when people 65+ come back within 30 days, then the re-admission share counts them and not the younger', () => {
    const stays = [
      stay({
        stayId: 'o1',
        patient: 'Patient/p1',
        birthDate: '1950-05-01',
        admittedAt: '2026-10-20T08:00:00Z',
        dischargedAt: '2026-11-10T08:00:00Z',
      }),
      stay({ stayId: 'o1b', patient: 'Patient/p1', birthDate: '1950-05-01', admittedAt: '2026-12-05T08:00:00Z' }),
      stay({
        stayId: 'o2',
        patient: 'Patient/p2',
        birthDate: '1940-01-01',
        admittedAt: '2026-11-01T08:00:00Z',
        dischargedAt: '2026-11-12T08:00:00Z',
      }),
      stay({ stayId: 'o2b', patient: 'Patient/p2', birthDate: '1940-01-01', admittedAt: '2026-12-20T08:00:00Z' }), // 38 days
      stay({
        stayId: 'y1',
        patient: 'Patient/p3',
        birthDate: '1990-01-01',
        admittedAt: '2026-11-01T08:00:00Z',
        dischargedAt: '2026-11-02T08:00:00Z',
      }),
      stay({ stayId: 'y1b', patient: 'Patient/p3', birthDate: '1990-01-01', admittedAt: '2026-11-03T08:00:00Z' }),
    ];
    const vs = computeIndicators({ month: '2026-11', stays, tasks: [], deviations: [], now: '2026-12-31T00:00:00Z' });
    expect(find(vs, 'readmission-30d-65plus', '1980')).toMatchObject({ value: 0.5, numerator: 1, denominator: 2 });
  });

  it('when SIPs are needed, then the share held by the invitation deadline is given', () => {
    const base = { sipNeeded: true, readyAt: '2026-11-01T08:00:00Z', dischargedAt: '2026-11-20T08:00:00Z' };
    const stays = [
      stay({ stayId: 's1', ...base, sipDue: '2026-11-05T08:00:00Z', sipMeetingAt: '2026-11-04T08:00:00Z' }),
      stay({ stayId: 's2', ...base, sipDue: '2026-11-05T08:00:00Z', sipMeetingAt: '2026-11-07T08:00:00Z' }),
      stay({ stayId: 's3', ...base, sipDue: '2026-11-05T08:00:00Z' }),
    ];
    const vs = computeIndicators({ month: '2026-11', stays, tasks: [], deviations: [], now: '2026-12-01T00:00:00Z' });
    expect(find(vs, 'sip-within-deadline', '1980')).toMatchObject({ value: 0.33, numerator: 1, denominator: 3 });
  });
});
