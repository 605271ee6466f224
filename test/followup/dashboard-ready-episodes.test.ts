/**
 * Which ready notice the dashboard counts ready days from, held equal to the engine and the payment liability
 * through the real HL7 intake:
 * - a second ready notice without a withdrawal (avbrott) in between changes nothing: the engine keeps the first, so
 *   the dashboard does too (it kept the last);
 * - a notice the readiness gate held back (Västmanland, 001 §3) is dropped by a discharge before its last
 *   criterion, even a discharge that an A13 later cancels: the engine has no ready time until a new notice, so the
 *   dashboard counts none (it counted from the last criterion); a new notice after the A13 counts again;
 * - criteria alone, without any ready notice (the physician's assessment), are no ready time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../src/core/engine/evaluate';
import { readyDaysAt } from '../../src/core/indicators/compute-indicators';
import type { StayFact } from '../../src/core/stay/facts';
import { dashboardStays } from '../../src/followup/dashboard/dashboard-data.pg';
import { liabilityFromStore } from '../../src/followup/liability/store-liability';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { migrate } from '../../src/store/migrate';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { ackCode, intakeHarness, type IntakeHarness } from '../intake/harness';
import { testDatabases } from '../support/db';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const NEEDS = [OBX.needs('socialtjanst'), OBX.consent('ja')];
const ALL = ['skriftlig-information', 'fast-vardkontakt', 'informationsoverforing', 'hjalpmedel', 'lakemedelslista'];
const agreements = await loadAgreements();
const rates = await loadRatesTable();

function views(agreementId: string, kind: 'pglite' | 'postgres') {
  const agreement: Agreement = getAgreement(agreements, agreementId);
  const v = {
    h: undefined as unknown as IntakeHarness,
    async send(o: AdtOptions) {
      const ack = await v.h.send(adt(o));
      expect(ackCode(ack), ack.toString()).toBe('AA');
    },
    /** The drill-down's row of the stay: [ready at, ready days], or undefined when it is not counted. */
    async dashboard(visit: string) {
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const rows = (await dashboardStays(v.h.db, agreement, '1980', '2026-01')).filter((s) => s.stayId === stayId);
      expect(rows.length).toBeLessThanOrEqual(1);
      return rows[0] && [rows[0].readyAt, rows[0].readyDays];
    },
    /** The engine's ready time and its ready days, or undefined when it has none. */
    async engine(visit: string) {
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const r = await v.h.db.query<{ body: StayFact | string }>('SELECT body FROM stay_fact WHERE stay_id = $1', [
        stayId,
      ]);
      const facts = r.rows.map((x) => (typeof x.body === 'string' ? (JSON.parse(x.body) as StayFact) : x.body));
      const state = evaluateStay(facts, agreement).state;
      expect(state.dischargedAt).toBeDefined();
      return state.readyAt === undefined
        ? undefined
        : [state.readyAt, readyDaysAt(Date.parse(state.readyAt), Date.parse(state.dischargedAt ?? ''))];
    },
    /** The days the payment liability counts for the stay in January. */
    async liabilityDays(visit: string) {
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const got = await liabilityFromStore(
        { db: v.h.db, agreements, rates },
        { agreement: agreementId, month: '2026-01', missingRate: 'days-only' },
      );
      return got.municipalities
        .flatMap((m) => m.stays)
        .filter((s) => s.id === stayId)
        .reduce((n, s) => n + s.days, 0);
    },
    /** The stay's summary made again from all its facts equals the one intake kept. */
    async rebuildAgrees() {
      const before = await v.h.db.query('SELECT * FROM stay_summary ORDER BY stay_id');
      await v.h.db.query('SELECT svu_rebuild_stay_summary()');
      const after = await v.h.db.query('SELECT * FROM stay_summary ORDER BY stay_id');
      expect(after.rows).toEqual(before.rows);
    },
  };
  beforeAll(async () => {
    v.h = await intakeHarness(kind, { env: { AGREEMENT: agreementId } });
  });
  afterAll(async () => {
    await v.h.close();
  });
  return v;
}

const ready = (at: string) => OBX.ready(at);

for (const agreementId of ['vastmanland', 'stockholm']) {
  describe.each(testDatabases())(`dashboard and a second ready notice (${agreementId}) on %s`, (kind) => {
    const v = views(agreementId, kind);

    it('when a second notice comes without a withdrawal, then the stay is ready from the first, as the engine and the liability', async () => {
      const visit = `TWICE-${agreementId}`;
      await v.send({ event: 'A01', visit, obx: [...NEEDS, OBX.criteria(...ALL)] });
      await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601170900')], evnTime: '20260117091500' });
      await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601190900')], evnTime: '20260119091500' });
      await v.send({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' });
      const engine = await v.engine(visit);
      expect(engine).toEqual(['2026-01-17T08:00:00.000Z', 3]);
      expect(await v.dashboard(visit)).toEqual(engine);
      expect(await v.liabilityDays(visit)).toBe(3);
      await v.rebuildAgrees();
    });

    it('when a notice is withdrawn, renewed twice and the withdrawal arrives last, then the first renewed notice counts', async () => {
      const visit = `RENEWED-${agreementId}`;
      await v.send({ event: 'A01', visit, obx: [...NEEDS, OBX.criteria(...ALL)] });
      await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601160900')], evnTime: '20260116091500' });
      await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601180900')], evnTime: '20260118091500' });
      await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601190900')], evnTime: '20260119091500' });
      // The withdrawal of 17 January reaches the gateway after the renewed notices (out of order).
      await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.withdrawn()], evnTime: '20260117100000' });
      await v.send({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' });
      const engine = await v.engine(visit);
      expect(engine).toEqual(['2026-01-18T08:00:00.000Z', 2]);
      expect(await v.dashboard(visit)).toEqual(engine);
      await v.rebuildAgrees();
    });
  });
}

describe.each(testDatabases())('dashboard, a held-back notice and a cancelled discharge on %s', (kind) => {
  const v = views('vastmanland', kind);
  /** A01, the notice of 17 January held back, A03 on the 18th, A13 on the 18th, the last criteria on the 19th. */
  const heldDischargedCancelled = async (visit: string) => {
    await v.send({ event: 'A01', visit, obx: NEEDS });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601170900')], evnTime: '20260117091500' });
    await v.send({ event: 'A03', visit, discharge: '20260118100000', evnTime: '20260118100500' });
    await v.send({ event: 'A13', visit, evnTime: '20260118120000' });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.criteria(...ALL)], evnTime: '20260119103000' });
  };
  const discharge = (visit: string) =>
    v.send({ event: 'A03', visit, discharge: '20260121140000', evnTime: '20260121140500' });

  it('when the discharge that dropped the held notice is cancelled, then no ready days, as the engine and the liability', async () => {
    const visit = 'HELD-A13';
    await heldDischargedCancelled(visit);
    await discharge(visit);
    expect(await v.engine(visit)).toBeUndefined();
    expect(await v.liabilityDays(visit)).toBe(0);
    expect(await v.dashboard(visit)).toBeUndefined();
    await v.rebuildAgrees();
  });

  it('when a new notice comes after the A13, then the stay is ready from it, as the engine and the liability', async () => {
    const visit = 'HELD-A13-AGAIN';
    await heldDischargedCancelled(visit);
    await v.send({ event: 'A08', visit, obx: [...NEEDS, ready('202601200900')], evnTime: '20260120091500' });
    await discharge(visit);
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-20T08:00:00.000Z', 1]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(1);
    await v.rebuildAgrees();
  });

  it('when migration 155 runs over summaries stored before it, then they count from the notice the engine keeps', async () => {
    const twice = 'OLD-TWICE';
    await v.send({ event: 'A01', visit: twice, obx: [...NEEDS, OBX.criteria(...ALL)] });
    await v.send({ event: 'A08', visit: twice, obx: [...NEEDS, ready('202601170900')], evnTime: '20260117091500' });
    await v.send({ event: 'A08', visit: twice, obx: [...NEEDS, ready('202601190900')], evnTime: '20260119091500' });
    await discharge(twice);
    const held = 'OLD-HELD-A13';
    await heldDischargedCancelled(held);
    await discharge(held);
    // The summaries as migration 152's intake left them: the last notice, no episode columns.
    await v.h.db.query(
      `UPDATE stay_summary s SET ready_at = (SELECT max(at) FROM stay_fact f
         WHERE f.stay_id = s.stay_id AND f.kind = 'ready-for-discharge')`,
    );
    await v.h.db.query('ALTER TABLE stay_summary DROP COLUMN ready_discharged_at, DROP COLUMN ready_again_at');
    await v.h.db.query('DROP FUNCTION svu_ready_episode');
    await v.h.db.query(`DELETE FROM schema_migrations WHERE name = '155_stay_summary_ready_episode.sql'`);
    expect(await migrate(v.h.db)).toEqual(['155_stay_summary_ready_episode.sql']);
    expect(await v.dashboard(twice)).toEqual(['2026-01-17T08:00:00.000Z', 4]);
    expect(await v.dashboard(held)).toBeUndefined();
  });

  it('when the criteria come but no ready notice ever does, then no ready days, as the engine', async () => {
    const visit = 'CRITERIA-ONLY';
    await v.send({ event: 'A01', visit, obx: [...NEEDS, OBX.criteria(...ALL)] });
    await discharge(visit);
    expect(await v.engine(visit)).toBeUndefined();
    expect(await v.dashboard(visit)).toBeUndefined();
  });
});
