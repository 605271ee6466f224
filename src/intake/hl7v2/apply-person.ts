/**
 * HL7 v2 A31 (update person information): a message about the person, not a visit. The Patient is updated as an A08
 * would update it (name, address, listed unit, protected identity: `buildPatient`), and the change reaches the
 * patient's open stays at the sending hospital through `applyPatientChange`, the same function a FHIR client's
 * Patient write goes through (a new municipality or listed unit re-routes their notifications; PID-29/30 a death).
 * A person the gateway does not know is stored, as an A08 of an unknown stay stores its Patient.
 */
import type { Patient } from '@medplum/fhirtypes';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import { newResourceId } from '../../store/resource-id';
import { writeOptions, type StayApplierDeps } from '../stay/applier-deps';
import { applyPatientChange, keepPersonProtected, openStaysOf } from '../stay/patient-change';
import { contentOf, lockStays, readStayRows } from '../stay/stay-rows.pg';
import { buildPatient, patientKey } from './apply-adt';
import type { AppliedMessage, PatientMessage, ReceiveMeta } from './apply-queue';
import { sendingHospital } from './apply-stays';
import { patientForSender } from './patient-for-sender';
import { emptyOutcome, engineWarnings, taskChanges } from './message-outcome';

/**
 * Applies one A31 in the caller's transaction: locks the person and their open stays (one statement, sorted, as a
 * stay batch does), writes the Patient, and hands the change to the open stays the sending hospital holds. Its
 * outcome carries the engine's warnings and Task changes of those stays; no stay id (the message has no visit).
 */
export async function applyPersonUpdate(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  job: { mapped: PatientMessage; meta: ReceiveMeta },
  newId: () => string = newResourceId,
): Promise<AppliedMessage> {
  const m = job.mapped;
  const hospital = await sendingHospital(repo, deps, job, deps.clock.now().getTime());
  const key = patientKey(m);
  const k = `${key.system}|${key.value}`;
  const ours = async () =>
    patientForSender((await readStayRows(tx, [], [key], [])).patients.get(k), hospital.reference);
  const known = contentOf<Patient>(await ours());
  // the open stays, for the locks (`applyPatientChange` reads them again under them)
  const stays = known?.id ? await openStaysOf(tx, known.id) : [];
  await lockStays(tx, [`patient:${k}`, ...stays.map((e) => e.id)]);
  const stored = await ours();
  const before = contentOf<Patient>(stored);
  const resource = { ...buildPatient(before, m), id: before?.id ?? newId() };
  const write = writeOptions(hospital.reference);
  const prepared = repo.prepare(resource, resource.id, stored?.row, stored ? 'PUT' : 'POST', write);
  await repo.commitPrepared(tx, [prepared]);
  const written = { ...(prepared.resource as Patient), id: resource.id };
  const after = (await keepPersonProtected(tx, repo, before, written)) ?? written;
  const idBase = `hl7:${m.header.sender}:${m.header.controlId}`;
  const reached = await applyPatientChange(tx, repo, deps, {
    ...(before ? { before } : {}),
    after,
    at: m.at,
    factIdBase: idBase,
    ...(m.diedAt !== undefined ? { died: { at: m.diedAt, idBase } } : {}),
    source: 'hl7',
    hospital: { ...(hospital.reference ? { reference: hospital.reference } : {}), hsaId: m.hospitalHsaId },
    sentAt: m.sentAt,
  });
  const outcome = emptyOutcome();
  outcome.warnings = [
    ...m.warnings,
    ...reached.flatMap((r) => engineWarnings(r.result.evaluation, new Set(r.facts.map((f) => f.id)))),
  ];
  for (const r of reached) {
    const t = taskChanges(r.result.plan);
    outcome.tasks.created.push(...t.created);
    outcome.tasks.changed.push(...t.changed);
    outcome.tasks.cancelled.push(...t.cancelled);
  }
  return { outcome };
}
