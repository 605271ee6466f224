import type { Task } from '@medplum/fhirtypes';
import { hasRejectedByAnother, withRejectedByAnother, writtenByOwner } from '../../fhir/task';
import { GatewayError } from '../../platform/errors';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import { intakeWrite, type StayApplierDeps } from '../stay/applier-deps';
import { lockStays } from '../stay/stay-rows.pg';
import { receiverOf } from './rejection-hook';

/** The name this one-off is recorded under in `schema_migrations` (no SQL file has it: `migrate` never runs it). */
export const REJECTED_BY_ANOTHER_BACKFILL = 'backfill:rejected-by-another-tag';

/** The Tasks whose current version is `rejected`, by their index rows. */
const REJECTED_SQL = `SELECT r.id FROM fhir_search s
  JOIN fhir_resource r ON r.resource_type = 'Task' AND r.id = s.resource_id AND NOT r.deleted
  WHERE s.resource_type = 'Task' AND s.param = 'status' AND s.value = 'rejected' ORDER BY 1`;

/** Every version of a Task, the newest first, with who wrote it (client id and tenant organisation). */
const VERSIONS_SQL = `SELECT version_id, content, author, author_org FROM fhir_resource
    WHERE resource_type = 'Task' AND id = $1
  UNION ALL SELECT version_id, content, author, author_org FROM fhir_resource_history
    WHERE resource_type = 'Task' AND id = $1
  ORDER BY version_id DESC`;

interface Version {
  version_id: number;
  content: string | null;
  author: string | null;
  author_org: string | null;
}

/**
 * The writer of a stored version as `writtenByOwner` takes it (`writerOf`): the tenant organisation of the client that
 * wrote it, undefined for an admin (a client whose role is `admin` now: the store keeps no role with the version) and
 * for the gateway's own writes that name none.
 */
async function writerOfVersion(tx: Db, v: Version): Promise<string | undefined> {
  if (!v.author) return v.author_org ?? undefined;
  const r = await tx.query<{ role: string }>('SELECT role FROM auth_client WHERE client_id = $1', [v.author]);
  return r.rows[0]?.role === 'admin' ? undefined : (v.author_org ?? undefined);
}

/**
 * Tags the one Task `id` if another than its owner rejected it and that rejection did not count: its current version
 * is a receiver's Task (`receiverOf`) `rejected` without the tag; the version that made it `rejected` (the first of
 * the versions since, all `rejected`) was not its owner's (`writtenByOwner`, from the version's author); and no version
 * since made a `receiver-rejected` fact (`rejectionFact`'s id). Written by the gateway, If-Match the version read,
 * under the stay's lock. Returns whether it tagged the Task.
 */
async function tagIfRejectedByAnother(tx: Db, repo: PgRepository, id: string): Promise<boolean> {
  const versions = (await tx.query<Version>(VERSIONS_SQL, [id])).rows;
  const tasks = versions.map((v) => (v.content ? (JSON.parse(v.content) as Task) : undefined));
  const current = tasks[0];
  const receiver = current && receiverOf(current);
  if (!current || !receiver || current.status !== 'rejected' || hasRejectedByAnother(current)) return false;
  let first = 0;
  while (tasks[first + 1]?.status === 'rejected') first++;
  const writer = await writerOfVersion(tx, versions[first] as Version);
  if (writtenByOwner(tasks[first + 1], tasks[first] as Task, writer)) return false;
  const facts = versions.slice(0, first + 1).map((v) => `fhir:Task/${id}/_history/${v.version_id}#rejected`);
  const counted = await tx.query('SELECT 1 FROM stay_fact WHERE fact_id = ANY($1::text[]) LIMIT 1', [facts]);
  if (counted.rows.length > 0) return false;
  await lockStays(tx, [receiver.stayId]);
  const tagged = { ...current, meta: withRejectedByAnother(current, true) };
  await repo.update<Task>(tagged, { ...intakeWrite, ifMatch: String(versions[0]?.version_id) });
  return true;
}

/**
 * A one-off at the first start after 0.20.0: a receiver's Task another than its owner (an admin) rejected under
 * 0.19.0 carries no `rejected-by-another` tag (`rejectionMark` sets it since 0.20.0, ADR 053), so its owner's own
 * coded rejection in the same content was no version and re-routed nothing. Each such Task is tagged
 * (`tagIfRejectedByAnother`), each in its own transaction; one a client changed meanwhile (If-Match) is left as it is.
 * Once per store, recorded in `schema_migrations` after the last Task. Returns the number of Tasks tagged.
 */
export async function backfillRejectedByAnother(
  db: Db,
  repository: (tx: Db) => PgRepository,
  _deps: StayApplierDeps,
): Promise<number> {
  const done = await db.query('SELECT 1 FROM schema_migrations WHERE name = $1', [REJECTED_BY_ANOTHER_BACKFILL]);
  if (done.rows.length > 0) return 0;
  let tagged = 0;
  for (const { id } of (await db.query<{ id: string }>(REJECTED_SQL)).rows) {
    const did = await db
      .transaction((tx) => tagIfRejectedByAnother(tx, repository(tx), id))
      .catch((e: unknown) => {
        if (e instanceof GatewayError && e.code === 'version-conflict') return false;
        throw e;
      });
    if (did) tagged++;
  }
  await db.query('INSERT INTO schema_migrations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [
    REJECTED_BY_ANOTHER_BACKFILL,
  ]);
  return tagged;
}
