import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

/** A withdrawn Task comes back `cancelled` with a `makulering` to its owner: on a re-routing and at a death. */
let A: Agreement;
let agreements: Map<string, Agreement>;
beforeAll(async () => {
  agreements = await loadAgreements();
  A = getAgreement(agreements, 'vastmanland');
});
const ADM = '2026-05-04T10:00:00+02:00';
const MOVED = '2026-05-05T09:00:00+02:00';
const VC2 = 'SE2321000222-VC2';
const base = [
  b.admitted(ADM),
  b.needs(ADM, ['socialtjanst', 'kommunal-hsl', 'oppenvard']),
  b.estimate(ADM, '2026-05-12'),
];
const moved = b.fact(MOVED, { kind: 'patient-updated', patient: { municipality: '1981', primaryCareUnit: VC2 } });

/** Each cancelled receiver Task of `party` (not a duty) with its makulering. */
const withdrawnFrom = (e: StayEvaluation, party: string): { task: TaskSpec; notice: TaskSpec | undefined }[] =>
  e.tasks
    .filter((t) => t.status === 'cancelled' && t.code !== 'makulering' && !t.key.startsWith('ansvar:'))
    .filter((t) => t.key.split('@')[1]?.split('#')[0] === party)
    .map((task) => ({ task, notice: e.tasks.find((t) => t.key === `makulering:${task.key}`) }));

describe('withdrawal notices (makulering)', () => {
  it('when the municipality and the listed vårdcentral change, then every Task withdrawn from the old ones (the FVK Tasks too) gets a makulering to the same owner at the re-routing', () => {
    const e = evaluateStay([...base, moved], A);
    const muni = withdrawnFrom(e, `municipality:${b.WESTERAS}`);
    const vc = withdrawnFrom(e, `primary-care:${b.VC}`);
    expect(muni.map((w) => w.task.code)).toEqual(['inskrivningsmeddelande']);
    expect(vc.map((w) => w.task.code).sort()).toEqual([
      'inskrivningsmeddelande',
      'kallelse-sip',
      'utse-fast-vardkontakt',
    ]);
    for (const { task, notice } of [...muni, ...vc]) {
      expect(notice, task.key).toMatchObject({
        code: 'makulering',
        status: 'requested',
        owner: task.owner,
        requester: task.requester,
        focusKey: task.key,
        authoredOn: new Date(MOVED).toISOString(),
      });
      expect(notice?.description).not.toMatch(/1981|SE2321000222-VC2/);
    }
    // The new vårdcentral is the FVK now.
    const fvk = e.tasks.find((t) => t.code === 'utse-fast-vardkontakt' && t.status === 'requested');
    expect(fvk?.owner).toEqual({ kind: 'primary-care', hsaId: VC2 });
  });

  it('when the old vårdcentral had already sent the SIP invitation, then its kallelse-sip stays completed and gets no makulering', () => {
    const invited = b.fact('2026-05-04T15:00:00+02:00', { kind: 'sip-invitation-sent' });
    const ready = [b.criteria(ADM, b.ALL_CRITERIA), b.ready('2026-05-04T12:00:00+02:00')];
    const e = evaluateStay([...base, ...ready, invited, moved], A);
    const sip = e.tasks.find((t) => t.key === `kallelse-sip@primary-care:${b.VC}`);
    expect(sip?.status).toBe('completed');
    expect(e.tasks.find((t) => t.key === `makulering:kallelse-sip@primary-care:${b.VC}`)).toBeUndefined();
  });

  it('when the patient dies, then each lapsed planning Task gets a makulering saying so, and a sent notice is not withdrawn', () => {
    const ready = [b.criteria(ADM, b.ALL_CRITERIA), b.ready('2026-05-04T12:00:00+02:00')];
    const death = b.fact('2026-05-06T08:00:00+02:00', { kind: 'died' });
    const e = evaluateStay([...base, ...ready, death], A);
    const lapsed = withdrawnFrom(e, `primary-care:${b.VC}`);
    expect(lapsed.map((w) => w.task.code).sort()).toEqual(['kallelse-sip', 'utse-fast-vardkontakt']);
    for (const { task, notice } of lapsed) {
      expect(notice, task.key).toMatchObject({
        owner: task.owner,
        status: 'requested',
        authoredOn: '2026-05-06T06:00:00.000Z',
      });
      expect(notice?.description).toMatch(/^Patienten har avlidit: /);
    }
    expect(e.tasks.filter((t) => t.code === 'utskrivningsklar').map((t) => t.status)).toEqual([
      'requested',
      'requested',
    ]);
  });

  it('when the patient dies after the hospital made the information transfer, then that transfer stands (no makulering), while one not yet made lapses with a makulering (Gävleborg: due the day ready)', () => {
    const G = getAgreement(agreements, 'gavleborg');
    const ready = [b.ready('2026-05-04T12:00:00+02:00')];
    const death = b.fact('2026-05-06T08:00:00+02:00', { kind: 'died' });
    const transfer = b.criteria('2026-05-05T09:00:00+02:00', ['information-transferred']);
    const info = (e: StayEvaluation): TaskSpec[] => e.tasks.filter((t) => t.key.startsWith('informationsoverforing@'));
    const done = evaluateStay([...base, ...ready, transfer, death], G);
    expect(info(done).length).toBeGreaterThan(0);
    for (const t of info(done)) {
      expect(t, t.key).toMatchObject({ status: 'requested', metAt: '2026-05-05T07:00:00.000Z' });
      expect(
        done.tasks.find((x) => x.key === `makulering:${t.key}`),
        t.key,
      ).toBeUndefined();
    }
    const open = evaluateStay([...base, ...ready, death], G);
    expect(info(open).length).toBeGreaterThan(0);
    for (const t of info(open)) {
      expect(t.status, t.key).toBe('cancelled');
      expect(open.tasks.find((x) => x.key === `makulering:${t.key}`)?.description).toMatch(/^Patienten har avlidit: /);
    }
  });
});
