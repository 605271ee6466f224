import { describe, expect, it } from 'vitest';
import type { Need, PatientCategory, ReadinessCriterion } from '../../../src/core/stay/facts';
import {
  categorize,
  isReady,
  missingCriteria,
  READINESS_CRITERIA,
  triageColour,
  type PlanningAnswers,
  type TriageColour,
} from '../../../src/core/triage';

describe('patient categories A–E from the needs (002)', () => {
  const rows: [Need[], PatientCategory, string][] = [
    [[], 'A', 'no needs → A, outside the law'],
    [['ingen'], 'A', 'needs "ingen" → A'],
    [['oppenvard'], 'B', 'region outpatient care only → B'],
    [['socialtjanst'], 'C', 'social services only → C'],
    [['kommunal-hsl'], 'D', 'municipal home health care only → D'],
    [['oppenvard', 'kommunal-hsl'], 'D', 'home health care always involves outpatient care (law 2 kap. 1–2 §) → D'],
    [['oppenvard', 'socialtjanst'], 'B+C', 'region outpatient + social services → B+C'],
    [['socialtjanst', 'kommunal-hsl'], 'C+D', 'social services + home health care → C+D'],
    [['socialtjanst', 'kommunal-hsl', 'oppenvard'], 'C+D', 'all three → C+D'],
    [['ingen', 'socialtjanst'], 'C', '"ingen" beside a real need is ignored'],
  ];
  it.each(rows)('when the needs are %j, then the category is %s (002: %s)', (needs, cat) => {
    expect(categorize(needs)).toBe(cat);
  });

  it('when the arrival talk set the category explicitly (E, special housing), then it wins over the needs (002)', () => {
    expect(categorize(['socialtjanst', 'kommunal-hsl'], 'E')).toBe('E');
    expect(categorize([], 'B')).toBe('B');
  });
});

describe('colour triage of the planning answers (002, guidance only)', () => {
  const rows: [string, PlanningAnswers, TriageColour, string | undefined][] = [
    ['only social services', { needs: ['socialtjanst'], change: 'new-or-changed', extensive: true }, 'blue', undefined],
    ['unchanged existing services, no SIP', { needs: ['kommunal-hsl'], change: 'unchanged' }, 'green', 'upprätta'],
    [
      'unchanged existing services with a SIP',
      { needs: ['kommunal-hsl'], change: 'unchanged', hasSip: true },
      'green',
      'uppdatera',
    ],
    [
      'new or changed services',
      { needs: ['socialtjanst', 'kommunal-hsl'], change: 'new-or-changed' },
      'yellow',
      '1–6 dagar',
    ],
    [
      'extensive new services',
      { needs: ['socialtjanst', 'kommunal-hsl'], change: 'new-or-changed', extensive: true },
      'red',
      'direkt anslutning',
    ],
    ['extensive but unchanged', { needs: ['kommunal-hsl'], change: 'unchanged', extensive: true }, 'green', undefined],
  ];
  it.each(rows)('when %s, then the colour is %s', (_label, answers, colour, text) => {
    const r = triageColour(answers);
    expect(r.colour).toBe(colour);
    if (text) expect(r.advice).toContain(text);
  });

  it('when the colour is given, then the SIP timing follows 002 (blue none, green 1–3 weeks after, yellow 1–6 days, red at once)', () => {
    expect(triageColour({ needs: ['socialtjanst'], change: 'unchanged' })).toMatchObject({ sip: 'none' });
    expect(triageColour({ needs: ['oppenvard'], change: 'unchanged' })).toMatchObject({
      sip: 'after-discharge',
      window: { fromDays: 7, toDays: 21 },
    });
    expect(triageColour({ needs: ['oppenvard'], change: 'new-or-changed' })).toMatchObject({
      sip: 'near-discharge',
      window: { fromDays: 1, toDays: 6 },
    });
    expect(triageColour({ needs: ['oppenvard'], change: 'new-or-changed', extensive: true })).toMatchObject({
      sip: 'at-discharge-or-ward',
    });
  });
});

describe('the six ready-for-discharge criteria (001 §3)', () => {
  const all = READINESS_CRITERIA.map((c) => c.id);
  it('when the criteria are listed, then there are six in the agreement order', () => {
    expect(all).toEqual([
      'physician-assessed',
      'written-information',
      'fvk-appointed',
      'information-transferred',
      'assistive-devices',
      'medication-list',
    ]);
  });
  it.each(all)(
    'when every criterion except %s holds, then exactly that one is missing and the patient is not ready',
    (c) => {
      const met = all.filter((x) => x !== c);
      expect(missingCriteria(all, met)).toEqual([c]);
      expect(isReady(all, met)).toBe(false);
    },
  );
  it('when all six hold, then nothing is missing and the ready status can activate', () => {
    expect(missingCriteria(all, all)).toEqual([]);
    expect(isReady(all, all)).toBe(true);
  });
  it('when none hold, then all six are missing in order', () => {
    expect(missingCriteria(all, [] as ReadinessCriterion[])).toEqual(all);
  });
});
