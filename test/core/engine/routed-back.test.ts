import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import type { PatientRouting, StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * A unit re-routed away and then back (the listed vårdcentral A → B → A, the municipality of registration 1980 →
 * 1981 → 1980) is told again that it is responsible: what it had was withdrawn with a makulering, so a new notice
 * under a key of its own (`…#<id of the fact that routed it back>`), with its own deadline from the re-routing; the
 * withdrawn Tasks and their makulering stay as history and are not brought back.
 */
let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ADM = '2026-05-04T10:00:00+02:00';
const READY = '2026-05-05T09:00:00+02:00';
const AWAY = '2026-05-05T12:00:00+02:00';
const BACK = '2026-05-06T09:00:00+02:00';
const VC_B = 'SE2321000222-VC2';
const NEEDS = ['socialtjanst', 'kommunal-hsl', 'oppenvard'] as const;

const route = (at: string, patient: PatientRouting, id: string): StayFact =>
  b.fact(at, { kind: 'patient-updated', patient }, id);
const stay = (rest: StayFact[]): StayFact[] => [
  b.admitted(ADM),
  b.needs(ADM, [...NEEDS]),
  b.estimate(ADM, '2026-05-12'),
  b.criteria(ADM, b.ALL_CRITERIA),
  b.ready(READY),
  ...rest,
];
const ownedBy =
  (key: string) =>
  (t: TaskSpec): boolean =>
    t.key.slice(t.key.indexOf('@') + 1).split('#')[0] === key && !t.key.startsWith('ansvar:');

function check(e: StayEvaluation, party: string, backId: string): void {
  const mine = e.tasks.filter(ownedBy(party));
  const first = mine.find((t) => t.key === `inskrivningsmeddelande@${party}`);
  // The first notice stays withdrawn, and its makulering stands.
  expect(first?.status).toBe('cancelled');
  expect(mine.find((t) => t.key === `makulering:inskrivningsmeddelande@${party}`)?.status).toBe('requested');
  // It is told again, as a new notice from the re-routing back, with the hospital's duty to it.
  const again = mine.find((t) => t.key === `inskrivningsmeddelande@${party}#${backId}`);
  expect(again).toMatchObject({ status: 'requested', authoredOn: new Date(BACK).toISOString() });
  const duty = e.tasks.find((t) => t.key === `ansvar:${again?.key}`);
  expect(duty?.due).toBe(new Date(Date.parse(BACK) + 24 * 3600_000).toISOString());
  // The ready notice it had is withdrawn; it is told it again, under a key of its own.
  const ready = mine.filter((t) => t.code === 'utskrivningsklar');
  expect(ready.map((t) => t.status).sort()).toEqual(['cancelled', 'requested']);
  expect(ready.find((t) => t.status === 'requested')?.key).toMatch(new RegExp(`#${backId}$`));
  expect(new Set(e.tasks.map((t) => t.key)).size).toBe(e.tasks.length);
}

describe('a unit re-routed away and back', () => {
  it('when the listed vårdcentral moves to another and back, then the first one is told again with a new notice; the withdrawn Tasks stay withdrawn', () => {
    const vm = getAgreement(A, 'vastmanland');
    const facts = stay([
      route(AWAY, { primaryCareUnit: VC_B }, 'f-away'),
      route(BACK, { primaryCareUnit: b.VC }, 'f-back'),
    ]);
    const e = evaluateStay(facts, vm);
    expect(evaluateStay([...facts].reverse(), vm)).toEqual(e);
    check(e, `primary-care:${b.VC}`, 'f-back');
    // B, re-routed away in turn, has everything withdrawn.
    const vcB = e.tasks.filter((t) => ownedBy(`primary-care:${VC_B}`)(t) && t.code !== 'makulering');
    expect(vcB.length).toBeGreaterThan(0);
    expect(vcB.every((t) => t.status === 'cancelled' || t.status === 'completed')).toBe(true);
    // The named care contact's Tasks are the unit's again, open (not the first period's brought back).
    const fvk = e.tasks.filter((t) => t.code === 'utse-fast-vardkontakt' && ownedBy(`primary-care:${b.VC}`)(t));
    expect(fvk.filter((t) => t.status === 'requested').map((t) => t.key)).toEqual([
      `utse-fast-vardkontakt@primary-care:${b.VC}#f-back`,
    ]);
  });

  it('when the municipality of registration moves to another and back, then it is told again with a new notice as the responsible municipality', () => {
    const vm = getAgreement(A, 'vastmanland');
    const e = evaluateStay(
      stay([route(AWAY, { municipality: '1981' }, 'm-away'), route(BACK, { municipality: b.WESTERAS }, 'm-back')]),
      vm,
    );
    check(e, `municipality:${b.WESTERAS}`, 'm-back');
  });

  it('when the placing municipality is reported, withdrawn and reported again, then the municipality of registration is told for information again with a new notice, and the placing one is told again as responsible', () => {
    const vm = getAgreement(A, 'vastmanland');
    const REG = `municipality:${b.WESTERAS}`;
    const e = evaluateStay(
      [
        b.admitted(ADM, { placingMunicipality: '0180' }),
        b.needs(ADM, [...NEEDS]),
        route(AWAY, { placingMunicipality: null }, 'p-off'),
        route(BACK, { placingMunicipality: '0180' }, 'p-on'),
      ],
      vm,
    );
    const live = e.tasks.filter((t) => t.status === 'requested' && t.code === 'inskrivningsmeddelande');
    expect(live.map((t) => t.key).sort()).toEqual([
      'inskrivningsmeddelande@municipality:0180#p-on',
      `inskrivningsmeddelande@${REG}#p-on`,
      `inskrivningsmeddelande@primary-care:${b.VC}`,
    ]);
    expect(live.find((t) => t.key === `inskrivningsmeddelande@${REG}#p-on`)?.description).toMatch(/för kännedom/);
    for (const k of [
      `inskrivningsmeddelande@${REG}`,
      `inskrivningsmeddelande@${REG}#ansvarig`,
      'inskrivningsmeddelande@municipality:0180',
    ]) {
      expect(e.tasks.find((t) => t.key === k)?.status, k).toBe('cancelled');
      expect(e.tasks.find((t) => t.key === `makulering:${k}`)?.status, k).toBe('requested');
    }
    expect(new Set(e.tasks.map((t) => t.key)).size).toBe(e.tasks.length);
  });
});
