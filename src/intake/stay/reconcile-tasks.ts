import type { Encounter, Patient, Reference, Task } from '@medplum/fhirtypes';
import type { TaskSpec } from '../../core/engine/types';
import { applyTaskSpec, buildTask, readTaskKey } from '../../fhir/task';
import type { PartyResolver } from '../../fhir/references';
import type { FhirRepository, WriteOptions } from '../../store/repository.port';
import { contentKey } from '../../store/resource-util';

export interface ReconcileInput {
  stayId: string;
  specs: readonly TaskSpec[];
  patient: Reference<Patient>;
  encounter: Reference<Encounter>;
  party: PartyResolver;
  now: string;
  write: WriteOptions;
}

export interface ReconcileResult {
  created: number;
  updated: number;
  cancelled: number;
}

async function sequentially<T>(items: readonly T[], fn: (item: T) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

const ifMatch = (t: Task): { ifMatch?: string } => (t.meta?.versionId ? { ifMatch: t.meta.versionId } : {});

/** Statuses the owner has closed: the gateway never changes such a Task again. */
const CLOSED = new Set(['completed', 'cancelled', 'failed', 'entered-in-error']);

/**
 * Brings the stored Tasks of a stay in line with the engine's TaskSpecs, matched by the task-key identifier:
 * creates new ones, moves deadlines, cancels withdrawn ones (the engine adds the `makulering` Tasks), and
 * never touches a Task its owner completed. A cancelled spec that was never stored is not created, nor a
 * `makulering` of something never sent.
 */
export async function reconcileTasks(repo: FhirRepository, input: ReconcileInput): Promise<ReconcileResult> {
  const found = await repo.search<Task>('Task', { encounter: input.encounter.reference ?? '', _count: '1000' });
  const stored = new Map<string, Task>();
  for (const t of found.resources) {
    const k = readTaskKey(t);
    if (k && k.stayId === input.stayId) stored.set(k.key, t);
  }
  const refs = {
    stayId: input.stayId,
    patient: input.patient,
    encounter: input.encounter,
    party: input.party,
    task: (key: string): Reference<Task> | undefined => {
      const t = stored.get(key);
      return t?.id ? { reference: `Task/${t.id}` } : undefined;
    },
  };
  const result: ReconcileResult = { created: 0, updated: 0, cancelled: 0 };
  const wanted = new Set(input.specs.map((s) => s.key));
  // Withdrawn obligations first, so a makulering can point at the stored Task.
  const ordered = [...input.specs].sort((a, b) => Number(a.code === 'makulering') - Number(b.code === 'makulering'));
  // Consecutive creates are written together (one statement), in the same order as one by one.
  let pending: { key: string; task: Task }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const tasks = batch.map((p) => p.task);
    const created = repo.createMany
      ? await repo.createMany(tasks, input.write)
      : await sequentially(tasks, (t) => repo.create(t, input.write));
    created.forEach((t, i) => stored.set(batch[i]?.key ?? '', t));
    result.created += created.length;
  };
  for (const spec of ordered) {
    // A makulering points at the stored Task it withdraws: write what is pending first.
    if (spec.code === 'makulering') await flush();
    if (pending.some((p) => p.key === spec.key)) await flush();
    const existing = stored.get(spec.key);
    if (!existing) {
      if (spec.status === 'cancelled') continue;
      if (spec.code === 'makulering' && (!spec.focusKey || !stored.has(spec.focusKey))) continue;
      pending.push({ key: spec.key, task: buildTask(spec, refs, { now: input.now }) });
      continue;
    }
    await flush();
    if (existing.status === 'completed') continue;
    if (CLOSED.has(existing.status) && spec.status !== 'requested') continue;
    const next = applyTaskSpec(existing, spec, refs, { now: input.now });
    // Keep the business status the deadline capability set, unless the deadline moved.
    if (
      existing.businessStatus &&
      next.businessStatus &&
      existing.restriction?.period?.end === next.restriction?.period?.end
    ) {
      next.businessStatus = existing.businessStatus;
    }
    if (contentKey(next) === contentKey(existing)) continue;
    // If-Match: an owner's concurrent change (e.g. received) is never overwritten; the message is retried.
    const written = await repo.update(next, { ...input.write, ...ifMatch(existing) });
    if (next.status === 'cancelled' && existing.status !== 'cancelled') result.cancelled++;
    else result.updated++;
    stored.set(spec.key, written);
  }
  await flush();
  // Stored Tasks the engine no longer wants at all are withdrawn.
  for (const [key, t] of stored) {
    if (wanted.has(key) || CLOSED.has(t.status)) continue;
    await repo.update({ ...t, status: 'cancelled' }, { ...input.write, ...ifMatch(t) });
    result.cancelled++;
  }
  return result;
}
