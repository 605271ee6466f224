/**
 * The dashboard's stay summaries (`stay_summary`, migration 130) as intake keeps them, fact batch by fact batch,
 * against the same made from every fact at once (`svu_rebuild_stay_summary()`): facts arriving out of time order,
 * a withdrawn and renewed ready notice, a placing municipality named later, a late patient update older than the
 * admission, a resent fact, discharges cancelled (A13) and given again, admissions cancelled (A11) and deaths
 * (the first of each kept, arriving late too), readiness criteria reported in pieces (when each was first reported
 * met, arriving late too; a report of the information transfer to one unit only is not counted, migration 175), in
 * one batch or in several; the ready episode (migration 155: the first notice after the
 * last withdrawal, the first discharge after it, the first notice after that discharge's A13) with a second notice
 * and a withdrawal arriving after the notices it precedes; a placing municipality kept by an update that repeats only
 * the municipality of registration, withdrawn (`placingMunicipality: null`) and given again, arriving out of order
 * (migration 170).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatientRouting, ReadinessCriterion, StayFact } from '../../src/core/stay/facts';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

const admitted = (
  stayId: string,
  n: number,
  at: string,
  municipality: string,
  placingMunicipality?: string,
): StayFact => ({
  id: `${stayId}#${n}`,
  stayId,
  kind: 'admitted',
  at,
  hospital: 'SE2321000000-H1',
  care: 'somatic',
  patient: placingMunicipality ? { municipality, placingMunicipality } : { municipality },
});
type Kind =
  'ready-for-discharge' | 'ready-withdrawn' | 'discharged' | 'discharge-cancelled' | 'admission-cancelled' | 'died';
const fact = (stayId: string, n: number, kind: Kind, at: string) =>
  ({ id: `${stayId}#${n}`, stayId, kind, at }) as StayFact;
const updated = (stayId: string, n: number, at: string, patient: PatientRouting) =>
  ({ id: `${stayId}#${n}`, stayId, kind: 'patient-updated', at, patient }) as StayFact;
const criteria = (stayId: string, n: number, at: string, met: ReadinessCriterion[]): StayFact => ({
  id: `${stayId}#${n}`,
  stayId,
  kind: 'readiness-criteria-met',
  at,
  criteria: met,
});

/** Each inner list is stored by its own statement, in this order. */
const batches: StayFact[][] = [
  [admitted('a', 1, '2023-03-01T08:00:00Z', '1980'), admitted('b', 1, '2023-03-02T08:00:00Z', '0680')],
  [fact('a', 2, 'ready-for-discharge', '2023-03-04T10:00:00Z'), fact('b', 2, 'discharged', '2023-03-09T10:00:00Z')],
  [fact('a', 3, 'ready-withdrawn', '2023-03-05T10:00:00Z')],
  // b: a ready notice stored after its discharge, and an earlier discharge arriving late.
  [fact('b', 3, 'ready-for-discharge', '2023-03-06T10:00:00Z'), fact('b', 4, 'discharged', '2023-03-07T10:00:00Z')],
  [fact('a', 4, 'ready-for-discharge', '2023-03-08T10:00:00Z')],
  // a: placed by another municipality, named by a later update; b: an update older than the admission.
  [
    updated('a', 5, '2023-03-08T12:00:00Z', { municipality: '1980', placingMunicipality: '0682' }),
    updated('b', 5, '2023-03-01T12:00:00Z', { municipality: '0687' }),
  ],
  [fact('a', 6, 'discharged', '2023-03-10T10:00:00Z'), fact('a', 2, 'ready-for-discharge', '2023-03-30T10:00:00Z')],
  // c: only an update without a municipality, then the admission.
  [updated('c', 1, '2023-03-03T08:00:00Z', { primaryCareUnit: 'SE2321000000-V1' })],
  [admitted('c', 2, '2023-03-02T08:00:00Z', '1981')],
  // d: discharged, the discharge cancelled, discharged again, each in its own batch; then a cancellation arriving late.
  [admitted('d', 1, '2023-03-01T08:00:00Z', '1980'), fact('d', 2, 'discharged', '2023-03-05T10:00:00Z')],
  [fact('d', 3, 'discharge-cancelled', '2023-03-05T11:00:00Z')],
  [fact('d', 4, 'discharged', '2023-03-07T10:00:00Z')],
  // e: a discharge and its cancellation in one batch (the same instant: the cancellation applies after it), then
  // an older discharge arriving late, which the cancellation also undid.
  [
    admitted('e', 1, '2023-03-01T08:00:00Z', '1980'),
    fact('e', 2, 'discharged', '2023-03-06T10:00:00Z'),
    fact('e', 3, 'discharge-cancelled', '2023-03-06T10:00:00Z'),
  ],
  [fact('e', 4, 'discharged', '2023-03-04T10:00:00Z')],
  // f: a cancellation stored before the discharge it follows, then a later discharge and its cancellation.
  [admitted('f', 1, '2023-03-01T08:00:00Z', '1980'), fact('f', 3, 'discharge-cancelled', '2023-03-05T11:00:00Z')],
  [fact('f', 2, 'discharged', '2023-03-05T10:00:00Z')],
  [fact('f', 4, 'discharged', '2023-03-08T10:00:00Z'), fact('f', 5, 'discharge-cancelled', '2023-03-08T12:00:00Z')],
  // g: discharged, then the admission cancelled (A11), and again later (the first one ends the stay).
  [admitted('g', 1, '2023-03-01T08:00:00Z', '1980'), fact('g', 2, 'discharged', '2023-03-05T10:00:00Z')],
  [fact('g', 3, 'admission-cancelled', '2023-03-05T12:00:00Z')],
  [fact('g', 4, 'admission-cancelled', '2023-03-06T10:00:00Z')],
  // h: discharged, a death before it reported later, then another report of the death, at the discharge.
  [admitted('h', 1, '2023-03-01T08:00:00Z', '1980'), fact('h', 2, 'discharged', '2023-03-05T10:00:00Z')],
  [fact('h', 4, 'died', '2023-03-05T09:00:00Z')],
  [fact('h', 3, 'died', '2023-03-05T10:00:00Z')],
  // i: a death and an A11 in the batch of the admission.
  [
    admitted('i', 1, '2023-03-01T08:00:00Z', '1980'),
    fact('i', 2, 'died', '2023-03-02T10:00:00Z'),
    fact('i', 3, 'admission-cancelled', '2023-03-02T11:00:00Z'),
  ],
  // j: readiness criteria in pieces (migration 152): two with the admission, an earlier report arriving later, the
  // rest together with a repeat and a ready notice, and a criterion already met reported again later.
  [
    admitted('j', 1, '2023-03-01T08:00:00Z', '1980'),
    criteria('j', 2, '2023-03-04T10:00:00Z', ['written-information', 'fvk-appointed']),
  ],
  [criteria('j', 3, '2023-03-03T10:00:00Z', ['physician-assessed', 'fvk-appointed', 'information-transferred'])],
  [
    criteria('j', 4, '2023-03-06T10:00:00Z', ['assistive-devices', 'medication-list', 'written-information']),
    criteria('j', 5, '2023-03-05T10:00:00Z', ['assistive-devices']),
    fact('j', 6, 'ready-for-discharge', '2023-03-02T10:00:00Z'),
  ],
  [criteria('j', 7, '2023-03-08T10:00:00Z', ['medication-list', 'fvk-appointed'])],
  // j: an earlier report of the information transfer to one unit only (a FHIR hospital's completed duty): the engine,
  // not SQL, says when every unit is told, so it does not count here (migration 175).
  [
    {
      id: 'j#8',
      stayId: 'j',
      kind: 'readiness-criteria-met',
      at: '2023-03-02T12:00:00Z',
      criteria: ['information-transferred'],
      to: ['municipality:1980'],
    },
  ],
  // k: two notices, a discharge, its A13 and a renewed notice, then a withdrawal between the two notices arriving
  // last: the second notice becomes the first after the withdrawal (migration 155).
  [
    admitted('k', 1, '2023-03-01T08:00:00Z', '1980'),
    fact('k', 2, 'ready-for-discharge', '2023-03-03T10:00:00Z'),
    fact('k', 3, 'ready-for-discharge', '2023-03-06T10:00:00Z'),
  ],
  [fact('k', 4, 'discharged', '2023-03-07T10:00:00Z')],
  [fact('k', 5, 'discharge-cancelled', '2023-03-07T12:00:00Z')],
  [fact('k', 6, 'ready-for-discharge', '2023-03-08T10:00:00Z')],
  [fact('k', 7, 'ready-withdrawn', '2023-03-04T10:00:00Z')],
  // l: placed by another municipality at admission; a later update repeats only the municipality of registration
  // (an A08 without the OBX): the placement holds (migration 170).
  [admitted('l', 1, '2023-03-01T08:00:00Z', '1980', '0682')],
  [updated('l', 2, '2023-03-06T08:00:00Z', { municipality: '1980' })],
  // m: the placement withdrawn (placingMunicipality null), then an older placement arriving late: withdrawn still.
  [admitted('m', 1, '2023-03-01T08:00:00Z', '1980', '0682')],
  [updated('m', 3, '2023-03-06T08:00:00Z', { municipality: '1980', placingMunicipality: null })],
  [updated('m', 2, '2023-03-04T08:00:00Z', { placingMunicipality: '0683' })],
  // n: a withdrawal stored first, then the admission with a placement before it, then a new placement after it.
  [updated('n', 2, '2023-03-05T08:00:00Z', { placingMunicipality: null })],
  [admitted('n', 1, '2023-03-01T08:00:00Z', '1980', '0682')],
  [updated('n', 3, '2023-03-07T08:00:00Z', { placingMunicipality: '0684' })],
];

/** No ready episode beyond `ready_at` (migration 155). */
const NO_EPISODE = { ready_discharged_at: null, ready_again_at: null };

/** No readiness criterion reported (migration 152). */
const NO_CRITERIA = {
  written_information_at: null,
  fvk_appointed_at: null,
  information_transferred_at: null,
  assistive_devices_at: null,
  medication_list_at: null,
};
/** Neither a cancellation of the admission (A11) nor a death (migration 151), nor a criterion. */
const NEITHER = { admission_cancelled_at: null, died_at: null, ...NO_CRITERIA, ...NO_EPISODE };

describe.each(testDatabases())('stay summaries on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => {
    await db.close();
  });

  const summaries = async () =>
    (
      await db.query<Record<string, unknown>>(
        `SELECT stay_id, discharged_at, discharge_cancelled_at, ready_at, withdrawn_at, municipality, municipality_at,
           admission_cancelled_at, died_at, written_information_at, fvk_appointed_at, information_transferred_at,
           assistive_devices_at, medication_list_at, ready_discharged_at, ready_again_at
         FROM stay_summary ORDER BY stay_id`,
      )
    ).rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          v === null ? null : k.endsWith('_at') ? new Date(v as string).toISOString() : v,
        ]),
      ),
    );

  it('when facts arrive batch by batch, out of order, then each stay’s summary equals the one made from all its facts', async () => {
    for (const b of batches) await storeAndLoadFactsOfStays(db, [], b, 'hl7');
    const kept = await summaries();
    expect(kept).toEqual([
      {
        stay_id: 'a',
        discharged_at: '2023-03-10T10:00:00.000Z',
        discharge_cancelled_at: null,
        ready_at: '2023-03-08T10:00:00.000Z', // the resent a#2 (another time) is ignored: a fact id is stored once
        withdrawn_at: '2023-03-05T10:00:00.000Z',
        municipality: '0682',
        municipality_at: '2023-03-08T12:00:00.000Z',
        ...NEITHER,
        ready_discharged_at: '2023-03-10T10:00:00.000Z',
      },
      {
        stay_id: 'b',
        discharged_at: '2023-03-09T10:00:00.000Z',
        discharge_cancelled_at: null,
        ready_at: '2023-03-06T10:00:00.000Z',
        withdrawn_at: null,
        municipality: '0680',
        municipality_at: '2023-03-02T08:00:00.000Z',
        ...NEITHER,
        ready_discharged_at: '2023-03-07T10:00:00.000Z', // the first discharge after the notice, arrived late
      },
      {
        stay_id: 'c',
        discharged_at: null,
        discharge_cancelled_at: null,
        ready_at: null,
        withdrawn_at: null,
        municipality: '1981',
        municipality_at: '2023-03-02T08:00:00.000Z',
        ...NEITHER,
      },
      {
        stay_id: 'd',
        discharged_at: '2023-03-07T10:00:00.000Z', // discharged again after the cancellation
        discharge_cancelled_at: '2023-03-05T11:00:00.000Z',
        ready_at: null,
        withdrawn_at: null,
        municipality: '1980',
        municipality_at: '2023-03-01T08:00:00.000Z',
        ...NEITHER,
      },
      ...['e', 'f'].map((stay_id) => ({
        stay_id,
        discharged_at: null, // the last discharge was cancelled: in hospital
        discharge_cancelled_at: stay_id === 'e' ? '2023-03-06T10:00:00.000Z' : '2023-03-08T12:00:00.000Z',
        ready_at: null,
        withdrawn_at: null,
        municipality: '1980',
        municipality_at: '2023-03-01T08:00:00.000Z',
        ...NEITHER,
      })),
      ...[
        ['g', '2023-03-05T12:00:00.000Z', null],
        ['h', null, '2023-03-05T09:00:00.000Z'],
        ['i', '2023-03-02T11:00:00.000Z', '2023-03-02T10:00:00.000Z'],
      ].map(([stay_id, admission_cancelled_at, died_at]) => ({
        stay_id,
        // The discharge in force after A13 stays; the dashboard counts it only without A11 and without a death at
        // or before it (test/followup/dashboard-cancelled-died.test.ts).
        discharged_at: stay_id === 'i' ? null : '2023-03-05T10:00:00.000Z',
        discharge_cancelled_at: null,
        ready_at: null,
        withdrawn_at: null,
        municipality: '1980',
        municipality_at: '2023-03-01T08:00:00.000Z',
        admission_cancelled_at,
        died_at,
        ...NO_CRITERIA,
        ...NO_EPISODE,
      })),
      {
        stay_id: 'j',
        discharged_at: null,
        discharge_cancelled_at: null,
        ready_at: '2023-03-02T10:00:00.000Z',
        withdrawn_at: null,
        municipality: '1980',
        municipality_at: '2023-03-01T08:00:00.000Z',
        admission_cancelled_at: null,
        died_at: null,
        // Each criterion when it was first reported met, whatever order the reports came in; the information transfer
        // by its reports naming no unit.
        written_information_at: '2023-03-04T10:00:00.000Z',
        fvk_appointed_at: '2023-03-03T10:00:00.000Z',
        information_transferred_at: '2023-03-03T10:00:00.000Z',
        assistive_devices_at: '2023-03-05T10:00:00.000Z',
        medication_list_at: '2023-03-06T10:00:00.000Z',
        ...NO_EPISODE,
      },
      {
        stay_id: 'k',
        discharged_at: null, // cancelled by the A13
        discharge_cancelled_at: '2023-03-07T12:00:00.000Z',
        ready_at: '2023-03-06T10:00:00.000Z', // the first notice after the withdrawal that arrived last
        ready_discharged_at: '2023-03-07T10:00:00.000Z',
        ready_again_at: '2023-03-08T10:00:00.000Z', // the first notice after that discharge's A13
        withdrawn_at: '2023-03-04T10:00:00.000Z',
        municipality: '1980',
        municipality_at: '2023-03-01T08:00:00.000Z',
        admission_cancelled_at: null,
        died_at: null,
        ...NO_CRITERIA,
      },
      ...[
        ['l', '0682', '2023-03-06T08:00:00.000Z'],
        ['m', '1980', '2023-03-06T08:00:00.000Z'],
        ['n', '0684', '2023-03-01T08:00:00.000Z'],
      ].map(([stay_id, municipality, municipality_at]) => ({
        stay_id,
        discharged_at: null,
        discharge_cancelled_at: null,
        ready_at: null,
        withdrawn_at: null,
        municipality,
        municipality_at,
        ...NEITHER,
      })),
    ]);
    const routing = async () =>
      (
        await db.query(
          `SELECT stay_id, municipality, registered_municipality, placing_municipality, placing_at
           FROM stay_summary ORDER BY stay_id`,
        )
      ).rows;
    const keptRouting = await routing();
    await db.query('TRUNCATE stay_summary');
    await db.query('SELECT svu_rebuild_stay_summary()');
    expect(await summaries()).toEqual(kept);
    expect(await routing()).toEqual(keptRouting);
  });
});
