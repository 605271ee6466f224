/**
 * A cheap first pass over a FHIR JSON body, run before the structural validator and before any code that reads
 * the body: every value has the JSON type its element definition asks for (object, list, string, number,
 * boolean), no property is unknown, and the body stays inside the size limits (nesting depth, string length,
 * list length, number of values). It visits each value once, so its cost is proportional to the input.
 *
 * Why: medplum's validator treats a string where an object is expected as an object whose keys are the
 * characters (one issue per character: a 100 KB string cost seconds), and the rule checks call list and string
 * methods on whatever they find (`forEach is not a function`). After this pass neither sees a wrong shape.
 */
import { isPrimitiveType, tryGetDataType, type InternalSchemaElement, type InternalTypeSchema } from '@medplum/core';

export interface ShapeLimits {
  /** Deepest nesting of objects and lists (the resource itself is depth 1). */
  maxDepth: number;
  /** Longest string value, except base64Binary and xhtml (bounded by the body limit only). */
  maxStringLength: number;
  /** Longest list. */
  maxArrayLength: number;
  /** Most values (objects, list items, primitives) in one body. */
  maxValues: number;
}

/**
 * Defaults (config: FHIR_MAX_VALUES, FHIR_MAX_LIST_LENGTH, FHIR_MAX_STRING_LENGTH). Validation costs about
 * 0.05–0.25 ms per value here, so 5 000 values bound one body to well under a second; the admission Bundle of the
 * fixtures has 69 values. 40 levels hold any resource of R4 with room for nested extensions.
 */
export const DEFAULT_SHAPE_LIMITS: ShapeLimits = {
  maxDepth: 40,
  maxStringLength: 65_536,
  maxArrayLength: 1_000,
  maxValues: 5_000,
};

/** The limits from the configuration's FHIR_MAX_* keys. */
export function shapeLimits(config: {
  FHIR_MAX_VALUES: number;
  FHIR_MAX_LIST_LENGTH: number;
  FHIR_MAX_STRING_LENGTH: number;
}): ShapeLimits {
  return {
    maxDepth: DEFAULT_SHAPE_LIMITS.maxDepth,
    maxValues: config.FHIR_MAX_VALUES,
    maxArrayLength: config.FHIR_MAX_LIST_LENGTH,
    maxStringLength: config.FHIR_MAX_STRING_LENGTH,
  };
}

export interface ShapeIssue {
  path: string;
  message: string;
  /**
   * `limit`: a size limit was exceeded (HTTP 413); `shape`: a wrong JSON type; `unknown`: an unknown property
   * (harmless to the later checks, which report it themselves).
   */
  kind: 'shape' | 'limit' | 'unknown';
}

/** Issues past this many are not collected: the first few say what to fix. */
export const SHAPE_MAX_ISSUES = 10;
const NUMBER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal', 'integer64']);
const UNBOUNDED_STRING_TYPES = new Set(['base64Binary', 'xhtml']);

interface Slot {
  /** The FHIR type code of the value(s), e.g. `string`, `HumanName`, `Resource`, `PatientContact`. */
  type: string;
  isArray: boolean;
  /** A `_name` sibling of a primitive: an Element (or a list of Elements and nulls). */
  primitiveExtension: boolean;
}

const slotCache = new WeakMap<InternalTypeSchema, Map<string, Slot | null>>();

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const isList = (e: InternalSchemaElement): boolean => e.isArray === true || e.max > 1 || e.max === null;

/** The element a JSON property name stands for (including `value[x]` choices and `_name`), or null. */
function slotOf(schema: InternalTypeSchema, key: string): Slot | null {
  let cache = slotCache.get(schema);
  if (!cache) slotCache.set(schema, (cache = new Map<string, Slot | null>()));
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let slot: Slot | null = null;
  const ext = key.startsWith('_');
  const name = ext ? key.slice(1) : key;
  // own properties only: a key such as `valueOf` or `constructor` must not find Object.prototype's
  const direct = Object.hasOwn(schema.elements, name) ? schema.elements[name] : undefined;
  if (direct && direct.type.length === 1 && direct.type[0]) {
    slot = { type: direct.type[0].code, isArray: isList(direct), primitiveExtension: false };
  } else if (!direct) {
    for (const [k, e] of Object.entries(schema.elements)) {
      if (!k.endsWith('[x]') || !name.startsWith(k.slice(0, -3))) continue;
      const t = e.type.find((x) => capitalize(x.code) === name.slice(k.length - 3));
      if (t) slot = { type: t.code, isArray: isList(e), primitiveExtension: false };
    }
  }
  if (slot && ext) slot = isPrimitiveType(slot.type) ? { ...slot, type: 'Element', primitiveExtension: true } : null;
  cache.set(key, slot);
  return slot;
}

function primitiveMismatch(type: string, value: unknown): string | undefined {
  const expected = type === 'boolean' ? 'boolean' : NUMBER_TYPES.has(type) ? 'number' : 'string';
  const actual = value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;
  return actual === expected ? undefined : `expected a ${type} (JSON ${expected}), found a ${actual}`;
}

/**
 * True when the later checks must not run: a wrong type, a limit, or so many unknown properties that the list
 * was cut (the structural validator would then spend time on each of them).
 */
export function blocksValidation(issues: readonly ShapeIssue[]): boolean {
  return issues.length >= SHAPE_MAX_ISSUES || issues.some((i) => i.kind !== 'unknown');
}

/** U+0000: no FHIR string holds it, and PostgreSQL cannot store it (a write with one answered 500). */
const NUL = String.fromCharCode(0);

/**
 * Where a NUL character is in `value` (a string, or any string or key below it; walked without recursion), as a
 * path suffix ('' for the value itself), or undefined. `key`: the value's own key, checked too.
 */
function nulIn(key: string, value: unknown): string | undefined {
  if (key.includes(NUL)) return '';
  const stack: [unknown, string][] = [[value, '']];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, path] = item;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return path;
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes(NUL)) return path;
        stack.push([child, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k.slice(0, 64)}`]);
      }
    }
  }
  return undefined;
}

/** Checks shape and limits; returns at most a few issues (see `blocksValidation`). */
export function checkShape(body: unknown, limits: ShapeLimits = DEFAULT_SHAPE_LIMITS): ShapeIssue[] {
  const issues: ShapeIssue[] = [];
  let values = 0;
  let tooMany = false; // past maxValues: one issue, and the walk stops
  const full = () => tooMany || issues.length >= SHAPE_MAX_ISSUES;
  const add = (path: string, message: string, kind: ShapeIssue['kind'] = 'shape') => {
    if (!full()) issues.push({ path, message, kind });
  };

  const visitObject = (value: Record<string, unknown>, schema: InternalTypeSchema, path: string, depth: number) => {
    for (const key of Object.keys(value)) {
      if (full()) return;
      if (key === 'resourceType') {
        const rt = value[key];
        if (typeof rt !== 'string' || rt.includes(NUL))
          add(`${path}.resourceType`, 'resourceType must be the name of a resource type (a string)');
        continue;
      }
      const slot = slotOf(schema, key);
      const at = `${path}.${key}`;
      if (!slot) {
        add(at, `unknown property '${key.slice(0, 64)}' of ${schema.name}`, 'unknown');
        // not checked further, but stored as it is: a NUL anywhere in it would fail the write
        const nul = nulIn(key, value[key]);
        if (nul !== undefined)
          add(`${at}${nul}`, 'the value holds a NUL character (U+0000), which FHIR JSON may not hold');
      } else visitSlot(value[key], slot, at, depth);
    }
  };

  const visitValue = (value: unknown, slot: Slot, path: string, depth: number, inList: boolean): void => {
    if (++values > limits.maxValues) {
      add(path, `the body holds more than ${limits.maxValues} values`, 'limit');
      tooMany = true;
      return;
    }
    if (value === null) {
      // FHIR JSON allows null only inside lists that pair primitives with their `_name` extensions
      if (!inList || !(slot.primitiveExtension || isPrimitiveType(slot.type))) add(path, 'null is not allowed here');
      return;
    }
    if (isPrimitiveType(slot.type) && !slot.primitiveExtension) {
      const wrong = primitiveMismatch(slot.type, value);
      if (wrong) add(path, wrong);
      else if (
        typeof value === 'string' &&
        value.length > limits.maxStringLength &&
        !UNBOUNDED_STRING_TYPES.has(slot.type)
      )
        add(
          path,
          `the string is ${value.length} characters long; at most ${limits.maxStringLength} are accepted`,
          'limit',
        );
      else if (typeof value === 'string' && value.includes(NUL))
        add(path, 'the string holds a NUL character (U+0000), which a FHIR string may not hold');
      return;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      add(path, `expected a ${slot.type} (JSON object), found a ${Array.isArray(value) ? 'list' : typeof value}`);
      return;
    }
    if (depth + 1 > limits.maxDepth) {
      add(path, `the body nests more than ${limits.maxDepth} levels deep`, 'limit');
      return;
    }
    const obj = value as Record<string, unknown>;
    if (slot.type === 'Resource') {
      const rt = obj.resourceType;
      const schema = typeof rt === 'string' ? tryGetDataType(rt) : undefined;
      if (typeof rt !== 'string' || !schema || schema.kind !== 'resource')
        add(
          path,
          typeof rt === 'string' ? `unknown resourceType '${rt.slice(0, 64)}'` : 'a resource needs a resourceType',
        );
      else visitObject(obj, schema, path, depth + 1);
      return;
    }
    const schema = tryGetDataType(slot.type);
    if (schema) visitObject(obj, schema, path, depth + 1);
  };

  const visitSlot = (value: unknown, slot: Slot, path: string, depth: number): void => {
    if (!slot.isArray) {
      if (Array.isArray(value)) add(path, `expected one ${slot.type}, found a list`);
      else visitValue(value, slot, path, depth, false);
      return;
    }
    if (!Array.isArray(value)) {
      add(path, `expected a list of ${slot.type}, found ${value === null ? 'null' : `a ${typeof value}`}`);
      return;
    }
    if (value.length > limits.maxArrayLength) {
      add(path, `the list has ${value.length} items; at most ${limits.maxArrayLength} are accepted`, 'limit');
      return;
    }
    if (depth + 1 > limits.maxDepth) {
      add(path, `the body nests more than ${limits.maxDepth} levels deep`, 'limit');
      return;
    }
    for (let i = 0; i < value.length && !full(); i++) visitValue(value[i], slot, `${path}[${i}]`, depth + 1, true);
  };

  const root = { type: 'Resource', isArray: false, primitiveExtension: false };
  const rt = (body as { resourceType?: unknown } | null)?.resourceType;
  visitValue(body, root, typeof rt === 'string' ? rt.slice(0, 64) : '', 0, false);
  return issues;
}
