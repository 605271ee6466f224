import { randomUUID } from 'node:crypto';
import type { Encounter, Organization, Patient, Reference, Resource, Task } from '@medplum/fhirtypes';
import { evaluateStay } from '../../core/engine/evaluate';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import { taskSubject } from '../../fhir/task';
import { GatewayError } from '../../platform/errors';
import { yieldToEventLoop } from '../../platform/yield';
import type { PreparedWrite } from '../../store/prepare-write';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { FhirRepository, WriteOptions } from '../../store/repository.port';
import type { CurrentRow } from '../../store/write-sql';
import { writeOptions, type StayApplierDeps } from '../stay/apply-stay';
import { storeAndLoadFactsOfStays } from '../stay/fact-store';
import { planTasks, prepareTaskWrites } from '../stay/reconcile-tasks';
import { contentOf, lockStays, readStayRows, type StayRow } from '../stay/stay-rows.pg';
import { buildEncounter, buildPatient, encounterIdFor, patientKey } from './apply-adt';
import type { AppliedMessage, ApplyJob, StayMessage } from './apply-queue';
import { emptyOutcome, engineWarnings, taskChanges, type MessageOutcome } from './message-outcome';

type Job = Pick<ApplyJob, 'mapped' | 'meta'>;

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
  job: Job,
  nowMs: number,
): Promise<Reference<Organization>> {
  const hsaId = job.mapped.encounter.hospitalHsaId;
  const hospital = (await deps.orgs.lookup(repo, IDENTIFIER_SYSTEM.hsaId, hsaId, nowMs)) ?? {
    type: 'Organization',
    identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: hsaId },
  };
  if (job.meta.organization && job.meta.organization !== hospital.reference) {
    throw new GatewayError(
      'forbidden',
      `the message is for hospital ${hsaId}, which is not the sending client's organization ${job.meta.organization}`,
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
  newId: () => string = randomUUID,
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

  const nowDate = deps.clock.now();
  const nowMs = nowDate.getTime();
  const now = nowDate.toISOString();
  const hospitals = new Map<Job, Reference<Organization>>();
  for (const job of jobs) hospitals.set(job, await sendingHospital(repo, deps, job, nowMs));
  const writeOf = (job: Job): WriteOptions => writeOptions(hospitals.get(job)?.reference);

  // Patients: each message in order, as one by one would.
  const patients = new Map<string, { resource: Patient; cur?: CurrentRow; job: Job }>();
  for (const job of jobs) {
    const k = keyOf(patientKey(job.mapped));
    const prev = patients.get(k);
    const stored = prev ? undefined : rows.patients.get(k)?.[0];
    const base = prev?.resource ?? contentOf<Patient>(stored);
    const resource = { ...buildPatient(base, job.mapped), id: base?.id ?? newId() };
    patients.set(k, { resource, cur: prev ? prev.cur : stored?.row, job });
  }
  const subjectOf = (m: StayMessage): Reference<Patient> => ({
    reference: `Patient/${patients.get(keyOf(patientKey(m)))?.resource.id ?? ''}`,
  });

  const facts = [...stays.values()].flatMap((s) =>
    s.jobs.flatMap((j) => j.mapped.facts.map((f) => ({ ...f, stayId: s.stayId }))),
  );
  const factsOf = await storeAndLoadFactsOfStays(
    tx,
    [...stays.values()].map((s) => s.stayId),
    facts,
    'hl7',
  );
  const agreement = await deps.agreement();

  const prepared: PreparedWrite<Resource>[] = [];
  for (const p of patients.values()) {
    prepared.push(repo.prepare(p.resource, p.resource.id ?? '', p.cur, p.cur ? 'PUT' : 'POST', writeOf(p.job)));
  }
  const outcomes = new Map<Job, MessageOutcome>();
  let n = 0;
  for (const stay of stays.values()) {
    if (++n % 4 === 0) await yieldToEventLoop(); // keep ACKs flowing while a large batch is built
    const evaluation = evaluateStay(factsOf.get(stay.stayId)?.all ?? [], agreement);
    const last = stay.jobs[stay.jobs.length - 1] as Job;
    const write = writeOf(last);
    let encounter = contentOf<Encounter>(stay.encounter);
    for (const job of stay.jobs) {
      const hospital = hospitals.get(job) as Reference<Organization>;
      encounter = buildEncounter(encounter, stay.stayId, job.mapped, evaluation.state, subjectOf(job.mapped), hospital);
    }
    let version: string | undefined;
    if (encounter) {
      const cur = stay.encounter?.row;
      const p = repo.prepare(encounter, stay.stayId, cur, 'PUT', write);
      version = p.resource.meta?.versionId;
      prepared.push(p);
    }
    const party = await deps.orgs.resolver(
      repo,
      evaluation.tasks.flatMap((t) => [t.owner, t.requester]),
      nowMs,
    );
    const storedTasks = rows.tasks.get(stay.stayId) ?? [];
    const plan = planTasks(
      storedTasks.flatMap((r) => contentOf<Task>(r) ?? []),
      {
        stayId: stay.stayId,
        specs: evaluation.tasks,
        patient: taskSubject(subjectOf(last.mapped), patients.get(keyOf(patientKey(last.mapped)))?.resource),
        encounter: { reference: `Encounter/${stay.stayId}` },
        party,
        now,
      },
      newId,
    );
    prepared.push(...prepareTaskWrites(repo, plan, storedTasks, write));
    for (const job of stay.jobs) {
      const o = emptyOutcome();
      const ids = new Set(job.mapped.facts.map((f) => f.id));
      o.warnings = [...job.mapped.warnings, ...engineWarnings(evaluation, ids)];
      if (version) o.encounter = { id: stay.stayId, version };
      if (job === last) o.tasks = taskChanges(plan);
      outcomes.set(job, o);
    }
  }
  await repo.commitPrepared(tx, prepared);
  return jobs.map((j) => {
    const applied: AppliedMessage = { stayId: stays.get(keyOf(j.mapped.encounter.visit))?.stayId ?? '' };
    const outcome = outcomes.get(j);
    if (outcome) applied.outcome = outcome;
    return applied;
  });
}
