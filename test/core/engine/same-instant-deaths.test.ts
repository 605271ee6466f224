import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayFact } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

/**
 * Two reports of one death at the same instant (an A03 with PV1-36 `20`, an A08 with PID-29): the first recorded is
 * the death, whatever the ids, so a later report never replaces the request to close the case (`avsluta-arende`).
 */
let A: Agreement;
beforeAll(async () => {
  A = getAgreement(await loadAgreements(), 'vastmanland');
});
const ADM = '2026-05-04T10:00:00+02:00';
const DEATH = '2026-05-06T08:00:00+02:00';
const base = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl', 'oppenvard'])];
const death = (id: string, recorded?: number): StayFact => ({
  ...b.fact(DEATH, { kind: 'died' }, id),
  ...(recorded === undefined ? {} : { recorded }),
});
const closeKeys = (facts: StayFact[]): string[] =>
  evaluateStay(facts, A)
    .tasks.filter((t) => t.code === 'avsluta-arende')
    .map((t) => t.key);

describe('two deaths at the same instant', () => {
  it.each([
    ['the first recorded has the id that sorts last', 'hl7:EHR:Z-a03#died', 'hl7:EHR:A-a08#died'],
    ['the first recorded has the id that sorts first', 'hl7:EHR:A-a03#died', 'hl7:EHR:Z-a08#died'],
  ])('when %s, then the first recorded is the death and the later one changes nothing', (_, first, second) => {
    const once = closeKeys([...base, death(first, 10)]);
    expect(once).toHaveLength(2);
    for (const k of once) expect(k.endsWith(`#${first}`), k).toBe(true);
    const twice = [...base, death(first, 10), death(second, 11)];
    expect(closeKeys(twice)).toEqual(once);
    expect(closeKeys([...twice].reverse())).toEqual(once);
    expect(evaluateStay(twice, A).rejected).toEqual([]);
  });

  it('when a death stored before recording order was kept meets a recorded one, then the one stored before is first', () => {
    const keys = closeKeys([...base, death('hl7:EHR:Z-old#died'), death('hl7:EHR:A-new#died', 1)]);
    for (const k of keys) expect(k.endsWith('#hl7:EHR:Z-old#died'), k).toBe(true);
  });
});
