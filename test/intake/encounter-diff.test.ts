import type { Encounter } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { EXTENSION } from '../../src/fhir/constants';
import { factsFromEncounterChange } from '../../src/intake/fhir/encounter-diff';

const base: Encounter = {
  resourceType: 'Encounter',
  id: 'e1',
  meta: { versionId: '2', lastUpdated: '2026-01-16T08:00:00Z' },
  status: 'in-progress',
  class: { code: 'IMP' },
  period: { start: '2026-01-15T09:30:00Z' },
  serviceProvider: { identifier: { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0001' } },
  location: [{ location: { identifier: { value: 'MED21' } } }],
};
const ctx = { routing: { municipality: '1980' }, now: '2026-01-16T08:00:00Z' };
const kinds = (before: Encounter | undefined, after: Encounter) =>
  factsFromEncounterChange(before, after, ctx).map((f) => f.kind);
const ext = (url: string, v: Partial<NonNullable<Encounter['extension']>[number]>) => ({ url, ...v });

describe('Encounter version diff → stay facts', () => {
  const rows: [string, Encounter | undefined, Encounter, string[]][] = [
    ['created in progress', undefined, base, ['admitted']],
    ['created planned', undefined, { ...base, status: 'planned' }, []],
    ['start moved', base, { ...base, period: { start: '2026-01-15T10:00:00Z' } }, ['admitted']],
    ['ward changed', base, { ...base, location: [{ location: { identifier: { value: 'KIR45' } } }] }, ['transferred']],
    [
      'needs set',
      base,
      { ...base, extension: [ext(EXTENSION.needs, { valueCoding: { code: 'socialtjanst' } })] },
      ['needs-assessed'],
    ],
    [
      'estimated date set',
      base,
      { ...base, extension: [ext(EXTENSION.estimatedDischargeDate, { valueDateTime: '2026-01-24' })] },
      ['estimated-discharge-set'],
    ],
    [
      'ready set',
      base,
      { ...base, extension: [ext(EXTENSION.readyForDischarge, { valueDateTime: '2026-01-17T09:00:00Z' })] },
      ['ready-for-discharge'],
    ],
    [
      'ready removed',
      { ...base, extension: [ext(EXTENSION.readyForDischarge, { valueDateTime: '2026-01-17T09:00:00Z' })] },
      base,
      ['ready-withdrawn'],
    ],
    ['to onleave', base, { ...base, status: 'onleave' }, ['leave-started']],
    ['back from leave', { ...base, status: 'onleave' }, base, ['leave-ended']],
    [
      'finished',
      base,
      { ...base, status: 'finished', period: { ...base.period, end: '2026-01-20T13:00:00Z' } },
      ['discharged'],
    ],
    ['discharge taken back', { ...base, status: 'finished' }, base, ['discharge-cancelled']],
    ['cancelled', base, { ...base, status: 'cancelled' }, ['admission-cancelled']],
    ['entered-in-error', base, { ...base, status: 'entered-in-error' }, ['admission-cancelled']],
    ['no change', base, base, []],
  ];
  it.each(rows)('when %s, then the facts are %j', (_name, before, after, expected) => {
    expect(kinds(before, after)).toEqual(expected);
  });

  it('when admitted, then the fact carries hospital HSA-id, ward and routing, with an id naming the version', () => {
    const [f] = factsFromEncounterChange(undefined, base, ctx);
    expect(f).toMatchObject({
      id: 'fhir:Encounter/e1/_history/2#admitted',
      at: '2026-01-15T09:30:00Z',
      hospital: 'SE2321000172-DEMO0001',
      ward: 'MED21',
      patient: { municipality: '1980' },
    });
  });

  it('when discharged, then the fact is at period.end', () => {
    const f = factsFromEncounterChange(
      base,
      { ...base, status: 'finished', period: { ...base.period, end: '2026-01-20T13:00:00Z' } },
      ctx,
    );
    expect(f[0]?.at).toBe('2026-01-20T13:00:00Z');
  });

  it('when a criterion the Encounter holds is removed and given again, then the version that gives it again reports it (the information transfer after a re-routing)', () => {
    const transferred = {
      ...base,
      extension: [ext(EXTENSION.readinessCriteria, { valueCode: 'informationsoverforing' })],
    };
    const removed = { ...base, meta: { versionId: '3', lastUpdated: '2026-01-16T10:00:00Z' } };
    const again = { ...transferred, meta: { versionId: '4', lastUpdated: '2026-01-16T11:00:00Z' } };
    expect(kinds(transferred, { ...transferred, meta: again.meta })).toEqual([]);
    expect(kinds(transferred, removed)).toEqual([]);
    expect(factsFromEncounterChange(removed, again, ctx)).toMatchObject([
      {
        id: 'fhir:Encounter/e1/_history/4#criteria',
        at: '2026-01-16T11:00:00Z',
        kind: 'readiness-criteria-met',
        criteria: ['information-transferred'],
      },
    ]);
  });
});
