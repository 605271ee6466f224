/**
 * A ready notice that the agreement's readiness gate holds back (Västmanland: the six criteria, 001 §3, OBX
 * `utskrivningsklar-kriterier`) counts no ready days on the dashboard until the criteria are met, and from then on
 * counts from when the last criterion came, as the engine and the payment liability have it: through the real HL7
 * intake, A01, a ready notice without the criteria, the criteria (in one message or two), A03. A region without a
 * gate counts from the notice, as before. And migration 152 corrects the summaries stored before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../src/core/engine/evaluate';
import { readyDaysAt } from '../../src/core/indicators/compute-indicators';
import type { StayFact } from '../../src/core/stay/facts';
import { dashboardData, dashboardStays } from '../../src/followup/dashboard/dashboard-data.pg';
import { liabilityFromStore } from '../../src/followup/liability/store-liability';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { migrate } from '../../src/store/migrate';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { ackCode, intakeHarness, type IntakeHarness } from '../intake/harness';
import { testDatabases } from '../support/db';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const NEEDS = [OBX.needs('socialtjanst'), OBX.consent('ja')];
const agreements = await loadAgreements();
const rates = await loadRatesTable();

/** A harness under one agreement, and what its dashboard, engine and liability say of a visit's stay. */
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
    /** The engine's ready time and its ready days (the core's rule), or undefined when it has none. */
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
      const stays = got.municipalities.flatMap((m) => m.stays).filter((s) => s.id === stayId);
      return stays.reduce((n, s) => n + s.days, 0);
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

/** All five criteria besides the physician's assessment (the ready notice itself). */
const ALL = ['skriftlig-information', 'fast-vardkontakt', 'informationsoverforing', 'hjalpmedel', 'lakemedelslista'];

describe.each(testDatabases())('dashboard and a ready notice held back by the readiness gate on %s', (kind) => {
  const v = views('vastmanland', kind);
  /** A01, and the ready notice of 17 January 09:00 without the criteria. */
  const heldBack = async (visit: string) => {
    await v.send({ event: 'A01', visit, obx: NEEDS });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.ready('202601170900')], evnTime: '20260117091500' });
  };
  const discharge = (visit: string) =>
    v.send({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' });

  it('when the criteria never come, then the stay counts no ready days, as the engine and the liability', async () => {
    const visit = 'G-NEVER';
    await heldBack(visit);
    await discharge(visit);
    expect(await v.engine(visit)).toBeUndefined();
    expect(await v.liabilityDays(visit)).toBe(0);
    expect(await v.dashboard(visit)).toBeUndefined();
    expect((await dashboardData(v.h.db, getAgreement(agreements, 'vastmanland'), '2026-01', 1)).readyDays).toEqual([]);
  });

  it('when the criteria come after the notice, then it is ready from the last criterion, as the engine and the liability', async () => {
    const visit = 'G-LATER';
    await heldBack(visit);
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.criteria(...ALL)], evnTime: '20260119103000' });
    await discharge(visit);
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-19T09:30:00.000Z', 1]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(1);
  });

  it('when the criteria come in two messages, then it is ready from the second, as the engine', async () => {
    const visit = 'G-TWO';
    await heldBack(visit);
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.criteria(...ALL.slice(0, 2))], evnTime: '20260118080000' });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.criteria(...ALL.slice(2))], evnTime: '20260119080000' });
    await discharge(visit);
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-19T07:00:00.000Z', 1]);
    expect(await v.dashboard(visit)).toEqual(engine);
  });

  it('when the criteria came before the notice, then it is ready from the notice', async () => {
    const visit = 'G-BEFORE';
    await v.send({ event: 'A01', visit, obx: [...NEEDS, OBX.criteria(...ALL)] });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.ready('202601170900')], evnTime: '20260117091500' });
    await discharge(visit);
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(3);
  });

  it('when the criteria come after the discharge, then the held notice never went out: no ready days', async () => {
    const visit = 'G-AFTER';
    await heldBack(visit);
    await discharge(visit);
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.criteria(...ALL)], evnTime: '20260121100000' });
    expect(await v.engine(visit)).toBeUndefined();
    expect(await v.dashboard(visit)).toBeUndefined();
  });

  it('when migration 152 runs over summaries stored before it, then a held-back notice is no longer counted', async () => {
    const held = 'G-OLD-HELD';
    await heldBack(held);
    await discharge(held);
    const met = 'G-OLD-MET';
    await heldBack(met);
    await v.send({ event: 'A08', visit: met, obx: [...NEEDS, OBX.criteria(...ALL)], evnTime: '20260119103000' });
    await discharge(met);
    // The summaries as migration 151's intake left them: no criteria.
    await v.h.db.query(
      `ALTER TABLE stay_summary DROP COLUMN written_information_at, DROP COLUMN fvk_appointed_at,
         DROP COLUMN information_transferred_at, DROP COLUMN assistive_devices_at, DROP COLUMN medication_list_at`,
    );
    await v.h.db.query(`DELETE FROM schema_migrations WHERE name = '152_stay_summary_readiness_criteria.sql'`);
    expect(await migrate(v.h.db)).toEqual(['152_stay_summary_readiness_criteria.sql']);
    expect(await v.dashboard(held)).toBeUndefined();
    expect(await v.dashboard(met)).toEqual(['2026-01-19T09:30:00.000Z', 1]);
  });
});

describe.each(testDatabases())('dashboard and a ready notice in a region without a readiness gate on %s', (kind) => {
  const v = views('stockholm', kind);

  it('when a ready notice comes without criteria, then it counts from the notice, as the engine and the liability', async () => {
    const visit = 'N-NOTICE';
    await v.send({ event: 'A01', visit, obx: NEEDS });
    await v.send({ event: 'A08', visit, obx: [...NEEDS, OBX.ready('202601170900')], evnTime: '20260117091500' });
    await v.send({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' });
    const engine = await v.engine(visit);
    expect(engine).toEqual(['2026-01-17T08:00:00.000Z', 3]);
    expect(await v.dashboard(visit)).toEqual(engine);
    expect(await v.liabilityDays(visit)).toBe(3);
  });
});
