import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import { storedStay } from '../../../src/core/liability/from-facts';
import type { StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * A placing municipality (law 5 kap. 2 §, 003) the hospital reported by mistake is withdrawn (`placingMunicipality:
 * null`: HL7 OBX `placerande-kommun` `""`, a FHIR Encounter version without the extension): the municipality of
 * registration is responsible again, as if no placing municipality had been reported, and the placing one is told
 * that what it got is withdrawn. The payment liability's payer follows.
 */
let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ADM = '2026-05-04T10:00:00+02:00';
const LATER = '2026-05-05T09:00:00+02:00';
const READY = '2026-05-06T09:00:00+02:00';
const REG = `municipality:${b.WESTERAS}`;
const PLACING = '0180';
const NEEDS = ['socialtjanst', 'kommunal-hsl', 'oppenvard'] as const;

const withdrawPlacing = (at: string): StayFact =>
  b.fact(at, { kind: 'patient-updated', patient: { placingMunicipality: null } });
const stay = (first: Parameters<typeof b.admitted>[1], rest: StayFact[] = []): StayFact[] => [
  b.admitted(ADM, first),
  b.needs(ADM, [...NEEDS]),
  b.estimate(ADM, '2026-05-12'),
  b.criteria(ADM, b.ALL_CRITERIA),
  ...rest,
  b.ready(READY),
];
const municipality =
  (code: string) =>
  (t: TaskSpec): boolean =>
    t.owner.kind === 'municipality' && t.owner.code === code;
const live = (e: StayEvaluation, owner: (t: TaskSpec) => boolean): string[] =>
  e.tasks
    .filter((t) => owner(t) && t.status !== 'cancelled' && t.code !== 'makulering')
    .map((t) => t.code)
    .sort();

describe('a placing municipality withdrawn', () => {
  it('when the placing municipality reported with the admission is withdrawn, then the municipality of registration is responsible (its notice for information withdrawn, the notice as responsible with its deadline) and the placing municipality is told its Tasks are withdrawn', () => {
    const vm = getAgreement(A, 'vastmanland');
    const facts = stay({ placingMunicipality: PLACING }, [withdrawPlacing(LATER)]);
    const e = evaluateStay(facts, vm);
    expect(evaluateStay([...facts].reverse(), vm)).toEqual(e);
    expect(e.state.placingMunicipality).toBeUndefined();

    // The municipality of registration owns what a responsible municipality owns, as if no placing one had been told.
    const start = evaluateStay(stay({}), vm);
    expect(live(e, municipality(b.WESTERAS))).toEqual(live(start, municipality(b.WESTERAS)));
    const notice = e.tasks.find((t) => t.key === `inskrivningsmeddelande@${REG}#ansvarig`);
    expect(notice).toMatchObject({ status: 'requested', authoredOn: new Date(LATER).toISOString() });
    expect(notice?.due).toBe(new Date(Date.parse(LATER) + 24 * 3600_000).toISOString());
    expect(notice?.description).not.toMatch(/för kännedom/);
    const informed = e.tasks.find((t) => t.key === `inskrivningsmeddelande@${REG}`);
    expect(informed?.status).toBe('cancelled');
    expect(e.tasks.find((t) => t.key === `makulering:inskrivningsmeddelande@${REG}`)?.description).toMatch(
      /^Er kommun ansvarar nu för patienten: /,
    );

    // The former placing municipality keeps nothing live, and each of its withdrawn Tasks has a makulering.
    expect(live(e, municipality(PLACING))).toEqual([]);
    const placing = e.tasks.filter((t) => municipality(PLACING)(t) && t.code !== 'makulering');
    expect(placing.length).toBeGreaterThan(0);
    for (const t of placing) {
      expect(t.status, t.key).toBe('cancelled');
      expect(e.tasks.find((x) => x.key === `makulering:${t.key}`)?.description).toMatch(
        /^Vårdtillfället har omdirigerats: er kommun är inte längre ansvarig/,
      );
    }
    // The principals named on the duties are the municipality of registration now.
    const duty = e.tasks.find((t) => t.key === `ansvar:${notice?.key}`);
    expect(duty?.principals?.some((p) => p.kind === 'municipality' && p.code === b.WESTERAS)).toBe(true);
    expect(duty?.principals?.some((p) => p.kind === 'municipality' && p.code === PLACING)).toBe(false);
    expect(new Set(e.tasks.map((t) => t.key)).size).toBe(e.tasks.length);
  });

  it('when the agreement does not tell the municipality of registration for information (lag without it), then it gets the notice as responsible under its plain key', () => {
    const vm = getAgreement(A, 'vastmanland');
    const off = { ...vm, routing: { ...vm.routing, notifyRegisteredMunicipality: false } };
    const e = evaluateStay(stay({ placingMunicipality: PLACING }, [withdrawPlacing(LATER)]), off);
    expect(e.tasks.find((t) => t.key === `inskrivningsmeddelande@${REG}`)).toMatchObject({
      status: 'requested',
      authoredOn: new Date(LATER).toISOString(),
    });
    expect(live(e, municipality(PLACING))).toEqual([]);
  });

  it('when no placing municipality was reported, then a withdrawal changes nothing', () => {
    const vm = getAgreement(A, 'vastmanland');
    const facts = stay({});
    const plain = evaluateStay(facts, vm);
    const e = evaluateStay([...facts, withdrawPlacing(LATER)], vm);
    expect(e.tasks).toEqual(plain.tasks);
    expect(e.rejected).toEqual(plain.rejected);
  });

  it('when a death message carries the withdrawal again (none was placing, or it was withdrawn before), then it is not reported as a fact not applied', () => {
    const vm = getAgreement(A, 'vastmanland');
    const died = b.fact('2026-05-07T09:00:00+02:00', { kind: 'died' });
    const again = withdrawPlacing('2026-05-07T09:05:00+02:00');
    expect(evaluateStay([...stay({}), died, again], vm).rejected).toEqual([]);
    expect(
      evaluateStay([...stay({ placingMunicipality: PLACING }, [withdrawPlacing(LATER)]), died, again], vm).rejected,
    ).toEqual([]);
  });

  it('when the placing municipality is withdrawn, then the payment liability falls on the municipality of registration', () => {
    const vm = getAgreement(A, 'vastmanland');
    const before = storedStay(stay({ placingMunicipality: PLACING }), vm);
    expect('stay' in before && before.stay.placingMunicipality).toBe(PLACING);
    const after = storedStay(stay({ placingMunicipality: PLACING }, [withdrawPlacing(LATER)]), vm);
    expect('stay' in after && after.stay).toMatchObject({ municipality: b.WESTERAS, placingMunicipality: null });
  });
});
