import type { Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { accessPredicate, SqlParams } from './access-sql';
import type { Db } from './db.port';
import { indexRows } from './index-rows';
import type { AccessScope, WriteOptions } from './repository.port';
import { stayKeyOf } from './resource-util';

export interface CurrentRow {
  version_id: number;
  deleted: boolean;
  content: string | null;
  visible: boolean;
}

/** Reads and row-locks the current version (concurrent writers of one resource queue here). */
export async function lockCurrent(
  tx: Db,
  type: string,
  id: string,
  scope: AccessScope | undefined,
): Promise<CurrentRow | undefined> {
  const params = new SqlParams();
  const t = params.add(type);
  const i = params.add(id);
  const visible = accessPredicate(scope, 'r', params, type) ?? 'true';
  const r = await tx.query<CurrentRow>(
    `SELECT r.version_id, r.deleted, r.content, ${visible} AS visible FROM fhir_resource r WHERE r.resource_type = ${t} AND r.id = ${i} FOR UPDATE OF r`,
    params.values,
  );
  return r.rows[0];
}

export interface VersionWrite {
  type: string;
  id: string;
  /** The version this write replaces (0 when none): the write fails unless it is still current. */
  prevVersion: number;
  version: number;
  lastUpdated: string;
  /** The new content (undefined for a delete). */
  resource?: Resource;
  method: 'POST' | 'PUT' | 'DELETE';
  action: 'create' | 'update' | 'delete';
  /** For the outbox stay key on delete. */
  before?: Resource;
  opts: WriteOptions;
}

const EMPTY: string[] = [];

/**
 * Writes one version in a single statement: current row (compare-and-set on the version), history row,
 * search index rows (old ones deleted, new ones inserted with one `unnest`) and the outbox row.
 */
export async function writeVersion(tx: Db, w: VersionWrite): Promise<void> {
  const idx = w.resource ? indexRows(w.resource) : { param: EMPTY, system: EMPTY, value: EMPTY, lo: EMPTY, hi: EMPTY };
  const content = w.resource ? JSON.stringify(w.resource) : null;
  const stayKey = stayKeyOf(w.resource ?? w.before, w.type, w.id);
  const r = await tx.query<{ version_id: number }>(
    `WITH cur AS (
       INSERT INTO fhir_resource AS f (resource_type, id, version_id, last_updated, deleted, content, author, author_org, writer_orgs)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text, CASE WHEN $8::text IS NULL THEN '{}'::text[] ELSE ARRAY[$8::text] END)
       ON CONFLICT (resource_type, id) DO UPDATE SET
         version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted,
         content = EXCLUDED.content, author = EXCLUDED.author, author_org = EXCLUDED.author_org,
         writer_orgs = CASE WHEN EXCLUDED.author_org IS NULL OR EXCLUDED.author_org = ANY(f.writer_orgs)
                            THEN f.writer_orgs ELSE f.writer_orgs || EXCLUDED.author_org END
       WHERE f.version_id = $9
       RETURNING f.version_id
     ), hist AS (
       INSERT INTO fhir_resource_history (resource_type, id, version_id, last_updated, method, content, author, author_org)
       SELECT $1, $2, $3, $4, $10, $6, $7, $8 FROM cur
     ), del AS (
       DELETE FROM fhir_search WHERE resource_type = $1 AND resource_id = $2 AND EXISTS (SELECT 1 FROM cur)
     ), ins AS (
       INSERT INTO fhir_search (resource_type, resource_id, param, system, value, lo, hi)
       SELECT $1, $2, u.param, u.system, u.value, u.lo, u.hi
       FROM unnest($11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[]) AS u(param, system, value, lo, hi)
       WHERE EXISTS (SELECT 1 FROM cur)
     ), ob AS (
       INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
       SELECT 'resource-changed', $1, $2, $3::text, $16, $17 FROM cur WHERE $18::boolean
     )
     SELECT version_id FROM cur`,
    [
      w.type,
      w.id,
      w.version,
      w.lastUpdated,
      !w.resource,
      content,
      w.opts.author ?? null,
      w.opts.authorOrganization ?? null,
      w.prevVersion,
      w.method,
      idx.param,
      idx.system,
      idx.value,
      idx.lo,
      idx.hi,
      w.action,
      stayKey,
      !w.opts.silent,
    ],
  );
  if (r.rows.length === 0)
    throw new GatewayError(
      'version-conflict',
      `${w.type}/${w.id} was changed by someone else meanwhile: read it again and retry`,
    );
}

/** Serialises conditional writes on the same criteria (sorted, so two transactions cannot deadlock). */
export async function lockQueries(tx: Db, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    'SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM (SELECT DISTINCT unnest($1::text[]) AS k ORDER BY 1) q',
    [keys],
  );
}
