/**
 * A profile compiled once from its differential: required elements, fixed values, extension slice
 * cardinalities and invariants (FHIRPath, parsed once). Checked on top of medplum's base R4 validation.
 *
 * Why not medplum's `validateResource(resource, { profile })`: in @medplum/core 4.5.2 it re-parses the whole
 * profile snapshot on every call (about 6 ms for a Task here, 14× the base validation), which the ingest path
 * cannot afford. The full medplum path stays available (`ValidatorOptions.fullProfileValidation`) and the
 * profile tests run in both modes to show they agree.
 */
import { evalFhirPath, parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { ElementDefinition, Resource, StructureDefinition } from '@medplum/fhirtypes';

type Check =
  | { kind: 'required'; path: string; segments: string[] }
  | { kind: 'fixed'; path: string; segments: string[]; value: unknown }
  | { kind: 'slice'; path: string; segments: string[]; url: string; name: string; min: number; max: number }
  | { kind: 'invariant'; path: string; key: string; human: string; atom: FhirPathAtom };

export interface CompiledProfile {
  url: string;
  type: string;
  checks: Check[];
}

function fixedValue(el: ElementDefinition): unknown {
  for (const [k, v] of Object.entries(el)) if (k.startsWith('fixed') || k.startsWith('pattern')) return v;
  return undefined;
}

export function compileProfile(sd: StructureDefinition): CompiledProfile {
  const type = sd.type ?? '';
  const checks: Check[] = [];
  const byId = new Map((sd.snapshot?.element ?? []).map((e) => [e.id, e]));
  for (const d of sd.differential?.element ?? []) {
    const el = byId.get(d.id) ?? d;
    const path = el.path ?? '';
    const segments = path.split('.').slice(1);
    if (el.sliceName && (el.type?.[0]?.profile?.[0] ?? '') !== '') {
      const max = el.max === '*' ? Infinity : Number(el.max ?? '1');
      const url = el.type?.[0]?.profile?.[0] ?? '';
      checks.push({ kind: 'slice', path, segments, url, name: el.sliceName, min: el.min ?? 0, max });
      continue;
    }
    if (segments.length === 0) {
      for (const c of d.constraint ?? []) {
        if (c.severity === 'error' && c.expression) {
          checks.push({ kind: 'invariant', path, key: c.key, human: c.human, atom: parseFhirPath(c.expression) });
        }
      }
      continue;
    }
    if ((d.min ?? 0) > 0) checks.push({ kind: 'required', path, segments });
    const fixed = fixedValue(d);
    if (fixed !== undefined) checks.push({ kind: 'fixed', path, segments, value: fixed });
  }
  return { url: sd.url ?? '', type, checks };
}

/** Values at a dotted path (arrays flattened). */
function valuesAt(resource: unknown, segments: string[]): unknown[] {
  let current: unknown[] = [resource];
  for (const s of segments) {
    const next: unknown[] = [];
    for (const c of current) {
      if (c === null || typeof c !== 'object') continue;
      const v = (c as Record<string, unknown>)[s];
      if (Array.isArray(v)) next.push(...(v as unknown[]));
      else if (v !== undefined && v !== null) next.push(v);
    }
    current = next;
  }
  return current;
}

function includes(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return actual === expected;
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.every((e) => actual.some((a) => includes(a, e)));
  }
  return Object.entries(expected as Record<string, unknown>).every(([k, v]) =>
    includes((actual as Record<string, unknown>)[k], v),
  );
}

export function checkProfile(resource: Resource, profile: CompiledProfile): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const c of profile.checks) {
    switch (c.kind) {
      case 'required':
        if (c.segments.length === 1 || valuesAt(resource, c.segments.slice(0, -1)).length > 0) {
          const parents = c.segments.length === 1 ? [resource] : valuesAt(resource, c.segments.slice(0, -1));
          const last = c.segments[c.segments.length - 1] ?? '';
          for (const p of parents) {
            if (valuesAt(p, [last]).length === 0) {
              issues.push({ path: c.path, message: 'Missing required property' });
              break;
            }
          }
        }
        break;
      case 'fixed':
        for (const v of valuesAt(resource, c.segments)) {
          if (!includes(v, c.value)) {
            issues.push({ path: c.path, message: `Value must be ${JSON.stringify(c.value)}` });
            break;
          }
        }
        break;
      case 'slice': {
        const n = valuesAt(resource, c.segments).filter(
          (e) => typeof e === 'object' && e !== null && (e as { url?: unknown }).url === c.url,
        ).length;
        if (n < c.min || n > c.max) {
          const max = c.max === Infinity ? '*' : String(c.max);
          issues.push({
            path: c.path,
            message: `Incorrect number of values provided for slice '${c.name}': expected ${c.min}..${max}, but found ${n}`,
          });
        }
        break;
      }
      case 'invariant': {
        const result = evalFhirPath(c.atom, resource);
        if (!(result.length === 1 && result[0] === true)) {
          issues.push({ path: c.path, message: `Constraint ${c.key} not met: ${c.human}` });
        }
        break;
      }
    }
  }
  return issues;
}
