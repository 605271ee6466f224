import {
  accessPredicate,
  protectedElementsVisible,
  SqlParams,
  visibleTaskIds,
  type AccessPredicateOptions,
} from './access-sql';
import type { AccessScope, SearchParams } from './repository.port';
import {
  bad,
  chainCondition,
  chainHops,
  hasCondition,
  isSelective,
  linkedKey,
  ownerStatusIds,
  paramCondition,
  paramIds,
  type ChainKey,
} from './search-conditions';
import {
  getParam,
  isSupportedType,
  searchesProtectedElements,
  searchesProtectedParam,
  storedParam,
} from './search-params';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/**
 * Parameters that only shape the answer (`_format`/`_pretty` are accepted and ignored; `_elements` and `_summary`
 * other than `count` cut each resource in the API: src/fhir/subset.ts).
 */
const CONTROL = new Set([
  '_count',
  '_offset',
  '_sort',
  '_total',
  '_include',
  '_revinclude',
  '_include:iterate',
  '_revinclude:iterate',
  '_summary',
  '_elements',
  '_format',
  '_pretty',
]);

/**
 * An empty record for names a client chooses: no prototype, so a parameter named `valueOf`, `constructor` or
 * `__proto__` is an ordinary key (an unknown parameter, 400) and not an inherited member (it was a 500).
 */
export function clientKeyed<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A query's parameters by name (repeated names keep every value), added to `into`. */
export function collectParams(
  pairs: Iterable<[string, string]>,
  into: Record<string, string[]> = clientKeyed(),
): Record<string, string[]> {
  for (const [k, v] of pairs) (into[k] ??= []).push(v);
  return into;
}

/**
 * The parameters of `search` that `planSearch` would refuse as unknown for `type` (a name it has no index for, or a
 * chain through one): what `Prefer: handling=lenient` leaves out instead of answering 400.
 */
export function unknownSearchParameters(type: string, search: SearchParams): string[] {
  return Object.keys(search).filter((key) => {
    if (CONTROL.has(key)) return false;
    const link = linkedKey(key);
    if (link?.kind === 'has')
      return !isSupportedType(link.source) || !known(link.source, link.ref) || !known(link.source, link.param);
    if (link?.kind === 'chain') return unknownInChain(type, link);
    return !known(type, key.split(':')[0] ?? '');
  });
}

function known(type: string, name: string): boolean {
  return name === '_id' || name === '_lastUpdated' || getParam(type, name) !== undefined;
}

/** Whether a chain names a parameter its type does not have, at any link (`Task?patient.nosuch=…`). */
function unknownInChain(type: string, link: ChainKey): boolean {
  for (const { from, link: hop, to } of chainHops(type, link)) {
    if (!known(from, hop.ref)) return true;
    // a target that cannot be told is not an unknown name: the strict answer says to name it
    if (!to || !isSupportedType(to)) return false;
    if (!linkedKey(hop.chained)) return !known(to, hop.chained.split(':')[0] ?? '');
  }
  return false;
}

/** A parameter that shapes a search's answer (paging, sorting, includes) and not which resources match. */
export function isResultParameter(name: string): boolean {
  return CONTROL.has(name);
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** `_include=<sourceType>:<param>[:<targetType>]`: the resources `param` of a match points to. */
export interface IncludeSpec {
  sourceType: string;
  param: string;
  targetType?: string;
  /** `_include:iterate`: applied to included resources too, not only to matches. */
  iterate?: boolean;
}

/** `_revinclude=<sourceType>:<param>`: the `sourceType` resources whose `param` points to a match. */
export interface RevIncludeSpec {
  sourceType: string;
  param: string;
  /** `_revinclude:iterate`: applied to included resources too; `targets` are the types `param` may point to. */
  iterate?: boolean;
  targets?: string[];
}

export interface SearchPlan {
  /** WHERE clause over `fhir_resource r`, parameters in `params`. */
  where: string;
  /** The parameters `where` uses (a prefix of `params.values`: `orderBy` adds its own after them). */
  whereValues: unknown[];
  /**
   * For a plan made with `{ walk: true }` (see `walkable`): the conditions on the row's own columns (type, not
   * deleted, `_lastUpdated`), under which the walk reads rows in order.
   */
  columnWhere: string;
  /**
   * Whether the page may be found by walking the rows in `_lastUpdated` order and checking each (`walkPlan`), rather
   * than by collecting every match first: a plain search (no selective parameter, no chain or `_has`) sorted by
   * `_lastUpdated` alone, whose page lies near the start.
   */
  walkable: boolean;
  /**
   * For a search without a selective parameter: the id lists it may be driven from (`{ drive: i }`), each an SQL
   * query over `params` (or '' for a value that cannot drive), for a capped count per call (read-sql.ts): for a
   * Task search the Tasks the tenant may see (`visibleTaskIds`), then each plain parameter's value the index looks
   * up by equality. Undefined when there is nothing to choose (a selective parameter, a chain or `_has`, or a plan
   * made to drive or walk).
   */
  drivers?: { ids: string[]; params: SqlParams };
  orderBy: string;
  params: SqlParams;
  count: number;
  offset: number;
  /**
   * Whether the answer carries `total`, and how it is found: `accurate` counts every match (`_total=accurate`, or
   * `_summary=count` without `_total=estimate`); `estimate` is known from the page when it is the last, else
   * estimated from a sample of the store (read-sql.ts, `estimatedTotal`).
   */
  total: 'accurate' | 'estimate' | undefined;
  summaryCount: boolean;
  includes: IncludeSpec[];
  revIncludes: RevIncludeSpec[];
}

function sortClause(type: string, sort: string | undefined, params: SqlParams, scope: AccessScope | undefined): string {
  if (!sort) return 'r.last_updated ASC, r.id ASC';
  const parts: string[] = [];
  for (const raw of sort.split(',')) {
    const desc = raw.startsWith('-');
    const name = desc ? raw.slice(1) : raw;
    const dir = desc ? 'DESC' : 'ASC';
    if (name === '_id') parts.push(`r.id ${dir}`);
    else if (name === '_lastUpdated') parts.push(`r.last_updated ${dir}`);
    else {
      const def = getParam(type, name);
      if (!def) throw bad(`Cannot sort ${type} by unknown parameter '${name}'`);
      const col = def.type === 'date' ? (desc ? 'max(s.hi)' : 'min(s.lo)') : desc ? 'max(s.value)' : 'min(s.value)';
      const stored = storedParam(def);
      const narrow = stored.targets ? ` AND s.system = ANY(${params.add(stored.targets)}::text[])` : '';
      // a protected identity's address sorts as absent for a recipient (it would order by what reading hides)
      const shown = searchesProtectedElements(type, def) ? protectedElementsVisible(scope, 'r', params) : undefined;
      parts.push(
        `(SELECT ${col} FROM fhir_search s WHERE s.resource_type = r.resource_type AND s.resource_id = r.id AND s.param = ${params.add(stored.param)}${narrow}${shown ? ` AND ${shown}` : ''}) ${dir} NULLS LAST`,
      );
    }
  }
  parts.push('r.id ASC');
  return parts.join(', ');
}

/**
 * `_include` values (of the searched type's parameters) or, with `iterate`, `_include:iterate` values (of any
 * stored type: applied to whatever the answer holds of that type).
 */
export function parseIncludes(type: string, values: string[], iterate = false): IncludeSpec[] {
  const key = iterate ? '_include:iterate' : '_include';
  return values.map((v) => {
    const [src = '', param = '', target, ...rest] = v.split(':');
    const def = src === type || iterate ? getParam(src, param) : undefined;
    if (!def || def.type !== 'reference' || rest.length > 0)
      throw bad(
        `${key} '${v}' is not supported: use ${iterate ? '<SourceType>' : type}:<reference parameter>[:TargetType], e.g. ${iterate ? 'Encounter:patient' : 'Task:patient'}`,
      );
    // an alias narrowed to one target type (Task:patient) includes that type through its stored rows
    const stored = storedParam(def);
    if (target && stored.targets && !stored.targets.includes(target))
      throw bad(`${key} '${v}': ${src}:${param} never points to ${target}`);
    const targetType = target ?? (stored.targets?.length === 1 ? stored.targets[0] : undefined);
    return {
      sourceType: src,
      param: stored.param,
      ...(targetType ? { targetType } : {}),
      ...(iterate ? { iterate } : {}),
    };
  });
}

/**
 * `_revinclude=<Source>:<reference parameter>[:<searched type>]` for any stored type: 400 naming the value when the
 * source type or parameter is unknown, not a reference, or never points to the searched type.
 */
export function parseRevIncludes(type: string, values: string[], iterate = false): RevIncludeSpec[] {
  const key = iterate ? '_revinclude:iterate' : '_revinclude';
  return values.map((v) => {
    const [src = '', param = '', target, ...rest] = v.split(':');
    const def = getParam(src, param);
    if (!def || def.type !== 'reference' || rest.length > 0)
      throw bad(
        `${key} '${v}' is not supported: use <SourceType>:<reference parameter>, e.g. ${type}?_revinclude=Task:${type === 'Patient' ? 'patient' : 'encounter'}`,
      );
    const stored = storedParam(def);
    if (iterate) {
      // applied to whatever the answer holds of the types it may point to
      if (target !== undefined && stored.targets && !stored.targets.includes(target))
        throw bad(`${key} '${v}': ${src}:${param} never points to ${target}`);
      const targets = target !== undefined ? [target] : stored.targets;
      return { sourceType: src, param: stored.param, iterate, ...(targets ? { targets } : {}) };
    }
    if ((target !== undefined && target !== type) || (stored.targets && !stored.targets.includes(type)))
      throw bad(`${key} '${v}': ${src}:${param} never points to ${type}`);
    return { sourceType: src, param: stored.param };
  });
}

function intParam(v: string | string[] | undefined, name: string, dflt: number, max = Infinity): number {
  const s = list(v)[0];
  if (s === undefined) return dflt;
  if (!/^\d+$/.test(s)) throw bad(`${name} must be a non-negative integer, not '${s}'`);
  const n = Number(s);
  if (n > max) throw bad(`${name} must be at most ${max}, not '${s}'`);
  return n;
}

/**
 * A walk in `_lastUpdated` order (`SearchPlan.walkable`) reads at most this many rows; a page must end within the
 * first WALK_PAGE_END matches to be looked for that way.
 */
export const WALK_ROWS = 1000;
export const WALK_PAGE_END = 200;

/**
 * A search is driven from one of its `drivers` whose capped count stays below this many ids: fetching each by id and
 * checking the rest on its own index rows costs about what a walk of WALK_ROWS rows does.
 */
export const DRIVE_ROWS = 1000;

/** The largest `_offset`: beyond it PostgreSQL's OFFSET (a bigint) would refuse the statement, far beyond any page. */
const MAX_OFFSET = 2_147_483_647;

/** Builds the SQL of a search of `type` as seen by `scope`. Throws `bad-request` for what is not supported. */
export function planSearch(
  type: string,
  search: SearchParams,
  scope: AccessScope | undefined,
  params: SqlParams = new SqlParams(),
  /** Tenant rules per candidate row (conditional matches, which find one or two rows): see accessPredicate. */
  accessOpts: AccessPredicateOptions = {},
  /**
   * `walk`: every condition checked on the row itself, for a walk in `_lastUpdated` order (`SearchPlan.walkable`);
   * `drive`: the ids of `drivers[drive]` read first, everything else checked per row (`SearchPlan.drivers`).
   */
  { walk = false, drive }: { walk?: boolean; drive?: number } = {},
): SearchPlan {
  const typeP = params.add(type);
  const where = [`r.resource_type = ${typeP}`, 'NOT r.deleted'];
  const columns: string[] = [...where];
  const perRow = accessOpts.perRow === true;
  const entries = Object.entries(search).filter(([key, raw]) => raw !== undefined && !CONTROL.has(key));
  // A search with a selective parameter reads its few ids from the index first and checks the rest, tenant rules
  // included, on those rows: a generic plan otherwise read every Task the tenant owns (issue 17, docs/performance.md)
  const selective = (key: string, value: string) => !linkedKey(key) && isSelective(type, key, value);
  const hasSelective = entries.some(([key, raw]) => list(raw).some((v) => selective(key, v)));
  const fewRows = walk || perRow || hasSelective || drive !== undefined;
  // the id lists a search may be driven from, in the order `drive` counts them: the tenant's Tasks, then each plain
  // value (a chain or `_has` is a set of its own: such a search is planned as before)
  const choosing = !fewRows && !entries.some(([key]) => linkedKey(key));
  const driverParams = new SqlParams();
  // the type as a literal: a parameter no driver used (a tenant's alone) would have no type
  const driverType = `'${type.replace(/'/g, "''")}'`;
  const drivers: string[] = [];
  let driver = 0;
  if (type === 'Task') {
    // first: counted first, it caps the counts after it (a vårdcentral owning no Task counts nothing else)
    drivers.push((choosing ? visibleTaskIds(scope, driverParams) : undefined) ?? '');
    const visible = drive === driver++ ? visibleTaskIds(scope, params) : undefined;
    if (visible) where.push(`r.id = ANY(ARRAY(${visible}))`);
  }
  // an exact owner and status: the Task's (owner, status) key, never more ids than either alone, so they are not
  // counted (the key reaching the cap means they would too); both stay conditions checked on each row
  const pairKeys = ownerStatusIds(type, driverType, search, new SqlParams()) !== undefined;
  if (pairKeys) {
    drivers.push((choosing ? ownerStatusIds(type, driverType, search, driverParams) : undefined) ?? '');
    if (drive === driver++) where.push(`r.id = ANY(ARRAY(${ownerStatusIds(type, typeP, search, params) ?? ''}))`);
  }
  for (const [key, raw] of entries) {
    const link = linkedKey(key);
    if (!link && key.split(':')[0] === '_lastUpdated') {
      // a condition on the row's own column: the walk reads rows in order under it
      for (const value of list(raw)) {
        const cond = paramCondition(type, typeP, key, value, params);
        columns.push(cond);
        where.push(cond);
      }
      continue;
    }
    for (const value of list(raw)) {
      if (link) {
        where.push(
          link.kind === 'has'
            ? hasCondition(type, key, link, value, params, scope, perRow)
            : chainCondition(type, typeP, key, link, value, params, scope, perRow),
        );
        continue;
      }
      const ids =
        choosing && !(pairKeys && (key === 'owner' || key === 'status'))
          ? paramIds(type, driverType, key, value, driverParams)
          : undefined;
      // a value the index cannot look up by equality is never counted: '' keeps the order of the others
      drivers.push(ids ?? '');
      const driven = drive === driver++;
      where.push(
        paramCondition(
          type,
          typeP,
          key,
          value,
          params,
          perRow || driven || (!walk && selective(key, value)) ? 'index' : fewRows ? 'row' : 'set',
        ),
      );
    }
  }
  const access = accessPredicate(scope, 'r', params, type, { ...accessOpts, perRow: fewRows });
  if (access) where.push(access);
  // a search on what a recipient may not read of a protected identity (a Patient's address) never matches one
  if (Object.keys(search).some((key) => searchesProtectedParam(type, key))) {
    const shown = protectedElementsVisible(scope, 'r', params);
    if (shown) where.push(shown);
  }
  const summary = list(search._summary)[0];
  if (summary !== undefined && !['count', 'false', 'true', 'text', 'data'].includes(summary))
    throw bad(`_summary must be true, text, data, count or false, not '${summary.slice(0, 40)}'`);
  const totalMode = list(search._total)[0];
  if (totalMode !== undefined && !['none', 'estimate', 'accurate'].includes(totalMode))
    throw bad(`_total must be none, estimate or accurate, not '${totalMode}'`);
  const whereValues = [...params.values];
  const sort = list(search._sort)[0];
  const count = Math.min(intParam(search._count, '_count', DEFAULT_COUNT), MAX_COUNT);
  const offset = intParam(search._offset, '_offset', 0, MAX_OFFSET);
  return {
    where: where.join(' AND '),
    whereValues,
    columnWhere: columns.join(' AND '),
    ...(drivers.some((d) => d !== '') ? { drivers: { ids: drivers, params: driverParams } } : {}),
    walkable:
      !fewRows &&
      where.length > columns.length &&
      (sort === undefined || sort === '_lastUpdated' || sort === '-_lastUpdated') &&
      offset + count < WALK_PAGE_END &&
      !entries.some(([key]) => linkedKey(key)),
    orderBy: sortClause(type, sort, params, scope),
    params,
    count,
    offset,
    total:
      totalMode === 'estimate' ? 'estimate' : totalMode === 'accurate' || summary === 'count' ? 'accurate' : undefined,
    summaryCount: summary === 'count',
    includes: [
      ...parseIncludes(type, list(search._include)),
      ...parseIncludes(type, list(search['_include:iterate']), true),
    ],
    revIncludes: [
      ...parseRevIncludes(type, list(search._revinclude)),
      ...parseRevIncludes(type, list(search['_revinclude:iterate']), true),
    ],
  };
}

/** The query string of the page after `plan` (same parameters, `_offset` moved on). */
export function nextPageQuery(search: SearchParams, offset: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(search)) {
    if (k === '_offset') continue;
    for (const x of list(v)) q.append(k, x);
  }
  q.set('_offset', String(offset));
  return q.toString();
}
