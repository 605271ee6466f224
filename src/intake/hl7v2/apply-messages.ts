/**
 * Applies a lane's batch of mapped messages in the caller's transaction, in arrival order: each run of stay
 * messages as one `applyStays` (a handful of statements whatever its size), each A31 on its own (`applyPersonUpdate`).
 */
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { StayApplierDeps } from '../stay/applier-deps';
import { applyPersonUpdate } from './apply-person';
import type { AppliedMessage, ApplyJob, ReceiveMeta, StayMessage } from './apply-queue';
import { applyStays } from './apply-stays';

export async function applyMessages(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  jobs: readonly Pick<ApplyJob, 'mapped' | 'meta'>[],
): Promise<AppliedMessage[]> {
  const out: AppliedMessage[] = [];
  let run: { mapped: StayMessage; meta: ReceiveMeta }[] = [];
  const flush = async () => {
    if (run.length > 0) out.push(...(await applyStays(tx, repo, deps, run)));
    run = [];
  };
  for (const job of jobs) {
    if (job.mapped.kind === 'stay') {
      run.push({ mapped: job.mapped, meta: job.meta });
      continue;
    }
    await flush();
    out.push(await applyPersonUpdate(tx, repo, deps, { mapped: job.mapped, meta: job.meta }));
  }
  await flush();
  return out;
}
