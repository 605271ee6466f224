import type { Patient, Resource, Task } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { appendIndexRows, dateRange, indexRows, namedIndexRows, type IndexColumns } from '../../src/store/index-rows';

const rowsOf = (r: ReturnType<typeof indexRows>) =>
  r.param.map((p, i) => [p, r.system[i], r.value[i], r.lo[i], r.hi[i]].join(' | ')).sort();

describe('search index rows', () => {
  it('when a date is given at any precision, then its range covers exactly that period, also when asked again', () => {
    expect(dateRange('2026')).toEqual(['2026-01-01T00:00:00.000Z', '2026-12-31T23:59:59.999Z']);
    expect(dateRange('2026-02')).toEqual(['2026-02-01T00:00:00.000Z', '2026-02-28T23:59:59.999Z']);
    expect(dateRange('2026-02-03')).toEqual(['2026-02-03T00:00:00.000Z', '2026-02-03T23:59:59.999Z']);
    expect(dateRange('2026-02-03T10:15+01:00')).toEqual(['2026-02-03T09:15:00.000Z', '2026-02-03T09:15:59.999Z']);
    expect(dateRange('2026-02-03T10:15:30Z')).toEqual(['2026-02-03T10:15:30.000Z', '2026-02-03T10:15:30.999Z']);
    expect(dateRange('2026-02-03T10:15:30.250Z')).toEqual(['2026-02-03T10:15:30.250Z', '2026-02-03T10:15:30.250Z']);
    expect(dateRange('2026-02-03T10:15:30.250Z')).toEqual(['2026-02-03T10:15:30.250Z', '2026-02-03T10:15:30.250Z']);
    expect(dateRange('yesterday')).toBeUndefined();
    for (const never of ['2026-13', '2026-00-10', '2026-02-29', '2026-04-31', '2026-01-01T24:00Z', '2026-01-01T10:60Z'])
      expect(dateRange(never), never).toBeUndefined();
    expect(dateRange('2024-02-29')).toEqual(['2024-02-29T00:00:00.000Z', '2024-02-29T23:59:59.999Z']);
    expect(dateRange('yesterday')).toBeUndefined();
  });

  it('when a Task is indexed, then aliases write no rows of their own and every other value gets one row, and the (owner, status) key one', () => {
    const task: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-task', code: 'kallelse-sip' }] },
      for: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/e1' },
      owner: { reference: 'Organization/o1' },
      authoredOn: '2026-01-15T09:30:00Z',
      restriction: { period: { end: '2026-01-18T09:30:00Z' } },
    };
    expect(rowsOf(indexRows(task))).toEqual([
      'authored-on |  |  | 2026-01-15T09:30:00.000Z | 2026-01-15T09:30:00.999Z',
      'code | https://svu-gateway.dev/fhir/CodeSystem/svu-task | kallelse-sip |  | ',
      'deadline |  |  | 2026-01-18T09:30:00.000Z | 2026-01-18T09:30:00.999Z',
      'encounter | Encounter | e1 |  | ',
      'intent |  | order |  | ',
      'owner | Organization | o1 |  | ',
      // the (owner, status) key the planner may drive a work list from (search-params.ts, OWNER_STATUS)
      'owner+status | Organization | o1|requested |  | ',
      'status |  | requested |  | ',
      'subject | Patient | p1 |  | ',
    ]);
  });

  it('when a value repeats within one parameter, then it is indexed once', () => {
    const patient: Patient = {
      resourceType: 'Patient',
      name: [
        { family: 'Öberg', given: ['Åsa', 'Åsa'] },
        { family: 'Oberg', given: ['Asa'] },
      ],
    };
    const rows = indexRows(patient);
    const given = rows.param.flatMap((p, i) => (p === 'given' ? [rows.value[i]] : []));
    expect(given).toEqual(['asa']);
    const family = rows.param.flatMap((p, i) => (p === 'family' ? [rows.value[i]] : []));
    expect(family).toEqual(['oberg']);
  });

  it("when a batch's versions are indexed into one set of columns, then it holds each version's own rows in turn, and a repeat or an (owner, status) key never pairs rows of two versions", () => {
    const task = (owner: string, status: Task['status']): Task => ({
      resourceType: 'Task',
      status,
      intent: 'order',
      owner: { reference: `Organization/${owner}` },
      identifier: [{ system: 'urn:x', value: 'k' }],
    });
    const patient: Patient = { resourceType: 'Patient', name: [{ family: 'Öberg', given: ['Åsa'] }] };
    const versions: Resource[] = [task('o1', 'requested'), patient, task('o2', 'completed'), patient];
    const batch: IndexColumns = { param: [], system: [], value: [], lo: [], hi: [] };
    for (const v of versions) appendIndexRows(v, batch);
    const each = versions.map((v) => indexRows(v));
    const column = (k: keyof IndexColumns) => each.flatMap((c) => c[k]);
    expect(batch).toEqual({
      param: column('param'),
      system: column('system'),
      value: column('value'),
      lo: column('lo'),
      hi: column('hi'),
    });
    const keys = batch.value.filter((_, i) => batch.param[i] === 'owner+status');
    expect(keys).toEqual(['o1|requested', 'o2|completed']);
  });

  it('when only some parameters are asked for, then their rows are exactly those indexRows gives them', () => {
    const task: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      for: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/e1' },
      focus: { reference: 'Encounter/e1' },
      owner: { reference: 'Organization/o1' },
      authoredOn: '2026-12-07T10:00:00Z',
    };
    const names = ['subject', 'encounter', 'focus'];
    const wanted = rowsOf(indexRows(task)).filter((r) => names.includes(r.split(' | ')[0] ?? ''));
    expect(rowsOf(namedIndexRows(task, names))).toEqual(wanted);
    expect(wanted).toHaveLength(3);
  });
});
