/**
 * A fast "certainly valid" decision for medplum's `validateResource` against the R4 base definitions (no profile):
 * `true` only when medplum would report no error for the resource; `false` when anything is off or not handled
 * here, and the caller then runs `validateResource` itself (so the issues and their texts stay medplum's).
 *
 * Why: medplum's crawler visits every element of each type's schema, present or not, and builds a typed value
 * and a path string for each (12.5 % of the API process's busy time, `docs/performance.md`). This walks only the
 * keys present, from tables compiled once per type out of the same schemas (`tryGetDataType`).
 *
 * What medplum checks (`typeschema/validation.ts` of @medplum/core 4.5) and how it is mirrored here:
 * - every key is an element of the type or one choice of a `[x]` element (else "Invalid additional property");
 *   `resourceType` only on a resource. Keys starting with `_` (primitive extensions) are not handled: fall back.
 * - list or single value as the element says (`isArray`), count within min..max, required elements present.
 *   An empty string, list or object, or `undefined`, under an element's own name counts as absent, as for medplum
 *   (`isEmpty`); under a choice name, or as a list item, or a null anywhere, it falls back, as does a `fixed`,
 *   `pattern` or slices (none in the R4 base).
 * - primitives: the JSON type of `fhirTypeToJsType`, non-blank strings up to 1 MB matching `validationRegexes`,
 *   finite numbers, integers for integer types, positiveInt > 0, unsignedInt ≥ 0.
 * - invariants of severity `error` (except ele-1, dom-3, org-1, sdf-19, which medplum skips): on the root
 *   resource its type's constraints, and on every present value its element's constraints (the constraints of a
 *   data type itself, e.g. ref-1, medplum does not evaluate). ext-1 and dom-2/4/5 are decided here (dom-*: true
 *   when there is no `contained`); any other invariant is evaluated with medplum's FHIRPath engine on the same
 *   typed value and variables (`%resource`, `%rootResource`, `%ucum`), and only a result of exactly `true` counts.
 * - choice types: one key per `[x]` element (two are only a warning for medplum, but not decided here).
 * Not handled (fall back): `contained` anywhere, primitive extensions (`_name`), null or undefined items, empty
 * values, elements whose JSON name differs from their schema key, a resource typed `Resource`/`DomainResource`,
 * unknown types, and anything that throws.
 */
import {
  evalFhirPathTyped,
  fhirTypeToJsType,
  parseFhirPath,
  toTypedValue,
  tryGetDataType,
  UCUM,
  validationRegexes,
  type InternalSchemaElement,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

/** Invariants medplum does not evaluate (`skippedConstraintKeys`). */
const SKIPPED = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);
const ONE_MB = 1024 * 1024;
const UCUM_VALUE = toTypedValue(UCUM);

/** The walk's state a generic invariant needs: the resources entered, innermost last. */
interface Scope {
  root: TypedValue;
  resources: Resource[];
}

/** An invariant: true only when it certainly holds for `value` (typed as medplum types it). */
type Check = (value: TypedValue, scope: Scope) => boolean;

interface Primitive {
  jsType: 'string' | 'number' | 'boolean';
  regex: RegExp | undefined;
  integer: boolean;
  positive: boolean;
  nonNegative: boolean;
}

interface Slot {
  /** The type code of the value, as medplum types it (`Resource`: the value's own resourceType). */
  type: string;
  isArray: boolean;
  min: number;
  max: number;
  primitive: Primitive | undefined;
  checks: Check[];
  /** Index of the `[x]` element this key is one choice of, or -1. */
  choice: number;
  /** Something here is not mirrored (fixed/pattern/slices, a renamed element, an unknown type): fall back. */
  unsupported: boolean;
}

interface Compiled {
  isResource: boolean;
  /** JSON key → slot (a Map: no inherited keys such as `constructor`). */
  slots: Map<string, Slot>;
  /** Required elements: the JSON keys any of which satisfies it. */
  required: string[][];
  choiceCount: number;
  /** The type's own invariants (checked on the validated resource only, as medplum does). */
  rootChecks: Check[];
}

const compiledTypes = new WeakMap<InternalTypeSchema, Compiled>();

const NO_CONTAINED: Check = (v) => !Object.hasOwn(v.value as object, 'contained');

/** `extension.exists() != value.exists()` on an Extension (the walk guarantees no empty values, one choice). */
function ext1(extensionSchema: Compiled): Check {
  let valueKeys: string[] | undefined; // read at the first call: Extension may still be compiling now
  return (v) => {
    valueKeys ??= [...extensionSchema.slots].filter(([, s]) => s.choice >= 0).map(([k]) => k);
    const obj = v.value as Record<string, unknown>;
    if (typeof obj !== 'object' || obj === null) return false;
    const hasExtension = Array.isArray(obj.extension) && obj.extension.length > 0;
    let values = 0;
    for (const k of valueKeys) if (obj[k] !== undefined) values++;
    return values <= 1 && hasExtension !== (values === 1);
  };
}

/** Medplum's FHIRPath engine on the same input and variables as its `isExpressionTrue`. */
function fhirPathCheck(expression: string): Check {
  const atom = parseFhirPath(expression);
  return (value, scope) => {
    const variables: Record<string, TypedValue> = { '%context': value, '%ucum': UCUM_VALUE };
    const current = scope.resources[scope.resources.length - 1];
    if (current) variables['%resource'] = toTypedValue(current);
    variables['%rootResource'] = scope.root;
    const result = evalFhirPathTyped(atom, [value], variables);
    return result.length === 1 && result[0]?.value === true;
  };
}

function compileChecks(constraints: InternalSchemaElement['constraints'], type: string): Check[] {
  const out: Check[] = [];
  for (const c of constraints ?? []) {
    if (c.severity !== 'error' || SKIPPED.has(c.key)) continue;
    const expr = c.expression.trim();
    if (c.key === 'ext-1' && expr === 'extension.exists() != value.exists()' && type === 'Extension') {
      const ext = compiledType('Extension');
      out.push(ext ? ext1(ext) : () => false);
    } else if (
      (c.key === 'dom-2' && expr === 'contained.contained.empty()') ||
      (c.key === 'dom-4' && expr === 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()') ||
      (c.key === 'dom-5' && expr === 'contained.meta.security.empty()')
    ) {
      out.push(NO_CONTAINED);
    } else {
      try {
        out.push(fhirPathCheck(c.expression));
      } catch {
        out.push(() => false);
      }
    }
  }
  return out;
}

function primitiveOf(code: string): Primitive | undefined {
  if (!Object.hasOwn(fhirTypeToJsType, code)) return undefined;
  return {
    jsType: fhirTypeToJsType[code as keyof typeof fhirTypeToJsType],
    regex: Object.hasOwn(validationRegexes, code) ? validationRegexes[code] : undefined,
    integer: code === 'integer' || code === 'positiveInt' || code === 'unsignedInt',
    positive: code === 'positiveInt',
    nonNegative: code === 'unsignedInt',
  };
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function compile(schema: InternalTypeSchema): Compiled {
  const compiled: Compiled = {
    isResource: schema.kind === 'resource',
    slots: new Map(),
    required: [],
    choiceCount: 0,
    rootChecks: [],
  };
  compiledTypes.set(schema, compiled); // before the checks: ext-1 compiles Extension, which refers to itself
  for (const [name, element] of Object.entries(schema.elements)) {
    // medplum reads the value under the last segment of the element's path, with `[x]` resolved per type
    const last = element.path.slice(element.path.lastIndexOf('.') + 1);
    const isChoice = name.endsWith('[x]');
    const choice = isChoice ? compiled.choiceCount++ : -1;
    const keys: string[] = [];
    const base = {
      isArray: element.isArray === true,
      min: element.min,
      max: element.max,
      unsupported:
        last !== name ||
        element.fixed !== undefined ||
        element.pattern !== undefined ||
        (element.slicing?.slices.length ?? 0) > 0 ||
        (!isChoice && element.type.length !== 1) ||
        element.max < 1,
    };
    for (const t of element.type) {
      const key = isChoice ? name.slice(0, -3) + capitalize(t.code) : name;
      const primitive = primitiveOf(t.code);
      const known = primitive !== undefined || t.code === 'Resource' || tryGetDataType(t.code) !== undefined;
      const slot: Slot = {
        ...base,
        type: t.code,
        primitive,
        checks: [],
        choice,
        unsupported: base.unsupported || !known || compiled.slots.has(key),
      };
      compiled.slots.set(key, slot);
      slot.checks = compileChecks(element.constraints, t.code);
      keys.push(key);
    }
    if (element.min > 0) compiled.required.push(keys);
  }
  compiled.rootChecks = compileChecks(schema.constraints, schema.name);
  return compiled;
}

const compiledOf = (schema: InternalTypeSchema): Compiled => compiledTypes.get(schema) ?? compile(schema);

function compiledType(type: string): Compiled | undefined {
  const schema = tryGetDataType(type);
  return schema ? compiledOf(schema) : undefined;
}

function primitiveOk(p: Primitive, value: unknown): boolean {
  if (typeof value !== p.jsType) return false;
  if (p.jsType === 'string') {
    const s = value as string;
    if (!s.trim() || s.length > ONE_MB) return false;
    return !p.regex || p.regex.exec(s) !== null;
  }
  if (p.jsType === 'number') {
    const n = value as number;
    if (!Number.isFinite(n)) return false;
    if (p.integer && !Number.isInteger(n)) return false;
    if (p.positive && n <= 0) return false;
    if (p.nonNegative && n < 0) return false;
  }
  return true;
}

/** The schema of a resource value (a concrete, known resource type), or undefined. */
function resourceType(value: Record<string, unknown>): Compiled | undefined {
  const rt = value.resourceType;
  if (typeof rt !== 'string' || rt === 'Resource' || rt === 'DomainResource') return undefined;
  const schema = tryGetDataType(rt);
  if (!schema || schema.kind !== 'resource' || schema.name !== rt) return undefined;
  return compiledOf(schema);
}

function isNonEmptyObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const _ in v) return true;
  return false;
}

/** `''`, `[]` or `{}`: medplum's `isEmpty`, under which a value counts as absent. */
function isEmptyValue(v: unknown): boolean {
  if (v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

function valueOk(v: unknown, slot: Slot, scope: Scope): boolean {
  if (slot.primitive) {
    if (!primitiveOk(slot.primitive, v)) return false;
    for (const check of slot.checks) if (!check({ type: slot.type, value: v }, scope)) return false;
    return true;
  }
  if (!isNonEmptyObject(v)) return false;
  if (slot.type === 'Resource') {
    const compiled = resourceType(v);
    if (!compiled) return false;
    const typed = { type: v.resourceType as string, value: v };
    for (const check of slot.checks) if (!check(typed, scope)) return false;
    scope.resources.push(v as unknown as Resource);
    const ok = objectOk(v, compiled, scope);
    scope.resources.pop();
    return ok;
  }
  const compiled = compiledType(slot.type);
  if (!compiled || compiled.isResource) return false;
  for (const check of slot.checks) if (!check({ type: slot.type, value: v }, scope)) return false;
  return objectOk(v, compiled, scope);
}

function objectOk(obj: Record<string, unknown>, compiled: Compiled, scope: Scope): boolean {
  let choices = 0; // bit set of the `[x]` elements seen (types with more than 31 fall back on the 32nd)
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) return false;
    if (key === 'resourceType') {
      if (!compiled.isResource) return false;
      continue;
    }
    const slot = compiled.slots.get(key);
    if (!slot || slot.unsupported || key === 'contained') return false;
    const v = obj[key];
    if (v === undefined || isEmptyValue(v)) {
      // medplum reads an empty value as absent, but an absent choice key as an unknown property
      if (slot.choice >= 0) return false;
      continue;
    }
    if (slot.choice >= 0) {
      if (slot.choice > 30) return false;
      const bit = 1 << slot.choice;
      if (choices & bit) return false;
      choices |= bit;
    }
    if (slot.isArray) {
      // (an empty list was read as absent above)
      if (!Array.isArray(v) || v.length < slot.min || v.length > slot.max) return false;
      for (const item of v) if (!valueOk(item, slot, scope)) return false;
    } else {
      if (Array.isArray(v) || slot.min > 1) return false;
      if (!valueOk(v, slot, scope)) return false;
    }
  }
  for (const keys of compiled.required) {
    if (!keys.some((k) => obj[k] !== undefined && !isEmptyValue(obj[k]))) return false;
  }
  return true;
}

/**
 * True when medplum's `validateResource(resource)` (no profile) certainly reports no error; false when it may
 * (the caller then asks medplum). Never throws.
 */
export function certainlyValid(resource: Resource): boolean {
  try {
    const obj = resource as unknown as Record<string, unknown>;
    if (!isNonEmptyObject(obj)) return false;
    const compiled = resourceType(obj);
    if (!compiled) return false;
    const root = toTypedValue(resource);
    if (root.type !== resource.resourceType) return false;
    const scope: Scope = { root, resources: [resource] };
    for (const check of compiled.rootChecks) if (!check(root, scope)) return false;
    return objectOk(obj, compiled, scope);
  } catch {
    return false;
  }
}
