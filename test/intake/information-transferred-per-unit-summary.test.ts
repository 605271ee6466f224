import type { Encounter, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { evaluateStay } from '../../src/core/engine/evaluate';
import type { StayFact } from '../../src/core/stay/facts';
import { engineIssuesOf } from '../../src/fhir/encounter-extensions';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import {
  backfillInformationTransferred,
  INFORMATION_TRANSFERRED_BACKFILL,
} from '../../src/intake/stay/information-transferred-backfill';
import { intakeRepository, intakeServices } from '../../src/intake';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, hospitalApi, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * An HL7 stay (A01 with needs for Västerås and the listed vårdcentral, the criteria but the information transfer, an
 * A08 ready notice that Västmanland's gate holds back) whose hospital reports the transfer over FHIR, unit by unit, by
 * completing its duty towards each (seed 001 §3 criterion 4: "till de enheter som har fått ett inskrivningsmeddelande").
 * After the first unit the criterion is not met: the dashboard's summary has no time for it yet (it took the first
 * report), and the Encounter's engine issue says the transfer was reported for some units only and names the unit
 * left by its name (it said only what the ready notice said). After the second, both follow the engine. A store from
 * before (the first report's time in the summary) gets the engine's time from the one-off re-apply.
 */
const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const VISIT = 'INFO-UNITS';
const VC = 'SE2321000172-VC01';
const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja')];
const OTHERS = OBX.criteria('skriftlig-information', 'fast-vardkontakt', 'hjalpmedel', 'lakemedelslista');
const vastmanland = getAgreement(await loadAgreements(), 'vastmanland');

describe.each(testDatabases())('the information transfer reported unit by unit for an HL7 stay on %s', (kind) => {
  let h: IntakeHarness;
  const stayId = encounterIdFor(VISIT_SYSTEM, VISIT);
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { AGREEMENT: 'vastmanland' }, units: [VC] });
    const send = async (o: AdtOptions): Promise<void> => {
      const ack = await h.send(adt({ visit: VISIT, listedUnit: VC, municipality: '1980', ...o }));
      expect(ackCode(ack), ack.toString()).toBe('AA');
    };
    await send({ event: 'A01', expected: '20260125', obx: [...NEEDS, OTHERS] });
    await send({ event: 'A08', evnTime: '20260116090000', obx: [...NEEDS, OBX.ready('202601160900')] });
  });
  afterAll(async () => {
    await h?.close();
  });

  const vc = async (): Promise<string> => {
    const found = await h.repo.search('Organization', { identifier: `urn:oid:1.2.752.29.4.19|${VC}` });
    return `Organization/${found.resources[0]?.id ?? ''}`;
  };
  const summaryTime = async (): Promise<string | null> => {
    const r = await h.db.query<{ at: string | Date | null }>(
      'SELECT information_transferred_at AS at FROM stay_summary WHERE stay_id = $1',
      [stayId],
    );
    const at = r.rows[0]?.at;
    return at ? new Date(at).toISOString() : null;
  };
  const engine = async () => {
    const r = await h.db.query<{ body: StayFact | string }>('SELECT body FROM stay_fact WHERE stay_id = $1', [stayId]);
    const facts = r.rows.map((x) => (typeof x.body === 'string' ? (JSON.parse(x.body) as StayFact) : x.body));
    return evaluateStay(facts, vastmanland).state;
  };
  const issues = async (): Promise<string[]> => engineIssuesOf(await h.repo.read<Encounter>('Encounter', stayId));
  /** The hospital's FHIR client completes its duty to transfer the information to `org`. */
  const complete = async (org: string): Promise<Task> => {
    const duty = (await h.tasks(stayId)).find(
      (t) => isDuty(t) && codeOf(t) === 'informationsoverforing' && t.requester?.reference === org,
    );
    expect(duty?.status).toBe('requested');
    const { api, EHR } = hospitalApi(h);
    return api.update<Task>({ ...(duty as Task), status: 'completed' }, EHR);
  };

  it('when the hospital completes its duty towards Västerås only, then the summary has no time for criterion 4 yet', async () => {
    expect(await issues()).toEqual([
      'ready: utskrivningsklar not activated: criteria not met (001 §3): informationsoverforing; it activates when they are',
    ]);
    await complete(`Organization/${h.vasteras.id}`);
    expect((await engine()).informationTransferredAt).toBeUndefined();
    expect(await summaryTime()).toBeNull();
  });

  it('then the Encounter’s engine issue says the transfer was reported for some units only and names the vårdcentral left', async () => {
    const [issue, ...more] = await issues();
    expect(more).toEqual([]);
    expect(issue).toContain('informationsoverforing was reported for some of the units only');
    expect(issue).toContain(`report the transfer to Vårdcentral ${VC}, by completing the duty towards it`);
    expect(issue).not.toContain('Organization/');
    expect(issue).not.toContain('Västerås');
  });

  it('when it then completes its duty towards the vårdcentral, then the summary has that time, as the engine, and the Encounter has no issue', async () => {
    const done = await complete(await vc());
    const at = done.meta?.lastUpdated;
    expect((await engine()).informationTransferredAt).toBe(at);
    expect((await engine()).readyAt).toBe(at);
    expect(await summaryTime()).toBe(at);
    expect(await issues()).toEqual([]);
    // made again from every fact, the summary keeps the engine's time
    await h.db.query('SELECT svu_rebuild_stay_summary()');
    expect(await summaryTime()).toBe(at);
  });

  it('when a store from before kept the first report’s time, then the one-off re-apply gives the engine’s', async () => {
    const at = (await engine()).informationTransferredAt;
    await h.db.query(
      `UPDATE stay_summary SET information_transferred_at = (SELECT min(at) FROM stay_fact
         WHERE stay_id = $1 AND kind = 'readiness-criteria-met' AND body ? 'to') WHERE stay_id = $1`,
      [stayId],
    );
    expect(await summaryTime()).not.toBe(at);
    await h.db.query('DELETE FROM schema_migrations WHERE name = $1', [INFORMATION_TRANSFERRED_BACKFILL]);
    expect(await backfillInformationTransferred(h.db, intakeRepository, intakeServices(h.ctx).deps)).toBe(1);
    expect(await summaryTime()).toBe(at);
    expect(await backfillInformationTransferred(h.db, intakeRepository, intakeServices(h.ctx).deps)).toBe(0);
  });
});
