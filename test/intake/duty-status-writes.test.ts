import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encounter, Task } from '@medplum/fhirtypes';
import type { CaseOverview } from '../../src/case-overview/case-overview';
import { taskRowOf } from '../../src/deadlines/task-sync';
import { CODE_SYSTEM, EXTENSION } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { testDatabases } from '../support/db';
import { codeOf, HOSPITAL, ok, SKULTUNA, VASTERAS, withExtensions } from '../sip/party-client';
import { diagnostics, openDutyWrites, refused, type DutyWrites } from './duty-writes-fixture';
import { isDuty } from './harness';

/**
 * The party that must act owns the duty, and nobody makes a duty look met without doing it. The hospital's duties are
 * met by its messages (the information transfer by its report, completing that duty), never rejected; the outpatient
 * unit's Tasks are answered by the unit, not by the hospital that requested them; and readiness criterion 3 comes from
 * the unit's own write alone, not from the hospital's or an admin's. A duty closed by a status alone keeps its deadline.
 */
describe.each(testDatabases())('who may close a duty over FHIR on %s', (kind) => {
  let w: DutyWrites;
  let c: DutyWrites['c'];
  let encounter: Encounter;

  const tasks = () => c['demo-ehr']!.tasks({ encounter: `Encounter/${encounter.id}` });
  const one = async (code: string, owner: string, duty = false): Promise<Task> => {
    const found = (await tasks()).find(
      (t) => codeOf(t) === code && isDuty(t) === duty && (duty ? t.requester : t.owner)?.reference === owner,
    );
    if (!found) throw new Error(`no ${duty ? 'duty' : 'Task'} ${code} for ${owner}`);
    return found;
  };
  const transferDuty = (to: string) => one('informationsoverforing', to, true);
  const fvkTask = () => one('utse-fast-vardkontakt', SKULTUNA);
  const readyNotices = async (): Promise<Task[]> =>
    (await tasks()).filter((t) => codeOf(t) === 'utskrivningsklar' && !isDuty(t) && t.status !== 'cancelled');
  const missing = async (): Promise<string[]> => {
    const o = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${encounter.id}/$overview`)) as unknown as CaseOverview;
    return o.readiness.missing.map((x) => x.code).sort();
  };
  const facts = (like: string): Promise<number> => w.facts(encounter.id ?? '', like);
  const refusal = (r: { status: number; body: unknown }): string => diagnostics(refused(r));
  const who = {
    type: { coding: [{ system: CODE_SYSTEM.taskOutput, code: 'fast-vardkontakt' }] },
    valueString: 'Anna Berg, distriktssköterska, 021-10 20 30',
  };

  beforeAll(async () => {
    w = await openDutyWrites(kind, 'duty-admin');
    c = w.c;
    encounter = await w.admit('duty-status-1', '194001011230', new Date(Date.now() - 2 * 86_400_000).toISOString());
    // ready, but for the named care contact and the information transfer: Västmanland's gate holds the notice back
    const criteria = ['lakarbedomning', 'skriftlig-information', 'hjalpmedel', 'lakemedelslista'];
    const ready = [
      ...stayExtensions({ readyAt: new Date(Date.now() - 86_400_000).toISOString() }),
      ...criteria.map((code) => ({ url: EXTENSION.readinessCriteria, valueCode: code })),
    ];
    encounter = ok(
      await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, withExtensions(encounter, ready)),
    ) as Encounter;
    // discharged an hour ago: the information transfer is due by the end of the day (its duty has a deadline)
    const end = new Date(Date.now() - 3_600_000).toISOString();
    const discharged = { ...encounter, status: 'finished' as const, period: { ...encounter.period, end } };
    encounter = ok(await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, discharged)) as Encounter;
  });
  afterAll(async () => {
    await w?.shell.close();
  });

  it('when the hospital rejects its information transfer duty, then it is refused: the duty stays open and its deadline runs', async () => {
    const duty = await transferDuty(VASTERAS);
    expect(duty).toMatchObject({ status: 'requested', owner: { reference: HOSPITAL } });
    expect(duty.restriction?.period?.end).toBeDefined();
    const text = refusal(await c['demo-ehr']!.put(`/fhir/Task/${duty.id}`, { ...duty, status: 'rejected' }));
    expect(text).toContain('cannot be rejected');
    // acknowledging it is harmless: still open, its deadline still runs
    const accepted = ok(await c['demo-ehr']!.put(`/fhir/Task/${duty.id}`, { ...duty, status: 'accepted' })) as Task;
    expect(accepted.status).toBe('accepted');
    expect(taskRowOf(accepted, 'vastmanland').open).toBe(true);
    const stored = await transferDuty(VASTERAS);
    expect(stored.status).toBe('accepted');
    expect(taskRowOf(stored, 'vastmanland').open).toBe(true);
  });

  it('when the hospital completes or names on the unit’s FVK Task or completes its SIP invitation Task, then each is refused and no criterion 3', async () => {
    const fvk = await fvkTask();
    expect(fvk).toMatchObject({ status: 'requested', requester: { reference: HOSPITAL } });
    const completed = refusal(await c['demo-ehr']!.put(`/fhir/Task/${fvk.id}`, { ...fvk, status: 'completed' }));
    expect(completed).toContain('answered by its owner');
    expect(refusal(await c['demo-ehr']!.put(`/fhir/Task/${fvk.id}`, { ...fvk, output: [who] }))).toContain(
      "owner's answer",
    );
    const sip = await one('kallelse-sip', SKULTUNA);
    refusal(await c['demo-ehr']!.put(`/fhir/Task/${sip.id}`, { ...sip, status: 'completed' }));
    expect((await one('kallelse-sip', SKULTUNA)).status).toBe('requested');
    expect((await fvkTask()).status).toBe('requested');
    expect(await facts('%#fvk-appointed')).toBe(0);
    expect(await readyNotices()).toEqual([]);
    expect(await missing()).toEqual(['fast-vardkontakt', 'informationsoverforing']);
  });

  it('when an admin names the contact on the FVK Task and completes the transfer duty, then neither criterion is met and the duty’s deadline runs on', async () => {
    const fvk = await fvkTask();
    ok(await c['duty-admin']!.put(`/fhir/Task/${fvk.id}`, { ...fvk, output: [who] }));
    const duty = await transferDuty(SKULTUNA);
    const closed = ok(await c['duty-admin']!.put(`/fhir/Task/${duty.id}`, { ...duty, status: 'completed' })) as Task;
    expect(closed.status).toBe('completed');
    expect(closed.executionPeriod?.end).toBeUndefined();
    // a status alone meets no duty: the deadline worker keeps it open
    expect(taskRowOf(closed, 'vastmanland').open).toBe(true);
    expect(await facts('%#fvk-appointed')).toBe(0);
    expect(await facts('%#information-transferred')).toBe(0);
    expect(await readyNotices()).toEqual([]);
    expect(await missing()).toEqual(['fast-vardkontakt', 'informationsoverforing']);
  });

  it('when the vårdcentral names the contact itself, then criterion 3 is met, and the stay gives the duty the admin closed back', async () => {
    const fvk = await fvkTask();
    const other = { ...who, valueString: 'Bo Ek, distriktssköterska, 021-10 20 31' };
    ok(await c['demo-vc-skultuna']!.put(`/fhir/Task/${fvk.id}`, { ...fvk, status: 'accepted', output: [other] }));
    expect(await facts('%#fvk-appointed')).toBe(1);
    expect(await missing()).toEqual(['informationsoverforing']);
    // the apply of criterion 3 gave the duty closed by a status alone the engine's status again: not met
    const duty = await transferDuty(SKULTUNA);
    expect(duty.status).toBe('requested');
    expect(taskRowOf(duty, 'vastmanland').open).toBe(true);
    // the hospital's own report of the transfer to a unit meets that unit's duty only
    const d = await transferDuty(VASTERAS);
    ok(await c['demo-ehr']!.put(`/fhir/Task/${d.id}`, { ...d, status: 'completed' }));
    expect(await facts('%#information-transferred')).toBe(1);
    expect((await transferDuty(SKULTUNA)).status).toBe('requested');
    expect(await missing()).toEqual(['informationsoverforing']);
    const s = await transferDuty(SKULTUNA);
    ok(await c['demo-ehr']!.put(`/fhir/Task/${s.id}`, { ...s, status: 'completed' }));
    expect(await facts('%#information-transferred')).toBe(2);
    const met = await transferDuty(SKULTUNA);
    expect(met.status).toBe('completed');
    expect(met.executionPeriod?.end).toBeDefined();
    expect(taskRowOf(met, 'vastmanland').open).toBe(false);
    expect(await missing()).toEqual([]);
  });
});
