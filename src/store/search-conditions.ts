/**
 * The WHERE conditions of one search parameter over the search index (`fhir_search`): a plain parameter with its
 * modifiers and prefixes, a chain one level forward (`patient.identifier`) and one level back (`_has`). Each
 * returns an SQL condition on the candidate row `r`; `planSearch` (search-sql.ts) joins them.
 */
import { GatewayError } from '../platform/errors';
import { accessPredicate, DIRECTORY_TYPES, protectedElementsVisible, SqlParams } from './access-sql';
import { dateRange, normalizeString, parseReference } from './index-rows';
import type { AccessScope, SearchParams } from './repository.port';
import { ID_PATTERN } from './resource-util';
import {
  chainTarget,
  getParam,
  isSupportedType,
  OWNER_STATUS,
  searchesProtectedElements,
  storedParam,
  type ParamDef,
} from './search-params';

/** A 400 saying what in the search is not supported. */
export function bad(msg: string): GatewayError {
  return new GatewayError('bad-request', msg);
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

/**
 * A date parameter's rows all have a range (index-rows.ts), and `fhir_search_date` holds only such rows (WHERE lo IS
 * NOT NULL, migration 003). PostgreSQL uses a partial index only for a query that implies its condition, so a date
 * compared by its end alone (`gt`, `ge`, `eb`, `ne`: conditions on `hi`) read every row of the type without it.
 */
function rangeRows(def: ParamDef): string[] {
  return def.type === 'date' ? ['s.lo IS NOT NULL'] : [];
}

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

/** A reference search value as the index keeps it: `Type/id` (or a URL ending so) with its type, a bare id without. */
function referenceKey(v: string): { type?: string; id: string } | undefined {
  const parsed = parseReference(v);
  if (parsed) return { type: parsed[0], id: parsed[1] };
  return ID_PATTERN.test(v) ? { id: v } : undefined;
}

function referenceCondition(v: string, params: SqlParams, name: string): string {
  const key = referenceKey(v);
  if (!key) throw bad(`Search parameter '${name}': '${v}' is not a reference (use Type/id or id)`);
  if (key.type === undefined) return `s.value = ${params.add(key.id)}`;
  return `(s.system = ${params.add(key.type)} AND s.value = ${params.add(key.id)})`;
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
 * How a parameter's condition finds its rows in the search index: `set`, as a semi-join the planner orders as it
 * likes (`r.id IN (...)`); `index`, the matching ids read from the index first and the rows fetched by id
 * (`r.id = ANY(ARRAY(...))`), whatever the planner's statistics say; `row`, looked up for each candidate row by its
 * id (`EXISTS (...)`), for the other conditions of a search whose candidates an `index` condition found.
 * For the conditional matches, which find one or two rows, every condition is `index`: as a semi-join, a generic
 * plan made while the table was young scanned every current row of the type and looked each one up in the index
 * (all Patients per admission). For a search with a selective parameter (`isSelective`), that one is `index` and
 * the others `row`: as a semi-join, `status=requested` beside `encounter=Encounter/x` joined the stay's few Tasks
 * with every requested Task. `ids` is not a condition but the matching ids alone (`paramIds`).
 */
export type ConditionForm = 'set' | 'index' | 'row' | 'ids';

export function paramCondition(
  type: string,
  typeP: string,
  key: string,
  value: string,
  params: SqlParams,
  form: ConditionForm = 'set',
): string {
  const [name = '', modifier = ''] = key.split(':');
  if (name === '_id' || name === '_lastUpdated') {
    // columns of every row: never missing; `_id` (a token) may also be negated
    if (modifier === 'missing') {
      if (value !== 'true' && value !== 'false') throw bad(`':missing' takes true or false, not '${value}'`);
      return value === 'true' ? 'false' : 'true';
    }
    if (modifier && !(name === '_id' && modifier === 'not'))
      throw bad(`Search parameter '${name}' does not support the modifier ':${modifier}'`);
  }
  if (name === '_id') {
    const ids = splitOr(value);
    if (ids.length === 0) throw bad(`Search parameter '_id' has no value`);
    const any = `r.id = ANY(${params.add(ids)}::text[])`;
    return modifier === 'not' ? `NOT (${any})` : any;
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
  /** The rows (the candidate's own, for `row`) of the parameter that meet `cond`, as a condition on `r`. */
  const rows = (cond: string, negated: boolean) => {
    // per row: by the row's own index rows (fhir_search_resource), as access-sql.ts's PER_ROW lookups: the parameter
    // compared as `param || ''`, which no index serves (a generic plan otherwise walked every `status=requested`
    // row for each candidate), and OFFSET keeps it a lookup
    const param = params.add(stored.param);
    const conds = [`s.resource_type = ${typeP}`, form === 'row' ? `s.param || '' = ${param}` : `s.param = ${param}`];
    if (stored.targets) conds.push(`s.system = ANY(${params.add(stored.targets)}::text[])`);
    conds.push(...rangeRows(def));
    if (cond) conds.push(cond);
    const where = conds.join(' AND ');
    if (form === 'row')
      return `${negated ? 'NOT ' : ''}EXISTS (SELECT 1 FROM fhir_search s WHERE ${where} AND s.resource_id = r.id OFFSET 0)`;
    const ids = `SELECT s.resource_id FROM fhir_search s WHERE ${where}`;
    if (form === 'ids') return ids;
    if (negated) return `r.id NOT IN (${ids})`;
    return form === 'index' ? `r.id = ANY(ARRAY(${ids}))` : `r.id IN (${ids})`;
  };
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw bad(`':missing' takes true or false, not '${value}'`);
    return rows('', value === 'true');
  }
  const values = splitOr(value);
  if (values.length === 0) throw bad(`Search parameter '${name}' has no value`);
  const ors = values.map((v) => valueCondition(def, modifier, v, params));
  const cond = ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`;
  return rows(cond, modifier === 'not');
}

/**
 * SQL: the ids of the resources a plain parameter's value matches (an id may come twice), read by the value index,
 * or undefined for a value the index cannot look up by equality (a negation, `:missing`, `:contains`, a string's
 * prefix, a date range, `system|` alone, `_id` and `_lastUpdated`, the row's own columns). What `planSearch` may
 * drive a search from, when a capped count shows the value's rows are few (read-sql.ts, `searchCurrent`).
 */
export function paramIds(
  type: string,
  typeP: string,
  key: string,
  value: string,
  params: SqlParams,
): string | undefined {
  const [name = '', modifier = ''] = key.split(':');
  const def = getParam(type, name);
  if (!def || (modifier && !(def.type === 'string' && modifier === 'exact'))) return undefined;
  if (def.type === 'date' || (def.type === 'string' && modifier !== 'exact')) return undefined;
  if (def.type === 'token' && splitOr(value).some((v) => v.endsWith('|'))) return undefined;
  return paramCondition(type, typeP, key, value, params, 'ids');
}

/** At most this many (owner, status) pairs are looked up in the Task's (owner, status) key at once. */
const MAX_OWNER_STATUS_PAIRS = 100;

/**
 * SQL: the ids of the Tasks whose (owner, status) key (`OWNER_STATUS`) matches an exact `owner` and an exact `status`
 * of `search` (each a value or a comma list: every pair of them), or undefined when the search has not both, or one
 * is not exact (a modifier such as `:not` or `:missing`, a status with a system, a reference that is not one): such a
 * search is planned as before. Where `owner` or `status` is repeated, the first of each is used: the others, and
 * these two, stay conditions of their own, so the key only chooses where to start (`planSearch`, its drivers).
 */
export function ownerStatusIds(
  type: string,
  typeP: string,
  search: SearchParams,
  params: SqlParams,
): string | undefined {
  if (type !== 'Task') return undefined;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const owner = first(search.owner);
  const status = first(search.status);
  if (owner === undefined || status === undefined) return undefined;
  const owners = splitOr(owner).map(referenceKey);
  const codes = splitOr(status);
  const pairs = owners.length * codes.length;
  if (pairs === 0 || pairs > MAX_OWNER_STATUS_PAIRS || codes.some((c) => c.includes('|'))) return undefined;
  const ors: string[] = [];
  for (const o of owners) {
    if (!o) return undefined;
    const values = `s.value = ANY(${params.add(codes.map((c) => `${o.id}|${c}`))}::text[])`;
    ors.push(o.type === undefined ? values : `(s.system = ${params.add(o.type)} AND ${values})`);
  }
  const cond = ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`;
  return `SELECT s.resource_id FROM fhir_search s WHERE s.resource_type = ${typeP} AND s.param = ${params.add(OWNER_STATUS)} AND ${cond}`;
}

/**
 * Whether a plain parameter finds a few resources whatever the store's size: `_id`, an identifier, or a reference
 * to a resource other than a directory entry (`Task?encounter=Encounter/x`: a stay's Tasks; not `owner=Organization/x`,
 * which a municipality shares with tens of thousands of Tasks). Each value must be one (an OR of up to ten is still few).
 */
export function isSelective(type: string, key: string, value: string): boolean {
  const [name = '', modifier = ''] = key.split(':');
  if (modifier) return false;
  if (name === '_id') return true;
  const def = getParam(type, name);
  if (!def) return false;
  const values = splitOr(value);
  if (values.length === 0 || values.length > 10) return false;
  // an identifier's value, with or without its system (`system|` alone is every identifier of the system)
  if (def.type === 'token') return name === 'identifier' && values.every((v) => v.slice(v.indexOf('|') + 1) !== '');
  if (def.type !== 'reference') return false;
  const targets = storedParam(def).targets;
  return values.every((v) => {
    const target = parseReference(v)?.[0] ?? (targets?.length === 1 ? targets[0] : undefined);
    return target !== undefined && isSupportedType(target) && !DIRECTORY_TYPES.includes(target);
  });
}

/** A chained parameter, `<reference param>[:<Type>].<param of Type>[:<modifier>]` (`chained` is what follows the dot). */
export interface ChainKey {
  kind: 'chain';
  ref: string;
  target?: string;
  chained: string;
}

/** A reverse chain, `_has:<Type>:<reference param>:<param>[:<modifier>]`. */
export interface HasKey {
  kind: 'has';
  source: string;
  ref: string;
  param: string;
  modifier: string;
}

/**
 * The parts of a parameter that searches another type (a chain or `_has`), or undefined for a plain one. The one
 * reading of these keys, for the conditions below, the lenient filter and the token's scope check.
 */
export function linkedKey(key: string): ChainKey | HasKey | undefined {
  if (key.startsWith('_has:')) {
    const [, source = '', ref = '', param = '', ...rest] = key.split(':');
    return { kind: 'has', source, ref, param, modifier: rest.join(':') };
  }
  const dot = key.indexOf('.');
  if (dot < 0) return undefined;
  const [ref = '', target] = key.slice(0, dot).split(':');
  return { kind: 'chain', ref, ...(target !== undefined ? { target } : {}), chained: key.slice(dot + 1) };
}

/** The other type `link` searches on a search of `type`, when it can be told (the `_has` source, the chain's target). */
export function linkedType(type: string, link: ChainKey | HasKey): string | undefined {
  if (link.kind === 'has') return link.source || undefined;
  if (link.target !== undefined) return link.target || undefined;
  const def = getParam(type, link.ref);
  return def?.type === 'reference' ? chainTarget(type, def) : undefined;
}

/**
 * The ids of the resources of `type` (its SQL parameter `typeP`) that match `def` with `modifier` and `value` and
 * that `scope` may read: the far end of a chain or of a `_has`. `key` is the whole parameter, for the messages.
 */
function visibleMatching(
  type: string,
  typeP: string,
  def: ParamDef,
  modifier: string,
  value: string,
  key: string,
  params: SqlParams,
  scope: AccessScope | undefined,
): string {
  if (modifier && (['missing', 'not'].includes(modifier) || !MODIFIERS[def.type].includes(modifier)))
    throw bad(`Search parameter '${key}' does not support the modifier ':${modifier}' in a chain`);
  const values = splitOr(value);
  if (values.length === 0) throw bad(`Search parameter '${key}' has no value`);
  const ors = values.map((v) => valueCondition(def, modifier, v, params));
  const stored = storedParam(def);
  const conds = [`s.resource_type = ${typeP}`, `s.param = ${params.add(stored.param)}`];
  if (stored.targets) conds.push(`s.system = ANY(${params.add(stored.targets)}::text[])`);
  conds.push(...rangeRows(def), ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`);
  const visible = [
    accessPredicate(scope, 'c', params, type, { perRow: true }),
    // a recipient's chain or _has on a protected identity's address never matches it (as a plain search)
    searchesProtectedElements(type, def) ? protectedElementsVisible(scope, 'c', params) : undefined,
  ].filter((c) => c !== undefined);
  return `SELECT s.resource_id FROM fhir_search s WHERE ${conds.join(' AND ')} AND EXISTS (SELECT 1 FROM fhir_resource c WHERE c.resource_type = s.resource_type AND c.id = s.resource_id AND NOT c.deleted${visible.map((v) => ` AND ${v}`).join('')})`;
}

/** The most links a chain may have (`Task?encounter.subject:Patient.organization.name=…` has three). */
export const MAX_CHAIN_LINKS = 3;

/** One link of a chain: the type it searches from, the link, and the type it leads to when that can be told. */
export interface ChainHop {
  from: string;
  link: ChainKey;
  to: string | undefined;
}

/** A chain's links in order (`Task?encounter.subject:Patient.name`: Task→Encounter, Encounter→Patient), up to one whose target cannot be told. */
export function* chainHops(type: string, link: ChainKey): Generator<ChainHop> {
  let from = type;
  let hop: ChainKey | HasKey | undefined = link;
  while (hop?.kind === 'chain') {
    const to = linkedType(from, hop);
    yield { from, link: hop, to };
    if (!to) return;
    from = to;
    hop = linkedKey(hop.chained);
  }
}

/** The types a chain searches, hop by hop (`Task?encounter.subject:Patient.name` → Encounter, Patient), as far as known. */
export function chainTypes(type: string, link: ChainKey): string[] {
  const out: string[] = [];
  for (const { to } of chainHops(type, link)) {
    if (!to || out.length >= MAX_CHAIN_LINKS) break;
    out.push(to);
  }
  return out;
}

/**
 * A chained parameter (`Task?patient.identifier=…|191212121212`, `Task?subject:Patient.name=tolvan`,
 * `Task?encounter.status=in-progress`, up to MAX_CHAIN_LINKS links: `Task?encounter.subject:Patient.name=…`): the
 * resources whose reference parameter points to a resource of the target type that matches the rest of the chain.
 * Every resource on the way must be one the caller may read (the same tenant rule as reading it), so a chain never
 * tells about a resource the caller could not see. Each target type comes from the `:Type` modifier or from the
 * parameter's only target type.
 */
export function chainCondition(
  type: string,
  typeP: string,
  key: string,
  link: ChainKey,
  value: string,
  params: SqlParams,
  scope: AccessScope | undefined,
  fromIndex: boolean,
): string {
  const ids = chainedIds(type, typeP, key, link, value, params, scope, 1);
  return fromIndex ? `r.id = ANY(ARRAY(${ids}))` : `r.id IN (${ids})`;
}

/** The ids of `type` resources whose reference `link.ref` leads to a readable match of the rest of the chain. */
function chainedIds(
  type: string,
  typeP: string,
  key: string,
  link: ChainKey,
  value: string,
  params: SqlParams,
  scope: AccessScope | undefined,
  links: number,
): string {
  const { ref: name, target: targetModifier, chained } = link;
  const def = getParam(type, name);
  if (!def) throw bad(`Unknown search parameter '${name}' for ${type} (see GET /fhir/metadata for the supported ones)`);
  if (def.type !== 'reference') throw bad(`Search parameter '${name}' is not a reference: it cannot be chained`);
  const target = targetModifier ?? chainTarget(type, def);
  if (!target) throw bad(`Search parameter '${key}': name the target type, e.g. '${name}:Patient.${chained}'`);
  if (def.targets && !def.targets.includes(target))
    throw bad(`Search parameter '${name}' does not point to ${target} (it points to ${def.targets.join(', ')})`);
  if (!isSupportedType(target)) throw bad(`Search parameter '${key}': ${target} is not a type the gateway stores`);
  const targetP = params.add(target);
  const next = linkedKey(chained);
  let targetIds: string;
  if (next?.kind === 'chain') {
    if (links >= MAX_CHAIN_LINKS)
      throw bad(`Search parameter '${key}': chains of more than ${MAX_CHAIN_LINKS} links are not supported`);
    const deeper = chainedIds(target, targetP, key, next, value, params, scope, links + 1);
    const visible = accessPredicate(scope, 'c', params, target, { perRow: true });
    targetIds = `SELECT c.id FROM fhir_resource c WHERE c.resource_type = ${targetP} AND NOT c.deleted AND c.id IN (${deeper})${visible ? ` AND ${visible}` : ''}`;
  } else {
    if (next) throw bad(`Search parameter '${key}': _has cannot be part of a chain`);
    const [chainedName = '', chainedModifier = ''] = chained.split(':');
    const tdef = getParam(target, chainedName);
    if (!tdef) throw bad(`Unknown search parameter '${chainedName}' for ${target} (in the chain '${key}')`);
    targetIds = visibleMatching(target, targetP, tdef, chainedModifier, value, key, params, scope);
  }
  const stored = storedParam(def);
  return `SELECT s.resource_id FROM fhir_search s WHERE s.resource_type = ${typeP} AND s.param = ${params.add(stored.param)} AND s.system = ${targetP} AND s.value IN (${targetIds})`;
}

/**
 * A reverse chain, one level (`_has:<Type>:<reference param>:<param>=value`): the resources that a resource of
 * `<Type>` matching `<param>` points to with `<reference param>`, e.g. `Encounter?_has:Task:encounter:status=rejected`
 * (stays with a rejected Task) or `Patient?_has:Task:patient:owner=Organization/<id>`. Only resources the caller may
 * read count as pointing (the same tenant rule as reading them).
 */
export function hasCondition(
  type: string,
  key: string,
  link: HasKey,
  value: string,
  params: SqlParams,
  scope: AccessScope | undefined,
  fromIndex: boolean,
): string {
  const { source, ref: refName, param: paramKey, modifier } = link;
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
  const def = getParam(source, paramKey);
  if (!def) throw bad(`Unknown search parameter '${paramKey}' for ${source} (in '${key}')`);
  const sourceP = params.add(source);
  const sources = visibleMatching(source, sourceP, def, modifier, value, key, params, scope);
  const ids = `SELECT s.value FROM fhir_search s WHERE s.resource_type = ${sourceP} AND s.param = ${params.add(refStored.param)} AND s.system = ${params.add(type)} AND s.resource_id IN (${sources})`;
  return fromIndex ? `r.id = ANY(ARRAY(${ids}))` : `r.id IN (${ids})`;
}
