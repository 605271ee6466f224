import { GatewayError } from '../platform/errors';
import { accessPredicate, SqlParams, type AccessPredicateOptions } from './access-sql';
import { dateRange, normalizeString, parseReference } from './index-rows';
import type { AccessScope, SearchParams } from './repository.port';
import { chainTarget, getParam, isSupportedType, storedParam, type ParamDef } from './search-params';

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
    if (key.startsWith('_has:')) return !isSupportedType(key.split(':')[1] ?? '');
    const head = key.split('.')[0] ?? '';
    const name = head.split(':')[0] ?? '';
    if (name === '_id' || name === '_lastUpdated') return false;
    return getParam(type, name) === undefined;
  });
}

/** A parameter that shapes a search's answer (paging, sorting, includes) and not which resources match. */
export function isResultParameter(name: string): boolean {
  return CONTROL.has(name);
}

export interface IncludeSpec {
  param: string;
  targetType?: string;
}

/** `_revinclude=<sourceType>:<param>`: the `sourceType` resources whose `param` points to a match. */
export interface RevIncludeSpec {
  sourceType: string;
  param: string;
}

export interface SearchPlan {
  /** WHERE clause over `fhir_resource r`, parameters in `params`. */
  where: string;
  /** The parameters `where` uses (a prefix of `params.values`: `orderBy` adds its own after them). */
  whereValues: unknown[];
  orderBy: string;
  params: SqlParams;
  count: number;
  offset: number;
  total: boolean;
  summaryCount: boolean;
  includes: IncludeSpec[];
  revIncludes: RevIncludeSpec[];
}

function bad(msg: string): GatewayError {
  return new GatewayError('bad-request', msg);
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Splits `a,b\,c` on unescaped commas. */
function splitOr(value: string): string[] {
  return value
    .split(/(?<!\\),/)
    .map((s) => s.replace(/\\,/g, ','))
    .filter((s) => s.length > 0);
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const;

function dateCondition(raw: string, lo: string, hi: string, params: SqlParams, name: string): string {
  let prefix = 'eq';
  let text = raw;
  const pre = raw.slice(0, 2);
  if ((PREFIXES as readonly string[]).includes(pre) && /^\d/.test(raw.slice(2))) {
    prefix = pre;
    text = raw.slice(2);
  }
  const range = dateRange(text);
  if (!range)
    throw bad(`Search parameter '${name}': '${raw}' is not a date (use e.g. ge2026-01-31 or 2026-01-31T10:00:00Z)`);
  // add only the bounds a comparison uses (an unused parameter has no type)
  const pLo = () => `${params.add(range[0])}::timestamptz`;
  const pHi = () => `${params.add(range[1])}::timestamptz`;
  switch (prefix) {
    case 'ne':
      return `NOT (${lo} >= ${pLo()} AND ${hi} <= ${pHi()})`;
    case 'gt':
      return `${hi} > ${pHi()}`;
    case 'lt':
      return `${lo} < ${pLo()}`;
    case 'ge':
      return `${hi} >= ${pLo()}`;
    case 'le':
      return `${lo} <= ${pHi()}`;
    case 'sa':
      return `${lo} > ${pHi()}`;
    case 'eb':
      return `${hi} < ${pLo()}`;
    default:
      return `(${lo} >= ${pLo()} AND ${hi} <= ${pHi()})`;
  }
}

function tokenCondition(v: string, params: SqlParams): string {
  const bar = v.indexOf('|');
  if (bar < 0) return `s.value = ${params.add(v)}`;
  const system = v.slice(0, bar);
  const code = v.slice(bar + 1);
  if (!system) return `(s.system IS NULL AND s.value = ${params.add(code)})`;
  if (!code) return `s.system = ${params.add(system)}`;
  return `(s.system = ${params.add(system)} AND s.value = ${params.add(code)})`;
}

function referenceCondition(v: string, params: SqlParams, name: string): string {
  const parsed = parseReference(v);
  if (parsed) return `(s.system = ${params.add(parsed[0])} AND s.value = ${params.add(parsed[1])})`;
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(v)) return `s.value = ${params.add(v)}`;
  throw bad(`Search parameter '${name}': '${v}' is not a reference (use Type/id or id)`);
}

function valueCondition(def: ParamDef, modifier: string, v: string, params: SqlParams): string {
  switch (def.type) {
    case 'token':
      return tokenCondition(v, params);
    case 'reference':
      return referenceCondition(v, params, def.name);
    case 'uri':
      return `s.value = ${params.add(v)}`;
    case 'string': {
      const n = normalizeString(v);
      if (modifier === 'exact') return `s.value = ${params.add(n)}`;
      if (modifier === 'contains') return `s.value LIKE ${params.add(`%${likeEscape(n)}%`)}`;
      return `s.value LIKE ${params.add(`${likeEscape(n)}%`)}`;
    }
    case 'date':
      return dateCondition(v, 's.lo', 's.hi', params, def.name);
  }
}

const MODIFIERS: Record<ParamDef['type'], string[]> = {
  token: ['not', 'missing'],
  reference: ['missing'],
  string: ['exact', 'contains', 'missing'],
  uri: ['missing'],
  date: ['missing'],
};

/**
 * The condition of one search parameter on the candidate row `r`. `fromIndex`: the matching ids are read from the
 * search index first and the rows fetched by id (`r.id = ANY(ARRAY(...))`), whatever the planner's statistics say;
 * for the conditional matches, which find one or two rows: as a semi-join, a generic plan made while the table was
 * young scanned every current row of the type and looked each one up in the index (all Patients per admission).
 */
function paramCondition(
  type: string,
  typeP: string,
  key: string,
  value: string,
  params: SqlParams,
  fromIndex = false,
): string {
  const [name = '', modifier = ''] = key.split(':');
  if (name === '_id') {
    const ids = splitOr(value);
    return `r.id = ANY(${params.add(ids)}::text[])`;
  }
  if (name === '_lastUpdated') {
    const values = splitOr(value);
    if (values.length === 0) throw bad(`Search parameter '_lastUpdated' has no value`);
    return `(${values.map((v) => dateCondition(v, 'r.last_updated', 'r.last_updated', params, name)).join(' OR ')})`;
  }
  const def = getParam(type, name);
  if (!def) throw bad(`Unknown search parameter '${name}' for ${type} (see GET /fhir/metadata for the supported ones)`);
  if (modifier && !MODIFIERS[def.type].includes(modifier))
    throw bad(`Search parameter '${name}' does not support the modifier ':${modifier}'`);
  const stored = storedParam(def);
  const matching = (ids: string) => (fromIndex ? `r.id = ANY(ARRAY(${ids}))` : `r.id IN (${ids})`);
  const sub = (cond: string) => {
    const conds = [`s.resource_type = ${typeP}`, `s.param = ${params.add(stored.param)}`];
    if (stored.targets) conds.push(`s.system = ANY(${params.add(stored.targets)}::text[])`);
    if (cond) conds.push(cond);
    return `SELECT s.resource_id FROM fhir_search s WHERE ${conds.join(' AND ')}`;
  };
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw bad(`':missing' takes true or false, not '${value}'`);
    return value === 'true' ? `r.id NOT IN (${sub('')})` : matching(sub(''));
  }
  const values = splitOr(value);
  if (values.length === 0) throw bad(`Search parameter '${name}' has no value`);
  const ors = values.map((v) => valueCondition(def, modifier, v, params));
  const cond = ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`;
  return modifier === 'not' ? `r.id NOT IN (${sub(cond)})` : matching(sub(cond));
}

/**
 * A chained parameter, one level (`Task?patient.identifier=…|191212121212`, `Task?subject:Patient.name=tolvan`,
 * `Task?encounter.status=in-progress`): the resources whose reference parameter points to a resource of the
 * target type that matches the chained parameter. The target must be one the caller may read (the same tenant
 * rule as reading it), so a chain never tells about a resource the caller could not see. The target type comes
 * from the `:Type` modifier or from the parameter's only target type.
 */
function chainCondition(
  type: string,
  typeP: string,
  key: string,
  value: string,
  params: SqlParams,
  scope: AccessScope | undefined,
  fromIndex: boolean,
): string {
  const dot = key.indexOf('.');
  const [name = '', targetModifier] = key.slice(0, dot).split(':');
  const chained = key.slice(dot + 1);
  if (chained.includes('.')) throw bad(`Search parameter '${key}': chains of more than one level are not supported`);
  const def = getParam(type, name);
  if (!def) throw bad(`Unknown search parameter '${name}' for ${type} (see GET /fhir/metadata for the supported ones)`);
  if (def.type !== 'reference') throw bad(`Search parameter '${name}' is not a reference: it cannot be chained`);
  const target = targetModifier ?? chainTarget(type, def);
  if (!target) throw bad(`Search parameter '${key}': name the target type, e.g. '${name}:Patient.${chained}'`);
  if (def.targets && !def.targets.includes(target))
    throw bad(`Search parameter '${name}' does not point to ${target} (it points to ${def.targets.join(', ')})`);
  if (!isSupportedType(target)) throw bad(`Search parameter '${key}': ${target} is not a type the gateway stores`);
  const [chainedName = '', chainedModifier = ''] = chained.split(':');
  const tdef = getParam(target, chainedName);
  if (!tdef) throw bad(`Unknown search parameter '${chainedName}' for ${target} (in the chain '${key}')`);
  if (
    chainedModifier &&
    (['missing', 'not'].includes(chainedModifier) || !MODIFIERS[tdef.type].includes(chainedModifier))
  )
    throw bad(`Search parameter '${key}' does not support the modifier ':${chainedModifier}' in a chain`);
  const values = splitOr(value);
  if (values.length === 0) throw bad(`Search parameter '${key}' has no value`);
  const targetP = params.add(target);
  const ors = values.map((v) => valueCondition(tdef, chainedModifier, v, params));
  const tstored = storedParam(tdef);
  const tconds = [`s.resource_type = ${targetP}`, `s.param = ${params.add(tstored.param)}`];
  if (tstored.targets) tconds.push(`s.system = ANY(${params.add(tstored.targets)}::text[])`);
  tconds.push(ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`);
  const visible = accessPredicate(scope, 'c', params, target, { perRow: true });
  const targetIds = `SELECT s.resource_id FROM fhir_search s WHERE ${tconds.join(' AND ')} AND EXISTS (SELECT 1 FROM fhir_resource c WHERE c.resource_type = s.resource_type AND c.id = s.resource_id AND NOT c.deleted${visible ? ` AND ${visible}` : ''})`;
  const stored = storedParam(def);
  const ids = `SELECT s.resource_id FROM fhir_search s WHERE s.resource_type = ${typeP} AND s.param = ${params.add(stored.param)} AND s.system = ${targetP} AND s.value IN (${targetIds})`;
  return fromIndex ? `r.id = ANY(ARRAY(${ids}))` : `r.id IN (${ids})`;
}

/**
 * A reverse chain, one level (`_has:<Type>:<reference param>:<param>=value`): the resources that a resource of
 * `<Type>` matching `<param>` points to with `<reference param>`, e.g. `Encounter?_has:Task:encounter:status=rejected`
 * (stays with a rejected Task) or `Patient?_has:Task:patient:owner=Organization/<id>`. Only resources the caller may
 * read count as pointing (the same tenant rule as reading them).
 */
function hasCondition(
  type: string,
  key: string,
  value: string,
  params: SqlParams,
  scope: AccessScope | undefined,
  fromIndex: boolean,
): string {
  const [, source = '', refName = '', paramKey = '', ...rest] = key.split(':');
  if (!source || !refName || !paramKey)
    throw bad(
      `Search parameter '${key}': use _has:<Type>:<reference parameter>:<parameter>, e.g. _has:Task:encounter:status`,
    );
  if (!isSupportedType(source)) throw bad(`Search parameter '${key}': ${source} is not a type the gateway stores`);
  const ref = getParam(source, refName);
  if (!ref || ref.type !== 'reference')
    throw bad(`Search parameter '${key}': '${refName}' is not a reference parameter of ${source}`);
  const refStored = storedParam(ref);
  const only = chainTarget(source, ref);
  if ((refStored.targets && !refStored.targets.includes(type)) || (only && only !== type))
    throw bad(`Search parameter '${key}': ${source}.${refName} does not point to ${type}`);
  const modifier = rest.join(':');
  const def = getParam(source, paramKey);
  if (!def) throw bad(`Unknown search parameter '${paramKey}' for ${source} (in '${key}')`);
  if (modifier && (['missing', 'not'].includes(modifier) || !MODIFIERS[def.type].includes(modifier)))
    throw bad(`Search parameter '${key}' does not support the modifier ':${modifier}'`);
  const values = splitOr(value);
  if (values.length === 0) throw bad(`Search parameter '${key}' has no value`);
  const sourceP = params.add(source);
  const ors = values.map((v) => valueCondition(def, modifier, v, params));
  const stored = storedParam(def);
  const conds = [`s.resource_type = ${sourceP}`, `s.param = ${params.add(stored.param)}`];
  if (stored.targets) conds.push(`s.system = ANY(${params.add(stored.targets)}::text[])`);
  conds.push(ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`);
  const visible = accessPredicate(scope, 'c', params, source, { perRow: true });
  const sources = `SELECT s.resource_id FROM fhir_search s WHERE ${conds.join(' AND ')} AND EXISTS (SELECT 1 FROM fhir_resource c WHERE c.resource_type = s.resource_type AND c.id = s.resource_id AND NOT c.deleted${visible ? ` AND ${visible}` : ''})`;
  const ids = `SELECT s.value FROM fhir_search s WHERE s.resource_type = ${sourceP} AND s.param = ${params.add(refStored.param)} AND s.system = ${params.add(type)} AND s.resource_id IN (${sources})`;
  return fromIndex ? `r.id = ANY(ARRAY(${ids}))` : `r.id IN (${ids})`;
}

function sortClause(type: string, sort: string | undefined, params: SqlParams): string {
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
      parts.push(
        `(SELECT ${col} FROM fhir_search s WHERE s.resource_type = r.resource_type AND s.resource_id = r.id AND s.param = ${params.add(stored.param)}${narrow}) ${dir} NULLS LAST`,
      );
    }
  }
  parts.push('r.id ASC');
  return parts.join(', ');
}

function parseIncludes(type: string, values: string[]): IncludeSpec[] {
  return values.map((v) => {
    const [src, param = '', target] = v.split(':');
    const def = src === type ? getParam(type, param) : undefined;
    if (!def || def.type !== 'reference')
      throw bad(`_include '${v}' is not supported: use ${type}:<reference parameter>[:TargetType], e.g. Task:patient`);
    // an alias narrowed to one target type (Task:patient) includes that type through its stored rows
    const stored = storedParam(def);
    if (target && stored.targets && !stored.targets.includes(target))
      throw bad(`_include '${v}': ${type}:${param} never points to ${target}`);
    const targetType = target ?? (stored.targets?.length === 1 ? stored.targets[0] : undefined);
    return { param: stored.param, ...(targetType ? { targetType } : {}) };
  });
}

/**
 * `_revinclude=<Source>:<reference parameter>[:<searched type>]` for any stored type: 400 naming the value when the
 * source type or parameter is unknown, not a reference, or never points to the searched type.
 */
export function parseRevIncludes(type: string, values: string[]): RevIncludeSpec[] {
  return values.map((v) => {
    const [src = '', param = '', target, ...rest] = v.split(':');
    const def = getParam(src, param);
    if (!def || def.type !== 'reference' || rest.length > 0)
      throw bad(
        `_revinclude '${v}' is not supported: use <SourceType>:<reference parameter>, e.g. ${type}?_revinclude=Task:${type === 'Patient' ? 'patient' : 'encounter'}`,
      );
    const stored = storedParam(def);
    if ((target !== undefined && target !== type) || (stored.targets && !stored.targets.includes(type)))
      throw bad(`_revinclude '${v}': ${src}:${param} never points to ${type}`);
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
): SearchPlan {
  const typeP = params.add(type);
  const where = [`r.resource_type = ${typeP}`, 'NOT r.deleted'];
  for (const [key, raw] of Object.entries(search)) {
    if (raw === undefined || CONTROL.has(key)) continue;
    for (const value of list(raw))
      where.push(
        key.startsWith('_has:')
          ? hasCondition(type, key, value, params, scope, accessOpts.perRow === true)
          : key.includes('.')
            ? chainCondition(type, typeP, key, value, params, scope, accessOpts.perRow === true)
            : paramCondition(type, typeP, key, value, params, accessOpts.perRow === true),
      );
  }
  const access = accessPredicate(scope, 'r', params, type, accessOpts);
  if (access) where.push(access);
  const summary = list(search._summary)[0];
  if (summary !== undefined && !['count', 'false', 'true', 'text', 'data'].includes(summary))
    throw bad(`_summary must be true, text, data, count or false, not '${summary.slice(0, 40)}'`);
  const totalMode = list(search._total)[0];
  if (totalMode !== undefined && !['none', 'estimate', 'accurate'].includes(totalMode))
    throw bad(`_total must be none, estimate or accurate, not '${totalMode}'`);
  const whereValues = [...params.values];
  return {
    where: where.join(' AND '),
    whereValues,
    orderBy: sortClause(type, list(search._sort)[0], params),
    params,
    count: Math.min(intParam(search._count, '_count', DEFAULT_COUNT), MAX_COUNT),
    offset: intParam(search._offset, '_offset', 0, MAX_OFFSET),
    total: totalMode === 'accurate' || totalMode === 'estimate' || summary === 'count',
    summaryCount: summary === 'count',
    includes: parseIncludes(type, list(search._include)),
    revIncludes: parseRevIncludes(type, list(search._revinclude)),
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
