/** Synthetic inputs shared by the benchmarks: personnummer and the Patient + Encounter admission Bundle. */
import type { Bundle } from '@medplum/fhirtypes';
import { luhnCheckDigit, PERSONNUMMER_SYSTEM } from '../../src/core/identity/personnummer';

/** A valid personnummer (Luhn) for synthetic person `i`: unique for i below 20 000 × 900. */
export function personnummer(i: number): string {
  const d = new Date(Date.UTC(1930, 0, 1) + (i % 20000) * 86_400_000);
  const yymmdd = d.toISOString().slice(2, 10).replace(/-/g, '');
  const serial = String(100 + Math.floor(i / 20000)).slice(-3);
  const nine = `${yymmdd}${serial}`;
  return `${d.getUTCFullYear()}${nine.slice(2)}${luhnCheckDigit(nine)}`;
}

/**
 * The transaction Bundle a FHIR-pushing EHR sends at admission: Patient (conditional PUT on the personnummer,
 * Västerås) and an in-progress inpatient Encounter (conditional PUT on the visit identifier `<runId>-<i>`).
 */
export function admissionBundle(
  i: number,
  runId: string,
  opts: { hospital: string; listedUnitHsaId?: string },
): Bundle {
  const pnr = personnummer(i);
  const encId = `${runId}-${i}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001',
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: PERSONNUMMER_SYSTEM, value: pnr }],
          name: [{ family: 'Benchsson', given: ['Test'] }],
          address: [{ use: 'home', city: 'Västerås', district: '1980' }],
          ...(opts.listedUnitHsaId
            ? {
                generalPractitioner: [
                  { identifier: { system: 'urn:oid:1.2.752.29.4.19', value: opts.listedUnitHsaId } },
                ],
              }
            : {}),
        },
        request: { method: 'PUT', url: `Patient?identifier=${PERSONNUMMER_SYSTEM}|${pnr}` },
      },
      {
        fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000002',
        resource: {
          resourceType: 'Encounter',
          identifier: [{ system: 'urn:oid:1.2.752.29.4.19.bench', value: encId }],
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
          subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' },
          serviceProvider: { reference: opts.hospital },
          period: { start: new Date().toISOString() },
        },
        request: { method: 'PUT', url: `Encounter?identifier=urn:oid:1.2.752.29.4.19.bench|${encId}` },
      },
    ],
  };
}

/** HL7 TS (yyyymmddHHMMSS) of a Date, in UTC digits (the synthetic hospital's clock). */
const ts = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);

interface AdtContent {
  event: string;
  i: number;
  n: number;
  runId: string;
  /** MSH-7 / EVN-2. */
  at: string;
  admit: string;
  discharge?: string;
  ward?: string;
  /** PV2-9 expected discharge date (yyyymmdd). */
  expectedDischarge?: string;
  /** OBX `utskrivningsklar` (the ready-for-discharge notice), a TS. */
  readyAt?: string;
  needs?: boolean;
}

function adtMessage(c: AdtContent): string {
  const visit = `B-${c.runId}-${c.i}`;
  const trigger =
    c.event === 'A02' ? 'ADT^A02^ADT_A02' : c.event === 'A03' ? 'ADT^A03^ADT_A03' : `ADT^${c.event}^ADT_A01`;
  const pv1 = ['PV1', '1', 'I', c.ward ?? 'MED21', '', '', '', 'SE2321000172-P0001^Lind^Erik'];
  pv1[19] = visit;
  pv1[44] = c.admit;
  pv1[45] = c.discharge ?? '';
  return [
    `MSH|^~\\&|EHR|SE2321000172-DEMO0001|SVU|GW|${c.at}||${trigger}|${visit}-${c.n}|P|2.5`,
    `EVN|${c.event}|${c.at}`,
    `PID|1||${personnummer(c.i)}^^^SE^PNR||Bench^Test||19380312|F|||Gatan 1^^Västerås^^72215^SE^H^^${c.i % 2 ? '1980' : '1981'}`,
    'PD1|||VC^^^^^^^^^SE2321000172-DEMO0101',
    Array.from(pv1, (v) => v ?? '').join('|'),
    ...(c.expectedDischarge ? [`PV2|||||||||${c.expectedDischarge}`] : []),
    ...(c.needs ? ['OBX|1|CWE|behov^Behov^SVU||socialtjanst~kommunal-hsl||||||F'] : []),
    ...(c.readyAt ? [`OBX|2|TS|utskrivningsklar^Utskrivningsklar^SVU||${c.readyAt}||||||F`] : []),
  ].join('\r');
}

/**
 * An HL7 v2.5 ADT message (A01, A08 or A03) of synthetic stay `i` (visit `B-<runId>-<i>`, message number `n`) from
 * the demo hospital: Västerås (or Sala for odd `i`) resident listed at the demo care unit, needs of social services
 * and municipal home health care; the A08 gives an expected discharge date.
 */
export function adt(event: string, i: number, n: number, runId: string): string {
  return adtMessage({
    event,
    i,
    n,
    runId,
    at: event === 'A01' ? '20260115103500' : event === 'A08' ? '20260117091500' : '20260120140500',
    admit: '20260115103000',
    discharge: event === 'A03' ? '20260120140000' : undefined,
    expectedDischarge: event === 'A08' ? '20260124' : undefined,
    needs: event !== 'A03',
  });
}

/**
 * The five messages of synthetic stay `i` in a national year (≈ 7 M events for 1.38 M stays): admission (A01), an
 * update with the expected discharge date (A08), a transfer to another ward (A02), the ready-for-discharge notice
 * (A08 with OBX `utskrivningsklar`) two days later, and the discharge (A03) two days after that. Admissions are
 * spread over the days of 2025 (stay `i` on day `i mod 365`), at hours 06–17.
 */
export function nationalStay(i: number, runId: string): string[] {
  const day0 = Date.UTC(2025, 0, 1) + (i % 365) * 86_400_000 + (6 + (i % 12)) * 3_600_000 + (i % 60) * 60_000;
  const at = (days: number, hours = 0) => ts(new Date(day0 + days * 86_400_000 + hours * 3_600_000));
  const admit = at(0);
  const base = { i, runId, admit };
  return [
    adtMessage({ ...base, event: 'A01', n: 0, at: admit, needs: true }),
    adtMessage({ ...base, event: 'A08', n: 1, at: at(1, 2), expectedDischarge: at(5).slice(0, 8), needs: true }),
    adtMessage({ ...base, event: 'A02', n: 2, at: at(1, 4), ward: 'MED22' }),
    adtMessage({ ...base, event: 'A08', n: 3, at: at(3, 1), ward: 'MED22', readyAt: at(3, 1), needs: true }),
    adtMessage({ ...base, event: 'A03', n: 4, at: at(5, 5), ward: 'MED22', discharge: at(5, 5) }),
  ];
}
