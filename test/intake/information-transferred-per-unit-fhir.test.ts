import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, Task } from '@medplum/fhirtypes';
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
  SKULTUNA,
  VASTERAS,
  withExtensions,
  type PartyClient,
} from '../sip/party-client';
import { isDuty } from './harness';

/**
 * The hospital's completion of its information transfer duty towards one unit is the transfer to that unit only
 * (seed 001 §3 criterion 4: "till de enheter som har fått ett inskrivningsmeddelande"). A stay told to Västerås and to
 * the vårdcentral in Skultuna: completing the duty towards Västerås leaves Skultuna's duty open, and Västmanland's
 * ready notice, held back for the criterion, waits until the duty towards Skultuna is completed too; then it goes
 * out to both.
 */
describe.each(testDatabases())(
  'the hospital completes its information transfer duty towards one unit on %s',
  (kind) => {
    let shell: Shell;
    let ehr: PartyClient;
    let encounter: Encounter;

    const stayTasks = async (code: string): Promise<Task[]> =>
      ehr.tasks({ encounter: `Encounter/${encounter.id}`, code });
    const readyNoticesTo = async (org: string): Promise<Task[]> =>
      (await stayTasks('utskrivningsklar')).filter(
        (t) => !isDuty(t) && t.owner?.reference === org && t.status !== 'cancelled',
      );
    /** The hospital's duty to transfer the information to `org`, as the hospital reads it. */
    const dutyTo = async (org: string): Promise<Task | undefined> =>
      (await stayTasks('informationsoverforing')).find((t) => isDuty(t) && t.requester?.reference === org);
    const complete = async (org: string): Promise<Task> => {
      const duty = await dutyTo(org);
      expect(duty).toMatchObject({ status: 'requested', owner: { reference: HOSPITAL } });
      return ok(await ehr.put(`/fhir/Task/${duty!.id}`, { ...duty, status: 'completed' })) as Task;
    };

    beforeAll(async () => {
      shell = await openShell({
        kind,
        full: true,
        env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' },
      });
      await loadDemoRegion(shell.db, systemRepository);
      ehr = await partyClient(shell.gateway.app, 'demo-ehr');
      const admitted = new Date(Date.now() - 2 * 86_400_000).toISOString();
      // every criterion but the information transfer
      const criteria = ['skriftlig-information', 'fast-vardkontakt', 'hjalpmedel', 'lakemedelslista'];
      const ext = [...needsCD(), ...criteria.map((code) => ({ url: EXTENSION.readinessCriteria, valueCode: code }))];
      const r = ok(await ehr.post('/fhir', admission('info-unit-1', '194001021239', admitted, ext))) as Bundle;
      const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
      encounter = ok(await ehr.get(`/fhir/Encounter/${id}`)) as Encounter;
      const ready = stayExtensions({ readyAt: new Date(Date.now() - 86_400_000).toISOString() });
      const held = await ehr.put(`/fhir/Encounter/${encounter.id}`, withExtensions(encounter, ready));
      encounter = ok(held) as Encounter;
      expect(String(held.headers.warning)).toContain('fact-rejected');
    });
    afterAll(async () => {
      await shell?.close();
    });

    it('when the hospital completes its duty towards Västerås, then the duty towards Skultuna stays open and neither gets the ready notice', async () => {
      expect(await dutyTo(SKULTUNA)).toMatchObject({ status: 'requested' });
      const answer = await complete(VASTERAS);
      expect(answer.status).toBe('completed');

      expect(await dutyTo(VASTERAS)).toMatchObject({
        status: 'completed',
        executionPeriod: { end: answer.meta?.lastUpdated },
      });
      const open = await dutyTo(SKULTUNA);
      expect(open?.status).toBe('requested');
      expect(open?.executionPeriod?.end).toBeUndefined();
      // the gate is per stay: the notice waits for the transfer to every unit told of the admission
      expect(await readyNoticesTo(VASTERAS)).toEqual([]);
      expect(await readyNoticesTo(SKULTUNA)).toEqual([]);
    });

    it('when the hospital then completes its duty towards Skultuna, then both units get the ready notice', async () => {
      const answer = await complete(SKULTUNA);
      expect(await dutyTo(SKULTUNA)).toMatchObject({
        status: 'completed',
        executionPeriod: { end: answer.meta?.lastUpdated },
      });
      expect((await readyNoticesTo(VASTERAS)).map((t) => t.status)).toEqual(['requested']);
      expect((await readyNoticesTo(SKULTUNA)).map((t) => t.status)).toEqual(['requested']);
    });
  },
);
