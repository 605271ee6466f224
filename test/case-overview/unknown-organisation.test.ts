import { afterEach, describe, expect, it } from 'vitest';
import type { Encounter, Organization, Task } from '@medplum/fhirtypes';
import type { ClosableDb } from '../../src/store/db.port';
import { PgRepository } from '../../src/store/repository.pg';
import { caseOverview } from '../../src/case-overview/case-overview';
import { overviewPage } from '../../src/case-overview/overview-page';
import { openTestDb, testDatabases } from '../support/db';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { CODE_SYSTEM } from '../../src/fhir/constants';

const VASTMANLAND = getAgreement(await loadAgreements(), 'vastmanland');

describe.each(testDatabases())('case overview naming organisations on %s', (kind) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  /** A store with Västerås stad in the directory and one stay (`encounter` merged in), read as the system. */
  async function stay(encounter: Partial<Encounter> = {}) {
    db = await openTestDb(kind);
    const sys = new PgRepository(db, { system: true }, undefined, {}, {});
    await sys.update<Organization>({ resourceType: 'Organization', id: 'vasteras', name: 'Västerås stad' });
    const enc = await sys.create<Encounter>({
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      ...encounter,
    });
    const overview = async () => caseOverview(db!, sys, { system: true }, enc.id!, VASTMANLAND);
    return { sys, enc, overview };
  }

  it('when an organisation of the stay is not in the directory, then the overview says it is unknown, with its reference', async () => {
    const { sys, enc, overview } = await stay({
      period: { start: '2026-03-01T08:00:00Z' },
      serviceProvider: { reference: 'Organization/ghost-hospital' },
    });
    await sys.create<Task>({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      encounter: { reference: `Encounter/${enc.id}` },
      owner: { reference: 'Organization/vasteras' },
      requester: { reference: 'Organization/ghost-hospital' },
      code: { text: 'Inskrivningsmeddelande' },
    });
    const o = await overview();
    const unknown = 'okänd organisation (Organization/ghost-hospital)';
    expect(o.encounter.hospital).toBe(unknown);
    expect(o.parties.map((p) => p.name)).toEqual(['Västerås stad']);
    expect(o.parties[0]?.tasks[0]?.counterpart).toBe(unknown);
    const html = overviewPage(o);
    expect(html).toContain(`på ${unknown}: pågår, inskriven 2026-03-01 09:00:00 +01:00`);
    expect(html).not.toMatch(/>Organization\//);
  });

  it('when a Task stored earlier carries a bare reference as its owner display, then the overview names the organisation', async () => {
    const { sys, enc, overview } = await stay({ period: { start: '2026-03-01T08:00:00Z' } });
    await sys.update<Organization>({ resourceType: 'Organization', id: 'vc', name: 'Skultuna vårdcentral' });
    await sys.create<Task>({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      encounter: { reference: `Encounter/${enc.id}` },
      owner: { reference: 'Organization/vasteras', display: 'Organization/vasteras' },
      requester: { reference: 'Organization/vc', display: 'Organization/vc' },
      code: { text: 'Kallelse till SIP' },
    });
    const o = await overview();
    expect(o.parties[0]?.tasks[0]).toMatchObject({ owner: 'Västerås stad', counterpart: 'Skultuna vårdcentral' });
    expect(overviewPage(o)).not.toMatch(/>Organization\//);
  });

  it('when a party has answered, then the page says what each answer answers, not only its value', async () => {
    const { sys, enc, overview } = await stay();
    const answer = (code: string, valueString: string) => ({
      type: { coding: [{ system: CODE_SYSTEM.taskOutput, code }] },
      valueString,
    });
    await sys.create<Task>({
      resourceType: 'Task',
      status: 'received',
      intent: 'order',
      encounter: { reference: `Encounter/${enc.id}` },
      owner: { reference: 'Organization/vasteras' },
      code: { text: 'Inskrivningsmeddelande' },
      output: [answer('aktuella-insatser', 'hemtjänst 2 ggr/dag'), answer('boende', 'eget boende')],
    });
    const html = overviewPage(await overview());
    expect(html).toContain(
      '<td>Aktuella insatser (SoL, HSL, LSS): hemtjänst 2 ggr/dag<br>Boendeform och tillgänglighet: eget boende</td>',
    );
  });
});
