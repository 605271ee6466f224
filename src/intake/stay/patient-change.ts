/**
 * A Patient's data changed outside any one stay (a FHIR client's Patient write, an HL7 v2 A31): what that means for
 * the patient's open inpatient stays. Both intakes use this one function, so a changed municipality or listed unit
 * re-routes the stays' notifications the same way, and a recorded death ends them the same way.
 *
 * The rule (the same for both intakes): a hospital's change of the patient's data re-routes, or ends in a death,
 * only the open stays that hospital holds (the Encounter's serviceProvider). Another hospital's stay is left to
 * that hospital's own messages: its notifications are its duty (2 kap. 1 §), it gets the same population-register
 * data in its own EHR, and a fact on its stay could only be attributed wrongly (as its message, which it never
 * sent) or truthfully (as hospital B's, which tells A and A's recipients that the patient is at B; and B's
 * organisation stamped on A's Tasks let B read them, B's answer carried A's stay's engine warnings). Only the
 * gateway itself or an integration admin (no hospital) reaches every open stay, each stamped with its own hospital.
 * Protected identity is about the person, not a stay, and every reader must meet it: `keepPersonProtected` (called
 * by each Patient write) holds the label together over every Patient of the same person (a hospital that wrote
 * through FHIR holds a Patient of its own: a conditional update does not match another tenant's), written as the
 * gateway's, not as the writer's.
 */
import type { Coding, Encounter, Organization, Patient } from '@medplum/fhirtypes';
import type { PatientRouting, StayFact } from '../../core/stay/facts';
import {
  IDENTIFIER_SYSTEM,
  PERSONNUMMER_OID,
  PERSONNUMMER_SYSTEM,
  SAMORDNINGSNUMMER_OID,
  SAMORDNINGSNUMMER_SYSTEM,
} from '../../fhir/constants';
import { hasProtectedIdentity, isProtectedIdentityLabel } from '../../fhir/protected-identity';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { FhirRepository, WriteOptions } from '../../store/repository.port';
import { applyStayFacts, type ApplyStayResult, type StayApplierDeps } from './apply-stay';
import { encounterIssueRefresh } from './issue-refresh';
import { lockStays, readPersonRecords, readStaysOfPatient } from './stay-rows.pg';

async function readOrganization(repo: FhirRepository, id: string): Promise<Organization | undefined> {
  try {
    return await repo.read<Organization>('Organization', id);
  } catch {
    return undefined;
  }
}

/**
 * A Patient's routing as the Patient states it: municipality of registration (the home address's municipality
 * extension or district, a 4-digit kommunkod) and listed primary-care unit (the first general practitioner that
 * names an HSA-id: by identifier, or an Organization whose HSA-id `hsaOfOrganization` gives). Pure: the sender kit
 * reads its Patients with it; `routingOfPatient` reads the Organizations from the store first.
 */
export function routingFromPatient(
  patient: Patient,
  hsaOfOrganization: (id: string) => string | undefined = () => undefined,
): PatientRouting {
  const routing: PatientRouting = {};
  const home = patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0];
  const municipality = home?.extension?.find((e) => /municipality/i.test(e.url))?.valueCoding?.code ?? home?.district;
  if (municipality && /^\d{4}$/.test(municipality)) routing.municipality = municipality;
  for (const gp of patient.generalPractitioner ?? []) {
    if (gp.identifier?.system === IDENTIFIER_SYSTEM.hsaId && gp.identifier.value) {
      routing.primaryCareUnit = gp.identifier.value;
      break;
    }
    const id = organizationIdOf(gp.reference);
    const hsa = id ? hsaOfOrganization(id) : undefined;
    if (hsa) {
      routing.primaryCareUnit = hsa;
      break;
    }
  }
  return routing;
}

const organizationIdOf = (reference: string | undefined): string | undefined =>
  /^Organization\/([^/]+)$/.exec(reference ?? '')?.[1];

/** A Patient's routing: municipality of registration and listed primary-care unit (`routingFromPatient`). */
export async function routingOfPatient(repo: FhirRepository, patient: Patient): Promise<PatientRouting> {
  // the Organizations the general practitioners name, read in order up to the first that gives the unit
  const hsa = new Map<string, string | undefined>();
  for (const gp of patient.generalPractitioner ?? []) {
    if (gp.identifier?.system === IDENTIFIER_SYSTEM.hsaId && gp.identifier.value) break;
    const id = organizationIdOf(gp.reference);
    if (!id) continue;
    if (!hsa.has(id)) {
      const org = await readOrganization(repo, id);
      hsa.set(id, org?.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.hsaId)?.value);
    }
    if (hsa.get(id)) break;
  }
  return routingFromPatient(patient, (id) => hsa.get(id));
}

const OPEN_STAY = new Set(['planned', 'arrived', 'in-progress', 'onleave']);

/** Whether an Encounter of `status` is an open stay, one a patient change reaches. */
export const isOpenStay = (status: Encounter['status']): boolean => OPEN_STAY.has(status);

/** The Patient `patientId`'s open stays (`isOpenStay`), oldest update first: one index lookup by the subject. */
export async function openStaysOf(tx: Db, patientId: string): Promise<(Encounter & { id: string })[]> {
  return (await readStaysOfPatient(tx, patientId))
    .map((row) => ({ ...(JSON.parse(row.content) as Encounter), id: row.id }))
    .filter((enc) => isOpenStay(enc.status));
}

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
  /**
   * The hospital whose change it is (HL7: the sending hospital; FHIR: the writing client's organisation): only
   * its own open stays are reached, stamped with its tenant. `'every-stay'`: the gateway or an integration admin.
   * A writer that holds no stay (a municipality) reaches none.
   */
  hospital: StayHolder | 'every-stay';
  /** The send time of the message that carried the change (HL7 MSH-7), when the duties it meets count from it. */
  sentAt?: string;
}

/** A hospital as a stay names it: its Organization (`Organization/<id>`) and/or its HSA-id. */
export interface StayHolder {
  reference?: string;
  hsaId?: string;
}

/** Whether `enc` is a stay `hospital` holds (its serviceProvider is the Organization, or names the HSA-id). */
export function heldBy(enc: Encounter, hospital: StayHolder): boolean {
  const sp = enc.serviceProvider;
  if (hospital.reference && sp?.reference === hospital.reference) return true;
  return (
    !!hospital.hsaId && sp?.identifier?.system === IDENTIFIER_SYSTEM.hsaId && sp.identifier.value === hospital.hsaId
  );
}

/** The hospital of the client organisation `reference` (`Organization/<id>`): the reference and its HSA-id. */
export async function holderOf(repo: FhirRepository, reference: string | undefined): Promise<StayHolder> {
  const id = /^Organization\/([^/]+)$/.exec(reference ?? '')?.[1];
  if (!id) return {};
  const org = await readOrganization(repo, id);
  const hsaId = org?.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.hsaId)?.value;
  return { reference: `Organization/${id}`, ...(hsaId ? { hsaId } : {}) };
}

/** One open stay the change reached and what the engine made of it. */
export interface PatientChangeApplied {
  stayId: string;
  facts: StayFact[];
  result: ApplyStayResult;
}

/** Whether a Patient's routing changed (municipality of registration or listed unit): its stays are re-routed. */
export function routingChanged(was: PatientRouting, is: PatientRouting): boolean {
  return was.municipality !== is.municipality || was.primaryCareUnit !== is.primaryCareUnit;
}

/**
 * The facts a patient change gives one open stay `stayId` (pure: the gateway's `applyPatientChange` and the sender
 * kit both derive them here): a `patient-updated` fact with the new routing when it changed (`was` → `is`), a `died`
 * fact when the change records a death; none when neither.
 */
export function patientChangeFacts(
  change: Pick<PatientChange, 'at' | 'factIdBase' | 'died' | 'sentAt'>,
  routing: { was: PatientRouting; is: PatientRouting },
  stayId: string,
): StayFact[] {
  const sent = change.sentAt ? { sentAt: change.sentAt } : {};
  const facts: StayFact[] = [];
  if (routingChanged(routing.was, routing.is)) {
    const id = `${change.factIdBase}#patient-updated@${stayId}`;
    facts.push({ id, stayId, at: change.at, kind: 'patient-updated', patient: routing.is, ...sent });
  }
  if (change.died !== undefined) {
    const id = `${change.died.idBase}#died@${stayId}`;
    facts.push({ id, stayId, at: change.died.at, kind: 'died', ...sent });
  }
  return facts;
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
  const rerouted = routingChanged(was, is);
  if (!rerouted && change.died === undefined) return [];
  const out: PatientChangeApplied[] = [];
  for (const enc of await openStaysOf(tx, after.id)) {
    if (enc.class?.code && enc.class.code !== 'IMP') continue;
    // Another hospital's stay is left to that hospital (the rule at the top of this file).
    const { hospital } = change;
    if (hospital !== 'every-stay' && !heldBy(enc, hospital)) continue;
    const stamp = hospital === 'every-stay' ? enc.serviceProvider?.reference : hospital.reference;
    const stayId = enc.id;
    const facts = patientChangeFacts(change, { was, is }, stayId);
    await lockStays(tx, [stayId]);
    const refresh = await encounterIssueRefresh(tx, repo, stayId, stamp);
    const result = await applyStayFacts(tx, repo, deps, {
      ...refresh,
      stayId,
      facts,
      source: change.source,
      patient: { reference: `Patient/${after.id}` },
      patientResource: after,
      encounter: { reference: `Encounter/${stayId}` },
      ...(stamp ? { authorOrganization: stamp } : {}),
    });
    out.push({ stayId, facts, result });
  }
  return out;
}

const PERSON_SYSTEMS = [PERSONNUMMER_SYSTEM, PERSONNUMMER_OID, SAMORDNINGSNUMMER_SYSTEM, SAMORDNINGSNUMMER_OID];

/**
 * Author of the gateway's writes that keep a person's records protected together (`keepPersonProtected`): a label
 * copied to another record, and lifted from it. Its own author, so a copy is told from a label the record's writer
 * set (the history shows who added it), and intake's hooks skip it as they skip intake's writes.
 */
export const PROTECTION_AUTHOR = 'svu-gateway:protected-identity';
const protectionWrite: WriteOptions = { author: PROTECTION_AUTHOR };

const protectionLabels = (p: Patient): Coding[] => (p.meta?.security ?? []).filter(isProtectedIdentityLabel);

/** The person identifier values (personnummer, samordningsnummer) of a Patient. */
const personValuesOf = (p: Patient): string[] =>
  (p.identifier ?? []).filter((i) => i.value && PERSON_SYSTEMS.includes(i.system ?? '')).map((i) => i.value ?? '');

/** The current Patients with one of the person identifier values, under either form of each system (URI or OID). */
async function recordsOfPersons(tx: Db, values: readonly string[]): Promise<(Patient & { id: string })[]> {
  const keys = [...new Set(values)].flatMap((value) => PERSON_SYSTEMS.map((system) => ({ system, value })));
  return (await readPersonRecords(tx, keys)).map((row) => ({ ...(JSON.parse(row.content) as Patient), id: row.id }));
}

/** Every other current Patient with one of `patient`'s person identifiers (personnummer, samordningsnummer). */
async function otherRecordsOf(tx: Db, patient: Patient & { id: string }): Promise<(Patient & { id: string })[]> {
  return (await recordsOfPersons(tx, personValuesOf(patient))).filter((r) => r.id !== patient.id);
}

/**
 * The ids of those of `patients` whose person has another current record, read in one statement for them all (an
 * HL7 batch): `keepPersonProtected` has nothing to do for a person with a single record, so a batch of new persons
 * costs one lookup, not one per message.
 */
export async function withOtherRecords(tx: Db, patients: readonly (Patient & { id: string })[]): Promise<Set<string>> {
  const records = await recordsOfPersons(tx, patients.flatMap(personValuesOf));
  const out = new Set<string>();
  for (const p of patients) {
    const mine = personValuesOf(p);
    if (records.some((r) => r.id !== p.id && personValuesOf(r).some((v) => mine.includes(v)))) out.add(p.id);
  }
  return out;
}

/**
 * `patient` became protected: every other current Patient of the person gets its protected-identity labels too, so
 * no reader of any of them keeps reading the address. Written as the gateway's (`PROTECTION_AUTHOR`, no
 * organisation: the writer does not come to hold, or read, the others).
 */
export async function protectEveryRecordOf(
  tx: Db,
  repo: PgRepository,
  patient: Patient & { id: string },
): Promise<void> {
  const labels = protectionLabels(patient);
  for (const other of await otherRecordsOf(tx, patient)) {
    if (hasProtectedIdentity(other)) continue;
    const meta = { ...other.meta, security: [...(other.meta?.security ?? []), ...labels] };
    await repo.update<Patient>({ ...other, meta }, protectionWrite);
  }
}

/**
 * Whether the protected-identity label the Patient `id` carries now was the gateway's copy: the version that added
 * it (the first of the current run of labelled versions) is `PROTECTION_AUTHOR`'s. A label its writer set (a
 * hospital's FHIR write, an HL7 message) is not; nor one copied before the gateway wrote copies as their own author.
 */
async function labelIsCopy(tx: Db, id: string): Promise<boolean> {
  const r = await tx.query<{ version_id: number; author: string | null; content: string | null }>(
    `SELECT version_id, author, content FROM fhir_resource WHERE resource_type = 'Patient' AND id = $1
     UNION ALL
     SELECT version_id, author, content FROM fhir_resource_history WHERE resource_type = 'Patient' AND id = $1
     ORDER BY version_id DESC`,
    [id],
  );
  let addedBy: string | null | undefined;
  for (const row of r.rows) {
    if (!row.content || !hasProtectedIdentity(JSON.parse(row.content) as Patient)) break;
    addedBy = row.author;
  }
  return addedBy === PROTECTION_AUTHOR;
}

/**
 * A person's protected identity held together across the person's records, after a write of one of them
 * (`before` → `after`: a FHIR client's create or update, an HL7 message's). The label is Skatteverket's marking of
 * the person, not of one hospital's record, so:
 * - a record that becomes protected: its labels are copied to every other record (`protectEveryRecordOf`);
 * - a record written without the label (a new one, or one that had none) while another record of the person carries
 *   it: it inherits the label, as the gateway's version written right after, in the same transaction;
 * - a record whose label its writer lifted (a FHIR write without it, HL7 `""`): when no other record carries a label
 *   its own writer set, the copies the gateway made are lifted too; when one does, the person is still protected
 *   there, nothing is lifted and the record inherits the label back (conservative: a record its own writer marked
 *   keeps it, and while it does every record of the person carries it).
 * Returns the version now current when the gateway wrote one of `after`'s record (undefined otherwise).
 */
export async function keepPersonProtected(
  tx: Db,
  repo: PgRepository,
  before: Patient | undefined,
  after: Patient & { id: string },
): Promise<(Patient & { id: string }) | undefined> {
  const had = before !== undefined && hasProtectedIdentity(before);
  if (hasProtectedIdentity(after)) {
    if (!had) await protectEveryRecordOf(tx, repo, after);
    return undefined;
  }
  const marked = (await otherRecordsOf(tx, after)).filter(hasProtectedIdentity);
  if (marked.length === 0) return undefined;
  const copies: (Patient & { id: string })[] = [];
  const own: (Patient & { id: string })[] = [];
  for (const other of marked) (had && (await labelIsCopy(tx, other.id)) ? copies : own).push(other);
  if (own.length === 0) {
    for (const copy of copies) {
      const security = (copy.meta?.security ?? []).filter((c) => !isProtectedIdentityLabel(c));
      const { security: _lifted, ...meta } = copy.meta ?? {};
      await repo.update<Patient>({ ...copy, meta: security.length ? { ...meta, security } : meta }, protectionWrite);
    }
    return undefined;
  }
  const labels: Coding[] = [];
  for (const c of own.flatMap(protectionLabels))
    if (!labels.some((l) => l.system === c.system && l.code === c.code)) labels.push(c);
  const current = await repo.read<Patient>('Patient', after.id);
  const meta = { ...current.meta, security: [...(current.meta?.security ?? []), ...labels] };
  const stored = await repo.update<Patient>({ ...current, meta }, protectionWrite);
  return { ...stored, id: after.id };
}
