import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encounter, OperationOutcome, Task } from '@medplum/fhirtypes';
import { READINESS_CRITERIA } from '../../src/core/triage/readiness';
import { taskRowOf } from '../../src/deadlines/task-sync';
import { writeStepEffects } from '../../src/deadlines/notices';
import { CODE_SYSTEM, EXTENSION, TAG_SYSTEM } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { createRepository } from '../../src/store/repository.pg';
import { testDatabases } from '../support/db';
import { codeOf, HOSPITAL, ok, sipDraft, SKULTUNA, VASTERAS, withExtensions } from '../sip/party-client';
import { diagnostics as text, openDutyWrites, refused, type DutyWrites } from './duty-writes-fixture';
import { isDuty } from './harness';
import { rerouting } from '../sip/rerouting';
import { waitFor } from '../delivery/helpers';

/**
 * The party that must act owns the duty, played through the FHIR API with Västmanland's agreement and the demo region:
 * - an admin's rejection of a receiver's Task re-routes nothing, and its answer says so, naming the owner; the owner's
 *   own coded rejection of the same Task then re-routes the stay (a version of its own), once;
 * - the vårdcentral rejects its SIP invitation duty only with a coded reason (the patient is not its): without one the
 *   write is refused (403, saying what to do), and an admin's such rejection does not stop the deadline;
 * - an invitation sent after the deadline, once the ladder had escalated the duty, is met late: `overdue`, as a
 *   hospital's duty met late.
 */
const coded = { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'ej-folkbokford' }] };

describe.each(testDatabases())('rejections by the owner and a late SIP invitation on %s', (kind) => {
  let w: DutyWrites;
  let c: DutyWrites['c'];

  /** A stay of a Västerås patient listed at Skultuna, ready with all six criteria half an hour ago. */
  const readyStay = async (ehrId: string, pnr: string): Promise<Encounter> => {
    // admitted an hour ago: the 24 h of the admission notification are not up (no step of the ladder meanwhile)
    const admitted = await w.admit(ehrId, pnr, new Date(Date.now() - 3_600_000).toISOString());
    const ready = [
      ...stayExtensions({ readyAt: new Date(Date.now() - 1_800_000).toISOString() }),
      ...READINESS_CRITERIA.map(({ code }) => ({ url: EXTENSION.readinessCriteria, valueCode: code })),
    ];
    return ok(await c['demo-ehr']!.put(`/fhir/Encounter/${admitted.id}`, withExtensions(admitted, ready))) as Encounter;
  };
  const tasksOf = (e: Encounter) => c['demo-ehr']!.tasks({ encounter: `Encounter/${e.id}` });
  const one = async (e: Encounter, code: string, owner: string): Promise<Task> => {
    const found = (await tasksOf(e)).find(
      (t) =>
        codeOf(t) === code &&
        !isDuty(t) &&
        t.owner?.reference === owner &&
        t.focus?.reference?.startsWith('Encounter/') === true,
    );
    if (!found) throw new Error(`no Task ${code} for ${owner}`);
    return found;
  };
  const tagged = (t: Task): boolean => (t.meta?.tag ?? []).some((x) => x.system === TAG_SYSTEM.rejectedByAnother);
  const corrections = async (e: Encounter) => (await tasksOf(e)).filter((t) => codeOf(t) === 'korrigera-mottagare');
  /** A PUT by `client` answered with an OperationOutcome (`Prefer: return=OperationOutcome`). */
  const putForOutcome = (client: string, task: Task) =>
    request(w.shell.gateway.app)
      .put(`/fhir/Task/${task.id}`)
      .auth(c[client]!.token, { type: 'bearer' })
      .set('Content-Type', 'application/fhir+json')
      .set('Prefer', 'return=OperationOutcome')
      .send(JSON.stringify(task));

  beforeAll(async () => {
    w = await openDutyWrites(kind, 'rejections-admin');
    c = w.c;
  });
  afterAll(async () => {
    await w?.shell.close();
  });

  it('when an admin rejects the municipality’s notice, then the answer warns that only Västerås stad’s own rejection re-routes the stay; Västerås stad’s own rejection of it then does, once', async () => {
    const stay = await readyStay('rejections-1', '194002031237');
    const notice = await one(stay, 'inskrivningsmeddelande', VASTERAS);
    const byAdmin = await putForOutcome('rejections-admin', { ...notice, status: 'rejected', statusReason: coded });
    expect(byAdmin.status, JSON.stringify(byAdmin.body)).toBe(200);
    expect(byAdmin.headers.warning).toContain('199 svu-gateway "rejection-not-by-owner"');
    const warned = (byAdmin.body as OperationOutcome).issue?.find((i) => i.severity === 'warning');
    expect(warned?.diagnostics).toContain("only Västerås stad's own rejection");
    expect(warned?.diagnostics).toContain('the stay is not re-routed');
    expect(warned?.diagnostics).not.toContain('Organization/');
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(0);
    expect(await corrections(stay)).toEqual([]);

    // Västerås stad sends the Task as it reads it, rejected with the coded reason: its own rejection
    const rejected = ok(await c['demo-vasteras']!.get(`/fhir/Task/${notice.id}`)) as Task;
    expect(rejected.status).toBe('rejected');
    expect(tagged(rejected)).toBe(true);
    const own = ok(await c['demo-vasteras']!.put(`/fhir/Task/${rejected.id}`, rejected)) as Task;
    expect(Number(own.meta?.versionId)).toBe(Number(rejected.meta?.versionId) + 1);
    expect(tagged(own)).toBe(false);
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(1);
    expect(await corrections(stay)).toMatchObject([
      { owner: { reference: HOSPITAL }, requester: { reference: VASTERAS } },
    ]);
    // said again, it is the same answer: no version, no second fact
    const now = ok(await c['demo-vasteras']!.get(`/fhir/Task/${notice.id}`)) as Task;
    const again = ok(await c['demo-vasteras']!.put(`/fhir/Task/${now.id}`, now)) as Task;
    expect(again.meta?.versionId).toBe(now.meta?.versionId);
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(1);
  });

  it('when Västerås stad rejects its notice with a reason code the gateway does not know, then the answer says the stay is not re-routed and lists the codes; its coded rejection afterwards re-routes it, once', async () => {
    const stay = await readyStay('rejections-4', '194006071239');
    const notice = await one(stay, 'inskrivningsmeddelande', VASTERAS);
    const unknown = { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'flyttat' }] };
    const res = await putForOutcome('demo-vasteras', { ...notice, status: 'rejected', statusReason: unknown });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.warning).toContain('199 svu-gateway "rejection-without-reason"');
    const warned = (res.body as OperationOutcome).issue?.find((i) => i.severity === 'warning');
    expect(warned?.diagnostics).toContain('with the reason code flyttat, which the gateway does not know');
    expect(warned?.diagnostics).toContain('the stay is not re-routed');
    expect(warned?.diagnostics).toContain('ej-folkbokford: ');
    expect(warned?.diagnostics).toContain('ej-listad: ');
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(0);
    expect(await corrections(stay)).toEqual([]);

    // the Task is rejected already; the municipality gives the code the warning named
    const stored = ok(await c['demo-vasteras']!.get(`/fhir/Task/${notice.id}`)) as Task;
    expect(stored.status).toBe('rejected');
    ok(await c['demo-vasteras']!.put(`/fhir/Task/${notice.id}`, { ...stored, statusReason: coded }));
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(1);
    expect(await corrections(stay)).toMatchObject([
      { owner: { reference: HOSPITAL }, requester: { reference: VASTERAS } },
    ]);
    const now = ok(await c['demo-vasteras']!.get(`/fhir/Task/${notice.id}`)) as Task;
    ok(await c['demo-vasteras']!.put(`/fhir/Task/${notice.id}`, { ...now, note: [{ text: 'Flyttat till Sala' }] }));
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(1);
  });

  it('when the vårdcentral rejects its SIP invitation duty without a coded reason, then 403 says to reject with a code of the CodeSystem or create the SIP, and the duty stays open; an admin’s rejection keeps it open, the unit’s own coded one re-routes the stay', async () => {
    const stay = await readyStay('rejections-2', '194003041235');
    const duty = await one(stay, 'kallelse-sip', SKULTUNA);
    expect(duty.restriction?.period?.end).toBeDefined();
    for (const statusReason of [undefined, { text: 'Inte vår patient' }]) {
      const o = refused(
        await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty.id}`, { ...duty, status: 'rejected', statusReason }),
      );
      expect((o.issue ?? []).flatMap((i) => i.expression ?? [])).toEqual(['Task.statusReason']);
      expect(text(o)).toContain(CODE_SYSTEM.taskStatusReason);
      // both codes, each with its text: the municipality's and the vårdcentral's
      expect(text(o)).toContain('ej-folkbokford: Patienten är inte folkbokförd i kommunen');
      expect(text(o)).toContain('ej-listad: Patienten är inte listad på vårdcentralen');
      expect(text(o)).toContain('POST /fhir/CarePlan');
    }
    const stored = await one(stay, 'kallelse-sip', SKULTUNA);
    expect(stored.status).toBe('requested');
    expect(stored.meta?.versionId).toBe(duty.meta?.versionId);
    expect(taskRowOf(stored, 'vastmanland').open).toBe(true);

    // an admin's rejection, even coded, is not the unit's: the deadline runs on, and the answer names Skultuna
    const byAdmin = await putForOutcome('rejections-admin', { ...stored, status: 'rejected', statusReason: coded });
    expect(byAdmin.status).toBe(200);
    expect(text(byAdmin.body as OperationOutcome)).toContain("only Skultuna vårdcentral's own rejection");
    const adminRejected = ok(await c['demo-vc-skultuna']!.get(`/fhir/Task/${duty.id}`)) as Task;
    expect(adminRejected.status).toBe('rejected');
    expect(tagged(adminRejected)).toBe(true);
    expect(taskRowOf(adminRejected, 'vastmanland').open).toBe(true);
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(0);

    // the vårdcentral's own coded rejection, the Task as it reads it: the patient is not its, the stay is re-routed
    const own = ok(await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty.id}`, adminRejected)) as Task;
    expect(tagged(own)).toBe(false);
    expect(taskRowOf(own, 'vastmanland').open).toBe(false);
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(1);
    // the vårdcentral's code would fit it better; the municipality's says as well that the patient is not its
    expect(await corrections(stay)).toMatchObject([
      {
        owner: { reference: HOSPITAL },
        requester: { reference: SKULTUNA },
        description: expect.stringMatching(
          /^Skultuna vårdcentral har avvisat vårdtillfället \(ej-folkbokford\): rätta patientens listade vårdcentral/,
        ),
      },
    ]);
  });

  it('when the vårdcentral rejects its admission notification as ej-listad, then the stay is re-routed from it and the hospital’s korrigera-mottagare names Skultuna vårdcentral and the code; a municipality’s ej-listad re-routes too', async () => {
    const stay = await readyStay('rejections-3', '194005061231');
    const notice = await one(stay, 'inskrivningsmeddelande', SKULTUNA);
    const notListed = { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'ej-listad' }] };
    const own = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${notice.id}`, {
        ...notice,
        status: 'rejected',
        statusReason: notListed,
      }),
    ) as Task;
    expect(own.status).toBe('rejected');
    expect(tagged(own)).toBe(false);
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(1);
    const [fix] = await corrections(stay);
    expect(fix).toMatchObject({
      owner: { reference: HOSPITAL },
      requester: { reference: SKULTUNA },
      status: 'requested',
    });
    expect(fix?.description).toBe(
      'Skultuna vårdcentral har avvisat vårdtillfället (ej-listad): rätta patientens listade vårdcentral så att meddelandena går till rätt mottagare',
    );
    // re-routed: the unit's SIP invitation duty, still wanted before, is withdrawn from it
    expect((await one(stay, 'kallelse-sip', SKULTUNA)).status).toBe('cancelled');

    // Västerås stad gives the vårdcentral's code: not its own code, but it says the patient is not Västerås stad's
    const municipal = await one(stay, 'inskrivningsmeddelande', VASTERAS);
    ok(
      await c['demo-vasteras']!.put(`/fhir/Task/${municipal.id}`, {
        ...municipal,
        status: 'rejected',
        statusReason: notListed,
      }),
    );
    expect(await w.facts(stay.id ?? '', '%#rejected')).toBe(2);
    const byVasteras = (await corrections(stay)).find((t) => t.requester?.reference === VASTERAS);
    expect(byVasteras?.description).toMatch(
      /^Västerås stad har avvisat vårdtillfället \(ej-listad\): rätta folkbokföringskommun eller placerande kommun/,
    );
  });
});

/** Västmanland, the hospital over HL7 v2 (the fixture's stay, ready on 2026-01-17), the parties over FHIR, on a manual clock. */
describe.each(testDatabases())('a SIP invitation sent after the deadline on %s', (kind) => {
  const gw = rerouting(kind, ['demo-ehr', 'demo-vc-skultuna']);
  const { c, at } = gw;

  it('when the vårdcentral invites after the deadline, once the ladder escalated its duty, then the duty is met late: overdue, as a hospital’s duty met late, and the follow-up counts it late', async () => {
    const encounter = await gw.firstStay();
    const invitationDuty = async (): Promise<Task> => {
      const found = (await c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' })).find(
        (t) => t.owner?.reference === SKULTUNA && t.encounter?.reference === `Encounter/${encounter.id}`,
      );
      if (!found) throw new Error('no kallelse-sip duty of Skultuna');
      return found;
    };
    // the A08 that starts the duty's deadline (the ready notice) is applied after its ACK: wait for the deadline
    let duty = await invitationDuty();
    await waitFor(
      async () => (duty = await invitationDuty()).restriction?.period?.end !== undefined,
      10_000,
      'the deadline',
    );
    const due = duty.restriction?.period?.end ?? '';
    // three days on: the ladder has escalated the duty (as the deadline worker writes it)
    await at('2026-01-22T10:00:00Z');
    expect(Date.parse(due)).toBeLessThan(gw.clock.now().getTime());
    const now = gw.clock.now();
    await writeStepEffects(
      createRepository(gw.shell.db),
      await invitationDuty(),
      { taskId: duty.id ?? '', stepId: 'escalation', dueAt: now, kind: 'escalation', recipient: 'owner', seq: 3 },
      undefined,
      now,
    );
    expect((await invitationDuty()).businessStatus?.coding?.[0]?.code).toBe('escalated');

    ok(await c['demo-vc-skultuna']!.post('/fhir/CarePlan', sipDraft(encounter, SKULTUNA, [VASTERAS])), 201);
    const met = await invitationDuty();
    expect(met).toMatchObject({ status: 'completed', executionPeriod: { end: now.toISOString() } });
    expect(met.businessStatus?.coding?.[0]?.code).toBe('overdue');
    // the deadline row the follow-up reads: met, after its deadline
    const row = taskRowOf(met, 'vastmanland');
    expect(row.open).toBe(false);
    expect(row.metAt).toBe(now.toISOString());
    expect(row.deadline?.toISOString()).toBe(new Date(due).toISOString());
  });
});
