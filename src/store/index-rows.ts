import type { Resource } from '@medplum/fhirtypes';
import { OWNER_STATUS, SEARCH_PARAMS, type ParamDef } from './search-params';

/** The search index rows of one resource version, column-wise (inserted with one `unnest`). */
export interface IndexColumns {
  param: string[];
  system: (string | null)[];
  value: (string | null)[];
  lo: (string | null)[];
  hi: (string | null)[];
}

const pathKeys = new Map<string, string[]>();

const keysOf = (path: string): string[] => {
  let keys = pathKeys.get(path);
  if (!keys) pathKeys.set(path, (keys = path.split('.')));
  return keys;
};

const REF = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** `Patient/123`, `https://x/fhir/Patient/123`, `Patient/123/_history/2` → ['Patient', '123']. */
export function parseReference(ref: string): [string, string] | undefined {
  const m = REF.exec(ref);
  return m ? [m[1] as string, m[2] as string] : undefined;
}

/** Lower case, accents removed (FHIR string search is case and accent insensitive). */
export function normalizeString(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .trim();
}

/** `dateRange` without the cache. */
function computeDateRange(text: string): [string, string] | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(
    text,
  );
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  // a month, day or time of day that does not exist (2026-13-45, 2026-02-30, 25:00) is not a date
  const days = mo ? new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate() : 31;
  if (mo && (Number(mo) < 1 || Number(mo) > 12)) return undefined;
  if (d && (Number(d) < 1 || Number(d) > days)) return undefined;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59)) return undefined;
  if (tz && tz !== 'Z' && (Number(tz.slice(1, 3)) > 14 || Number(tz.slice(4, 6)) > 59)) return undefined;
  if (h === undefined) {
    // date precision: interpreted in UTC (the gateway stores instants in UTC)
    const start = Date.UTC(Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1);
    const end = mo ? (d ? start + 86_400_000 : Date.UTC(Number(y), Number(mo), 1)) : Date.UTC(Number(y) + 1, 0, 1);
    return [new Date(start).toISOString(), new Date(end - 1).toISOString()];
  }
  const base = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${frac ?? ''}${tz ?? 'Z'}`;
  const t = Date.parse(base);
  if (Number.isNaN(t)) return undefined;
  const width = s === undefined ? 60_000 : frac ? 1 : 1000;
  // sub-millisecond fractions collapse to the millisecond
  return [new Date(t).toISOString(), new Date(t + width - 1).toISOString()];
}

// Many resources of a stay carry the same instants (admission time, deadlines): a small cache of ranges.
const rangeCache = new Map<string, [string, string] | undefined>();

/**
 * The instant range a FHIR date/dateTime/instant covers, at its precision: `2026-03` → the whole month.
 * Returns ISO strings, or undefined when the text is not a date.
 */
export function dateRange(text: string): [string, string] | undefined {
  if (rangeCache.has(text)) return rangeCache.get(text);
  const r = computeDateRange(text);
  if (rangeCache.size >= 4096) rangeCache.clear();
  rangeCache.set(text, r);
  return r;
}

/** Adds one row to the columns. */
function add(
  cols: IndexColumns,
  param: string,
  system: string | null,
  value: string | null,
  lo: string | null,
  hi: string | null,
): void {
  cols.param.push(param);
  cols.system.push(system);
  cols.value.push(value);
  cols.lo.push(lo);
  cols.hi.push(hi);
}

function tokenRows(name: string, v: unknown, out: IndexColumns): void {
  if (typeof v === 'string') add(out, name, null, v, null, null);
  else if (typeof v === 'boolean' || typeof v === 'number') add(out, name, null, String(v), null, null);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.coding)) for (const c of o.coding as unknown[]) tokenRows(name, c, out);
    else if (typeof o.code === 'string')
      add(out, name, typeof o.system === 'string' ? o.system : null, o.code, null, null);
    else if (typeof o.value === 'string')
      add(out, name, typeof o.system === 'string' ? o.system : null, o.value, null, null);
  }
}

function stringRows(name: string, v: unknown, out: IndexColumns): void {
  if (typeof v === 'string') add(out, name, null, normalizeString(v), null, null);
  else if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'use' || k === 'type' || k === 'period' || k === 'extension' || k === 'id') continue;
      if (typeof child === 'string') add(out, name, null, normalizeString(child), null, null);
      else if (Array.isArray(child))
        for (const c of child) if (typeof c === 'string') add(out, name, null, normalizeString(c), null, null);
    }
  }
}

function dateRows(name: string, v: unknown, out: IndexColumns): void {
  if (typeof v === 'string') {
    const r = dateRange(v);
    if (r) add(out, name, null, null, r[0], r[1]);
  } else if (v && typeof v === 'object') {
    const { start, end } = v as { start?: string; end?: string };
    const lo = start ? dateRange(start)?.[0] : undefined;
    const hi = end ? dateRange(end)?.[1] : undefined;
    if (lo || hi) add(out, name, null, null, lo ?? '-infinity', hi ?? 'infinity');
  }
}

// The versions of a stay's resources carry the same references (its Patient, Encounter, organisations, Tasks): a
// small cache of parsed ones. Each parse allocated a match array, its texts and a tuple: ≈ 4 % of what the gateway
// allocated per HL7 message (2026-12-07). Shared tuples: only `referenceRows` reads them.
const referenceCache = new Map<string, readonly [string, string] | undefined>();

function referenceParts(ref: string): readonly [string, string] | undefined {
  let parts = referenceCache.get(ref);
  if (parts === undefined && !referenceCache.has(ref)) {
    parts = parseReference(ref);
    if (referenceCache.size >= 4096) referenceCache.clear();
    referenceCache.set(ref, parts);
  }
  return parts;
}

function referenceRows(def: ParamDef, v: unknown, out: IndexColumns): void {
  const ref = (v as { reference?: unknown } | null)?.reference;
  if (typeof ref !== 'string') return;
  const parsed = referenceParts(ref);
  if (!parsed) return;
  if (def.targets && !def.targets.includes(parsed[0])) return;
  add(out, def.name, parsed[0], parsed[1], null, null);
}

/** Index rows for every supported search parameter of `resource`. */
export function indexRows(resource: Resource): IndexColumns {
  const cols: IndexColumns = { param: [], system: [], value: [], lo: [], hi: [] };
  appendIndexRows(resource, cols);
  return cols;
}

/**
 * `indexRows` added to the end of `cols` (which may already hold other versions' rows): the batch write collects
 * every version's rows in its own columns, without a set of columns and a row array per version.
 */
export function appendIndexRows(resource: Resource, cols: IndexColumns): void {
  const first = cols.param.length;
  for (const def of SEARCH_PARAMS[resource.resourceType] ?? []) {
    if (def.indexAs) continue; // its values are the rows of the parameter it aliases
    const from = cols.param.length;
    for (const path of def.paths) visit(resource, keysOf(path), 0, def, cols);
    // duplicates can only come from one parameter's own values (most give one row)
    if (cols.param.length - from > 1) dropRepeats(cols, from);
  }
  if (resource.resourceType === 'Task') ownerStatusRows(cols, first);
}

/**
 * The rows of the parameters named `names` of `resource` alone, as `indexRows` gives them (repeats left in): for a
 * check that reads a few parameters of a version before the write indexes all of them (`write-targets.ts`).
 */
export function namedIndexRows(resource: Resource, names: readonly string[]): IndexColumns {
  const cols: IndexColumns = { param: [], system: [], value: [], lo: [], hi: [] };
  for (const def of SEARCH_PARAMS[resource.resourceType] ?? [])
    if (!def.indexAs && names.includes(def.name))
      for (const path of def.paths) visit(resource, keysOf(path), 0, def, cols);
  return cols;
}

/**
 * Adds the rows of `def` for each value at `keys[i..]` below `v` (arrays flattened at every step), as the walk
 * reaches it, depth first: no array of the values or per step, which were most of what indexing a version allocated.
 */
function visit(v: unknown, keys: readonly string[], i: number, def: ParamDef, cols: IndexColumns): void {
  if (i === keys.length) {
    rowsOf(def, v, cols);
    return;
  }
  if (v == null || typeof v !== 'object') return;
  const child = (v as Record<string, unknown>)[keys[i] as string];
  if (child == null) return;
  if (Array.isArray(child)) for (const c of child as unknown[]) visit(c, keys, i + 1, def, cols);
  else visit(child, keys, i + 1, def, cols);
}

/** The rows of one value of `def`. */
function rowsOf(def: ParamDef, v: unknown, cols: IndexColumns): void {
  switch (def.type) {
    case 'token':
      tokenRows(def.name, v, cols);
      break;
    case 'string':
      stringRows(def.name, v, cols);
      break;
    case 'date':
      dateRows(def.name, v, cols);
      break;
    case 'reference':
      referenceRows(def, v, cols);
      break;
    case 'uri':
      if (typeof v === 'string') add(cols, def.name, null, v, null, null);
      break;
  }
}

/** Removes the rows from `from` on that repeat an earlier one of them (the first of each is kept, in order). */
function dropRepeats(cols: IndexColumns, from: number): void {
  const seen = new Set<string>();
  let to = from;
  for (let r = from; r < cols.param.length; r++) {
    const key = `${cols.system[r] ?? ''}\u0000${cols.value[r] ?? ''}\u0000${cols.lo[r] ?? ''}\u0000${cols.hi[r] ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (to !== r) {
      cols.param[to] = cols.param[r] as string;
      cols.system[to] = cols.system[r] ?? null;
      cols.value[to] = cols.value[r] ?? null;
      cols.lo[to] = cols.lo[r] ?? null;
      cols.hi[to] = cols.hi[r] ?? null;
    }
    to++;
  }
  cols.param.length = to;
  cols.system.length = to;
  cols.value.length = to;
  cols.lo.length = to;
  cols.hi.length = to;
}

/** A Task's (owner, status) key (`OWNER_STATUS`), from its `owner` and `status` rows: one row, when it has both. */
function ownerStatusRows(cols: IndexColumns, first: number): void {
  const n = cols.param.length;
  for (let o = first; o < n; o++) {
    if (cols.param[o] !== 'owner') continue;
    for (let s = first; s < n; s++) {
      if (cols.param[s] !== 'status' || cols.system[s] !== null) continue;
      cols.param.push(OWNER_STATUS);
      cols.system.push(cols.system[o] ?? null);
      cols.value.push(`${cols.value[o] ?? ''}|${cols.value[s] ?? ''}`);
      cols.lo.push(null);
      cols.hi.push(null);
    }
  }
}
