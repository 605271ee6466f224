import type { Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { accessPredicate, holderColumns, patientVersionVisible, SqlParams, type RecordHolder } from './access-sql';
import type { Db } from './db.port';
import { readHistory } from './history-sql';
import type { AccessScope, HistoryEntry, SearchParams, SearchResult } from './repository.port';
import { assertSupportedType, forScope } from './resource-util';
import { DRIVE_ROWS, nextPageQuery, planSearch, WALK_ROWS, type RevIncludeSpec, type SearchPlan } from './search-sql';

/** The repository's reads (read, vread, search with `_include`, history): plain functions of a `Db` and a scope. */

export function notFound(type: string, id: string): GatewayError {
  return new GatewayError('not-found', `${type}/${id} is not known (or not visible to you)`);
}

export function gone(type: string, id: string): GatewayError {
  return new GatewayError('gone', `${type}/${id} was deleted`);
}

/** The current version of a resource, as the scope may see it (404 unknown or invisible, 410 deleted). */
export async function readCurrent<T extends Resource>(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: T['resourceType'],
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<T> {
  assertSupportedType(resourceType);
  const params = new SqlParams();
  const t = params.add(resourceType);
  const i = params.add(id);
  const access = accessPredicate(scope, 'r', params, resourceType, { perRow: true });
  const r = await db.query<{ deleted: boolean; content: string | null } & RecordHolder>(
    `SELECT r.deleted, r.content, ${holderColumns('r', resourceType, scope, params)} FROM fhir_resource r WHERE r.resource_type = ${t} AND r.id = ${i}${access ? ` AND ${access}` : ''}${opts.forUpdate ? ' FOR UPDATE OF r' : ''}`,
    params.values,
  );
  const row = r.rows[0];
  if (!row) throw notFound(resourceType, id);
  if (row.deleted || !row.content) throw gone(resourceType, id);
  return forScope(JSON.parse(row.content) as T, scope, row);
}

/** One version of a resource (`vread`). */
export async function readVersion<T extends Resource>(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: T['resourceType'],
  id: string,
  versionId: string,
): Promise<T> {
  assertSupportedType(resourceType);
  const params = new SqlParams();
  const t = params.add(resourceType);
  const i = params.add(id);
  const v = params.add(/^\d{1,9}$/.test(versionId) ? Number(versionId) : -1);
  const access = accessPredicate(scope, 'r', params, resourceType, { perRow: true });
  // an older version of a shared Patient that another hospital wrote is not shown (as in _history)
  const version = patientVersionVisible(scope, 'r', 'h.author_org', `r.version_id = ${v}`, params, resourceType);
  const r = await db.query<{ content: string | null } & RecordHolder>(
    // the current version is in fhir_resource, replaced ones in the history
    `SELECT CASE WHEN r.version_id = ${v} THEN r.content ELSE h.content END AS content, ${holderColumns('r', resourceType, scope, params)}
       FROM fhir_resource r
       LEFT JOIN fhir_resource_history h ON h.resource_type = r.resource_type AND h.id = r.id AND h.version_id = ${v}
       WHERE r.resource_type = ${t} AND r.id = ${i} AND (r.version_id = ${v} OR h.version_id IS NOT NULL)${access ? ` AND ${access}` : ''}${version ? ` AND ${version}` : ''}`,
    params.values,
  );
  const row = r.rows[0];
  if (!row) throw new GatewayError('not-found', `${resourceType}/${id} has no version '${versionId}'`);
  if (!row.content) throw new GatewayError('gone', `${resourceType}/${id} version ${versionId} is a deletion`);
  return forScope(JSON.parse(row.content) as T, scope, row);
}

/** A search over current versions within the scope, with paging, `_total` and `_include`. */
export async function searchCurrent<T extends Resource>(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: T['resourceType'],
  params: SearchParams,
): Promise<SearchResult<T>> {
  assertSupportedType(resourceType);
  const first = planSearch(resourceType, params, scope);
  const drive = await driver(db, first);
  const plan = drive === undefined ? first : planSearch(resourceType, params, scope, new SqlParams(), {}, { drive });
  const values = plan.params.values;
  const result: SearchResult<T> = { resources: [], included: [] };
  if (plan.total === 'accurate') result.total = await countAll(db, plan);
  if (plan.summaryCount || plan.count === 0) {
    if (plan.total === 'estimate') result.total = await estimatedTotal(db, scope, resourceType, params, plan, 0);
    return result;
  }
  const rows =
    (plan.walkable ? await walkedPage(db, scope, resourceType, params, plan) : undefined) ??
    (
      await db.query<PageRow>(
        `SELECT r.id, r.content, ${holderColumns('r', resourceType, scope, plan.params)} FROM fhir_resource r WHERE ${plan.where} ORDER BY ${plan.orderBy} LIMIT ${plan.count + 1} OFFSET ${plan.offset}`,
        values,
      )
    ).rows;
  const page = rows.slice(0, plan.count);
  result.resources = page.map((row) => forScope(JSON.parse(row.content) as T, scope, row));
  if (rows.length > plan.count) result.next = nextPageQuery(params, plan.offset + plan.count);
  if (plan.total === 'estimate') result.total = await pagedEstimate(db, scope, resourceType, params, plan, rows.length);
  if ((plan.includes.length > 0 || plan.revIncludes.length > 0) && page.length > 0)
    await addIncluded(
      db,
      scope,
      resourceType,
      page.map((row) => row.id),
      plan,
      result,
    );
  return result;
}

type PageRow = { id: string; content: string } & RecordHolder;

/** Every match counted (`_total=accurate`): grows with the matches (docs/performance.md). */
async function countAll(db: Db, plan: SearchPlan): Promise<number> {
  const c = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM fhir_resource r WHERE ${plan.where}`,
    plan.whereValues, // without the sort's parameters: the count has no ORDER BY
  );
  return c.rows[0]?.n ?? 0;
}

/**
 * About how many rows of `fhir_resource` (all types) a `_total=estimate` checks: a store this size or smaller is
 * counted exactly. 10 000 rows take 10–90 ms on the 10 000-stay store, tenant rules included, whatever the matches.
 */
export const ESTIMATE_SAMPLE_ROWS = 10_000;

/**
 * `_total=estimate` (FHIR R4: the total may be approximate): the matches among a sample of the store's pages
 * (TABLESAMPLE SYSTEM, the same pages each call), each row checked by the search's conditions and the tenant rules
 * on its own index rows (the walk's form of the plan: the same rules, looked up per row), scaled up to the whole
 * table; never fewer than `atLeast` (what the page already found). A store of at most `sampleRows` rows, or one
 * without statistics, is counted exactly. A count never reveals what the search would hide: it counts the rows the
 * search's own conditions match. 140 000 requested Tasks counted exactly: 1.1–1.4 s; estimated: 80–90 ms, ±5 %.
 */
export async function estimatedTotal(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: string,
  params: SearchParams,
  plan: SearchPlan,
  atLeast: number,
  sampleRows = ESTIMATE_SAMPLE_ROWS,
): Promise<number> {
  const rows = Number(
    (
      await db.query<{ n: number | string }>(
        `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'fhir_resource'::regclass`,
      )
    ).rows[0]?.n ?? -1,
  );
  // reltuples is -1 (or 0) until the table was first analyzed
  if (!(rows > sampleRows)) return countAll(db, plan);
  const percent = (100 * sampleRows) / rows;
  return Math.max(
    atLeast,
    Math.round(((await sampledCount(db, scope, resourceType, params, percent)) * 100) / percent),
  );
}

/**
 * `_total=estimate` beside a page of `found` rows (the page and one more when there is a next page): the last page
 * (or the first, when it holds every match) tells the total exactly; a page past the end says there are at most
 * `offset` matches; a page with a next one, at least the rows found.
 */
async function pagedEstimate(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: string,
  params: SearchParams,
  plan: SearchPlan,
  found: number,
): Promise<number> {
  if (found > plan.count || (found === 0 && plan.offset > 0)) {
    if (found > 0) return estimatedTotal(db, scope, resourceType, params, plan, plan.offset + found);
    return Math.min(plan.offset, await estimatedTotal(db, scope, resourceType, params, plan, 0));
  }
  return plan.offset + found;
}

/** The matches of the search among `percent` % of `fhir_resource`'s pages (the same ones each call). */
export async function sampledCount(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: string,
  params: SearchParams,
  percent: number,
): Promise<number> {
  const walk = planSearch(resourceType, params, scope, new SqlParams(), {}, { walk: true });
  const c = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM fhir_resource r TABLESAMPLE SYSTEM (${percent.toFixed(6)}) REPEATABLE (17) WHERE ${walk.where}`,
    walk.whereValues,
  );
  return c.rows[0]?.n ?? 0;
}

/**
 * Which of the plan's `drivers` to drive the search from: the one with the fewest ids when they are fewer than
 * DRIVE_ROWS, else undefined (the matches are then found by the walk or collected as sets). Each condition alone may
 * match tens of thousands of rows where together they match none (an owner with no Task, a vårdcentral owning none
 * asking for the requested ones): docs/performance.md, "Many conditions, each matching many". Counted in one
 * statement in the plan's order (the tenant's Tasks first), each count capped at the fewest found before it, so a
 * rare one makes the others cheap to count; the first of the fewest was counted below every cap, so exactly.
 */
async function driver(db: Db, plan: SearchPlan): Promise<number | undefined> {
  if (!plan.drivers) return undefined;
  const { ids } = plan.drivers;
  const order = ids.map((_, i) => i).filter((i) => ids[i] !== '');
  const counts = order.map((i, k) => {
    const before = order.slice(0, k).map((j) => `(SELECT n FROM c${j})`);
    const cap = before.length > 0 ? `(SELECT least(${DRIVE_ROWS}, ${before.join(', ')}))` : `${DRIVE_ROWS}`;
    return `c${i} AS (SELECT count(*)::int AS n FROM (${ids[i]} LIMIT ${cap}) d)`;
  });
  const row = (
    await db.query<Record<string, number>>(
      `WITH ${counts.join(', ')} SELECT ${order.map((i) => `(SELECT n FROM c${i}) AS c${i}`).join(', ')}`,
      plan.drivers.params.values,
    )
  ).rows[0];
  let best: number | undefined;
  let fewest = DRIVE_ROWS;
  for (const i of order) {
    const n = row?.[`c${i}`] ?? DRIVE_ROWS;
    if (n < fewest) [best, fewest] = [i, n];
  }
  return best;
}

/**
 * The page found by walking the type's rows in `_lastUpdated` order (at most WALK_ROWS of them) and checking each
 * against the search and the tenant rules on its own index rows, or undefined when the walk did not find the whole
 * page (and whether there is a next one). Where matches are many (a municipality's `Task?owner=…&status=requested`
 * on a large store), the page is near the start of the walk and found in a few milliseconds; collecting every match
 * first and sorting took a second at 360 000 Tasks (docs/performance.md, "The work list on a large store"). Where
 * they are few, the walk stops at its cap and the caller collects them.
 */
async function walkedPage(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: string,
  params: SearchParams,
  set: SearchPlan,
): Promise<PageRow[] | undefined> {
  const plan = planSearch(resourceType, params, scope, new SqlParams(), {}, { walk: true });
  const rows = await db.query<PageRow>(
    `SELECT r.id, r.content, ${holderColumns('r', resourceType, scope, plan.params)}
       FROM (SELECT * FROM fhir_resource r WHERE ${plan.columnWhere} ORDER BY ${plan.orderBy} LIMIT ${WALK_ROWS}) r
      WHERE ${plan.where} ORDER BY ${plan.orderBy} LIMIT ${set.count + 1} OFFSET ${set.offset}`,
    plan.params.values,
  );
  return rows.rows.length > set.count ? rows.rows : undefined;
}

/** At most this many resources come through the `_revinclude`s of one page (a bounded answer; the rest is named). */
export const MAX_REVINCLUDED = 1000;

/** At most this many rounds of `_include:iterate` / `_revinclude:iterate` follow the references of what was included. */
export const MAX_ITERATE_ROUNDS = 4;

/**
 * The page's `_include`s and `_revinclude`s, then the `:iterate` ones applied to the matches and everything included,
 * again to what that added, and so on (at most MAX_ITERATE_ROUNDS rounds). Each resource comes once (a match is not
 * included again); what is left out past a cap is named in the result's notes.
 */
async function addIncluded(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: string,
  ids: string[],
  plan: SearchPlan,
  result: SearchResult<Resource>,
): Promise<void> {
  const seen = new Set(ids.map((id) => `${resourceType}/${id}`));
  let capped = false;
  const add = (found: Resource[], cap: number): Resource[] => {
    const fresh: Resource[] = [];
    for (const r of found) {
      const key = `${r.resourceType}/${r.id ?? ''}`;
      if (seen.has(key)) continue;
      if (result.included.length >= cap) {
        capped = true;
        continue;
      }
      seen.add(key);
      result.included.push(r);
      fresh.push(r);
    }
    return fresh;
  };
  const note = (text: string) => (result.notes ??= []).push(text);
  const direct = plan.includes.filter((s) => !s.iterate);
  const directRev = plan.revIncludes.filter((s) => !s.iterate);
  if (direct.length > 0) add(await include(db, scope, resourceType, ids, direct), Infinity);
  if (directRev.length > 0) {
    const { resources, more } = await revInclude(db, scope, resourceType, ids, directRev);
    add(resources, Infinity);
    if (more)
      note(
        `_revinclude brought more than ${MAX_REVINCLUDED} resources for this page: only the first ${MAX_REVINCLUDED} (by type and id) are included; use a smaller _count or search the source type directly`,
      );
  }
  const iterate = plan.includes.filter((s) => s.iterate);
  const iterateRev = plan.revIncludes.filter((s) => s.iterate);
  if (iterate.length === 0 && iterateRev.length === 0) return;
  // the first round looks at the matches and all included so far, each next one at what the round before added
  const incOf = (type: string) => iterate.filter((s) => s.sourceType === type);
  const revOf = (type: string) => iterateRev.filter((s) => !s.targets || s.targets.includes(type));
  // only the types some :iterate applies to
  const followed = (resources: { resourceType: string; id?: string }[]) =>
    byType(resources.filter((r) => incOf(r.resourceType).length > 0 || revOf(r.resourceType).length > 0));
  let frontier = followed([...ids.map((id) => ({ resourceType, id })), ...result.included]);
  const cap = result.included.length + MAX_REVINCLUDED;
  for (let round = 0; round < MAX_ITERATE_ROUNDS && frontier.size > 0; round++) {
    const found: Resource[] = [];
    for (const [type, typeIds] of frontier) {
      const inc = incOf(type);
      if (inc.length > 0) found.push(...(await include(db, scope, type, typeIds, inc)));
      const rev = revOf(type);
      if (rev.length > 0) {
        const r = await revInclude(db, scope, type, typeIds, rev);
        found.push(...r.resources);
        capped ||= r.more;
      }
    }
    frontier = followed(add(found, cap));
  }
  if (capped)
    note(
      `_include:iterate and _revinclude:iterate brought more than ${MAX_REVINCLUDED} resources for this page: the rest is left out; use a smaller _count`,
    );
  else if (frontier.size > 0)
    note(
      `_include:iterate and _revinclude:iterate stopped after ${MAX_ITERATE_ROUNDS} rounds: references of the last resources included were not followed`,
    );
}

/** Ids grouped by resource type. */
function byType(resources: { resourceType: string; id?: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of resources) {
    if (!r.id) continue;
    const list = out.get(r.resourceType);
    if (list) list.push(r.id);
    else out.set(r.resourceType, [r.id]);
  }
  return out;
}

async function include(
  db: Db,
  scope: AccessScope | undefined,
  type: string,
  ids: string[],
  specs: { param: string; targetType?: string }[],
): Promise<Resource[]> {
  const out = new Map<string, Resource>();
  for (const spec of specs) {
    const params = new SqlParams();
    const conds = [
      `s.resource_type = ${params.add(type)}`,
      `s.resource_id = ANY(${params.add(ids)}::text[])`,
      `s.param = ${params.add(spec.param)}`,
      'NOT r.deleted',
    ];
    if (spec.targetType) conds.push(`s.system = ${params.add(spec.targetType)}`);
    const access = accessPredicate(scope, 'r', params, undefined, { perRow: true });
    if (access) conds.push(access);
    const r = await db.query<{ resource_type: string; id: string; content: string } & RecordHolder>(
      `SELECT DISTINCT r.resource_type, r.id, r.content, ${holderColumns('r', undefined, scope, params)} FROM fhir_search s JOIN fhir_resource r ON r.resource_type = s.system AND r.id = s.value WHERE ${conds.join(' AND ')}`,
      params.values,
    );
    for (const row of r.rows)
      out.set(`${row.resource_type}/${row.id}`, forScope(JSON.parse(row.content) as Resource, scope, row));
  }
  return [...out.values()];
}

/**
 * `_revinclude`: the current resources of each spec's source type whose reference parameter points to one of the
 * matches (`type`/`ids`), under the same tenant rules as a search of the source type, cleaned by `forScope`.
 */
async function revInclude(
  db: Db,
  scope: AccessScope | undefined,
  type: string,
  ids: string[],
  specs: RevIncludeSpec[],
): Promise<{ resources: Resource[]; more: boolean }> {
  const out = new Map<string, Resource>();
  let more = false;
  for (const spec of specs) {
    const params = new SqlParams();
    const src = params.add(spec.sourceType);
    const conds = [
      `s.resource_type = ${src}`,
      `s.param = ${params.add(spec.param)}`,
      `s.system = ${params.add(type)}`,
      `s.value = ANY(${params.add(ids)}::text[])`,
      `r.resource_type = ${src}`,
      'NOT r.deleted',
    ];
    const access = accessPredicate(scope, 'r', params, spec.sourceType, { perRow: true });
    if (access) conds.push(access);
    // one more than the cap, to know whether there is more
    const r = await db.query<{ resource_type: string; id: string; content: string } & RecordHolder>(
      `SELECT r.resource_type, r.id, r.content, ${holderColumns('r', spec.sourceType, scope, params)} FROM fhir_resource r WHERE r.id IN (SELECT s.resource_id FROM fhir_search s JOIN fhir_resource r ON r.resource_type = s.resource_type AND r.id = s.resource_id WHERE ${conds.join(' AND ')}) AND r.resource_type = ${src} ORDER BY r.id LIMIT ${MAX_REVINCLUDED + 1}`,
      params.values,
    );
    for (const row of r.rows) {
      const key = `${row.resource_type}/${row.id}`;
      if (out.has(key)) continue;
      if (out.size >= MAX_REVINCLUDED) {
        more = true;
        break;
      }
      out.set(key, forScope(JSON.parse(row.content) as Resource, scope, row));
    }
  }
  return { resources: [...out.values()], more };
}

/** Version history of one resource (newest first), or of a type. */
export async function historyOf(
  db: Db,
  scope: AccessScope | undefined,
  resourceType: string,
  id?: string,
  params: SearchParams = {},
): Promise<HistoryEntry[]> {
  assertSupportedType(resourceType);
  const entries = await readHistory(db, scope, resourceType, id, params);
  if (id !== undefined && entries.length === 0) {
    if (!(await visibleExists(db, scope, resourceType, id))) throw notFound(resourceType, id);
  }
  return entries.map(({ holder, ...e }) => (e.resource ? { ...e, resource: forScope(e.resource, scope, holder) } : e));
}

/** Whether the resource (current or deleted) exists and the scope may see it. */
async function visibleExists(db: Db, scope: AccessScope | undefined, type: string, id: string): Promise<boolean> {
  const params = new SqlParams();
  const t = params.add(type);
  const i = params.add(id);
  const access = accessPredicate(scope, 'r', params, type, { perRow: true });
  const r = await db.query(
    `SELECT 1 FROM fhir_resource r WHERE r.resource_type = ${t} AND r.id = ${i}${access ? ` AND ${access}` : ''}`,
    params.values,
  );
  return r.rows.length > 0;
}
