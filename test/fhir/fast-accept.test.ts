/**
 * The fast accept path (`src/fhir/fast-accept.ts`) against medplum's `validateResource`: over a corpus of valid
 * resources and systematic mutations of each, whatever the fast path accepts medplum must accept too (no false
 * accept). The corpus: the FHIR fixtures, the bench's admission Bundle, the demo region, the gateway's builders,
 * and `validated-resources.ndjson` (every distinct resource the validator saw while the intake, SIP, FHIR API and
 * e2e tests ran: Patients and Encounters from HL7 and FHIR, Tasks, CarePlans, Communications, Provenance, ...).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { certainlyValid } from '../../src/fhir/fast-accept';
import { createValidator } from '../../src/fhir/validator';
import { demoRegionData } from '../../src/demo/demo-region';
import { admissionBundle } from '../../bench/support/synthetic';

type Json = Record<string, unknown>;
const STATS = process.env.FAST_ACCEPT_STATS === '1';
/** Every mutation with FAST_ACCEPT_FULL=1 (≈ 222 000, a few minutes); by default every 4th, offset per resource. */
const STRIDE = process.env.FAST_ACCEPT_FULL === '1' ? 1 : 4;

/** Medplum's errors for a resource (thrown or returned), as the validator reads them. */
function medplumErrors(r: unknown): string[] {
  try {
    return validateResource(r as Resource)
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => `${i.expression?.[0] ?? ''}: ${i.details?.text ?? ''}`);
  } catch (e) {
    if (e instanceof OperationOutcomeError) {
      const errs = (e.outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
      return errs.length ? errs.map((i) => `${i.expression?.[0] ?? ''}: ${i.details?.text ?? ''}`) : ['thrown'];
    }
    return [`threw ${(e as Error).message}`];
  }
}

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

function corpus(): Resource[] {
  const out: Resource[] = [];
  const addWithEntries = (r: Resource) => {
    out.push(r);
    if (r.resourceType === 'Bundle') for (const e of r.entry ?? []) if (e.resource) out.push(e.resource);
  };
  addWithEntries(JSON.parse(fixture('fhir/admission-bundle.json')) as Bundle);
  for (let i = 0; i < 3; i++) addWithEntries(admissionBundle(i, 'fast-accept', { hospital: 'SE2321000172-DEMO0001' }));
  const demo = demoRegionData();
  out.push(...demo.organizations, ...demo.endpoints);
  for (const line of fixture('fhir/validated-resources.ndjson').split('\n')) {
    if (line.trim()) addWithEntries(JSON.parse(line) as Resource);
  }
  return out;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Replacement values: wrong JSON types, empty and blank values, bad formats of each primitive type. */
const REPLACEMENTS: unknown[] = [
  null,
  undefined,
  '',
  ' ',
  'x',
  ' x',
  'x  y',
  'a\u0001b',
  '2026-13-45',
  '2026-01-15T25:00:00Z',
  '2026-01-15T10:00:00',
  'urn:uuid:not-a-uuid',
  'urn:oid:1.02',
  'id with spaces',
  'x'.repeat(65),
  0,
  -1,
  1.5,
  Number.NaN,
  true,
  {},
  [],
  [null],
  [{}],
  ['x'],
  { foo: 1 },
  { id: 'x' },
  { url: 'http://example.org/x' },
  { extension: [] },
  [{ url: 'http://example.org/x' }],
];

const EXTENSIONS: unknown[] = [
  [{ url: 'http://example.org/x' }],
  [{ valueString: 'a' }],
  [{ url: 'http://example.org/x', valueString: 'a', extension: [{ url: 'y', valueString: 'b' }] }],
  [{ url: 'http://example.org/x', valueString: 'a', valueCode: 'b' }],
  [{ url: 'http://example.org/x', valueFoo: 'a' }],
  [{ url: 'http://example.org/x', valueString: '' }],
  [{ url: 'http://example.org/x', valueInteger: 1.5 }],
  [{ url: 'http://example.org/x', valueBoolean: 'true' }],
  [{ url: 'http://example.org/x', extension: [{ url: 'y' }] }],
  [{ url: 'http://example.org/x', valueString: 'a' }, null],
  [{ url: ' ', valueString: 'a' }],
];

const CHOICE_SUFFIXES: [string, unknown][] = [
  ['String', 'x'],
  ['Boolean', true],
  ['Integer', 1],
  ['DateTime', '2026-01-15'],
  ['Period', { start: '2026-01-15' }],
  ['CodeableConcept', { text: 'x' }],
  ['Reference', { reference: 'Patient/1' }],
  ['Foo', 'x'],
];

/** Every object, list and value of `root` with a setter, for the mutations. */
function* places(v: unknown, path: (string | number)[] = []): Generator<(string | number)[]> {
  yield path;
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* places(v[i], [...path, i]);
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) yield* places((v as Json)[k], [...path, k]);
}

function at(root: unknown, path: (string | number)[]): unknown {
  let v = root;
  for (const p of path) v = (v as Json)[p];
  return v;
}

/** A copy of `root` with `f` applied to the parent of `path` (a path below the root). */
function edit(root: Resource, path: (string | number)[], f: (parent: Json, key: string | number) => void): Resource {
  const copy = clone(root);
  f(at(copy, path.slice(0, -1)) as Json, path[path.length - 1] as string | number);
  return copy;
}

function* mutations(r: Resource): Generator<Resource> {
  for (const path of places(r)) {
    const value = at(r, path);
    if (path.length > 0 && path[path.length - 1] !== 'resourceType') {
      // removed (an object's key; a list's item)
      yield edit(r, path, (p, k) => (Array.isArray(p) ? p.splice(k as number, 1) : delete p[k]));
      for (const x of REPLACEMENTS) yield edit(r, path, (p, k) => (p[k] = clone(x)));
      if (Array.isArray(value)) {
        yield edit(r, path, (p, k) => (p[k] = [...(value as unknown[]), clone((value as unknown[])[0])]));
        yield edit(r, path, (p, k) => (p[k] = [...(value as unknown[]), null]));
        if (value.length === 1) yield edit(r, path, (p, k) => (p[k] = clone((value as unknown[])[0])));
      } else yield edit(r, path, (p, k) => (p[k] = [clone(value), clone(value)]));
      if (typeof value === 'string') {
        for (const s of [`${value} `, ` ${value}`, `${value}\t`, `${value}Z`, `${value}-00`, value.toUpperCase()]) {
          yield edit(r, path, (p, k) => (p[k] = s));
        }
      }
      if (typeof value === 'number') yield edit(r, path, (p, k) => (p[k] = String(value)));
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const obj = value as Json;
      const add = (key: string, v: unknown) =>
        edit(r, [...path, key], (p, k) => {
          // an own property even for `__proto__`, as JSON.parse makes it
          Object.defineProperty(p, k, { value: clone(v), enumerable: true, writable: true, configurable: true });
        });
      yield add('foo', 'x');
      yield add('_foo', { id: 'x' });
      yield add('constructor', 'x');
      yield add('__proto__', { x: 1 });
      yield add('resourceType', 'Patient');
      yield add('contained', [{ resourceType: 'Patient', id: 'c1' }]);
      yield add('id', 'bad id!');
      for (const ext of EXTENSIONS) {
        yield add('extension', ext);
        yield add('modifierExtension', ext);
      }
      for (const k of Object.keys(obj)) {
        yield add(`_${k}`, { extension: [{ url: 'http://example.org/x', valueString: 'a' }] });
        yield add(`_${k}`, {});
        const m = /^([a-z]+(?:[A-Z][a-z]+)*?)([A-Z][A-Za-z]*)$/.exec(k);
        if (m) for (const [suffix, v] of CHOICE_SUFFIXES) if (suffix !== m[2]) yield add(`${m[1]}${suffix}`, v);
      }
    }
  }
}

beforeAll(async () => {
  await createValidator(); // indexes the definitions as the gateway does
});

describe('fast accept (certainlyValid) against medplum', () => {
  it('accepts the valid resources of the corpus cheaply, and never what medplum refuses', () => {
    const resources = corpus();
    let valid = 0;
    let fastValid = 0;
    for (const r of resources) {
      const errors = medplumErrors(r);
      const fast = certainlyValid(r);
      if (STATS && !fast && errors.length === 0) console.info(`valid, not fast-accepted: ${JSON.stringify(r)}`);
      if (fast) expect({ resource: r, errors }).toEqual({ resource: r, errors: [] });
      if (errors.length === 0) valid++;
      if (fast) fastValid++;
    }
    expect(resources.length).toBeGreaterThan(140);
    // the valid resources the gateway handles most take the fast path (StructureDefinitions and the like may not)
    const common = ['Patient', 'Encounter', 'Task', 'CarePlan', 'Bundle', 'Provenance', 'Communication'];
    for (const r of resources.filter((x) => common.includes(x.resourceType) && medplumErrors(x).length === 0)) {
      expect({ resource: r, fast: certainlyValid(r) }).toEqual({ resource: r, fast: true });
    }
    console.info(`fast-accept corpus: ${resources.length} resources, ${valid} valid, ${fastValid} fast-accepted`);
  });

  it('no mutation of the corpus is accepted by the fast path and refused by medplum', () => {
    const seen = new Set<string>();
    let total = 0;
    let accepted = 0;
    let refusedByMedplum = 0;
    const falseAccepts: { mutated: unknown; errors: string[] }[] = [];
    for (const r of corpus()) {
      // one resource of each shape: the mutations of two equally shaped resources say the same
      const shape = JSON.stringify(r, (_k, v: unknown) => (typeof v === 'string' ? '' : v));
      if (seen.has(shape)) continue;
      seen.add(shape);
      let n = seen.size;
      for (const m of mutations(r)) {
        if (n++ % STRIDE !== 0) continue;
        total++;
        // medplum's verdict is needed only where the fast path accepts (FAST_ACCEPT_STATS=1 counts all refusals)
        const fast = certainlyValid(m);
        if (!fast && !STATS) continue;
        const errors = medplumErrors(m);
        if (errors.length > 0) refusedByMedplum++;
        if (!fast) continue;
        accepted++;
        if (errors.length > 0 && falseAccepts.length < 5) falseAccepts.push({ mutated: m, errors });
      }
    }
    console.info(
      `fast-accept mutations: ${total} over ${seen.size} resources, ` +
        (STATS ? `${refusedByMedplum} refused by medplum, ` : '') +
        `${accepted} fast-accepted, false accepts: ${falseAccepts.length}`,
    );
    expect(falseAccepts).toEqual([]);
    expect(total).toBeGreaterThan(200_000 / STRIDE);
  }, 600_000);

  it('the validator returns the same issues as medplum alone', async () => {
    // a resource the fast path accepts: no issue; one it does not: medplum's issues, unchanged
    const v = await createValidator();
    const bundle = admissionBundle(7, 'fast-accept', { hospital: 'SE2321000172-DEMO0001' });
    const patient = bundle.entry?.[0]?.resource as Resource;
    expect(certainlyValid(patient)).toBe(true);
    expect(v.check(patient)).toEqual([]);
    const bad = { ...patient, birthDate: '1931-13-30' } as Resource;
    expect(certainlyValid(bad)).toBe(false);
    expect(v.check(bad)).toEqual([
      { path: 'Patient.birthDate', severity: 'error', kind: 'structure', message: 'Invalid date format' },
    ]);
  });
});
