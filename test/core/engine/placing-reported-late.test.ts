import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

/**
 * Law 5 kap. 2 § / 003 with `notifyRegisteredMunicipality`: the municipality of registration is told for information
 * while a placing municipality is responsible, whether the placing municipality came with the admission or later.
 */
let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ADM = '2026-05-04T10:00:00+02:00';
const LATER = '2026-05-05T09:00:00+02:00';
const REG = `municipality:${b.WESTERAS}`;
const PLACING = '0180';
const NEEDS = ['socialtjanst', 'kommunal-hsl', 'oppenvard'] as const;

const early = (id: string): StayEvaluation =>
  evaluateStay(
    [b.admitted(ADM, { placingMunicipality: PLACING }), b.needs(ADM, [...NEEDS]), b.estimate(ADM, '2026-05-12')],
    getAgreement(A, id),
  );
const late = (id: string, extra: Parameters<typeof evaluateStay>[0] = []): StayEvaluation =>
  evaluateStay(
    [
      b.admitted(ADM),
      b.needs(ADM, [...NEEDS]),
      b.estimate(ADM, '2026-05-12'),
      ...extra,
      b.fact(LATER, { kind: 'patient-updated', patient: { placingMunicipality: PLACING } }),
    ],
    getAgreement(A, id),
  );
/** The registered municipality's Tasks (not the hospital's duties). */
const ofRegistered = (e: StayEvaluation): TaskSpec[] =>
  e.tasks.filter((t) => t.owner.kind === 'municipality' && t.owner.code === b.WESTERAS && !t.key.startsWith('ansvar:'));
const forInformation = (e: StayEvaluation): TaskSpec | undefined =>
  ofRegistered(e).find((t) => t.code === 'inskrivningsmeddelande' && t.status === 'requested');

describe('a placing municipality reported after the admission', () => {
  it('when the placing municipality is reported only after the admission, then the municipality of registration gets the same for-information notice as when it was known from the start, and a makulering of the notice it had as the responsible one', () => {
    const from = early('vastmanland');
    const after = late('vastmanland');
    const before = forInformation(from);
    const now = forInformation(after);
    expect(before?.description).toMatch(/för kännedom: den placerande kommunen ansvarar/);
    expect(now).toMatchObject({
      code: 'inskrivningsmeddelande',
      owner: before?.owner,
      requester: before?.requester,
      description: before?.description,
      named: before?.named,
      authoredOn: new Date(LATER).toISOString(),
    });
    expect(now?.due).toBeUndefined();
    // What it had as the responsible municipality is withdrawn, and it is told so once.
    const withdrawn = ofRegistered(after).filter((t) => t.status === 'cancelled');
    expect(withdrawn.map((t) => t.key)).toEqual([`inskrivningsmeddelande@${REG}`]);
    const notice = after.tasks.find((t) => t.key === `makulering:inskrivningsmeddelande@${REG}`);
    expect(notice).toMatchObject({ status: 'requested', owner: now?.owner, authoredOn: now?.authoredOn });
    expect(notice?.description).toMatch(/^En placerande kommun ansvarar för patienten: .* för kännedom$/);
    // No duty with a deadline is left with it: only the placing municipality has the hospital's duty to it.
    expect(after.tasks.filter((t) => t.key.startsWith('ansvar:') && t.status === 'requested')).toEqual([]);
    expect(ofRegistered(after).filter((t) => t.status === 'requested' && t.code !== 'makulering')).toEqual([now]);
    // The placing municipality's own Tasks are the same either way.
    const placing = (e: StayEvaluation) =>
      e.tasks.filter((t) => t.owner.kind === 'municipality' && t.owner.code === PLACING).map((t) => t.code);
    expect(placing(after)).toEqual(placing(from));
  });

  it('when the municipal nurse of the registered municipality was the named care contact (Gävleborg), then its FVK Tasks are withdrawn and it keeps only the notice for information', () => {
    const hhc = b.fact(ADM, { kind: 'patient-updated', patient: { homeHealthCare: true } });
    const after = late('gavleborg', [hhc]);
    const nurse = after.tasks.filter(
      (t) => t.owner.kind === 'municipal-nurse' && t.owner.municipality === b.WESTERAS && t.code !== 'makulering',
    );
    expect(nurse.length).toBeGreaterThan(0);
    for (const t of nurse) {
      expect(t.status, t.key).toBe('cancelled');
      expect(after.tasks.some((x) => x.key === `makulering:${t.key}`)).toBe(true);
    }
    expect(forInformation(after)?.description).toMatch(/för kännedom/);
  });

  it('when the agreement turns notifyRegisteredMunicipality off, then the late report only withdraws what the registered municipality had', () => {
    const vm = getAgreement(A, 'vastmanland');
    const off = { ...vm, routing: { ...vm.routing, notifyRegisteredMunicipality: false } };
    const e = evaluateStay(
      [
        b.admitted(ADM),
        b.needs(ADM, ['socialtjanst']),
        b.fact(LATER, { kind: 'patient-updated', patient: { placingMunicipality: PLACING } }),
      ],
      off,
    );
    expect(ofRegistered(e).map((t) => [t.key, t.status])).toEqual([
      [`inskrivningsmeddelande@${REG}`, 'cancelled'],
      [`makulering:inskrivningsmeddelande@${REG}`, 'requested'],
    ]);
  });

  it('when the late report is followed by more re-routings, in any order of arrival, then the evaluation is the same, keys are unique and every makulering withdraws a cancelled Task of its owner', () => {
    const vm = getAgreement(A, 'vastmanland');
    const facts = [
      b.admitted(ADM),
      b.needs(ADM, [...NEEDS]),
      b.fact(LATER, { kind: 'patient-updated', patient: { placingMunicipality: PLACING } }),
      b.fact('2026-05-06T09:00:00+02:00', { kind: 'patient-updated', patient: { placingMunicipality: '0181' } }),
      b.fact('2026-05-07T09:00:00+02:00', { kind: 'patient-updated', patient: { municipality: '1981' } }),
    ];
    const e = evaluateStay(facts, vm);
    for (const order of [[...facts].reverse(), [facts[2]!, facts[0]!, facts[4]!, facts[1]!, facts[3]!]])
      expect(evaluateStay(order, vm)).toEqual(e);
    const byKey = new Map(e.tasks.map((t) => [t.key, t]));
    expect(byKey.size).toBe(e.tasks.length);
    for (const t of e.tasks.filter((x) => x.code === 'makulering')) {
      expect(byKey.get(t.focusKey ?? '')?.status, t.key).toBe('cancelled');
      expect(byKey.get(t.focusKey ?? '')?.owner).toEqual(t.owner);
    }
    // Västerås, no longer the municipality of registration, has nothing left; 1981 is told for information.
    expect(ofRegistered(e).filter((t) => t.status === 'requested' && t.code !== 'makulering')).toEqual([]);
    const now = e.tasks.find((t) => t.key === 'inskrivningsmeddelande@municipality:1981');
    expect(now?.description).toMatch(/för kännedom/);
  });
});
