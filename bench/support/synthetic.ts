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

/**
 * An HL7 v2.5 ADT message (A01, A08 or A03) of synthetic stay `i` (visit `B-<runId>-<i>`, message number `n`) from
 * the demo hospital: Västerås (or Sala for odd `i`) resident listed at the demo care unit, needs of social services
 * and municipal home health care.
 */
export function adt(event: string, i: number, n: number, runId: string): string {
  const visit = `B-${runId}-${i}`;
  const pv1 = ['PV1', '1', 'I', 'MED21', '', '', '', 'SE2321000172-P0001^Lind^Erik'];
  pv1[19] = visit;
  pv1[44] = '20260115103000';
  pv1[45] = event === 'A03' ? '20260120140000' : '';
  const evn = event === 'A01' ? '20260115103500' : event === 'A08' ? '20260117091500' : '20260120140500';
  return [
    `MSH|^~\\&|EHR|SE2321000172-DEMO0001|SVU|GW|${evn}||ADT^${event}^ADT_A01|${visit}-${n}|P|2.5`,
    `EVN|${event}|${evn}`,
    `PID|1||${personnummer(i)}^^^SE^PNR||Bench^Test||19380312|F|||Gatan 1^^Västerås^^72215^SE^H^^${i % 2 ? '1980' : '1981'}`,
    'PD1|||VC^^^^^^^^^SE2321000172-DEMO0101',
    Array.from(pv1, (v) => v ?? '').join('|'),
    ...(event === 'A08' ? ['PV2|||||||||20260124'] : []),
    ...(event === 'A03' ? [] : ['OBX|1|CWE|behov^Behov^SVU||socialtjanst~kommunal-hsl||||||F']),
  ].join('\r');
}
