import { createHash } from 'node:crypto';
import type { Encounter, Organization, Patient, Reference } from '@medplum/fhirtypes';
import type { StayState } from '../../core/engine/types';
import { systemForKind } from '../../core/identity/personnummer';
import { ACT_CODE_SYSTEM, IDENTIFIER_SYSTEM, SE_SECURITY_LABEL_SYSTEM } from '../../fhir/constants';
import { applyStayStateToEncounter } from '../../fhir/encounter-extensions';
import type { MappedAdt } from '../../mapping/adt-to-facts';
import { GatewayError } from '../../platform/errors';
import type { Db } from '../../store/db.port';
import type { FhirRepository, WriteOptions } from '../../store/repository.port';
import { contentKey } from '../../store/resource-util';
import { applyStayFacts, writeOptions, type StayApplierDeps } from '../stay/apply-stay';
import { lockStay } from '../stay/fact-store';
import type { ApplyMappedStay } from './process-message';

type StayMessage = Extract<MappedAdt, { kind: 'stay' }>;

const ENCOUNTER_STATUS: Record<StayState['status'], Encounter['status']> = {
  'in-progress': 'in-progress',
  'on-leave': 'onleave',
  finished: 'finished',
  cancelled: 'cancelled',
  deceased: 'finished',
};

/** A stable Encounter id for a sender's visit number, so the stay id is known before the first write. */
export function encounterIdFor(system: string, value: string): string {
  return `hl7-${createHash('sha256').update(`${system}|${value}`).digest('hex').slice(0, 32)}`;
}

async function upsertPatient(
  tx: Db,
  repo: FhirRepository,
  m: StayMessage,
  write: WriteOptions,
): Promise<Reference<Patient>> {
  const p = m.patient;
  const system = systemForKind(p.identifier.kind);
  await lockStay(tx, `patient:${system}|${p.identifier.value}`);
  const found = await repo.search<Patient>('Patient', { identifier: `${system}|${p.identifier.value}`, _count: '1' });
  const existing = found.resources[0];
  const others = (existing?.identifier ?? []).filter((i) => i.system !== system);
  const patient: Patient = {
    ...(existing ?? {}),
    resourceType: 'Patient',
    identifier: [{ system, value: p.identifier.value }, ...others],
    name: [
      { use: 'official', ...(p.family ? { family: p.family } : {}), ...(p.given.length ? { given: p.given } : {}) },
    ],
  };
  const otherLabels = (existing?.meta?.security ?? []).filter((s) => s.system !== SE_SECURITY_LABEL_SYSTEM);
  const labels = [...otherLabels, ...p.security.map((code) => ({ system: SE_SECURITY_LABEL_SYSTEM, code }))];
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
  if (existing?.id && contentKey({ ...patient, id: existing.id }) === contentKey(existing)) {
    return { reference: `Patient/${existing.id}` };
  }
  const written = existing?.id
    ? await repo.update({ ...patient, id: existing.id }, write)
    : await repo.create(patient, write);
  return { reference: `Patient/${written.id ?? ''}` };
}

function buildEncounter(
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
  const status = !state.admittedAt && state.status === 'in-progress' ? 'planned' : ENCOUNTER_STATUS[state.status];
  const end = status === 'finished' ? (state.dischargedAt ?? e.dischargedAt) : undefined;
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

/** Applies one mapped ADT message: Patient, Encounter (by the sender's visit number), facts, engine, Tasks. */
export function createAdtApplier(deps: StayApplierDeps, repository: (tx: Db) => FhirRepository): ApplyMappedStay {
  return async (tx, m, meta) => {
    const repo = repository(tx);
    const visit = m.encounter.visit;
    await lockStay(tx, `visit:${visit.system}|${visit.value}`);
    const found = await repo.search<Encounter>('Encounter', {
      identifier: `${visit.system}|${visit.value}`,
      _count: '1',
    });
    const existing = found.resources[0];
    const stayId = existing?.id ?? encounterIdFor(visit.system, visit.value);
    await lockStay(tx, stayId);
    const hospital = (await deps.orgs.lookup(
      repo,
      IDENTIFIER_SYSTEM.hsaId,
      m.encounter.hospitalHsaId,
      deps.clock.now().getTime(),
    )) ?? {
      type: 'Organization',
      identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: m.encounter.hospitalHsaId },
    };
    const authorOrganization = hospital.reference;
    if (meta.organization && meta.organization !== authorOrganization) {
      throw new GatewayError(
        'forbidden',
        `the message is for hospital ${m.encounter.hospitalHsaId}, which is not the sending client's organization ${meta.organization}`,
        [{ path: 'MSH-4', message: 'a hospital client may only send its own stays' }],
      );
    }
    const write = writeOptions(authorOrganization);
    const subject = await upsertPatient(tx, repo, m, write);
    const facts = m.facts.map((f) => ({ ...f, stayId }));
    const encounterRef: Reference<Encounter> = { reference: `Encounter/${stayId}` };
    await applyStayFacts(tx, repo, deps, {
      stayId,
      facts,
      source: 'hl7',
      patient: subject,
      encounter: encounterRef,
      ...(authorOrganization ? { authorOrganization } : {}),
      onEvaluated: async (evaluation) => {
        await repo.update(buildEncounter(existing, stayId, m, evaluation.state, subject, hospital), write);
      },
    });
    return { stayId };
  };
}
