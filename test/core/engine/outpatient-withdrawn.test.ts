import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import type { StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * An outpatient unit (contract OBX `oppenvardsenhet`) the hospital reported by mistake is withdrawn (`outpatientUnit:
 * null`: HL7 OBX-5 `""`, a FHIR Encounter version without the `outpatient-unit` extension), as a placing municipality
 * is: the unit is told that what it got is withdrawn (a `makulering`, as for any re-routing), and the stay is as if it
 * had never been reported: the listed vårdcentral is told and appoints the FVK; with none listed, nobody is.
 */
let vm: Agreement;
beforeAll(async () => {
  vm = getAgreement(await loadAgreements(), 'vastmanland');
});
const ADM = '2026-05-04T10:00:00+02:00';
const LATER = '2026-05-05T09:00:00+02:00';
const AGAIN = '2026-05-05T15:00:00+02:00';
const PSYK = 'SE2321000222-PSYK1';
const NEEDS = ['socialtjanst', 'kommunal-hsl', 'oppenvard'] as const;

const withdrawUnit = (at: string): StayFact =>
  b.fact(at, { kind: 'patient-updated', patient: { outpatientUnit: null } });
const stay = (first: Parameters<typeof b.admitted>[1], rest: StayFact[] = []): StayFact[] => [
  b.admitted(ADM, first),
  b.needs(ADM, [...NEEDS]),
  b.estimate(ADM, '2026-05-12'),
  ...rest,
];
const unit =
  (hsa: string) =>
  (t: TaskSpec): boolean =>
    t.owner.kind === 'primary-care' && t.owner.hsaId === hsa && !t.key.startsWith('ansvar:');
const live = (e: StayEvaluation, owner: (t: TaskSpec) => boolean): string[] =>
  e.tasks
    .filter((t) => owner(t) && t.status !== 'cancelled' && t.code !== 'makulering')
    .map((t) => t.code)
    .sort();

describe('an outpatient unit withdrawn', () => {
  it('when the unit reported besides the listed vårdcentral is withdrawn, then it is told its notice is withdrawn and the vårdcentral keeps its Tasks', () => {
    const e = evaluateStay(stay({ outpatientUnit: PSYK }, [withdrawUnit(LATER)]), vm);
    expect(evaluateStay([...stay({ outpatientUnit: PSYK }, [withdrawUnit(LATER)])].reverse(), vm)).toEqual(e);
    expect(live(e, unit(PSYK))).toEqual([]);
    expect(live(e, unit(b.VC))).toEqual(live(evaluateStay(stay({}), vm), unit(b.VC)));
    const notice = e.tasks.find((t) => t.key === `inskrivningsmeddelande@primary-care:${PSYK}`);
    expect(notice?.status).toBe('cancelled');
    // it never was the FVK (the listed vårdcentral is): no FVK Task of its own, withdrawn or not, nor a makulering of one
    expect(e.tasks.filter((t) => t.key.includes(`utse-fast-vardkontakt@primary-care:${PSYK}`))).toEqual([]);
    expect(e.tasks.filter((t) => unit(PSYK)(t)).map((t) => t.key)).toEqual([
      `inskrivningsmeddelande@primary-care:${PSYK}`,
      `makulering:inskrivningsmeddelande@primary-care:${PSYK}`,
    ]);
    expect(e.tasks.find((t) => t.key === `makulering:${notice?.key}`)).toMatchObject({
      status: 'requested',
      authoredOn: new Date(LATER).toISOString(),
      description: expect.stringMatching(
        /^Vårdtillfället har omdirigerats: er enhet är inte längre patientens öppenvårdsenhet/,
      ),
    });
  });

  it('when the unit was the FVK (no vårdcentral listed) and is withdrawn, then its notice and FVK Tasks are withdrawn and the stay warns that no unit can be told', () => {
    const none = { primaryCareUnit: undefined };
    const e = evaluateStay(stay({ ...none, outpatientUnit: PSYK }, [withdrawUnit(LATER)]), vm);
    const before = evaluateStay(stay({ ...none, outpatientUnit: PSYK }), vm);
    expect(live(before, unit(PSYK))).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande', 'utse-fast-vardkontakt']),
    );
    expect(live(e, unit(PSYK))).toEqual([]);
    for (const code of ['inskrivningsmeddelande', 'utse-fast-vardkontakt']) {
      expect(e.tasks.find((t) => t.key === `${code}@primary-care:${PSYK}`)?.status).toBe('cancelled');
      expect(e.tasks.find((t) => t.key === `makulering:${code}@primary-care:${PSYK}`)?.status).toBe('requested');
    }
    expect(e.warnings?.join(' ')).toMatch(/no listed primary-care unit/);
  });

  it('when the withdrawn unit is reported again, then it is told again as a new period, its first Tasks staying withdrawn', () => {
    const again = b.fact(AGAIN, { kind: 'patient-updated', patient: { outpatientUnit: PSYK } }, 'f-again');
    const e = evaluateStay(stay({ outpatientUnit: PSYK }, [withdrawUnit(LATER), again]), vm);
    expect(e.tasks.find((t) => t.key === `inskrivningsmeddelande@primary-care:${PSYK}`)?.status).toBe('cancelled');
    expect(e.tasks.find((t) => t.key === `inskrivningsmeddelande@primary-care:${PSYK}#f-again`)?.status).toBe(
      'requested',
    );
  });

  it('when no unit was reported, or it was withdrawn before, then a withdrawal changes nothing and is not a fact not applied', () => {
    const plain = evaluateStay(stay({}), vm);
    const e = evaluateStay(stay({}, [withdrawUnit(LATER)]), vm);
    expect(e.tasks).toEqual(plain.tasks);
    expect(e.rejected).toEqual([]);
    const died = b.fact('2026-05-07T09:00:00+02:00', { kind: 'died' });
    const twice = [
      ...stay({ outpatientUnit: PSYK }, [withdrawUnit(LATER)]),
      died,
      withdrawUnit('2026-05-07T09:05:00+02:00'),
    ];
    expect(evaluateStay(twice, vm).rejected).toEqual([]);
  });
});
