/**
 * A Patient's data changed outside any one stay (a FHIR client's Patient write, an HL7 v2 A31): what that means for
 * the patient's open inpatient stays. Both intakes use this one function, so a changed municipality or listed unit
 * re-routes the stays' notifications the same way, and a recorded death ends them the same way.
 */
import type { Encounter, Organization, Patient } from '@medplum/fhirtypes';
import type { PatientRouting, StayFact } from '../../core/stay/facts';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { FhirRepository } from '../../store/repository.port';
import { applyStayFacts, type ApplyStayResult, type StayApplierDeps } from './apply-stay';
import { lockStays } from './stay-rows.pg';

async function readOrganization(repo: FhirRepository, id: string): Promise<Organization | undefined> {
  try {
    return await repo.read<Organization>('Organization', id);
  } catch {
    return undefined;
  }
}

/** A Patient's routing: municipality of registration and listed primary-care unit. */
export async function routingOfPatient(repo: FhirRepository, patient: Patient): Promise<PatientRouting> {
  const routing: PatientRouting = {};
  const home = patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0];
  const municipality = home?.extension?.find((e) => /municipality/i.test(e.url))?.valueCoding?.code ?? home?.district;
  if (municipality && /^\d{4}$/.test(municipality)) routing.municipality = municipality;
  for (const gp of patient.generalPractitioner ?? []) {
    if (gp.identifier?.system === IDENTIFIER_SYSTEM.hsaId && gp.identifier.value) {
      routing.primaryCareUnit = gp.identifier.value;
      break;
    }
    const om = /^Organization\/([^/]+)$/.exec(gp.reference ?? '');
    const org = om?.[1] ? await readOrganization(repo, om[1]) : undefined;
    const hsa = org?.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.hsaId)?.value;
    if (hsa) {
      routing.primaryCareUnit = hsa;
      break;
    }
  }
  return routing;
}

const OPEN_STAY = new Set(['planned', 'arrived', 'in-progress', 'onleave']);

export interface PatientChange {
  before?: Patient;
  after: Patient & { id: string };
  /** When the change happened (the facts' time). */
  at: string;
  /** Fact ids are `<factIdBase>#patient-updated@<stay>`, so a repeat of the same change adds nothing. */
  factIdBase: string;
  /** The death the change records (its time), if it records one; its fact is `<deathIdBase>#died@<stay>`. */
  died?: { at: string; idBase: string };
  source: 'hl7' | 'fhir';
  /** The writing hospital's tenant, stamped on intake's writes. */
  authorOrganization?: string;
  /** The send time of the message that carried the change (HL7 MSH-7), when the duties it meets count from it. */
  sentAt?: string;
  /** Which open stays the change reaches (HL7: the sending hospital's own); all when not given. */
  stays?: (encounter: Encounter) => boolean;
}

/** One open stay the change reached and what the engine made of it. */
export interface PatientChangeApplied {
  stayId: string;
  facts: StayFact[];
  result: ApplyStayResult;
}

/**
 * A Patient's municipality or listed unit changed (e.g. a corrected registration, 003 step 1a), or its death was
 * recorded: each of the patient's open inpatient stays gets a `patient-updated` fact (the engine re-routes its
 * notifications, as for an A08 of the stay) and/or a `died` fact. Nothing when neither changed.
 */
export async function applyPatientChange(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  change: PatientChange,
): Promise<PatientChangeApplied[]> {
  const { after } = change;
  const was = change.before ? await routingOfPatient(repo, change.before) : {};
  const is = await routingOfPatient(repo, after);
  const rerouted = was.municipality !== is.municipality || was.primaryCareUnit !== is.primaryCareUnit;
  if (!rerouted && change.died === undefined) return [];
  const stays = await repo.search<Encounter>('Encounter', { subject: `Patient/${after.id}`, _count: '100' });
  const out: PatientChangeApplied[] = [];
  for (const enc of stays.resources) {
    if (!enc.id || !OPEN_STAY.has(enc.status) || (enc.class?.code && enc.class.code !== 'IMP')) continue;
    if (change.stays && !change.stays(enc)) continue;
    const stayId = enc.id;
    const sent = change.sentAt ? { sentAt: change.sentAt } : {};
    const facts: StayFact[] = [];
    if (rerouted) {
      const id = `${change.factIdBase}#patient-updated@${stayId}`;
      facts.push({ id, stayId, at: change.at, kind: 'patient-updated', patient: is, ...sent });
    }
    if (change.died !== undefined) {
      const id = `${change.died.idBase}#died@${stayId}`;
      facts.push({ id, stayId, at: change.died.at, kind: 'died', ...sent });
    }
    await lockStays(tx, [stayId]);
    const result = await applyStayFacts(tx, repo, deps, {
      stayId,
      facts,
      source: change.source,
      patient: { reference: `Patient/${after.id}` },
      patientResource: after,
      encounter: { reference: `Encounter/${stayId}` },
      ...(change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}),
    });
    out.push({ stayId, facts, result });
  }
  return out;
}
