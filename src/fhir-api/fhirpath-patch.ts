/**
 * FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html): a `Parameters` resource whose `operation` parameters
 * (parts `type`, `path`, `name`, `value`, `index`, `source`, `destination`) change a resource in order. It comes as
 * the body of `PATCH /fhir/<type>/<id>` (`Content-Type: application/fhir+json` or `application/json`) or as the
 * `resource` of a Bundle's PATCH entry, and is applied (like a JSON Patch, `json-patch.ts`) to the version the store
 * holds locked:
 *   { "resourceType": "Parameters", "parameter": [{ "name": "operation", "part": [
 *     { "name": "type", "valueCode": "replace" }, { "name": "path", "valueString": "Task.status" },
 *     { "name": "value", "valueCode": "received" } ] }] }
 *
 * Paths are evaluated with @medplum/core's FHIRPath, which answers values, not locations. The element a path selects
 * is found by splitting it into the expression of its parents and its last element name with optional filters
 * (`Task.note[1]`, `Task.note.where(text = 'x')`, `Task.input.first()`, `Patient.extension('url')`): the parents are
 * evaluated (FHIRPath returns the resource's own objects), and a selected object is found among the parents' values
 * of that name by identity, a selected primitive by its position (no filter, `[n]`, `first()`, `last()`) or, after
 * another filter, by its value when only one of them has it.
 */
import {
  evalFhirPathTyped,
  parseFhirPath,
  toTypedValue,
  tryGetDataType,
  type InternalSchemaElement,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { assertSameResource } from './json-patch';

export type FhirPathPatchType = 'add' | 'insert' | 'delete' | 'replace' | 'move';
const TYPES: readonly string[] = ['add', 'insert', 'delete', 'replace', 'move'];

export interface FhirPathPatchOperation {
  type: FhirPathPatchType;
  path: string;
  name?: string;
  /** The value part (value[x] or nested parts), built when applied (its type depends on where it goes). */
  value?: ParametersParameter;
  index?: number;
  source?: number;
  destination?: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_OPERATIONS = 1000;
const MAX_DEPTH = 20;
/** A FHIR element's JSON name (and never `__proto__` or `constructor`: the names become properties). */
const ELEMENT_NAME = /^[a-z][A-Za-z0-9]*$/;

/** The value[x] of a parameter or part: its property name (`valueCode`) and value, if it has one. */
function valueX(p: ParametersParameter): [string, unknown] | undefined {
  const key = Object.keys(p).find((k) => /^value[A-Z]/.test(k));
  return key ? [key, (p as unknown as Json)[key]] : undefined;
}

/** The operations of a FHIRPath Patch, or a 400 naming the operation and what is wrong with it. */
export function parseFhirPathPatch(body: unknown): FhirPathPatchOperation[] {
  const bad = (message: string) => new GatewayError('bad-request', `The FHIRPath Patch is not valid: ${message}`);
  if (!isObject(body) || body.resourceType !== 'Parameters')
    throw bad(`a Parameters resource is expected, not ${isObject(body) ? String(body.resourceType) : 'this body'}`);
  const params = (body as unknown as Parameters).parameter;
  if (!Array.isArray(params) || params.length === 0) throw bad('it has no operation parameter');
  if (params.length > MAX_OPERATIONS) throw bad(`more than ${MAX_OPERATIONS} operations`);
  return params.map((param, i) => {
    const at = `operation ${i}`;
    if (!isObject(param) || param.name !== 'operation')
      throw bad(`parameter ${i} is '${isObject(param) ? String(param.name) : '?'}', not 'operation'`);
    const parts = Array.isArray(param.part) ? param.part : [];
    const named = (name: string) => {
      const found = parts.filter((p) => isObject(p) && p.name === name);
      if (found.length > 1) throw bad(`${at} has ${found.length} '${name}' parts`);
      return found[0];
    };
    const known = ['type', 'path', 'name', 'value', 'index', 'source', 'destination'];
    const unknown = parts.find((p) => !isObject(p) || !known.includes(String(p.name)));
    if (unknown) throw bad(`${at} has an unknown part '${isObject(unknown) ? String(unknown.name) : '?'}'`);
    const text = (name: string, x: string[]): string | undefined => {
      const p = named(name);
      if (!p) return undefined;
      const v = valueX(p);
      if (!v || !x.includes(v[0]) || typeof v[1] !== 'string' || v[1] === '')
        throw bad(`${at}: its '${name}' part needs ${x.join(' or ')}`);
      return v[1];
    };
    const int = (name: string): number | undefined => {
      const p = named(name);
      if (!p) return undefined;
      const v = valueX(p);
      if (!v || !Number.isInteger(v[1]) || (v[1] as number) < 0)
        throw bad(`${at}: its '${name}' part needs a valueInteger of 0 or more`);
      return v[1] as number;
    };
    const type = text('type', ['valueCode', 'valueString']);
    if (!type) throw bad(`${at} has no type (add, insert, delete, replace or move)`);
    if (!TYPES.includes(type)) throw bad(`${at} has the unknown type '${type}' (add, insert, delete, replace or move)`);
    const path = text('path', ['valueString']);
    if (!path) throw bad(`${at} (${type}) has no path`);
    if (path.length > 1000) throw bad(`${at} (${type}): its path is longer than 1000 characters`);
    try {
      parseFhirPath(path);
    } catch (e) {
      throw bad(`${at} (${type} '${path}'): the path is not FHIRPath: ${e instanceof Error ? e.message : String(e)}`);
    }
    const op: FhirPathPatchOperation = { type: type as FhirPathPatchType, path };
    const name = text('name', ['valueString', 'valueCode']);
    if (name !== undefined && !ELEMENT_NAME.test(name))
      throw bad(`${at} (${type} '${path}'): '${name}' is not an element name`);
    if (name !== undefined) op.name = name;
    const value = named('value');
    if (value) op.value = value;
    for (const k of ['index', 'source', 'destination'] as const) {
      const n = int(k);
      if (n !== undefined) op[k] = n;
    }
    const needs: Record<FhirPathPatchType, (keyof FhirPathPatchOperation)[]> = {
      add: ['name', 'value'],
      insert: ['value', 'index'],
      delete: [],
      replace: ['value'],
      move: ['source', 'destination'],
    };
    const missing = needs[op.type].filter((k) => op[k] === undefined);
    if (missing.length)
      throw bad(`${at} (${type} '${path}') needs ${missing.map((k) => `a '${k}' part`).join(' and ')}`);
    if (op.value && !valueX(op.value) && !Array.isArray(op.value.part))
      throw bad(`${at} (${type} '${path}'): its value part has neither a value[x] nor parts`);
    return op;
  });
}

// ---- the schema (the R4 definitions the validator indexed), when it knows the type --------------------------------

function schemaOf(type: string | undefined): InternalTypeSchema | undefined {
  if (!type) return undefined;
  try {
    return tryGetDataType(type);
  } catch {
    return undefined;
  }
}

/** The element `name` of `type`: its definition and its JSON property (a choice `value[x]` named by its type). */
function elementOf(
  type: string | undefined,
  name: string,
  valueType?: string,
): { def?: InternalSchemaElement; key: string } {
  const schema = schemaOf(type);
  if (!schema) return { key: name };
  const def = Object.hasOwn(schema.elements, name) ? schema.elements[name] : undefined;
  if (def) return { def, key: name };
  const choice = Object.hasOwn(schema.elements, `${name}[x]`) ? schema.elements[`${name}[x]`] : undefined;
  if (choice) return { def: choice, key: valueType ? `${name}${valueType}` : name };
  // a choice named by its property (`valueQuantity`)
  const prefix = Object.keys(schema.elements).find(
    (k) => k.endsWith('[x]') && name.startsWith(k.slice(0, -3)) && /^[A-Z]/.test(name.slice(k.length - 3)),
  );
  return prefix ? { def: schema.elements[prefix], key: name } : { key: name };
}

/** The type of an element's values: a data type, or the backbone element's inner type. */
function typeOfElement(def: InternalSchemaElement | undefined, key: string): string | undefined {
  if (!def) return undefined;
  const codes = def.type.map((t) => t.code);
  if (codes.length === 1) {
    const code = codes[0]!;
    return code === 'BackboneElement' || code === 'Element' ? def.path : code;
  }
  return codes.find((c) => key.endsWith(c[0]!.toUpperCase() + c.slice(1)));
}

/**
 * The JSON of a value part: its value[x], or an object built from its parts (repeated names, or names the
 * element's type says repeat, become arrays), naming the element type it fills when the schema knows it.
 */
function buildValue(part: ParametersParameter, type: string | undefined, where: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new GatewayError('bad-request', `${where}: the value is nested too deep`);
  const x = valueX(part);
  if (x) return x[1];
  if (part.resource) return part.resource;
  const out: Json = {};
  const counts = new Map<string, number>();
  for (const p of part.part ?? []) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  for (const p of part.part ?? []) {
    if (!p.name || !ELEMENT_NAME.test(p.name))
      throw new GatewayError('bad-request', `${where}: a part of the value is named '${p.name ?? ''}', not an element`);
    const px = valueX(p);
    const { def, key } = elementOf(type, p.name, px ? px[0].slice('value'.length) : undefined);
    const v = buildValue(p, typeOfElement(def, key), where, depth + 1);
    if (def?.isArray || (counts.get(p.name) ?? 0) > 1) {
      const list = (out[key] ??= []) as unknown[];
      list.push(v);
    } else out[key] = v;
  }
  return out;
}

// ---- locating what a path selects ----------------------------------------------------------------------------------

/** The top-level segments of a FHIRPath (split at dots outside brackets, parentheses and strings). */
function segments(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '.' && depth === 0) {
      out.push(path.slice(start, i));
      start = i + 1;
    }
  }
  out.push(path.slice(start));
  return out.map((s) => s.trim());
}

interface Split {
  parent: string;
  /** The element name the path ends with. */
  name: string;
  /** The filters after it (`[n]`, `first()`, `where(...)`): the text, or undefined when none. */
  filter?: string;
}

/** `Task.note.where(text='x')` → parent `Task`, name `note`, filter `where(text='x')`. */
function splitPath(path: string): Split | undefined {
  const segs = segments(path);
  for (let i = segs.length - 1; i >= 0; i--) {
    const seg = segs[i]!;
    const m = /^`?([A-Za-z_][A-Za-z0-9_]*)`?((?:\[\s*\d+\s*\])*)$/.exec(seg);
    const ext = /^(extension|modifierExtension)\((.*)\)$/.exec(seg);
    if (!m && !ext) continue;
    const rest = segs.slice(i + 1);
    const filters = [...(m?.[2] ? [m[2]] : []), ...(ext ? [`where(url = ${ext[2]!})`] : []), ...rest];
    const split: Split = { parent: segs.slice(0, i).join('.'), name: m ? m[1]! : ext![1]! };
    if (filters.length) split.filter = filters.join('.');
    return split;
  }
  return undefined;
}

interface Location {
  node: Json;
  key: string;
  /** The position in node[key] when it is a list. */
  index?: number;
  value: unknown;
  /** The element's definition in node's type, if known. */
  def?: InternalSchemaElement;
}

const evaluate = (expr: string, root: TypedValue): TypedValue[] => (expr ? evalFhirPathTyped(expr, [root]) : [root]);

/** The properties of `node` that hold the element `name` (`value` → `valueString` for a choice). */
function keysOf(node: Json, type: string | undefined, name: string): { key: string; def?: InternalSchemaElement }[] {
  const { def, key } = elementOf(type, name);
  if (def?.path.endsWith('[x]') && key === name)
    return Object.keys(node)
      .filter((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)))
      .map((k) => ({ key: k, def }));
  return Object.hasOwn(node, key) ? [def ? { key, def } : { key }] : [];
}

/** Every place the element of a split path could be: the parents' values of that name, in FHIRPath order. */
function candidates(root: TypedValue, split: Split): Location[] {
  const out: Location[] = [];
  for (const p of evaluate(split.parent, root)) {
    if (!isObject(p.value)) continue;
    for (const { key, def } of keysOf(p.value, p.type, split.name)) {
      const v = p.value[key];
      const base = def ? { node: p.value, key, def } : { node: p.value, key };
      if (Array.isArray(v)) v.forEach((value, index) => out.push({ ...base, index, value }));
      else if (v !== undefined) out.push({ ...base, value: v });
    }
  }
  return out;
}

/** Where each value a path selects sits, or a 422 when that cannot be told. */
function locate(root: TypedValue, path: string, fail: (m: string) => GatewayError): Location[] {
  const selected = evaluate(path, root).map((t): unknown => t.value);
  if (selected.length === 0) return [];
  const split = splitPath(path);
  if (!split) throw fail('the path selects no element of the resource (it needs the form Type.element…)');
  const all = candidates(root, split);
  const index = split.filter ? /^\[\s*(\d+)\s*\]$/.exec(split.filter) : undefined;
  return selected.map((value, n) => {
    if (typeof value === 'object' && value !== null) {
      const found = all.find((c) => c.value === value);
      if (found) return found;
    } else if (split.filter === undefined && all[n]?.value === value) return all[n]!;
    else if (index && selected.length === 1 && all[Number(index[1])]?.value === value) return all[Number(index[1])]!;
    else if (split.filter === 'first()' && all[0]?.value === value) return all[0]!;
    else if (split.filter === 'last()' && all.at(-1)?.value === value) return all.at(-1)!;
    else {
      const same = all.filter((c) => c.value === value);
      if (same.length === 1) return same[0]!;
    }
    throw fail('the element it selects cannot be located in the resource (use a path ending in an element name)');
  });
}

/** The one object a path selects (add), or a 422. */
function single(root: TypedValue, path: string, fail: (m: string) => GatewayError): TypedValue {
  const found = evaluate(path, root);
  if (found.length !== 1) throw fail(`the path selects ${found.length} elements, not exactly one`);
  return found[0]!;
}

/** The list a path names (insert, move): its parent and the property, for a path ending in an element name. */
function listAt(
  root: TypedValue,
  path: string,
  fail: (m: string) => GatewayError,
): { node: Json; key: string; list: unknown[]; def?: InternalSchemaElement; type?: string } {
  const split = splitPath(path);
  if (!split || split.filter !== undefined) throw fail('the path must end in the name of a list element');
  const parents = evaluate(split.parent, root).filter((p) => isObject(p.value));
  if (parents.length !== 1)
    throw fail(`the path's parent '${split.parent}' selects ${parents.length} elements, not one`);
  const parent = parents[0]!;
  const node = parent.value as Json;
  const { def, key } = elementOf(parent.type, split.name);
  if (def && !def.isArray) throw fail(`${split.name} is not a list`);
  const list = node[key] ?? [];
  if (!Array.isArray(list)) throw fail(`${split.name} is not a list`);
  const type = typeOfElement(def, key);
  return { node, key, list, ...(def ? { def } : {}), ...(type ? { type } : {}) };
}

function removeAt(loc: Location): void {
  const v = loc.node[loc.key];
  if (Array.isArray(v) && loc.index !== undefined) {
    v.splice(loc.index, 1);
    if (v.length === 0) delete loc.node[loc.key];
  } else delete loc.node[loc.key];
}

function applyOne(root: TypedValue, op: FhirPathPatchOperation, i: number): void {
  const fail = (message: string) =>
    new GatewayError(
      'invalid-resource',
      `The FHIRPath Patch operation ${i} (${op.type} '${op.path}') cannot be applied: ${message}`,
    );
  const where = `The FHIRPath Patch operation ${i} (${op.type} '${op.path}')`;
  const valueType = op.value ? valueX(op.value)?.[0].slice('value'.length) : undefined;
  switch (op.type) {
    case 'add': {
      const target = single(root, op.path, fail);
      if (!isObject(target.value)) throw fail('the path selects a primitive value, not an element to add to');
      const { def, key } = elementOf(target.type, op.name!, valueType);
      const value = buildValue(op.value!, typeOfElement(def, key), where);
      const current = Object.hasOwn(target.value, key) ? target.value[key] : undefined;
      if (def?.isArray || Array.isArray(current)) {
        if (current !== undefined && !Array.isArray(current)) throw fail(`${key} is not a list`);
        target.value[key] = [...((current as unknown[] | undefined) ?? []), value];
      } else {
        if (current !== undefined) throw fail(`${op.name!} is already there and does not repeat (replace it instead)`);
        target.value[key] = value;
      }
      return;
    }
    case 'replace': {
      const found = locate(root, op.path, fail);
      if (found.length !== 1) throw fail(`the path selects ${found.length} elements, not exactly one`);
      const loc = found[0]!;
      const key = loc.def?.path.endsWith('[x]') && valueType ? loc.key.replace(/[A-Z][A-Za-z]*$/, valueType) : loc.key;
      const value = buildValue(op.value!, typeOfElement(loc.def, key), where);
      if (loc.index !== undefined) (loc.node[loc.key] as unknown[])[loc.index] = value;
      else {
        if (key !== loc.key) delete loc.node[loc.key]; // a choice of another type: valueString → valueInteger
        loc.node[key] = value;
      }
      return;
    }
    case 'delete': {
      const found = locate(root, op.path, fail);
      if (found.length > 1) throw fail(`the path selects ${found.length} elements, not one or none`);
      if (found[0]) removeAt(found[0]);
      return;
    }
    case 'insert': {
      const { node, key, list, type } = listAt(root, op.path, fail);
      if (op.index! > list.length) throw fail(`index ${op.index!} is beyond the list's ${list.length} elements`);
      const next = [...list];
      next.splice(op.index!, 0, buildValue(op.value!, type, where));
      node[key] = next;
      return;
    }
    case 'move': {
      const { node, key, list } = listAt(root, op.path, fail);
      if (op.source! >= list.length) throw fail(`source ${op.source!} is beyond the list's ${list.length} elements`);
      if (op.destination! >= list.length)
        throw fail(`destination ${op.destination!} is beyond the list's ${list.length} elements`);
      const next = [...list];
      const [moved] = next.splice(op.source!, 1);
      next.splice(op.destination!, 0, moved);
      node[key] = next;
      return;
    }
  }
}

/** `resource` (a copy the caller may change) with the operations applied in order; 422 naming the one that cannot. */
export function applyFhirPathPatch<T extends Resource>(resource: T, ops: FhirPathPatchOperation[]): T {
  const { resourceType, id } = resource;
  const root = toTypedValue(resource);
  ops.forEach((op, i) => applyOne(root, op, i));
  assertSameResource({ resourceType, id }, resource);
  return resource;
}
