import type { Encounter, Organization, Patient, Task } from '@medplum/fhirtypes';

export const PNR = 'http://electronichealth.se/identifier/personnummer';
export const KOMMUNKOD = 'urn:oid:1.2.752.129.2.2.1.17';
export const HSA = 'urn:oid:1.2.752.29.4.19';
export const EHR_ENCOUNTER = 'https://ehr.example.se/encounter-id';
export const SVU_TASK = 'https://svu-gateway.dev/fhir/CodeSystem/svu-task';

export function patient(pnr: string, family = 'Andersson'): Patient {
  return {
    resourceType: 'Patient',
    identifier: [{ system: PNR, value: pnr }],
    name: [{ family, given: ['Åsa'] }],
    birthDate: `${pnr.slice(0, 4)}-${pnr.slice(4, 6)}-${pnr.slice(6, 8)}`,
  };
}

export function encounter(ehrId: string, patientRef: string, start = '2026-01-10T08:00:00Z'): Encounter {
  return {
    resourceType: 'Encounter',
    identifier: [{ system: EHR_ENCOUNTER, value: ehrId }],
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: patientRef },
    period: { start },
  };
}

export function municipality(code: string, name: string): Organization {
  return {
    resourceType: 'Organization',
    identifier: [{ system: KOMMUNKOD, value: code }],
    name,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'govt' }] }],
  };
}

export function task(
  code: string,
  owner: string,
  patientRef: string,
  encounterRef: string,
  extra: Partial<Task> = {},
): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: SVU_TASK, code }] },
    for: { reference: patientRef },
    encounter: { reference: encounterRef },
    owner: { reference: owner },
    authoredOn: '2026-01-10T09:00:00Z',
    ...extra,
  };
}

/** A valid 12-digit personnummer (Luhn check digit) for a birth date `yyyymmdd` and a 3-digit serial. */
export function pnr(yyyymmdd: string, serial = '123'): string {
  const nine = `${yyyymmdd.slice(2)}${serial}`;
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const d = Number(nine[i]) * (i % 2 === 0 ? 2 : 1);
    sum += d > 9 ? d - 9 : d;
  }
  return `${yyyymmdd}${serial}${(10 - (sum % 10)) % 10}`;
}
