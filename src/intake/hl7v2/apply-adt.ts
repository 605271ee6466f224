/** The FHIR resources an ADT message stands for (pure builders; `apply-stays.ts` reads and writes them). */
import { createHash } from 'node:crypto';
import type { Encounter, Organization, Patient, Reference } from '@medplum/fhirtypes';
import type { StayState } from '../../core/engine/types';
import { systemForKind } from '../../core/identity/personnummer';
import { ACT_CODE_SYSTEM, IDENTIFIER_SYSTEM, SE_SECURITY_LABEL_SYSTEM } from '../../fhir/constants';
import { applyStayStateToEncounter } from '../../fhir/encounter-extensions';
import { isProtectedIdentityLabel } from '../../fhir/protected-identity';
import type { ApplicableMessage, StayMessage } from './apply-queue';

const DISCHARGE_DISPOSITION = 'http://terminology.hl7.org/CodeSystem/discharge-disposition';

const ENCOUNTER_STATUS: Record<StayState['status'], Encounter['status']> = {
  'in-progress': 'in-progress',
  'on-leave': 'onleave',
  finished: 'finished',
  cancelled: 'cancelled',
  deceased: 'finished',
};

/** The Encounter status of a stay in `state`: without an admission yet (A05, an A08 before its A01) it is planned. */
export function encounterStatusOf(state: StayState): Encounter['status'] {
  return !state.admittedAt && state.status === 'in-progress' ? 'planned' : ENCOUNTER_STATUS[state.status];
}

/** A stable Encounter id for a sender's visit number, so the stay id is known before the first write. */
export function encounterIdFor(system: string, value: string): string {
  return `hl7-${createHash('sha256').update(`${system}|${value}`).digest('hex').slice(0, 32)}`;
}

/** The Patient after message `m`: `existing` (if any) with the message's identifier, name, labels and routing. */
export function buildPatient(existing: Patient | undefined, m: ApplicableMessage): Patient {
  const p = m.patient;
  const system = systemForKind(p.identifier.kind);
  const others = (existing?.identifier ?? []).filter((i) => i.system !== system);
  const patient: Patient = {
    ...(existing ?? {}),
    resourceType: 'Patient',
    identifier: [{ system, value: p.identifier.value }, ...others],
    name: [
      { use: 'official', ...(p.family ? { family: p.family } : {}), ...(p.given.length ? { given: p.given } : {}) },
    ],
  };
  // A message that says nothing of protected identity (PD1-12 empty: "no change" in HL7 v2) keeps the labels; one
  // that states it (a label, or `""`/a value mapped to none) replaces them.
  const kept = existing?.meta?.security ?? [];
  const stated = p.security?.map((code) => ({ system: SE_SECURITY_LABEL_SYSTEM, code }));
  const labels = stated
    ? [...kept.filter((s) => s.system !== SE_SECURITY_LABEL_SYSTEM && !isProtectedIdentityLabel(s)), ...stated]
    : kept;
  patient.meta = { ...(existing?.meta ?? {}) };
  if (labels.length) patient.meta.security = labels;
  else delete patient.meta.security;
  if (p.birthDate) patient.birthDate = p.birthDate;
  if (p.gender) patient.gender = p.gender;
  if (p.address) {
    const a = p.address;
    patient.address = [
      {
        use: 'home',
        ...(a.line.length ? { line: a.line } : {}),
        ...(a.city ? { city: a.city } : {}),
        ...(a.postalCode ? { postalCode: a.postalCode } : {}),
        ...(a.country ? { country: a.country } : {}),
        // The municipality of registration (kommunkod), PID-11.9.
        ...(a.municipality ? { district: a.municipality } : {}),
      },
    ];
  }
  if (p.routing.primaryCareUnit) {
    patient.generalPractitioner = [
      { type: 'Organization', identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: p.routing.primaryCareUnit } },
    ];
  }
  return patient;
}

/** The identifier a message's Patient is found by (`system|value`). */
export function patientKey(m: ApplicableMessage): { system: string; value: string } {
  return { system: systemForKind(m.patient.identifier.kind), value: m.patient.identifier.value };
}

export function buildEncounter(
  existing: Encounter | undefined,
  id: string,
  m: StayMessage,
  state: StayState,
  subject: Reference<Patient>,
  hospital: Reference<Organization>,
): Encounter {
  const e = m.encounter;
  const others = (existing?.identifier ?? []).filter((i) => i.system !== e.visit.system);
  const start = state.admittedAt ?? existing?.period?.start ?? e.admittedAt;
  // Facts without an admission yet (A05 pre-admit, or an A08 that overtook its A01): the stay is planned.
  const status = encounterStatusOf(state);
  const died = state.status === 'deceased';
  const end = died ? state.diedAt : status === 'finished' ? (state.dischargedAt ?? e.dischargedAt) : undefined;
  const ward = state.ward ?? e.ward;
  const encounter: Encounter = {
    ...(existing ?? {}),
    resourceType: 'Encounter',
    id,
    identifier: [{ system: e.visit.system, value: e.visit.value }, ...others],
    status,
    class: { system: ACT_CODE_SYSTEM, code: 'IMP', display: 'inpatient encounter' },
    subject,
    serviceProvider: hospital,
  };
  // A death ends the stay: said as FHIR does (discharge disposition `exp`), which the FHIR intake also reads as one.
  const disposition = existing?.hospitalization?.dischargeDisposition;
  const wasDeath = disposition?.coding?.some((c) => c.system === DISCHARGE_DISPOSITION && c.code === 'exp');
  if (died) {
    encounter.hospitalization = {
      ...(existing?.hospitalization ?? {}),
      dischargeDisposition: { coding: [{ system: DISCHARGE_DISPOSITION, code: 'exp', display: 'Expired' }] },
    };
  } else if (wasDeath && encounter.hospitalization) {
    const { dischargeDisposition: _gone, ...rest } = encounter.hospitalization;
    if (Object.keys(rest).length) encounter.hospitalization = rest;
    else delete encounter.hospitalization;
  }
  if (start || end) encounter.period = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  else delete encounter.period;
  if (ward) {
    encounter.location = [
      {
        location: { display: (ward === e.ward ? e.wardName : undefined) ?? ward, identifier: { value: ward } },
        status: 'active',
      },
    ];
  }
  if (e.attending?.id) {
    const name = [e.attending.given, e.attending.family].filter(Boolean).join(' ');
    encounter.participant = [
      {
        individual: {
          identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: e.attending.id },
          ...(name ? { display: name } : {}),
        },
      },
    ];
  }
  return applyStayStateToEncounter(encounter, state);
}
