import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation } from '../../../src/core/engine/types';
import * as b from './stay-builder';

/** Contract "Obligations": a receiver's rejection (ej-folkbokford) goes back to the hospital; later messages re-route. */
let A: Agreement;
beforeAll(async () => {
  A = getAgreement(await loadAgreements(), 'vastmanland');
});
const ADM = '2026-05-04T10:00:00+02:00';
const SALA = 'municipality:1981';
const rejected = b.fact('2026-05-04T13:00:00+02:00', {
  kind: 'receiver-rejected',
  party: SALA,
  reason: 'ej-folkbokford',
});
const keys = (e: StayEvaluation) =>
  e.tasks.filter((t) => !t.key.startsWith('ansvar:')).map((t) => `${t.key} ${t.status}`);

describe('a receiver rejects the stay', () => {
  const base = [b.admitted(ADM, { municipality: '1981' }), b.needs(ADM, ['socialtjanst'])];

  it('when Sala rejects as ej-folkbokford, then the hospital gets a Task to correct the routing and later messages do not go to Sala', () => {
    const d = b.discharged('2026-05-10T14:00:00+02:00');
    const e = evaluateStay([...base, rejected, d], A);
    const fix = e.tasks.find((t) => t.code === 'korrigera-mottagare');
    expect(fix).toMatchObject({
      owner: { kind: 'hospital', hsaId: b.HOSPITAL },
      requester: { kind: 'municipality', code: '1981' },
      status: 'requested',
    });
    expect(keys(e).filter((k) => k.includes(SALA) && k.includes('utskrivningsmeddelande'))).toEqual([]);
  });

  it('when the vårdcentral rejects as ej-listad, then the hospital is asked to correct the listed vårdcentral', () => {
    const unit = `primary-care:${b.VC}`;
    const byUnit = b.fact('2026-05-04T13:00:00+02:00', { kind: 'receiver-rejected', party: unit, reason: 'ej-listad' });
    const withUnit = [b.admitted(ADM, { municipality: '1981' }), b.needs(ADM, ['socialtjanst', 'oppenvard'])];
    const e = evaluateStay([...withUnit, byUnit], A);
    expect(e.tasks.filter((t) => t.code === 'korrigera-mottagare')).toMatchObject([
      {
        key: `korrigera-mottagare@${unit}`,
        requester: { kind: 'primary-care', hsaId: b.VC },
        description:
          'Mottagaren har avvisat vårdtillfället (ej-listad): rätta patientens listade vårdcentral så att meddelandena går till rätt mottagare',
      },
    ]);
  });

  it('when Sala gives the vårdcentral’s code, then the stay is re-routed all the same and the hospital is asked to correct the municipality', () => {
    const byCode = b.fact(rejected.at, { kind: 'receiver-rejected', party: SALA, reason: 'ej-listad' });
    const e = evaluateStay([...base, byCode], A);
    expect(e.tasks.find((t) => t.code === 'korrigera-mottagare')?.description).toMatch(
      /^Mottagaren har avvisat vårdtillfället \(ej-listad\): rätta folkbokföringskommun eller placerande kommun/,
    );
    // the same Tasks as after its own code: re-routed as the code does not matter
    expect(keys(e)).toEqual(keys(evaluateStay([...base, rejected], A)));
  });

  it('when a later update gives Västerås as the municipality, then Västerås is notified and the hospital Task is completed', () => {
    const fixed = b.fact('2026-05-05T09:00:00+02:00', { kind: 'patient-updated', patient: { municipality: '1980' } });
    const e = evaluateStay([...base, rejected, fixed], A);
    expect(keys(e)).toContain('inskrivningsmeddelande@municipality:1980 requested');
    expect(e.tasks.find((t) => t.code === 'korrigera-mottagare')?.status).toBe('completed');
  });
});
