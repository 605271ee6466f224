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
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate';
import { OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';

import { ALL, NEEDS, views } from './ready-views';

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
