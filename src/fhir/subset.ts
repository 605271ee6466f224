/**
 * `_elements` and `_summary` (FHIR R4 search result parameters, also on read): the client asks for part of each
 * resource. Pure: the element lists come from the loaded R4 definitions (`@medplum/core`'s type schema, indexed
 * when the validator starts).
 *
 * What is kept: `resourceType`, `id` and `meta` always; the type's mandatory elements always (FHIR: servers SHOULD
 * return them whether asked or not); then the asked elements (`_elements=status,owner`), the summary elements
 * (`_summary=true`), `text` (`_summary=text`) or everything but `text` (`_summary=data`). A choice element is asked
 * by its name without the type (`deceased` keeps `deceasedBoolean`), and a primitive's `_name` sibling comes with
 * it. The answer carries the `SUBSETTED` tag in `meta.tag`, so nobody stores it back as if it were whole.
 */
import { tryGetDataType } from '@medplum/core';
import type { Coding, Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';

export interface Subset {
  readonly kind: 'elements' | 'summary' | 'text' | 'data';
  /** For `elements`: the names asked. */
  readonly elements?: readonly string[];
}

export const SUBSETTED: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
};

const ALWAYS = new Set(['resourceType', 'id', 'meta']);
const NAME = /^[a-z][A-Za-z0-9]{0,63}$/;

type Params = Record<string, string | string[] | undefined>;
const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const namesByType = new Map<string, { all: Set<string>; choices: string[] }>();

/**
 * The type's element names (choice elements without `[x]`), or undefined when its definition is not loaded.
 * Kept per type: a page of a search cuts up to 1 000 resources of one type.
 */
function elementNames(type: string): { all: Set<string>; choices: string[] } | undefined {
  const cached = namesByType.get(type);
  if (cached) return cached;
  const schema = tryGetDataType(type);
  if (!schema) return undefined;
  const keys = Object.keys(schema.elements);
  const names = {
    all: new Set(keys.map((k) => k.replace('[x]', ''))),
    choices: keys.filter((k) => k.endsWith('[x]')).map((k) => k.slice(0, -3)),
  };
  namesByType.set(type, names);
  return names;
}

/**
 * The subset `params` ask for on `type`, or undefined for the whole resource (`_summary=false`, `_summary=count`,
 * neither given). A value that cannot be understood is a 400 naming it.
 */
export function subsetOf(type: string, params: Params): Subset | undefined {
  const summary = values(params._summary);
  const asked = values(params._elements)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (summary.length > 1) throw new GatewayError('bad-request', '_summary is given more than once');
  const mode = summary[0];
  if (mode !== undefined && !['true', 'text', 'data', 'false', 'count'].includes(mode))
    throw new GatewayError(
      'bad-request',
      `_summary must be true, text, data, count or false, not '${mode.slice(0, 40)}'`,
    );
  const partial = mode === 'true' || mode === 'text' || mode === 'data';
  if (params._elements !== undefined && partial)
    throw new GatewayError('bad-request', `_elements and _summary=${mode} ask for two different subsets: use one`);
  if (mode === 'true') return { kind: 'summary' };
  if (mode === 'text' || mode === 'data') return { kind: mode };
  if (params._elements === undefined || mode === 'count') return undefined;
  if (asked.length === 0)
    throw new GatewayError('bad-request', '_elements names no element (e.g. _elements=status,owner)');
  const known = elementNames(type);
  for (const name of asked) {
    if (!NAME.test(name) || (known && !known.all.has(name)))
      throw new GatewayError(
        'bad-request',
        `_elements: '${name.slice(0, 64)}' is not an element of ${type} (top-level element names, comma-separated)`,
      );
  }
  return { kind: 'elements', elements: [...new Set(asked)] };
}

/** `resource` cut to `subset` (a new object; nested values are shared), tagged SUBSETTED. */
export function applySubset<T extends Resource>(resource: T, subset: Subset): T {
  const schema = tryGetDataType(resource.resourceType);
  const known = elementNames(resource.resourceType);
  const keep = new Set<string>(schema?.mandatoryProperties ?? []);
  if (subset.kind === 'elements') for (const e of subset.elements ?? []) keep.add(e);
  if (subset.kind === 'summary') for (const e of schema?.summaryProperties ?? []) keep.add(e);
  if (subset.kind === 'text') keep.add('text');
  const kept = (key: string): boolean => {
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (ALWAYS.has(name)) return true;
    if (subset.kind === 'data') return name !== 'text';
    if (keep.has(name)) return true;
    // a choice element's value is named with its type (deceasedBoolean for deceased[x])
    return (known?.choices ?? []).some(
      (c) => keep.has(c) && name.length > c.length && name.startsWith(c) && /[A-Z]/.test(name.charAt(c.length)),
    );
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (kept(k)) out[k] = v;
  const tags = (resource.meta?.tag ?? []).filter((t) => !(t.system === SUBSETTED.system && t.code === SUBSETTED.code));
  out.meta = { ...resource.meta, tag: [...tags, SUBSETTED] };
  return out as T;
}

/**
 * An answer cut to `subset` when one was asked: a read's resource, a searchset's matches (its included resources
 * and outcome stay whole), or every version of a history.
 */
export function subsetAnswer<T extends Resource>(answer: T, subset: Subset | undefined): T {
  if (!subset || answer.resourceType === 'OperationOutcome') return answer;
  if (answer.resourceType !== 'Bundle') return applySubset(answer, subset);
  return {
    ...answer,
    entry: answer.entry?.map((e) =>
      (e.search?.mode === 'match' || answer.type === 'history') && e.resource
        ? { ...e, resource: applySubset(e.resource, subset) }
        : e,
    ),
  };
}
