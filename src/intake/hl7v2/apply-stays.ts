import { newResourceId } from '../../store/resource-id';
import type { Encounter, Organization, Patient, Reference, Resource } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import { GatewayError } from '../../platform/errors';
import type { PreparedWrite } from '../../store/prepare-write';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { FhirRepository, WriteOptions } from '../../store/repository.port';
import type { CurrentRow } from '../../store/write-sql';
import { applyFactsToStays, type StayFactsApplied, type StayFactsInput } from '../stay/apply-facts';
import { writeOptions, type StayApplierDeps } from '../stay/applier-deps';
import { contentOf, lockStays, readStayRows, type StayRow } from '../stay/stay-rows.pg';
import { patientForSender } from './patient-for-sender';
import { hasProtectedIdentity } from '../../fhir/protected-identity';
import { keepPersonProtected, withOtherRecords } from '../stay/patient-change';
import { buildEncounter, buildPatient, encounterIdFor, patientKey } from './apply-adt';
import {
  hospitalHsaIdOf,
  type ApplicableMessage,
  type AppliedMessage,
  type ReceiveMeta,
  type StayMessage,
} from './apply-queue';
import { emptyOutcome, engineWarnings, taskChanges, type MessageOutcome } from './message-outcome';
import { stayIssueTexts, withEngineIssues } from '../../fhir/encounter-extensions';

type Job = { mapped: StayMessage; meta: ReceiveMeta };

interface Stay {
  visit: { system: string; value: string };
  derivedId: string;
  stayId: string;
  encounter?: StayRow;
  jobs: Job[];
}

const keyOf = (k: { system: string; value: string }) => `${k.system}|${k.value}`;

/**
 * The hospital a message is about (its Organization by HSA-id, else a logical reference). Over HTTP a hospital
 * client may only send its own stays: `forbidden` when `meta.organization` is another one.
 */
export async function sendingHospital(
  repo: FhirRepository,
  deps: Pick<StayApplierDeps, 'orgs'>,
  job: { mapped: ApplicableMessage; meta: ReceiveMeta },
  nowMs: number,
): Promise<Reference<Organization>> {
  const hsaId = hospitalHsaIdOf(job.mapped);
  const hospital: Reference<Organization> = (await deps.orgs.lookup(repo, IDENTIFIER_SYSTEM.hsaId, hsaId, nowMs)) ?? {
    type: 'Organization',
    identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: hsaId },
  };
  if (job.meta.organization && job.meta.organization !== hospital.reference) {
    // Named for the person reading the ACK; the HSA-id is what the sender writes in MSH-4 / PV1-3.4.
    const own = await deps.orgs.lookup(repo, IDENTIFIER_SYSTEM.hsaId, job.meta.organization, nowMs);
    const target = hospital.display ? `${hospital.display} (HSA-id ${hsaId})` : `hospital ${hsaId}`;
    throw new GatewayError(
      'forbidden',
      `the message is for ${target}, which is not the sending client's organisation, ${own?.display ?? job.meta.organization}`,
      [{ path: 'MSH-4', message: 'a hospital client may only send its own stays' }],
    );
  }
  return hospital;
}

/**
 * Applies a batch of mapped ADT messages in the caller's transaction with a handful of statements whatever the
 * batch size: lock every stay and patient (one statement, sorted), read their Encounters, Patients and Tasks (one),
 * store and load the stays' facts (one), then — in memory — re-run the engine over all facts of each stay, build
 * Patient and Encounter (folding the stay's messages in order, as one by one would) and plan the Tasks, and write
 * every new version with its history, index and outbox rows (one). Returns each job's stay (Encounter) id and
 * outcome: its mapping and engine warnings, the Encounter version; the stay's Task changes go to the stay's last
 * message of the batch (one message a batch, as under load, gets exactly its own).
 */
export async function applyStays(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  jobs: readonly Job[],
  newId: () => string = newResourceId,
): Promise<AppliedMessage[]> {
  const stays = new Map<string, Stay>();
  for (const job of jobs) {
    const visit = job.mapped.encounter.visit;
    const k = keyOf(visit);
    const stay = stays.get(k);
    if (stay) stay.jobs.push(job);
    else {
      const derivedId = encounterIdFor(visit.system, visit.value);
      stays.set(k, { visit, derivedId, stayId: derivedId, jobs: [job] });
    }
  }
  const patientKeys = new Map(jobs.map((j) => [keyOf(patientKey(j.mapped)), patientKey(j.mapped)]));
  await lockStays(tx, [
    ...[...stays.keys()].map((k) => `visit:${k}`),
    ...[...stays.values()].map((s) => s.derivedId),
    ...[...patientKeys.keys()].map((k) => `patient:${k}`),
  ]);
  const rows = await readStayRows(
    tx,
    [...stays.values()].map((s) => s.visit),
    [...patientKeys.values()],
    [...stays.values()].map((s) => s.derivedId),
  );
  // The stay id is the Encounter's id: derived from the visit number, unless a FHIR client created it first.
  const moved: Stay[] = [];
  for (const [k, stay] of stays) {
    const found = rows.encounters.get(k) ?? [];
    stay.encounter = found.find((e) => e.id === stay.derivedId) ?? found[0];
    if (stay.encounter && stay.encounter.id !== stay.derivedId) {
      stay.stayId = stay.encounter.id;
      moved.push(stay);
    }
  }
  if (moved.length > 0) {
    await lockStays(
      tx,
      moved.map((s) => s.stayId),
    );
    const more = await readStayRows(
      tx,
      [],
      [],
      moved.map((s) => s.stayId),
    );
    for (const [id, list] of more.tasks) rows.tasks.set(id, list);
  }

  const nowMs = deps.clock.now().getTime();
  const hospitals = new Map<Job, Reference<Organization>>();
  for (const job of jobs) hospitals.set(job, await sendingHospital(repo, deps, job, nowMs));
  const writeOf = (job: Job): WriteOptions => writeOptions(hospitals.get(job)?.reference);

  // Patients: each message in order, as one by one would; each hospital's to its own record (`patientForSender`).
  const patients = new Map<string, { resource: Patient; cur?: CurrentRow; job: Job }>();
  const patientKeyOf = new Map<StayMessage, string>();
  for (const job of jobs) {
    const k = keyOf(patientKey(job.mapped));
    const stored = patientForSender(rows.patients.get(k), hospitals.get(job)?.reference);
    const pk = `${k}#${stored?.id ?? ''}`;
    patientKeyOf.set(job.mapped, pk);
    const prev = patients.get(pk);
    const base = prev?.resource ?? contentOf<Patient>(stored);
    const resource = { ...buildPatient(base, job.mapped), id: base?.id ?? newId() };
    patients.set(pk, { resource, cur: prev ? prev.cur : stored?.row, job });
  }
  const subjectOf = (m: StayMessage): Reference<Patient> => ({
    reference: `Patient/${patients.get(patientKeyOf.get(m) ?? '')?.resource.id ?? ''}`,
  });
  const patientOf = (m: StayMessage): { patientResource?: Patient } => {
    const resource = patients.get(patientKeyOf.get(m) ?? '')?.resource;
    return resource ? { patientResource: resource } : {};
  };

  const prepared: PreparedWrite<Resource>[] = [];
  for (const p of patients.values()) {
    prepared.push(repo.prepare(p.resource, p.resource.id ?? '', p.cur, p.cur ? 'PUT' : 'POST', writeOf(p.job)));
  }
  const versions = new Map<string, string>();
  const list = [...stays.values()];
  const applied = await applyFactsToStays(
    tx,
    repo,
    deps,
    'hl7',
    list.map((stay): StayFactsInput => {
      const last = stay.jobs[stay.jobs.length - 1] as Job;
      return {
        stayId: stay.stayId,
        facts: stay.jobs.flatMap((j) => j.mapped.facts.map((f) => ({ ...f, stayId: stay.stayId }))),
        patient: subjectOf(last.mapped),
        ...patientOf(last.mapped),
        encounter: { reference: `Encounter/${stay.stayId}` },
        write: writeOf(last),
        storedTasks: rows.tasks.get(stay.stayId) ?? [],
        stateWrites: (evaluation) => {
          // The stay's messages folded in order, as one by one would.
          let encounter = contentOf<Encounter>(stay.encounter);
          for (const job of stay.jobs) {
            const hospital = hospitals.get(job) as Reference<Organization>;
            encounter = buildEncounter(
              encounter,
              stay.stayId,
              job.mapped,
              evaluation.state,
              subjectOf(job.mapped),
              hospital,
            );
          }
          if (!encounter) return [];
          encounter = withEngineIssues(encounter, stayIssueTexts(evaluation));
          const p = repo.prepare(encounter, stay.stayId, stay.encounter?.row, 'PUT', writeOf(last));
          if (p.resource.meta?.versionId) versions.set(stay.stayId, p.resource.meta.versionId);
          return [p];
        },
      };
    }),
    { before: prepared, newId },
  );
  // The person's protected identity held together over the person's records (as for a FHIR write or an A31), now
  // that each hospital's message keeps to its own record: a label the message adds reaches the others, a new record
  // (or one without the label) of a protected person inherits it, a lifted one lifts the gateway's copies. Only
  // when something may have to be done: the record is new, its label changed, or another record read with it
  // carries one (no search per message otherwise).
  const due: { before: Patient | undefined; after: Patient & { id: string } }[] = [];
  for (const [pk, p] of patients) {
    const before = p.cur?.content ? (JSON.parse(p.cur.content) as Patient) : undefined;
    const id = p.resource.id;
    if (!id) continue;
    const others = rows.patients.get(pk.slice(0, pk.lastIndexOf('#'))) ?? [];
    if (
      !before ||
      hasProtectedIdentity(before) !== hasProtectedIdentity(p.resource) ||
      (!hasProtectedIdentity(p.resource) &&
        others.some((o) => o.id !== id && hasProtectedIdentity(contentOf<Patient>(o) ?? { resourceType: 'Patient' })))
    )
      due.push({ before, after: { ...p.resource, id } });
  }
  // one lookup for the batch: a person with no other record has nothing to hold together
  const shared =
    due.length > 0
      ? await withOtherRecords(
          tx,
          due.map((d) => d.after),
        )
      : new Set<string>();
  for (const d of due) if (shared.has(d.after.id)) await keepPersonProtected(tx, repo, d.before, d.after);
  const outcomes = new Map<Job, MessageOutcome>();
  list.forEach((stay, i) => {
    const a = applied[i] as StayFactsApplied;
    const last = stay.jobs[stay.jobs.length - 1] as Job;
    const version = versions.get(stay.stayId);
    for (const job of stay.jobs) {
      const o = emptyOutcome();
      const ids = new Set(job.mapped.facts.map((f) => f.id));
      o.warnings = [...job.mapped.warnings, ...engineWarnings(a.evaluation, ids)];
      if (version) o.encounter = { id: stay.stayId, version };
      if (job === last) o.tasks = taskChanges(a.plan);
      outcomes.set(job, o);
    }
  });
  return jobs.map((j) => {
    const applied: AppliedMessage = { stayId: stays.get(keyOf(j.mapped.encounter.visit))?.stayId ?? '' };
    const outcome = outcomes.get(j);
    if (outcome) applied.outcome = outcome;
    return applied;
  });
}
