/**
 * A cheap, conservative test run before `matchesSearchRequest` (@medplum/core), which evaluates each filter's
 * FHIRPath expression from its text on every call: with one subscription per municipality and vårdcentral, most
 * (change, subscription) pairs cannot match, and each of them cost a parse and an evaluation.
 *
 * The test says "cannot match" only when it is sure: for a filter `param=value` (no modifier) on a token or
 * reference parameter whose expression is a plain path, a match needs the filter's code or id to be one of the
 * resource's own values (a token's code, system or text is a whole string of the resource; a reference's last
 * segment is the last segment of a string of the resource, or a resource id). Every other filter (dates,
 * strings, modifiers, chains, values with other characters) is left to @medplum/core, which decides every pair
 * this test lets through.
 */
import { getSearchParameter, Operator, type Filter, type SearchRequest } from '@medplum/core';

/** Per filter of a request: the needles any one of which the resource must hold; undefined: no test. */
type Needles = readonly (readonly string[])[];

const SAFE_TOKEN = /^[A-Za-z0-9\-._:/|]+$/;
const SAFE_REFERENCE = /^(?:[A-Za-z]+\/)?[A-Za-z0-9\-.]+$/;
/** A search parameter expression that only navigates (no function that makes new strings). */
const NAVIGATION = /^[A-Za-z0-9.| ]+$/;
const NAVIGATION_FUNCTIONS = /\.where\(resolve\(\) is [A-Za-z]+\)|\.(?:as|ofType)\([A-Za-z]+\)| as [A-Za-z]+/g;

const plainPath = new Map<string, string | undefined>();

/** The parameter's type when its expression only navigates the resource; else undefined. */
function plainParamType(resourceType: string, code: string): string | undefined {
  const key = `${resourceType}.${code}`;
  if (plainPath.has(key)) return plainPath.get(key);
  const sp = getSearchParameter(resourceType, code);
  const expression = sp?.expression?.replace(NAVIGATION_FUNCTIONS, '');
  const type =
    expression !== undefined && NAVIGATION.test(expression) && (sp?.type === 'token' || sp?.type === 'reference')
      ? sp.type
      : undefined;
  plainPath.set(key, type);
  return type;
}

const lastSegment = (s: string): string => s.slice(s.lastIndexOf('/') + 1);

/** The needles of one filter, or undefined when this filter is not tested here. */
function filterNeedles(resourceType: string, f: Filter): string[] | undefined {
  if (f.operator !== Operator.EQUALS || f.code.startsWith('_compartment') || !f.value || f.value.includes('\\'))
    return undefined;
  const type = plainParamType(resourceType, f.code);
  if (!type) return undefined;
  const needles: string[] = [];
  for (const piece of f.value.split(',')) {
    if (type === 'reference') {
      if (!SAFE_REFERENCE.test(piece)) return undefined;
      needles.push(lastSegment(piece).toLowerCase());
    } else {
      if (!SAFE_TOKEN.test(piece)) return undefined;
      const bar = piece.indexOf('|');
      if (bar < 0) needles.push(piece.toLowerCase());
      else {
        const [system, code] = piece.split('|');
        const needle = code || system;
        // `|` alone matches nothing in @medplum/core: leave it to it.
        if (!needle) return undefined;
        needles.push(needle.toLowerCase());
      }
    }
  }
  return needles;
}

const needlesOf = new WeakMap<SearchRequest, Needles>();

function requestNeedles(sr: SearchRequest): Needles {
  let needles = needlesOf.get(sr);
  if (!needles) {
    needles = (sr.filters ?? [])
      .map((f) => filterNeedles(sr.resourceType, f))
      .filter((n): n is string[] => n !== undefined);
    needlesOf.set(sr, needles);
  }
  return needles;
}

/** The resource's values as the test compares them: every string, number and boolean, lower-cased. */
export function focusValues(resource: unknown): ReadonlySet<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const s = v.toLowerCase();
      out.add(s);
      if (s.includes('/')) out.add(lastSegment(s));
    } else if (typeof v === 'number' || typeof v === 'boolean') out.add(String(v).toLowerCase());
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(resource);
  return out;
}

/** False when the resource (its `focusValues`) cannot match the request; true when it may. */
export function mayMatch(values: ReadonlySet<string>, sr: SearchRequest): boolean {
  for (const anyOf of requestNeedles(sr)) if (!anyOf.some((n) => values.has(n))) return false;
  return true;
}

/** Items (subscriptions) found by the values a resource must hold to match them, in their given order. */
export interface CandidateIndex<T> {
  /** Whether any item is about this resource type. */
  has(resourceType: string): boolean;
  /** The items about this type that a resource with these values may match (see `mayMatch`), in order. */
  candidates(resourceType: string, values: ReadonlySet<string>): T[];
}

/**
 * Indexes items by the needles of their request's first tested filter, so a change is tested against the few
 * items it may match rather than all of them (a region's or a nation's subscribers). `requestOf` undefined: the
 * item is a candidate for every change of its type.
 */
export function indexByNeedle<T>(
  items: readonly T[],
  typeOf: (item: T) => string,
  requestOf: (item: T) => SearchRequest | undefined,
): CandidateIndex<T> {
  const byNeedle = new Map<string, number[]>();
  const always = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, key: string, i: number) => {
    const list = map.get(key);
    if (list) list.push(i);
    else map.set(key, [i]);
  };
  const types = new Set<string>();
  items.forEach((item, i) => {
    const type = typeOf(item);
    types.add(type);
    const request = requestOf(item);
    const first = request ? requestNeedles(request)[0] : undefined;
    if (!first) return add(always, type, i);
    for (const needle of new Set(first)) add(byNeedle, `${type}\u0000${needle}`, i);
  });
  return {
    has: (resourceType) => types.has(resourceType),
    candidates(resourceType, values) {
      const found = [...(always.get(resourceType) ?? [])];
      for (const v of values) {
        const list = byNeedle.get(`${resourceType}\u0000${v}`);
        if (list) for (const i of list) found.push(i);
      }
      // In the items' order, each once (an item may be found through more than one of its needles).
      found.sort((a, b) => a - b);
      return found.filter((i, k) => k === 0 || found[k - 1] !== i).map((i) => items[i]!);
    },
  };
}
