import type { Encounter, Organization, Patient, Reference, Resource, Task } from '@medplum/fhirtypes';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import { isUnrestricted, writerOf } from '../../store/access-sql';
import type { AccessScope, FhirRepository, RepositoryHooks, ResourceChange } from '../../store/repository.port';
import { applyStayFacts, INTAKE_AUTHOR, type StayApplierDeps } from '../stay/apply-stay';
import { lockStays } from '../stay/stay-rows.pg';
import {
  applyPatientChange,
  holderOf,
  keepPersonProtected,
  PROTECTION_AUTHOR,
  routingOfPatient,
} from '../stay/patient-change';
import { addWriteNotes } from '../../platform/write-notes';
import { begunWithoutAdmissionTime, factsFromEncounterChange } from './encounter-diff';
import { informationTransferDutyMet } from './information-transferred';
import { rejectionMark } from './rejection-hook';
import { applyTaskFacts } from './task-facts';
import { unknownStayCodes } from './unknown-codes';

export { routingOfPatient };

async function readOrUndefined<T extends Patient | Organization>(
  repo: FhirRepository,
  type: T['resourceType'],
  id: string,
): Promise<T | undefined> {
  try {
    return await repo.read<T>(type, id);
  } catch {
    return undefined;
  }
}

/**
 * The Encounter's Patient, taken from `written` (the versions the same statement stored: a transaction Bundle's
 * Patient) when it is there, else read; undefined when the subject is no readable Patient.
 */
export async function subjectOf(
  repo: FhirRepository,
  encounter: Encounter,
  written?: ReadonlyMap<string, Resource>,
): Promise<Patient | undefined> {
  const ref = encounter.subject?.reference;
  const m = /^Patient\/([^/]+)$/.exec(ref ?? '');
  if (!m?.[1]) return undefined;
  const alongside = written?.get(`Patient/${m[1]}`);
  return alongside?.resourceType === 'Patient' ? alongside : readOrUndefined<Patient>(repo, 'Patient', m[1]);
}

/** When a Patient became deceased (`deceasedDateTime` or `deceasedBoolean`; like PID-29/30): the time, else undefined. */
function diedAt(before: Patient, after: Patient, fallback: string): string | undefined {
  const dead = (p: Patient): boolean => p.deceasedBoolean === true || p.deceasedDateTime !== undefined;
  if (!dead(after) || dead(before)) return undefined;
  return after.deceasedDateTime ?? fallback;
}

/**
 * A client wrote a Patient: the person's protected identity is held together over the person's records
 * (`keepPersonProtected`). A client changed a Patient's municipality or listed unit, or recorded the death: the
 * patient's open inpatient stays that the client's hospital holds get the facts (`applyPatientChange`, the same function and rule as an HL7 A31;
 * another hospital's stays are its own business, and the writer must not learn of them). A gateway or admin write
 * reaches every open stay.
 */
async function patientChanged(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  change: ResourceChange,
  scope: AccessScope | undefined,
): Promise<void> {
  const before = change.before as Patient | undefined;
  const written = change.after as Patient | undefined;
  if (!written?.id) return;
  // the person's protected identity held together over the person's records; the writer is answered with the
  // version the gateway wrote when this record inherited the label (ResourceChange.current)
  const inherited = await keepPersonProtected(tx, repo, before, { ...written, id: written.id });
  if (inherited) change.current = inherited;
  const after = inherited ?? written;
  if (!before || !after.id) return;
  const at = after.meta?.lastUpdated ?? deps.clock.now().toISOString();
  const died = diedAt(before, after, at);
  await applyPatientChange(tx, repo, deps, {
    before,
    after: { ...after, id: after.id },
    at,
    factIdBase: `fhir:Patient/${written.id}/_history/${written.meta?.versionId ?? ''}`,
    ...(died !== undefined ? { died: { at: died, idBase: `fhir:Patient/${after.id}` } } : {}),
    source: 'fhir',
    hospital: isUnrestricted(scope)
      ? 'every-stay'
      : await holderOf(repo, change.authorOrganization ?? scope?.organization),
  });
}

/** The warning code of an inpatient Encounter that has begun without an admission time (no stay, nobody told). */
export const NO_ADMISSION_TIME = 'no-admission-time';

/**
 * FHIR push: a repository hook that turns Encounter creates/updates written by clients (REST or transaction
 * Bundles) into stay facts (and Patient routing changes and deaths into facts of the open stays) and
 * applies them in the same transaction as the write. Writes by intake itself (author `svu-gateway:intake`) are
 * skipped. A write that changes nothing creates no version and so no facts.
 */
export function intakeHooks(deps: StayApplierDeps, repository: (tx: Db) => PgRepository): RepositoryHooks {
  return {
    // the hospital's completion of its information transfer duty is stored met at the write time; a receiver's Task
    // rejected by another than its owner is marked so
    async beforeWrite(_tx, change, scope) {
      if (change.resourceType !== 'Task' || !change.after) return undefined;
      const now = deps.clock.now().toISOString();
      const before = change.before as Task | undefined;
      const writer = writerOf(scope);
      const met = informationTransferDutyMet(before, change.after as Task, writer, now);
      return rejectionMark(before, met ?? (change.after as Task), writer) ?? met;
    },
    async afterWrite(tx, change, scope) {
      if (change.author === INTAKE_AUTHOR || change.author === PROTECTION_AUTHOR || !change.after) return;
      if (change.resourceType === 'Patient') {
        await patientChanged(tx, repository(tx), deps, change, scope);
        return;
      }
      if (change.resourceType === 'Task') {
        await applyTaskFacts(tx, repository(tx), deps, change, writerOf(scope));
        return;
      }
      if (change.resourceType !== 'Encounter') return;
      const after = change.after as Encounter;
      if (after.class?.code && after.class.code !== 'IMP') return;
      const repo = repository(tx);
      const patient = await subjectOf(repo, after, change.writtenWith);
      const routing = patient ? await routingOfPatient(repo, patient) : {};
      const drafts = factsFromEncounterChange(change.before as Encounter | undefined, after, {
        routing,
        now: deps.clock.now().toISOString(),
      });
      // Its facts (needs, an estimated discharge date) would wait for an admission that never comes: said, not silent.
      if (begunWithoutAdmissionTime(after)) {
        addWriteNotes([
          {
            code: NO_ADMISSION_TIME,
            text: `Encounter ${after.status} without period.start: no stay is started and no party is notified; send the admission time in period.start`,
            about: `Encounter/${change.id}`,
          },
        ]);
        deps.issues?.(change.id, 'fhir', [{ code: NO_ADMISSION_TIME }]);
      }
      // A code the intake does not read is left out, never silently: the answer names it (as an HL7 ERR W).
      addWriteNotes(unknownStayCodes(after).map((n) => ({ ...n, about: `Encounter/${change.id}` })));
      if (drafts.length === 0) return;
      const stayId = change.id;
      await lockStays(tx, [stayId]);
      const facts = drafts.map((f) => ({ ...f, stayId }));
      await applyStayFacts(tx, repo, deps, {
        stayId,
        facts,
        source: 'fhir',
        patient: { ...(after.subject as Reference<Patient> | undefined) },
        // the Patient just found gives Task.for its personnummer without a second read (a reference that names an
        // identifier keeps it: applyFactsToStays reads no Patient for one)
        ...(patient && !after.subject?.identifier ? { patientResource: patient } : {}),
        encounter: { reference: `Encounter/${stayId}` },
        ...(change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}),
      });
    },
  };
}
