import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayFact } from '../../../src/core/stay/facts';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

/**
 * A municipality of registration told for information while a placing municipality is responsible, that is later
 * responsible itself (the placing municipality is reported as it): it gets the admission notification as the
 * responsible municipality, with its deadline, the hospital's duty and the follow-on Tasks, as if the facts had come
 * in that form from the start; its notice for information is withdrawn with a makulering saying why.
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

const placingIs = (at: string, code: string): StayFact =>
  b.fact(at, { kind: 'patient-updated', patient: { placingMunicipality: code } });
const stay = (first: Parameters<typeof b.admitted>[1], rest: StayFact[] = []): StayFact[] => [
  b.admitted(ADM, first),
  b.needs(ADM, [...NEEDS]),
  b.estimate(ADM, '2026-05-12'),
  b.criteria(ADM, b.ALL_CRITERIA),
  ...rest,
  b.ready(READY),
];
/** A party's live Tasks (not a makulering), by code; its hospital duties by code. */
const live = (e: StayEvaluation, owner: (t: TaskSpec) => boolean): string[] =>
  e.tasks
    .filter((t) => owner(t) && t.status !== 'cancelled' && t.code !== 'makulering')
    .map((t) => t.code)
    .sort();
const municipality =
  (code: string) =>
  (t: TaskSpec): boolean =>
    t.owner.kind === 'municipality' && t.owner.code === code;
const dutiesTo =
  (code: string) =>
  (t: TaskSpec): boolean =>
    t.key.startsWith('ansvar:') && t.requester.kind === 'municipality' && t.requester.code === code;
const nurseOf =
  (code: string) =>
  (t: TaskSpec): boolean =>
    t.owner.kind === 'municipal-nurse' && t.owner.municipality === code;

describe('a municipality told for information, then responsible', () => {
  it('when the placing municipality is later reported as the municipality of registration, then that municipality owns the notification, its deadline and the follow-on Tasks as if no other had been placing, and its notice for information is withdrawn with a makulering saying it is responsible now', () => {
    const vm = getAgreement(A, 'vastmanland');
    const start = evaluateStay(stay({}), vm);
    const facts = stay({ placingMunicipality: PLACING }, [placingIs(LATER, b.WESTERAS)]);
    const e = evaluateStay(facts, vm);
    // Order of arrival does not matter.
    expect(evaluateStay([...facts].reverse(), vm)).toEqual(e);

    expect(live(e, municipality(b.WESTERAS))).toEqual(live(start, municipality(b.WESTERAS)));
    expect(live(e, dutiesTo(b.WESTERAS))).toEqual(live(start, dutiesTo(b.WESTERAS)));
    const notice = e.tasks.find((t) => t.key === `inskrivningsmeddelande@${REG}#ansvarig`);
    expect(notice).toMatchObject({ status: 'requested', authoredOn: new Date(LATER).toISOString() });
    expect(notice?.description).not.toMatch(/för kännedom/);
    expect(notice?.due).toBe(new Date(Date.parse(LATER) + 24 * 3600_000).toISOString());
    expect(e.tasks.find((t) => t.key === `ansvar:${notice?.key}`)?.due).toBe(notice?.due);

    // The notice for information is withdrawn, once, with the reason.
    const informed = e.tasks.find((t) => t.key === `inskrivningsmeddelande@${REG}`);
    expect(informed?.status).toBe('cancelled');
    const makulering = e.tasks.filter((t) => t.code === 'makulering' && municipality(b.WESTERAS)(t));
    expect(makulering.map((t) => t.focusKey)).toEqual([informed?.key]);
    expect(makulering[0]?.description).toMatch(/^Er kommun ansvarar nu för patienten: /);

    // The former placing municipality has nothing left; it is told so.
    expect(live(e, municipality(PLACING))).toEqual([]);
    expect(e.tasks.filter((t) => t.code === 'makulering' && municipality(PLACING)(t)).length).toBeGreaterThan(0);
    expect(new Set(e.tasks.map((t) => t.key)).size).toBe(e.tasks.length);
  });

  it('when the municipal nurse of the municipality of registration is the named care contact (Gävleborg), then after it becomes responsible it owns the FVK Tasks as if it had been from the start', () => {
    const g = getAgreement(A, 'gavleborg');
    const hhc = b.fact(ADM, { kind: 'patient-updated', patient: { homeHealthCare: true } });
    const start = evaluateStay(stay({}, [hhc]), g);
    const e = evaluateStay(stay({ placingMunicipality: PLACING }, [hhc, placingIs(LATER, b.WESTERAS)]), g);
    expect(live(start, nurseOf(b.WESTERAS)).length).toBeGreaterThan(0);
    expect(live(e, nurseOf(b.WESTERAS))).toEqual(live(start, nurseOf(b.WESTERAS)));
    expect(live(e, nurseOf(PLACING))).toEqual([]);
  });

  it('when the placing municipality is reported again after that, then it is told for information again with a new notice (the first one stays withdrawn) and the one as responsible is withdrawn; keys stay unique', () => {
    const vm = getAgreement(A, 'vastmanland');
    const prefix = stay({ placingMunicipality: PLACING }, [placingIs(LATER, b.WESTERAS)]);
    const back = b.fact(
      '2026-05-07T09:00:00+02:00',
      { kind: 'patient-updated', patient: { placingMunicipality: PLACING } },
      'placing-again',
    );
    expect(evaluateStay(prefix, vm).tasks.some((t) => t.key === `inskrivningsmeddelande@${REG}#ansvarig`)).toBe(true);
    const e = evaluateStay([...prefix, back], vm);
    const keys = new Set(e.tasks.map((t) => t.key));
    expect(keys.size).toBe(e.tasks.length);
    expect(keys.has(`inskrivningsmeddelande@${REG}#ansvarig`)).toBe(true);
    const mine = e.tasks.filter(municipality(b.WESTERAS));
    // A new period in the role it had (docs/engine.md "Task keys"): a new notice, not the withdrawn one brought back.
    const again = `inskrivningsmeddelande@${REG}#placing-again`;
    expect(mine.filter((t) => t.status === 'requested' && t.code !== 'makulering').map((t) => t.key)).toEqual([again]);
    expect(mine.find((t) => t.key === again)).toMatchObject({
      authoredOn: new Date('2026-05-07T09:00:00+02:00').toISOString(),
      description: expect.stringMatching(/för kännedom/),
    });
    expect(mine.find((t) => t.key === `inskrivningsmeddelande@${REG}#ansvarig`)?.status).toBe('cancelled');
    expect(mine.find((t) => t.key === `makulering:inskrivningsmeddelande@${REG}#ansvarig`)?.description).toMatch(
      /^En placerande kommun ansvarar för patienten: /,
    );
    expect(mine.find((t) => t.key === `inskrivningsmeddelande@${REG}`)?.status).toBe('cancelled');
    expect(mine.find((t) => t.key === `makulering:inskrivningsmeddelande@${REG}`)?.status).toBe('requested');
  });

  it('when the patient is registered in the placing municipality later, then the former municipality of registration is no longer told for information: its notice is withdrawn', () => {
    const vm = getAgreement(A, 'vastmanland');
    const moved = b.fact(LATER, { kind: 'patient-updated', patient: { municipality: PLACING } });
    const e = evaluateStay(stay({ placingMunicipality: PLACING }, [moved]), vm);
    const mine = e.tasks.filter(municipality(b.WESTERAS));
    expect(mine.map((t) => [t.key, t.status])).toEqual([
      [`inskrivningsmeddelande@${REG}`, 'cancelled'],
      [`makulering:inskrivningsmeddelande@${REG}`, 'requested'],
    ]);
    expect(mine[1]?.description).toMatch(/^Vårdtillfället har omdirigerats: patienten är inte längre folkbokförd/);
  });
});
