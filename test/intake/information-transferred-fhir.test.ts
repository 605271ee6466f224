import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, Patient, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { EXTENSION } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { uniquePrefix } from '../support/redis';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from '../http/shell-fixture';
import {
  admission,
  HOSPITAL,
  needsCD,
  ok,
  partyClient,
  SALA,
  withExtensions,
  type PartyClient,
} from '../sip/party-client';
import { isDuty } from './harness';

/**
 * Readiness criterion 4 over FHIR (seed 001 §3: the information transferred to the units that got an admission
 * notification): the hospital completes its duty Task to transfer the information to a unit. A stay re-routed to Sala
 * after the admission reported the transfer holds Västmanland's ready notice back until the hospital reports the
 * transfer to Sala: completing its `informationsoverforing` duty towards Sala (`PUT /fhir/Task/<id>`, status
 * `completed`) is that report, without removing and giving again the Encounter's `readiness-criteria` code.
 */
describe.each(testDatabases())('the hospital completes its information transfer duty over FHIR on %s', (kind) => {
  let shell: Shell;
  const ids = ['demo-ehr', 'demo-vasteras', 'demo-sala'] as const;
  const c: Record<string, PartyClient> = {};
  let encounter: Encounter;
  let patientId = '';

  const readyNoticesTo = async (org: string): Promise<Task[]> =>
    (await c['demo-ehr']!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'utskrivningsklar' })).filter(
      (t) => !isDuty(t) && t.owner?.reference === org && t.status !== 'cancelled',
    );
  /** The hospital's duty to transfer the information to Sala, as the hospital reads it. */
  const dutyToSala = async (): Promise<Task | undefined> =>
    (await c['demo-ehr']!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'informationsoverforing' })).find(
      (t) => isDuty(t) && t.requester?.reference === SALA,
    );
  /** When each fact the hospital's completions of its information transfer duties gave happened (ISO). */
  const transferFacts = async (): Promise<string[]> => {
    const r = await shell.db.query<{ at: Date | string }>(
      `SELECT at FROM stay_fact WHERE stay_id = $1 AND fact_id LIKE 'fhir:Task/%#information-transferred'`,
      [encounter.id],
    );
    return r.rows.map((x) => new Date(x.at).toISOString());
  };

  beforeAll(async () => {
    shell = await openShell({
      kind,
      full: true,
      env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' },
    });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ids) c[id] = await partyClient(shell.gateway.app, id);
    // the FHIR API stamps its writes with the system clock (the Patient's re-routing is at its write time)
    const admitted = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const criteria = [
      'skriftlig-information',
      'fast-vardkontakt',
      'informationsoverforing',
      'hjalpmedel',
      'lakemedelslista',
    ];
    const ext = [...needsCD(), ...criteria.map((code) => ({ url: EXTENSION.readinessCriteria, valueCode: code }))];
    const r = ok(await c['demo-ehr']!.post('/fhir', admission('info-fhir-1', '194001011230', admitted, ext))) as Bundle;
    patientId = /Patient\/([^/]+)/.exec(r.entry?.[0]?.response?.location ?? '')?.[1] ?? '';
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
  });
  afterAll(async () => {
    await shell?.close();
  });

  it('when the stay is re-routed to Sala after the admission reported the transfer, then the ready notice is held back for it', async () => {
    const patient = ok(await c['demo-ehr']!.get(`/fhir/Patient/${patientId}`)) as Patient;
    const moved = { ...patient, address: [{ use: 'home' as const, city: 'Sala', district: '1981' }] };
    const rerouted = ok(await c['demo-ehr']!.put(`/fhir/Patient/${patientId}`, moved)) as Patient;

    // ready just after the re-routing
    const readyAt = new Date(Date.parse(rerouted.meta?.lastUpdated ?? '') + 1).toISOString();
    const ready = stayExtensions({ readyAt });
    const r = await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, withExtensions(encounter, ready));
    encounter = ok(r) as Encounter;
    expect(String(r.headers.warning)).toContain('fact-rejected');
    expect(await readyNoticesTo(SALA)).toEqual([]);
    // under the gate the transfer comes before the notice: the duty towards Sala is there from the ready report
    expect(await dutyToSala()).toMatchObject({ status: 'requested', owner: { reference: HOSPITAL } });
  });

  it('when Sala completes its own information transfer Task, then that is its acknowledgement, not the transfer: the notice still waits', async () => {
    const [own] = (
      await c['demo-sala']!.tasks({ encounter: `Encounter/${encounter.id}`, code: 'informationsoverforing' })
    ).filter((t) => !isDuty(t) && t.owner?.reference === SALA);
    const accepted = ok(await c['demo-sala']!.put(`/fhir/Task/${own!.id}`, { ...own, status: 'accepted' })) as Task;
    ok(await c['demo-sala']!.put(`/fhir/Task/${own!.id}`, { ...accepted, status: 'completed' }));
    expect(await readyNoticesTo(SALA)).toEqual([]);
    expect(await transferFacts()).toEqual([]);
    // nor can it complete the hospital's duty towards it: it is not Sala's to read or write
    const duty = await dutyToSala();
    expect((await c['demo-sala']!.put(`/fhir/Task/${duty!.id}`, { ...duty, status: 'completed' })).status).toBe(404);
    expect(await transferFacts()).toEqual([]);
    expect((await dutyToSala())?.status).toBe('requested');
  });

  it('when the hospital completes its duty towards Sala, then Sala gets the ready notice and the duty is met at the write time', async () => {
    const duty = await dutyToSala();
    expect(duty).toMatchObject({ status: 'requested', owner: { reference: HOSPITAL } });
    const answer = ok(await c['demo-ehr']!.put(`/fhir/Task/${duty!.id}`, { ...duty, status: 'completed' })) as Task;
    expect(answer.status).toBe('completed');
    expect(answer.executionPeriod?.end).toBe(answer.meta?.lastUpdated);

    const notices = await readyNoticesTo(SALA);
    expect(notices.map((t) => t.status)).toEqual(['requested']);
    const stored = await dutyToSala();
    expect(stored).toMatchObject({ status: 'completed', executionPeriod: { end: answer.meta?.lastUpdated } });
    // the engine met the duty at the write time, by the one fact
    expect(await transferFacts()).toEqual([answer.meta?.lastUpdated]);

    // a second completion write (a note on the completed duty) is no new fact: still the one notice
    const noted = { ...stored, note: [{ text: 'Epikris och omvårdnadsepikris skickade' }] };
    const again = ok(await c['demo-ehr']!.put(`/fhir/Task/${duty!.id}`, noted)) as Task;
    expect(again.executionPeriod?.end).toBe(answer.meta?.lastUpdated);
    expect(await transferFacts()).toEqual([answer.meta?.lastUpdated]);
    expect((await readyNoticesTo(SALA)).map((t) => t.id)).toEqual(notices.map((t) => t.id));
  });
});
