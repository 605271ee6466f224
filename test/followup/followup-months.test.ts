/**
 * The follow-up over consecutive months (fold cache, one read per stay per run, the deadline_task projection, the
 * next-month averages carried along) against the straightforward reading month by month (`loadStoredStays`,
 * `loadIndicatorRows`: every stay folded again, every Task's JSON and history): the same values, before and after a
 * late fact, with withdrawals, a cancelled admission and a re-admission of a person 65+.
 */
import type { Encounter, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { computeIndicators, type IndicatorValue } from '../../src/core/indicators/compute-indicators';
import { computeLiability, type StayLiability } from '../../src/core/liability/compute-liability';
import type { FactTrace } from '../../src/core/liability/from-facts';
import { localParts } from '../../src/core/liability/day-count';
import type { StayInput } from '../../src/core/liability/stay';
import type { StayFact } from '../../src/core/stay/facts';
import { upsertTaskRow } from '../../src/deadlines/deadline-store.pg';
import { taskRowOf } from '../../src/deadlines/task-sync';
import { indicatorMonths } from '../../src/followup/indicators/indicator-months.pg';
import { loadIndicatorRows } from '../../src/followup/indicators/indicator-rows.pg';
import { liabilityMonths, paymentOf } from '../../src/followup/liability/store-liability';
import { foldKey } from '../../src/followup/stays/stay-folds.pg';
import { factsFingerprint, indexStays } from '../../src/followup/stays/stay-index.pg';
import { loadStoredStays } from '../../src/followup/liability/stored-stays.pg';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { rates } from '../core/liability/helpers';
import { openTestDb, testDatabases } from '../support/db';
import { factsOf, syntheticYear } from './synthetic-stays';

const MONTHS = Array.from({ length: 12 }, (_, i) => `2022-${String(i + 1).padStart(2, '0')}`);
const NOW = '2023-01-20T00:00:00Z';
const H = 3_600_000;

/** The month as the store-liability path read it before: every stay with a discharge near the month, folded. */
async function referenceLiability(db: ClosableDb, agreement: Agreement, month: string) {
  const payment = paymentOf(agreement);
  const stored = await loadStoredStays(db, agreement, month, payment);
  const stays: StayInput[] = [];
  const trace = new Map<string, FactTrace[]>();
  const excluded: { id: string; reason: string; facts: FactTrace[] }[] = [];
  for (const s of stored) {
    if ('stay' in s) {
      stays.push(s.stay);
      trace.set(s.stay.id, s.facts);
      continue;
    }
    const discharged = s.facts.filter((f) => f.kind === 'discharged').at(-1);
    if (discharged && localParts(discharged.at, payment.dayCount.timeZone).month === month) {
      excluded.push({ id: s.stayId, reason: s.excluded, facts: s.facts });
    }
  }
  const report = computeLiability({ agreement: agreement.id, month, payment, stays, rates });
  return {
    ...report,
    municipalities: report.municipalities.map((m) => ({
      ...m,
      stays: m.stays.map((s: StayLiability) => ({ ...s, facts: trace.get(s.id) ?? [] })),
    })),
    excluded,
  };
}

const key = (v: IndicatorValue) => `${v.indicator}|${v.dimension}|${v.unit}|${v.detail}`;
const sorted = (vs: IndicatorValue[]) => [...vs].sort((a, b) => key(a).localeCompare(key(b)));

describe.each(testDatabases())('follow-up over consecutive months on %s', (kind) => {
  let db: ClosableDb;
  let agreements: Map<string, Agreement>;
  const year = syntheticYear(2022, 300);

  async function tasksOfStay(stayId: string, owner: string, dueAt: number) {
    const repo = createRepository(db, { system: true });
    const base = {
      resourceType: 'Task' as const,
      intent: 'order' as const,
      encounter: { reference: `Encounter/${stayId}` },
      authoredOn: new Date(dueAt - 24 * H).toISOString(),
    };
    const duty = await repo.create<Task>({
      ...base,
      status: 'requested',
      code: { coding: [{ code: 'inskrivningsmeddelande' }] },
      owner: { reference: owner },
      restriction: { period: { end: new Date(dueAt).toISOString() } },
    });
    // Completed, then changed again: the first completion is the one that counts.
    const done = await repo.update<Task>({ ...duty, status: 'completed' });
    const later = await repo.update<Task>({ ...done, note: [{ text: 'efterhand' }] });
    const sip = await repo.create<Task>({
      ...base,
      status: 'requested',
      code: { coding: [{ code: 'kallelse-sip' }] },
      owner: { reference: 'Organization/vc-1' },
      restriction: { period: { end: new Date(dueAt + 48 * H).toISOString() } },
    });
    const deviation = await repo.create<Task>({
      ...base,
      status: 'requested',
      code: { coding: [{ code: 'avvikelse' }] },
      owner: { reference: owner },
      requester: { reference: 'Organization/sjukhus-1' },
      focus: { reference: `Task/${duty.id}` },
    });
    for (const t of [later, sip, deviation]) await upsertTaskRow(db, taskRowOf(t, 'lag'));
  }

  beforeAll(async () => {
    db = await openTestDb(kind);
    agreements = await loadAgreements();
    const facts: StayFact[] = year.flatMap(factsOf);
    // A cancelled admission, discharged in June: excluded, with its facts.
    const cancelled = year.find((s) => new Date(s.dischargedAt).getUTCMonth() === 5);
    if (cancelled)
      facts.push({
        id: `${cancelled.id}#c`,
        stayId: cancelled.id,
        kind: 'admission-cancelled',
        at: new Date(cancelled.readyAt).toISOString(),
      });
    for (let i = 0; i < facts.length; i += 2000)
      await storeAndLoadFactsOfStays(db, [], facts.slice(i, i + 2000), 'hl7');
    const repo = createRepository(db, { system: true });
    // A person of 70 re-admitted within 30 days: two stays of the same Patient.
    const sorted = [...year].sort((a, b) => a.dischargedAt - b.dischargedAt);
    const first = sorted[40]!;
    const again = sorted.find(
      (s) => s.readyAt - 4 * 24 * H > first.dischargedAt && s.readyAt - 4 * 24 * H < first.dischargedAt + 20 * 24 * H,
    )!;
    await repo.update<Patient>({ resourceType: 'Patient', id: 'p-old', birthDate: '1952-01-01' });
    for (const s of [first, again]) {
      await repo.update<Encounter>({
        resourceType: 'Encounter',
        id: s.id,
        status: 'finished',
        class: { code: 'IMP' },
        subject: { reference: 'Patient/p-old' },
      });
    }
    for (const s of sorted.filter((_, i) => i % 25 === 0))
      await tasksOfStay(s.id, `Organization/kommun-${s.municipality}`, s.readyAt);
  }, 180_000);
  afterAll(async () => {
    await db.close();
  });

  async function compareAll(label: string) {
    const deps = { db, agreements, rates };
    for (const id of ['lag', 'jonkoping', 'vastmanland', 'stockholm']) {
      const agreement = agreements.get(id)!;
      let m = 0;
      for await (const got of liabilityMonths(deps, { agreement: id, months: MONTHS })) {
        const month = MONTHS[m++]!;
        const want = await referenceLiability(db, agreement, month);
        // the store's answer names each municipality (the reference computes from the stays alone)
        const unnamed = got.municipalities.map(({ name: _n, ...rest }) => rest);
        expect(unnamed, `${label} ${id} ${month}`).toEqual(want.municipalities);
        expect(got.excluded, `${label} ${id} ${month} excluded`).toEqual(want.excluded);
      }
    }
    const agreement = agreements.get('vastmanland')!;
    let m = 0;
    let values = 0;
    for await (const got of indicatorMonths(db, agreement, MONTHS, NOW)) {
      const month = MONTHS[m++]!;
      const rows = await loadIndicatorRows(db, agreement, month);
      const want = computeIndicators({ month, ...rows, now: NOW });
      expect(sorted(got.values), `${label} indicators ${month}`).toEqual(sorted(want));
      values += got.values.length;
    }
    return values;
  }

  it('when the months are computed twice (the second from the fold cache), then both equal the month-by-month reading', async () => {
    const values = await compareAll('cold');
    expect(values).toBeGreaterThan(100);
    const cached = await db.query<{ n: string }>('SELECT count(*) AS n FROM stay_fold');
    expect(Number(cached.rows[0]?.n)).toBeGreaterThan(300);
    await compareAll('warm');
  }, 300_000);

  it('when the stays are indexed, then each fingerprint is the text the fold cache keeps, so a warm run folds nothing', async () => {
    const index = await indexStays(db, MONTHS);
    const agreement = agreements.get('vastmanland')!;
    const kept = await db.query<{ stay_id: string; facts: string }>(
      'SELECT stay_id, facts FROM stay_fold WHERE agreement = $1',
      [foldKey(agreement)],
    );
    const byStay = new Map(kept.rows.map((r) => [r.stay_id, r.facts]));
    expect(index.ids.length).toBeGreaterThan(300);
    index.ids.forEach((id, rank) => expect(factsFingerprint(index, rank), id).toBe(byStay.get(id)));
    const stats = { cached: 0, folded: 0 };
    for await (const _ of indicatorMonths(db, agreement, MONTHS, NOW, index, stats));
    expect(stats).toEqual({ cached: index.ids.length, folded: 0 });
  }, 120_000);

  it('when a late fact withdraws a ready notice, then the cached fold is made again and both readings still agree', async () => {
    const s = year.find(
      (x) => new Date(x.dischargedAt).getUTCMonth() === 7 && x.dischargedAt - x.readyAt > 3 * 24 * H,
    )!;
    const before = await referenceLiability(db, agreements.get('lag')!, '2022-08');
    await storeAndLoadFactsOfStays(
      db,
      [],
      [{ id: `${s.id}#late`, stayId: s.id, kind: 'ready-withdrawn', at: new Date(s.readyAt + 24 * H).toISOString() }],
      'hl7',
    );
    const after = await referenceLiability(db, agreements.get('lag')!, '2022-08');
    expect(after.municipalities).not.toEqual(before.municipalities);
    await compareAll('late fact');
  }, 300_000);

  it('when a stay has a completed kallelse-sip Task but no invitation of a named care contact among its facts, then it is not liable for want of the invitation; the invitation fact makes it so', async () => {
    const agreement = agreements.get('lag')!;
    const payment = paymentOf(agreement);
    const s = year.find(
      (x) =>
        x.sipNeeded &&
        !x.sipHeld &&
        !x.categoryB &&
        !x.withdrawn &&
        !x.outpatientUnavailable &&
        x.estimated &&
        x.dischargedAt - x.readyAt > 5 * 24 * H,
    )!;
    const month = localParts(new Date(s.dischargedAt).toISOString(), payment.dayCount.timeZone).month;
    const reasonOf = async () =>
      (await referenceLiability(db, agreement, month)).municipalities.flatMap((m) => m.stays).find((x) => x.id === s.id)
        ?.reason ?? '';
    const noInvitation = 'the named care contact did not send the invitation';
    expect(await reasonOf()).toContain(noInvitation);
    // An invited party completing its invitation, or the duty of a unit the stay left: not the FVK's invitation.
    await createRepository(db, { system: true }).create<Task>({
      resourceType: 'Task',
      intent: 'order',
      status: 'completed',
      code: { coding: [{ code: 'kallelse-sip' }] },
      encounter: { reference: `Encounter/${s.id}` },
      owner: { reference: `Organization/kommun-${s.municipality}` },
    });
    expect(await reasonOf()).toContain(noInvitation);
    const invitation: StayFact = {
      id: `${s.id}#sip-invitation-sent`,
      stayId: s.id,
      kind: 'sip-invitation-sent',
      by: 'primary-care:SE2321000172-VC1',
      at: new Date(s.readyAt + H).toISOString(),
    };
    await storeAndLoadFactsOfStays(db, [], [invitation], 'hl7');
    expect(await reasonOf()).not.toContain(noInvitation);
    await compareAll('invitation');
  }, 300_000);
});
