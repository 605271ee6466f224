/**
 * What a replay wrote, per message (issue 17: rows and statements per admission in the bench): rows inserted,
 * updated and deleted per table (`pg_stat_user_tables`, the deltas over the run), transactions and round trips to
 * PostgreSQL, resource versions per type, and for the replaced versions: how many changed nothing but `meta` (a
 * no-op rewrite), how many were replaced in the same transaction that wrote them (one version would have done),
 * the search-index rows each replacement deleted and inserted (from `indexRows` of both versions: a row deleted and
 * inserted again with the same value would show as more deletes in the table than here), and which elements
 * changed. The content comparison reads at most `MAX_COMPARED` replaced versions (the first by key) and scales.
 */
import type { Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import type { Db } from '../../src/store/db.port';
import { indexRows } from '../../src/store/index-rows';

type Q = Pick<Db, 'query'>;
const MAX_COMPARED = 200_000;
const PAGE = 5_000;

async function tableCounts(db: Q): Promise<Map<string, { ins: number; upd: number; del: number }>> {
  const r = await db.query<{ t: string; ins: string; upd: string; del: string }>(
    `SELECT relname AS t, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_del::text AS del FROM pg_stat_user_tables`,
  );
  return new Map(r.rows.map((x) => [x.t, { ins: Number(x.ins), upd: Number(x.upd), del: Number(x.del) }]));
}

/** Versions stored per type (current rows and replaced ones). */
async function versionCounts(db: Q): Promise<Map<string, number>> {
  const r = await db.query<{ t: string; n: string }>(
    `SELECT resource_type AS t, count(*)::text AS n FROM (
       SELECT resource_type FROM fhir_resource UNION ALL SELECT resource_type FROM fhir_resource_history) v GROUP BY 1`,
  );
  return new Map(r.rows.map((x) => [x.t, Number(x.n)]));
}

/** Transactions committed in this database (this module's own reads among them: a handful). */
async function transactions(db: Q): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()`,
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * A backend reports its table counts at most once a second, and an idle one 10 s after its last report
 * (PostgreSQL 15, `PGSTAT_IDLE_INTERVAL`): the pool's connections are idle once the run ends.
 */
const settle = () => new Promise((r) => setTimeout(r, 11_000));

/** Starts counting; `finish(messages)` gives the counts per message since then. */
export async function countWrites(db: Q) {
  // (what the set-up wrote before may be counted in the run: a few rows, well under 0.001 a message)
  const tables0 = await tableCounts(db);
  const versions0 = await versionCounts(db);
  const xacts0 = await transactions(db);
  // round trips: every statement, or statements sent together (ADR 042), goes through Client.query once
  const client = pg.Client.prototype as unknown as { query: (this: unknown, ...a: unknown[]) => unknown };
  const query = client.query;
  let roundTrips = 0;
  client.query = function (this: unknown, ...args: unknown[]) {
    roundTrips++;
    return query.apply(this, args);
  };
  return {
    async finish(messages: number) {
      client.query = query;
      const per = (n: number) => Number((n / messages).toFixed(3));
      const roundTripsPerMsg = per(roundTrips);
      await settle();
      const tables = [...(await tableCounts(db))]
        .map(([table, c]) => {
          const b = tables0.get(table) ?? { ins: 0, upd: 0, del: 0 };
          return { table, inserted: per(c.ins - b.ins), updated: per(c.upd - b.upd), deleted: per(c.del - b.del) };
        })
        .filter((t) => t.inserted + t.updated + t.deleted > 0)
        .sort((a, b) => b.inserted + b.updated + b.deleted - (a.inserted + a.updated + a.deleted));
      const versions = [...(await versionCounts(db))]
        .map(([type, n]) => ({ type, versionsPerMsg: per(n - (versions0.get(type) ?? 0)) }))
        .filter((v) => v.versionsPerMsg > 0);
      const transactionsPerMsg = per((await transactions(db)) - xacts0);
      const replacedVersions = await replacements(db, per);
      return { tables, versions, replacedVersions, transactionsPerMsg, roundTripsPerMsg };
    },
  };
}

interface TypeTally {
  replaced: number;
  sameTransaction: number;
  compared: number;
  onlyMeta: number;
  indexDeleted: number;
  indexInserted: number;
  changed: Map<string, number>;
}

/** The replaced versions by type (see the module's comment). */
async function replacements(db: Q, per: (n: number) => number) {
  const byType = new Map<string, TypeTally>();
  const of = (t: string): TypeTally => {
    let x = byType.get(t);
    if (!x)
      byType.set(
        t,
        (x = {
          replaced: 0,
          sameTransaction: 0,
          compared: 0,
          onlyMeta: 0,
          indexDeleted: 0,
          indexInserted: 0,
          changed: new Map(),
        }),
      );
    return x;
  };
  // Written by one transaction: both versions' outbox rows have the same `xmin` (so: versions that notify).
  const same = await db.query<{ t: string; replaced: string; same: string }>(
    `WITH o AS (SELECT resource_type, resource_id, version_id, xmin::text AS x FROM outbox WHERE kind = 'resource-changed')
     SELECT h.resource_type AS t, count(*)::text AS replaced, count(*) FILTER (WHERE o1.x = o2.x)::text AS same
       FROM fhir_resource_history h
       LEFT JOIN o o1 ON o1.resource_type = h.resource_type AND o1.resource_id = h.id AND o1.version_id = h.version_id::text
       LEFT JOIN o o2 ON o2.resource_type = h.resource_type AND o2.resource_id = h.id AND o2.version_id = (h.version_id + 1)::text
      GROUP BY 1`,
  );
  for (const r of same.rows) Object.assign(of(r.t), { replaced: Number(r.replaced), sameTransaction: Number(r.same) });
  let after = ['', '', 0] as [string, string, number];
  for (let n = 0; n < MAX_COMPARED; n += PAGE) {
    const page = await db.query<{ t: string; id: string; v: number; a: string | null; b: string | null }>(
      `SELECT h.resource_type AS t, h.id, h.version_id AS v, h.content AS a, coalesce(n.content, c.content) AS b
         FROM fhir_resource_history h
         LEFT JOIN fhir_resource_history n ON n.resource_type = h.resource_type AND n.id = h.id AND n.version_id = h.version_id + 1
         LEFT JOIN fhir_resource c ON c.resource_type = h.resource_type AND c.id = h.id AND c.version_id = h.version_id + 1
        WHERE (h.resource_type, h.id, h.version_id) > ($1, $2, $3)
        ORDER BY h.resource_type, h.id, h.version_id LIMIT ${PAGE}`,
      after,
    );
    for (const x of page.rows) {
      const a = x.a ? (JSON.parse(x.a) as Resource) : undefined;
      const b = x.b ? (JSON.parse(x.b) as Resource) : undefined;
      const ra = keyedIndexRows(a);
      const rb = keyedIndexRows(b);
      const t = of(x.t);
      t.compared++;
      if (a && b && JSON.stringify({ ...a, meta: undefined }) === JSON.stringify({ ...b, meta: undefined }))
        t.onlyMeta++;
      t.indexDeleted += ra.filter((v) => !rb.includes(v)).length;
      t.indexInserted += rb.filter((v) => !ra.includes(v)).length;
      for (const k of changedElements(a, b)) t.changed.set(k, (t.changed.get(k) ?? 0) + 1);
    }
    const last = page.rows.at(-1);
    if (!last || page.rows.length < PAGE) break;
    after = [last.t, last.id, last.v];
  }
  return [...byType].map(([type, t]) => {
    // the compared ones stand for all replaced versions of the type
    const scaled = (k: number) => per(t.compared === 0 ? 0 : (k * t.replaced) / t.compared);
    return {
      type,
      replacedPerMsg: per(t.replaced),
      onlyMetaPerMsg: scaled(t.onlyMeta),
      sameTransactionPerMsg: per(t.sameTransaction),
      indexDeletedPerMsg: scaled(t.indexDeleted),
      indexInsertedPerMsg: scaled(t.indexInserted),
      changedPerMsg: [...t.changed]
        .sort((x, y) => y[1] - x[1])
        .map(([k, v]) => `${k} ${scaled(v)}`)
        .join(', '),
      compared: t.compared,
    };
  });
}

/** A resource's search-index rows, each as one string. */
function keyedIndexRows(res: Resource | undefined): string[] {
  if (!res) return [];
  const i = indexRows(res);
  return i.param.map((p, k) => JSON.stringify([p, i.system[k], i.value[k], i.lo[k], i.hi[k]]));
}

/** The top-level elements of two versions that differ, `meta` aside. */
function changedElements(a: Resource | undefined, b: Resource | undefined): string[] {
  if (!a || !b) return ['(deleted)'];
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  keys.delete('meta');
  return [...keys].filter((k) => JSON.stringify(ra[k]) !== JSON.stringify(rb[k]));
}
