/**
 * A ready notice that the agreement's readiness gate holds back (Västmanland: the six criteria, 001 §3, OBX
 * `utskrivningsklar-kriterier`) counts no ready days on the dashboard until the criteria are met, and from then on
 * counts from when the last criterion came, as the engine and the payment liability have it: through the real HL7
 * intake, A01, a ready notice without the criteria, the criteria (in one message or two), A03. A region without a
 * gate counts from the notice, as before. And migration 152 corrects the summaries stored before it.
 */
import { describe, expect, it } from 'vitest';
import { getAgreement } from '../../src/agreements/load-agreements';
import { dashboardData } from '../../src/followup/dashboard/dashboard-data.pg';
import { migrate } from '../../src/store/migrate';
import { OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';

import { agreements, ALL, NEEDS, views } from './ready-views';

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
