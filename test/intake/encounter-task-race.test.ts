import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { testDatabases } from '../support/db';
import { pnr } from '../store/fixtures';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import { admission, codeOf, needsCD, ok, partyClient, type PartyClient } from '../sip/party-client';

/**
 * The hospital changes its stay while a municipality answers a Task of that stay at the same moment. The stay's
 * write rewrites the stay's Tasks (here: all withdrawn), so one of the two loses the compare-and-set on the Task.
 * The hospital sent no If-Match: it used to get 412 and its cancellation was lost (found by playing both parties at
 * once, 3 of 5 rounds); now the losing write runs again on what the other committed.
 */
describe.each(testDatabases())('a stay changed while its Task is answered on %s', (kind) => {
  let shell: Shell;
  let ehr: PartyClient;
  let vasteras: PartyClient;

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix() } });
    await loadDemoRegion(shell.db, systemRepository);
    ehr = await partyClient(shell.gateway.app, 'demo-ehr');
    vasteras = await partyClient(shell.gateway.app, 'demo-vasteras');
  });
  afterAll(async () => shell.close());

  it('when the hospital cancels the stay as the municipality acknowledges its Task, then both are written and the Task ends withdrawn', async () => {
    const pnrs = ['191212121212', '194107086995', '195705232386', pnr('19400101', '123'), '193803129828'];
    for (const [n, personnummer] of pnrs.entries()) {
      const r = ok(
        await ehr.post('/fhir', admission(`race-enc-${n}`, personnummer, '2026-11-28T08:00:00+01:00', needsCD())),
      );
      const id = /Encounter\/([^/]+)/.exec((r as Bundle).entry?.[1]?.response?.location ?? '')?.[1] ?? '';
      const encounter = ok(await ehr.get(`/fhir/Encounter/${id}`)) as Encounter;
      const task = (await vasteras.tasks({ encounter: `Encounter/${id}` })).find(
        (t) => codeOf(t) === 'inskrivningsmeddelande',
      );
      expect(task, `round ${n}`).toBeDefined();
      const [cancel, answer] = await Promise.all([
        ehr.put(`/fhir/Encounter/${id}`, { ...encounter, status: 'cancelled' }),
        vasteras.put(`/fhir/Task/${task!.id}`, { ...task, status: 'received' }),
      ]);
      expect(cancel.status, `round ${n}: ${JSON.stringify(cancel.body)}`).toBe(200);
      // the municipality's answer either came first (200) or met a withdrawn Task (the owner rules refuse it)
      expect([200, 403, 409, 412], `round ${n}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
      expect((ok(await ehr.get(`/fhir/Encounter/${id}`)) as Encounter).status).toBe('cancelled');
      const after = ok(await vasteras.get(`/fhir/Task/${task!.id}`)) as Task;
      expect(after.status, `round ${n}`).toBe('cancelled');
    }
  });
});
