import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CarePlan, Encounter, OperationOutcome, Task } from '@medplum/fhirtypes';
import { READINESS_CRITERIA } from '../../src/core/triage/readiness';
import { taskRowOf } from '../../src/deadlines/task-sync';
import { CODE_SYSTEM, EXTENSION } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { testDatabases } from '../support/db';
import { codeOf, HOSPITAL, ok, sipDraft, SKULTUNA, VASTERAS, withExtensions } from '../sip/party-client';
import { diagnostics as text, openDutyWrites, refused, type DutyWrites } from './duty-writes-fixture';
import { isDuty } from './harness';
import { intakeRepository, intakeServices } from '../../src/intake';
import {
  backfillSipInvitationMet,
  SIP_INVITATION_MET_BACKFILL,
} from '../../src/intake/stay/sip-invitation-met-backfill';

/**
 * The party that must act owns the duty, played through the FHIR API with Västmanland's agreement: the vårdcentral's
 * duty to invite to the SIP is met by its invitation (a SIP CarePlan), not by completing the Task, and a status alone
 * (an admin's) meets nothing; the hospital, requester of the units' Tasks, may withdraw them and write a note, nothing
 * else; and only the receiver's own `rejected` re-routes the stay, not an admin's.
 */
/** Skultuna's own SIP invitation duty among the stay's Tasks (`kallelse-sip` focused on the Encounter). */
async function invitationDutyOf(tasks: () => Promise<Task[]>): Promise<Task> {
  const found = (await tasks()).find(
    (t) =>
      codeOf(t) === 'kallelse-sip' && t.owner?.reference === SKULTUNA && t.focus?.reference?.startsWith('Encounter/'),
  );
  if (!found) throw new Error('no kallelse-sip duty of Skultuna');
  return found;
}

describe.each(testDatabases())('owner and requester writes of the stay’s Tasks on %s', (kind) => {
  let w: DutyWrites;
  let c: DutyWrites['c'];
  let encounter: Encounter;

  const tasks = () => c['demo-ehr']!.tasks({ encounter: `Encounter/${encounter.id}` });
  const one = async (code: string, owner: string): Promise<Task> => {
    const found = (await tasks()).find(
      (t) =>
        codeOf(t) === code &&
        !isDuty(t) &&
        t.owner?.reference === owner &&
        t.focus?.reference?.startsWith('Encounter/') === true &&
        t.status !== 'cancelled',
    );
    if (!found) throw new Error(`no Task ${code} for ${owner}`);
    return found;
  };
  const invitationDuty = () => one('kallelse-sip', SKULTUNA);
  const facts = (like: string): Promise<number> => w.facts(encounter.id ?? '', like);
  const paths = (o: OperationOutcome): string[] => (o.issue ?? []).flatMap((i) => i.expression ?? []).sort();
  const rejectedAsNotRegistered = {
    coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'ej-folkbokford' }],
  };

  beforeAll(async () => {
    w = await openDutyWrites(kind, 'writes-admin');
    c = w.c;
    encounter = await w.admit('owner-writes-1', '194001021239', new Date(Date.now() - 2 * 86_400_000).toISOString());
    // ready with all six criteria: the notice goes out, and the vårdcentral's three days to invite run from it
    const ready = [
      ...stayExtensions({ readyAt: new Date(Date.now() - 3_600_000).toISOString() }),
      ...READINESS_CRITERIA.map(({ code }) => ({ url: EXTENSION.readinessCriteria, valueCode: code })),
    ];
    encounter = ok(
      await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, withExtensions(encounter, ready)),
    ) as Encounter;
  });
  afterAll(async () => {
    await w?.shell.close();
  });

  it('when the vårdcentral completes its SIP invitation duty by a status, then 403 says the invitation meets it, and it stays open with its deadline', async () => {
    const duty = await invitationDuty();
    expect(duty).toMatchObject({ status: 'requested', requester: { reference: HOSPITAL } });
    expect(duty.restriction?.period?.end).toBeDefined();
    // acknowledging it is the unit's own answer
    const accepted = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty.id}`, { ...duty, status: 'accepted' }),
    ) as Task;
    expect(accepted.status).toBe('accepted');
    const o = refused(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${accepted.id}`, { ...accepted, status: 'completed' }),
    );
    expect(paths(o)).toEqual(['Task.status']);
    expect(text(o)).toContain('is met by the SIP invitation, not by a status');
    expect(text(o)).toContain('POST /fhir/CarePlan');
    const stored = await invitationDuty();
    expect(stored.status).toBe('accepted');
    expect(taskRowOf(stored, 'vastmanland').open).toBe(true);
  });

  it('when an admin completes the invitation duty by a status, then its deadline runs on and the stay’s next update gives it the engine’s status', async () => {
    const duty = await invitationDuty();
    const closed = ok(await c['writes-admin']!.put(`/fhir/Task/${duty.id}`, { ...duty, status: 'completed' })) as Task;
    expect(closed.status).toBe('completed');
    expect(closed.executionPeriod?.end).toBeUndefined();
    // a status alone meets no duty: the deadline worker keeps it open
    expect(taskRowOf(closed, 'vastmanland').open).toBe(true);
    // the hospital's next update of the stay (a new estimate) applies it again: not invited, so not met
    const estimate = stayExtensions({ estimatedDischarge: new Date(Date.now() + 3 * 86_400_000).toISOString() });
    encounter = ok(
      await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, withExtensions(encounter, estimate)),
    ) as Encounter;
    const again = await invitationDuty();
    expect(again.status).toBe('requested');
    expect(taskRowOf(again, 'vastmanland').open).toBe(true);
  });

  it('when the hospital changes anything but a withdrawal or a note on the vårdcentral’s Task, then 403 names each element and nothing is stored', async () => {
    const fvk = await one('utse-fast-vardkontakt', SKULTUNA);
    expect(fvk.requester?.reference).toBe(HOSPITAL);
    const changed: Task = {
      ...fvk,
      description: 'Utse fast vårdkontakt senast i morgon',
      restriction: { ...fvk.restriction, period: { end: new Date(Date.now() + 86_400_000).toISOString() } },
      code: { ...fvk.code, text: 'Annat' },
      input: [{ type: { text: 'önskemål' }, valueString: 'Anna Berg' }],
    };
    const o = refused(await c['demo-ehr']!.put(`/fhir/Task/${fvk.id}`, changed));
    expect(paths(o)).toEqual(['Task.code', 'Task.description', 'Task.input', 'Task.restriction']);
    expect(text(o)).toContain('may only withdraw it');
    for (const k of ['description', 'restriction', 'code', 'input'] as const) {
      const only = refused(await c['demo-ehr']!.put(`/fhir/Task/${fvk.id}`, { ...fvk, [k]: changed[k] }));
      expect(paths(only)).toEqual([`Task.${k}`]);
    }
    const stored = await one('utse-fast-vardkontakt', SKULTUNA);
    expect(stored.description).toBe(fvk.description);
    expect(stored.meta?.versionId).toBe(fvk.meta?.versionId);
    // a note is the requester's to write
    const noted = ok(
      await c['demo-ehr']!.put(`/fhir/Task/${fvk.id}`, {
        ...fvk,
        note: [{ text: 'Patienten har en dotter i Västerås' }],
      }),
    ) as Task;
    expect(noted.note?.[0]?.text).toBe('Patienten har en dotter i Västerås');
  });

  it('when the hospital withdraws the municipality’s Task with a reason and a note, then it is stored', async () => {
    const t = await one('utskrivningsklar', VASTERAS);
    expect(t.requester?.reference).toBe(HOSPITAL);
    const { businessStatus: _dropped, ...rest } = t;
    const withdrawn = ok(
      await c['demo-ehr']!.put(`/fhir/Task/${t.id}`, {
        ...rest,
        status: 'cancelled',
        statusReason: { text: 'Skickad i fel ärende' },
        note: [{ text: 'Ny kommer' }],
      }),
    ) as Task;
    expect(withdrawn.status).toBe('cancelled');
  });

  it('when the vårdcentral invites to its SIP, then its invitation duty is completed at the invitation’s time and its deadline ends', async () => {
    ok(await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS])), 201) as CarePlan;
    const met = await invitationDutyOf(tasks);
    expect(met.status).toBe('completed');
    expect(met.executionPeriod?.end).toBeDefined();
    expect(met.businessStatus?.coding?.[0]?.code).toBe('on-time');
    expect(taskRowOf(met, 'vastmanland').open).toBe(false);
  });

  it('when a store from before kept the invitation duty completed without its time, then the one-off re-apply writes it once', async () => {
    const met = await invitationDutyOf(tasks);
    const at = met.executionPeriod?.end;
    expect(at).toBeDefined();
    // what 0.18.0 stored: the engine's completed, without the invitation's time
    await w.shell.db.query(
      `UPDATE fhir_resource SET content = (content::jsonb - 'executionPeriod')::text
        WHERE resource_type = 'Task' AND id = $1`,
      [met.id],
    );
    expect((await invitationDutyOf(tasks)).executionPeriod).toBeUndefined();
    await w.shell.db.query('DELETE FROM schema_migrations WHERE name = $1', [SIP_INVITATION_MET_BACKFILL]);
    const deps = intakeServices(w.shell.ctx).deps;
    // two processes starting together: both may apply the stay (each stay in its own transaction), neither fails
    const runs = await Promise.all([1, 2].map(() => backfillSipInvitationMet(w.shell.db, intakeRepository, deps)));
    expect(runs).toContain(1);
    const again = await invitationDutyOf(tasks);
    expect(again.status).toBe('completed');
    expect(again.executionPeriod?.end).toBe(at);
    expect(await backfillSipInvitationMet(w.shell.db, intakeRepository, deps)).toBe(0);
  });

  it('when an admin rejects the municipality’s notice with a coded reason, then nothing is re-routed; the municipality’s own rejection is', async () => {
    const notice = await one('inskrivningsmeddelande', VASTERAS);
    const byAdmin = ok(
      await c['writes-admin']!.put(`/fhir/Task/${notice.id}`, {
        ...notice,
        status: 'rejected',
        statusReason: rejectedAsNotRegistered,
      }),
    ) as Task;
    expect(byAdmin.status).toBe('rejected');
    expect(await facts('%#rejected')).toBe(0);
    expect((await tasks()).filter((t) => codeOf(t) === 'korrigera-mottagare')).toEqual([]);
    // the admin sets it back; the municipality rejects it itself
    const reopened = ok(
      await c['writes-admin']!.put(`/fhir/Task/${notice.id}`, {
        ...byAdmin,
        status: 'requested',
        statusReason: undefined,
      }),
    ) as Task;
    ok(
      await c['demo-vasteras']!.put(`/fhir/Task/${notice.id}`, {
        ...reopened,
        status: 'rejected',
        statusReason: rejectedAsNotRegistered,
      }),
    );
    expect(await facts('%#rejected')).toBe(1);
    const fix = (await tasks()).find((t) => codeOf(t) === 'korrigera-mottagare');
    expect(fix).toMatchObject({ owner: { reference: HOSPITAL }, requester: { reference: VASTERAS } });
  });
});
