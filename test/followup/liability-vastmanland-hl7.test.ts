/**
 * Region Västmanland's payment liability (001 §7) checked by hand through the real HL7 intake, in 2023 (vårdpris
 * 10 500 kr): Västerås (1980) averages 5 days in April, so it pays per individual in May, the days beyond 3 of each
 * stay (calendar days, no 12.00 rule). The municipality's clock runs from the ready notice it was sent: a notice the
 * hospital gave before Västerås got its admission notification (needs found later, a placing municipality withdrawn)
 * reached it only with that notification, and with no admission notification at all liability cannot start (000,
 * 002, 003 "Ekonomisk reglering"); under the six-criteria gate (001 §3) a held notice reached it when the criteria
 * were met. Sala (1981), which placed a Västerås resident, pays on its own months' averages (5 kap. 2 §, 003).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liabilityFromStore, type StoreLiability } from '../../src/followup/liability/store-liability';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, OBX, PNR_SALA, type AdtOptions } from '../mapping/adt-builder';
import { ackCode, intakeHarness, type IntakeHarness } from '../intake/harness';
import { testDatabases } from '../support/db';
import { agreements, ALL, NEEDS, VISIT_SYSTEM } from './ready-views';

const CRITERIA = OBX.criteria(...ALL);
const rates = await loadRatesTable();

describe.each(testDatabases())('Västmanland payment liability through the HL7 intake on %s', (kind) => {
  let h: IntakeHarness;
  const send = async (o: AdtOptions) => {
    const ack = await h.send(adt(o));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  /** A01 at `admit` (YYYYMMDDHHMM) with `needs` and the criteria, then `steps` as A08s, then the A03 at `out`. */
  const stay = async (
    visit: string,
    admit: string,
    steps: { at: string; obx: string[] }[],
    out: string,
    o: { needs?: string[]; municipality?: string; pnr?: string; criteria?: boolean } = {},
  ) => {
    const common = { visit, admit: `${admit}00`, municipality: o.municipality, pnr: o.pnr };
    await send({
      ...common,
      event: 'A01',
      evnTime: `${admit}05`,
      expected: out.slice(0, 8),
      obx: [...(o.needs ?? NEEDS), ...(o.criteria === false ? [] : [CRITERIA])],
    });
    for (const s of steps) await send({ ...common, event: 'A08', evnTime: `${s.at}10`, obx: s.obx });
    await send({ ...common, event: 'A03', discharge: `${out}00`, evnTime: `${out}30` });
  };
  const ready = (at: string, needs = NEEDS) => ({ at, obx: [...needs, OBX.ready(at)] });
  const may = (): Promise<StoreLiability> =>
    liabilityFromStore({ db: h.db, agreements, rates }, { agreement: 'vastmanland', month: '2023-05' });
  const line = (r: StoreLiability, municipality: string, visit: string) =>
    r.municipalities
      .find((m) => m.municipality === municipality)
      ?.stays.find((s) => s.id === encounterIdFor(VISIT_SYSTEM, visit));

  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { AGREEMENT: 'vastmanland' } });
    // April: Västerås one stay of 5 days (average 5 > 3: liable in May); Sala one of 2 days (not liable in May).
    await stay('APR-1980', '202304010900', [ready('202304030900')], '202304081000');
    await stay('APR-1981', '202304010900', [ready('202304030900')], '202304051000', {
      municipality: '1981',
      pnr: PNR_SALA,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('when the ready notice comes at 15:30 the day before Ascension Day, then it counts from its own day: 22 May − 17 May = 5 days, 2 billed', async () => {
    await stay('ASCENSION', '202305150900', [ready('202305171530')], '202305221000');
    expect(line(await may(), '1980', 'ASCENSION')).toMatchObject({ days: 5, billableDays: 2, basis: 'individual' });
  });

  it('when the needs are found two days after the ready notice, then Västerås is liable from its admission notification: 8 days, not 10', async () => {
    await stay(
      'LATE-NEEDS',
      '202305080900',
      [ready('202305100900', []), { at: '202305121000', obx: NEEDS }],
      '202305201000',
      { needs: [] },
    );
    expect(line(await may(), '1980', 'LATE-NEEDS')).toMatchObject({ days: 8, billableDays: 5, basis: 'individual' });
  });

  it('when the needs come only after the discharge, then Västerås got no admission notification and is not liable', async () => {
    await stay('AFTER-DISCHARGE', '202305010900', [ready('202305020900', [])], '202305101000', { needs: [] });
    await send({
      event: 'A08',
      visit: 'AFTER-DISCHARGE',
      admit: '20230501090000',
      discharge: '20230510100000',
      evnTime: '20230511100000',
      obx: NEEDS,
    });
    expect(line(await may(), '1980', 'AFTER-DISCHARGE')).toMatchObject({
      billableDays: 0,
      basis: 'not-liable',
      reason: 'precondition: admission notice was not sent',
    });
  });

  it('when a ready period was withdrawn before Västerås was told of the stay, then only the later period counts', async () => {
    await stay(
      'WITHDRAWN-BEFORE',
      '202305010900',
      [
        ready('202305020900', []),
        { at: '202305030900', obx: [OBX.withdrawn()] },
        { at: '202305041000', obx: NEEDS },
        ready('202305050900'),
      ],
      '202305121000',
      { needs: [] },
    );
    const got = line(await may(), '1980', 'WITHDRAWN-BEFORE');
    expect(got).toMatchObject({ days: 7, billableDays: 4, basis: 'individual' });
    expect(got?.periods).toBeUndefined();
  });

  it('when a ready notice held back for the six criteria (001 §3) goes out when they are met and is then withdrawn, then that period counts from the criteria', async () => {
    await stay(
      'GATED-WITHDRAWN',
      '202305010900',
      [
        { at: '202305020900', obx: [...NEEDS, OBX.ready('202305020900')] },
        { at: '202305030900', obx: [...NEEDS, CRITERIA] },
        { at: '202305050900', obx: [...NEEDS, OBX.withdrawn()] },
        ready('202305080900'),
      ],
      '202305141200',
      { criteria: false },
    );
    const got = line(await may(), '1980', 'GATED-WITHDRAWN');
    // 5 May − 3 May = 2 days (not 3 from the held notice of 2 May), then 14 May − 8 May = 6: 0 + 3 billed.
    expect(got).toMatchObject({ days: 8, billableDays: 3, basis: 'individual' });
    expect(got?.periods?.map((p) => [p.readyAt, p.days])).toEqual([
      ['2023-05-03T07:00:10.000Z', 2],
      ['2023-05-08T07:00:00.000Z', 6],
    ]);
  });

  it('when Sala was reported as placing by mistake and the hospital withdraws it after the ready notice, then Västerås is liable from the notice it got then', async () => {
    const placed = [...NEEDS, OBX.placing('1981')];
    await stay(
      'PLACED-BY-MISTAKE',
      '202305010900',
      [ready('202305020900', placed), { at: '202305041000', obx: [...NEEDS, OBX.placing('""')] }],
      '202305101000',
      { needs: placed },
    );
    const r = await may();
    expect(line(r, '1980', 'PLACED-BY-MISTAKE')).toMatchObject({ days: 6, billableDays: 3, basis: 'individual' });
    expect(line(r, '1981', 'PLACED-BY-MISTAKE')).toBeUndefined();
  });

  it('when Sala placed a Västerås resident, then Sala pays on its own April average (2 ≤ 3): nothing in May, 7 days in its average', async () => {
    await stay('PLACED', '202305010900', [ready('202305030900', [...NEEDS, OBX.placing('1981')])], '202305101000', {
      needs: [...NEEDS, OBX.placing('1981')],
    });
    const r = await may();
    expect(line(r, '1981', 'PLACED')).toMatchObject({ days: 7, billableDays: 0, basis: 'average' });
    expect(line(r, '1980', 'PLACED')).toBeUndefined();
    // Västerås in May: 2 + 5 + 0 + 4 + 3 + 3 days at 10 500 kr.
    expect(r.municipalities.find((m) => m.municipality === '1980')).toMatchObject({ days: 17, amount: 178_500 });
  });
});
