import type { Encounter, Organization, Patient, Task } from '@medplum/fhirtypes';

export const PNR = 'http://electronichealth.se/identifier/personnummer';
export const KOMMUNKOD = 'urn:oid:1.2.752.129.2.2.1.17';
export const HSA = 'urn:oid:1.2.752.29.4.19';
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
    identifier: [{ system: 'urn:oid:1.2.752.29.4.19.1|ehr', value: ehrId }],
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
