import pg from 'pg';
import type { Resource } from '@medplum/fhirtypes';
import { LostRaceError } from '../platform/errors';
import { yieldToEventLoop } from '../platform/yield';
import { accessPredicate, holderColumns, SqlParams } from './access-sql';
import { OUTBOX_CHANNEL, runOrHold, sendBeforeNext, type Db } from './db.port';
import { appendIndexRows } from './index-rows';
import type { AccessScope, WriteOptions } from './repository.port';
import { genericArrayParam, type ArrayElementType } from './packed-array';
import { stayKeyOf } from './resource-util';

export interface CurrentRow {
  version_id: number;
  deleted: boolean;
  content: string | null;
  visible: boolean;
  /** The organisations that wrote any version, and the first one's name (who holds the record: see `forScope`). */
  writer_orgs?: string[];
  holder_name?: string | null;
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
  const visible = accessPredicate(scope, 'r', params, type, { perRow: true }) ?? 'true';
  const r = await tx.query<CurrentRow>(
    `SELECT r.version_id, r.deleted, r.content, ${holderColumns('r', type, scope, params)}, ${visible} AS visible FROM fhir_resource r WHERE r.resource_type = ${t} AND r.id = ${i} FOR UPDATE OF r`,
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

/**
 * Writes versions in a single statement: current rows (compare-and-set: each must still be at `version - 1`),
 * the replaced versions moved to the history, search index rows (old ones deleted, new ones inserted with one
 * `unnest`) and outbox rows in the order given. Throws `version-conflict` (and the caller's transaction rolls back)
 * when any row lost the race.
 */
export async function writeVersions(tx: Db, writes: VersionWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const cols = {
    type: [] as string[],
    id: [] as string[],
    version: [] as number[],
    lastUpdated: [] as string[],
    deleted: [] as boolean[],
    content: [] as (string | null)[],
    author: [] as (string | null)[],
    authorOrg: [] as (string | null)[],
    method: [] as string[],
    action: [] as string[],
    stayKey: [] as (string | null)[],
    notify: [] as boolean[],
  };
  const idx = {
    // the ordinal of the row's version in `cols` (1-based, as WITH ORDINALITY): its type and id are not repeated
    ord: [] as number[],
    param: [] as string[],
    system: [] as (string | null)[],
    value: [] as (string | null)[],
    lo: [] as (string | null)[],
    hi: [] as (string | null)[],
  };
  let k = 0;
  for (const w of writes) {
    // a large batch is built in pieces, so socket reads and timers run in between
    if (++k % 48 === 0) await yieldToEventLoop();
    if (w.version !== w.prevVersion + 1) throw new Error('writeVersions: version must follow prevVersion');
    cols.type.push(w.type);
    cols.id.push(w.id);
    cols.version.push(w.version);
    cols.lastUpdated.push(w.lastUpdated);
    cols.deleted.push(!w.resource);
    cols.content.push(w.resource ? JSON.stringify(w.resource) : null);
    cols.author.push(w.opts.author ?? null);
    cols.authorOrg.push(w.opts.authorOrganization ?? null);
    cols.method.push(w.method);
    cols.action.push(w.action);
    cols.stayKey.push(stayKeyOf(w.resource ?? w.before, w.type, w.id));
    cols.notify.push(!w.opts.silent);
    if (w.resource) {
      // the version's rows straight into the batch's columns, each with the version's ordinal
      appendIndexRows(w.resource, idx);
      const ord = cols.type.length;
      while (idx.ord.length < idx.param.length) idx.ord.push(ord);
    }
  }
  const p: unknown[] = [];
  // every array hidden from the planner (ADR 038): the plan is the same for 1 version or 200, so PostgreSQL makes it
  // a few times per connection and reuses it instead of planning every call
  const arr = (values: Parameters<typeof genericArrayParam>[1], type: ArrayElementType, opts?: { json?: boolean }) =>
    genericArrayParam(p, values, type, opts);
  const input = [
    arr(cols.type, 'text'),
    arr(cols.id, 'text'),
    arr(cols.version, 'int'),
    arr(cols.lastUpdated, 'timestamptz'),
    arr(cols.deleted, 'boolean'),
    arr(cols.content, 'text', { json: true }),
    arr(cols.author, 'text'),
    arr(cols.authorOrg, 'text'),
    arr(cols.method, 'text'),
    arr(cols.action, 'text'),
    arr(cols.stayKey, 'text'),
    arr(cols.notify, 'boolean'),
  ].join(', ');
  const index = [
    arr(idx.ord, 'int'),
    arr(idx.param, 'text'),
    arr(idx.system, 'text'),
    arr(idx.value, 'text'),
    arr(idx.lo, 'timestamptz'),
    arr(idx.hi, 'timestamptz'),
  ].join(', ');
  p.push(writes.length);
  const wanted = `$${p.length}::int`;
  await runOrHold(
    tx,
    `WITH input AS (
       SELECT * FROM unnest(${input}) WITH ORDINALITY
         AS t(resource_type, id, version_id, last_updated, deleted, content, author, author_org, method, action, stay_key, notify, ord)
     ), cur AS (
       INSERT INTO fhir_resource AS f (resource_type, id, version_id, last_updated, deleted, content, author, author_org, writer_orgs, method)
       SELECT resource_type, id, version_id, last_updated, deleted, content, author, author_org,
              CASE WHEN author_org IS NULL THEN '{}'::text[] ELSE ARRAY[author_org] END, method
       FROM input ORDER BY ord
       ON CONFLICT (resource_type, id) DO UPDATE SET
         version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted,
         content = EXCLUDED.content, author = EXCLUDED.author, author_org = EXCLUDED.author_org, method = EXCLUDED.method,
         writer_orgs = CASE WHEN EXCLUDED.author_org IS NULL OR EXCLUDED.author_org = ANY(f.writer_orgs)
                            THEN f.writer_orgs ELSE f.writer_orgs || EXCLUDED.author_org END
       WHERE f.version_id = EXCLUDED.version_id - 1
       RETURNING f.resource_type, f.id
     ), replaced AS (
       -- the versions being replaced, as this statement's snapshot sees them (before cur wrote)
       SELECT f.resource_type, f.id, f.version_id, f.last_updated, f.method, f.content, f.author, f.author_org
       FROM input i JOIN fhir_resource f ON f.resource_type = i.resource_type AND f.id = i.id AND f.version_id = i.version_id - 1
       WHERE i.version_id > 1
     ), hist AS (
       INSERT INTO fhir_resource_history (resource_type, id, version_id, last_updated, method, content, author, author_org)
       SELECT o.resource_type, o.id, o.version_id, o.last_updated, o.method, o.content, o.author, o.author_org
       FROM replaced o JOIN cur c ON c.resource_type = o.resource_type AND c.id = o.id
     ), idx AS (
       SELECT i.resource_type AS rt, i.id AS rid, i.version_id AS vid, u.param, u.system, u.value, u.lo, u.hi
       FROM unnest(${index}) AS u(ord, param, system, value, lo, hi) JOIN input i ON i.ord = u.ord
     ), old AS MATERIALIZED (
       -- the replaced versions' index rows as they were before this statement, found by resource (the
       -- (resource_type, resource_id) index) once. Looking each new row up in fhir_search directly let the planner,
       -- on a table grown since its last ANALYZE, probe by (resource_type, param) and read every row of that
       -- parameter for each new row: 1.4 s per statement after a few thousand stays on a fresh database.
       SELECT s.ctid AS row_id, s.resource_type, s.resource_id, s.param, s.system, s.value, s.lo, s.hi
       FROM input i JOIN fhir_search s ON s.resource_type = i.resource_type AND s.resource_id = i.id
       WHERE i.version_id > 1
     ), newer AS MATERIALIZED (
       -- the new rows of replaced versions only (a batch's first versions have nothing to compare with): the
       -- old rows are compared with these few, not with the whole batch's rows, whatever plan is chosen
       SELECT rt, rid, param, system, value, lo, hi FROM idx WHERE vid > 1
     ), del AS (
       -- a first version (created, or a new id) has no index rows yet: only replaced versions look for them;
       -- an update removes only the rows the new version no longer has (and ins adds only the new ones)
       DELETE FROM fhir_search s USING old o
       WHERE s.ctid = o.row_id
         AND EXISTS (SELECT 1 FROM cur c WHERE c.resource_type = o.resource_type AND c.id = o.resource_id)
         AND NOT EXISTS (
           SELECT 1 FROM newer u
           WHERE u.rt = o.resource_type AND u.rid = o.resource_id AND u.param = o.param
             AND u.system IS NOT DISTINCT FROM o.system AND u.value IS NOT DISTINCT FROM o.value
             AND u.lo IS NOT DISTINCT FROM o.lo AND u.hi IS NOT DISTINCT FROM o.hi)
     ), ins AS (
       INSERT INTO fhir_search (resource_type, resource_id, param, system, value, lo, hi)
       SELECT u.rt, u.rid, u.param, u.system, u.value, u.lo, u.hi
       FROM idx u
       JOIN cur c ON c.resource_type = u.rt AND c.id = u.rid
       WHERE u.vid = 1 OR NOT EXISTS (
         SELECT 1 FROM old s
         WHERE s.resource_type = u.rt AND s.resource_id = u.rid AND s.param = u.param
           AND s.system IS NOT DISTINCT FROM u.system AND s.value IS NOT DISTINCT FROM u.value
           AND s.lo IS NOT DISTINCT FROM u.lo AND s.hi IS NOT DISTINCT FROM u.hi)
     ), ob AS (
       INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
       SELECT 'resource-changed', i.resource_type, i.id, i.version_id::text, i.action, i.stay_key
       FROM input i JOIN cur c ON c.resource_type = i.resource_type AND c.id = i.id
       WHERE i.notify ORDER BY i.ord
     )
     -- every version written, or an error (svu_all_written, ADR 043): so the statement needs no answer and can
     -- travel with the transaction's next statement
     SELECT svu_all_written(count(*)::int, ${wanted}) AS n,
            -- wake outbox relays (at commit; repeats within a transaction fold into one notification)
            (SELECT count(pg_notify('${OUTBOX_CHANNEL}', '')) FROM (SELECT 1 FROM input WHERE notify LIMIT 1) w) AS woken
       FROM cur`,
    p,
    (err) => {
      if ((err as { code?: unknown } | null)?.code !== VERSION_CONFLICT) return err;
      const names = writes.map((w) => `${w.type}/${w.id}`);
      const what =
        writes.length === 1
          ? names[0]
          : `One of the ${writes.length} resources this request writes (${names.slice(0, 4).join(', ')}${writes.length > 4 ? ', …' : ''})`;
      return new LostRaceError(`${what} was changed by someone else at the same moment: send the request again`);
    },
  );
}

/**
 * `pg.escapeLiteral`, which builds its answer a character at a time (a string per character: ≈ 1 % of what the
 * gateway allocated per HL7 message), without that for a key with no quote or backslash (the same text).
 */
const literal = (k: string): string => (k.includes("'") || k.includes('\\') ? pg.escapeLiteral(k) : `'${k}'`);

/** The SQLSTATE `svu_all_written` raises when a version was not written (another transaction wrote it first). */
const VERSION_CONFLICT = 'SVU01';

/** One version (see `writeVersions`). */
export function writeVersion(tx: Db, w: VersionWrite): Promise<void> {
  return writeVersions(tx, [w]);
}

/**
 * Serialises conditional writes on the same criteria (sorted, so two transactions cannot deadlock). The keys are
 * literals, not a parameter: a statement without parameters carries the transaction's BEGIN in the same round trip
 * (see `PgTx`).
 */
export async function lockQueries(tx: Db, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await sendBeforeNext(tx, advisoryLocksSql(keys));
}

/** One statement taking the transaction-scoped advisory locks on `keys`, hashed, in sorted order (literal keys). */
export function advisoryLocksSql(keys: readonly string[]): string {
  const literals = [...new Set(keys)].map(literal).join(', ');
  return `SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(ARRAY[${literals}]::text[]) AS k ORDER BY 1) s`;
}
