/** The entries of a batch or transaction Bundle: parsing each request, and building each response entry. */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { toOperationOutcome, statusText } from '../fhir-api/operation-outcome';
import { GatewayError, isGatewayError } from '../platform/errors';
import { assertResource } from './resource-util';
import type { EntryPatch, HistoryEntry } from './repository.port';
import type { CurrentRow } from './write-sql';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** Transaction processing order of the entry methods (FHIR: DELETE, POST, PUT and PATCH, then GET). */
export const ORDER: Record<Method, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 };

export interface ParsedUrl {
  type: string;
  id?: string;
  version?: string;
  /** `Patient/_history` or `Patient/1/_history`: the versions, not the resource. */
  history?: true;
  query?: string;
}

/**
 * `Patient`, `Patient/1`, `Patient/1/_history/2`, `Patient?identifier=x`, `Patient/_history`, `Patient/1/_history`, or
 * the same after a base URL.
 */
export function parseEntryUrl(url: string): ParsedUrl | undefined {
  const m =
    /^(?:https?:\/\/[^?]*?\/)?([A-Z][A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64}))?(\/_history(?:\/([^/?]+))?)?(?:\?(.*))?$/.exec(
      url,
    );
  if (!m) return undefined;
  const [, type = '', id, history, version, query] = m;
  return {
    type,
    ...(id ? { id } : {}),
    ...(version ? { version } : history ? { history: true as const } : {}),
    ...(query !== undefined ? { query } : {}),
  };
}

/** One version of a history as a Bundle entry (`fullUrl` when the base is known). */
export function historyEntry(e: HistoryEntry, baseUrl?: string): BundleEntry {
  return {
    ...(baseUrl !== undefined ? { fullUrl: `${baseUrl}/${e.resourceType}/${e.id}` } : {}),
    ...(e.resource ? { resource: e.resource } : {}),
    request: { method: e.method, url: e.method === 'POST' ? e.resourceType : `${e.resourceType}/${e.id}` },
    response: {
      status: e.method === 'POST' ? '201 Created' : e.method === 'DELETE' ? '204 No Content' : '200 OK',
      etag: `W/"${e.versionId}"`,
      lastModified: e.lastUpdated,
    },
  };
}

export interface Parsed {
  index: number;
  method: Method;
  url: ParsedUrl;
  rawUrl: string;
  resource?: Resource;
  fullUrl?: string;
  ifMatch?: string;
  ifNoneExist?: string;
  /** A PATCH entry's change. */
  patch?: EntryPatch;
  /** Decided in the first phase of a transaction: the id to write, or the existing match. */
  targetId?: string;
  existing?: Resource;
  /** The locked current row the write replaces (a conditional match or the row with the PUT's id). */
  cur?: CurrentRow & { id: string };
}

export function parseEntry(entry: BundleEntry, index: number, patch?: EntryPatch): Parsed {
  const method = entry.request?.method;
  const rawUrl = entry.request?.url ?? '';
  if (method === 'HEAD') throw new GatewayError('bad-request', 'HEAD is not supported in Bundles (use GET)');
  if (!method || !(method in ORDER)) throw new GatewayError('bad-request', 'request.method is missing or unknown');
  const url = parseEntryUrl(rawUrl);
  if (!url) throw new GatewayError('bad-request', `request.url '${rawUrl}' is not Type, Type/id or Type?query`);
  if (url.history && method !== 'GET')
    throw new GatewayError('bad-request', `${method} of a history ('${rawUrl}') is not possible: GET reads it`);
  const p: Parsed = { index, method, url, rawUrl };
  if (method === 'PATCH') {
    if (!url.id || url.version || url.query !== undefined)
      throw new GatewayError(
        'bad-request',
        `PATCH needs Type/id in request.url, not '${rawUrl}' (no conditional patch)`,
      );
    if (!patch)
      throw new GatewayError(
        'bad-request',
        'A PATCH entry carries its JSON Patch as a Binary resource (contentType application/json-patch+json) or its FHIRPath Patch as a Parameters resource',
      );
    p.patch = patch;
  }
  if (entry.fullUrl) p.fullUrl = entry.fullUrl;
  if (entry.request?.ifMatch) p.ifMatch = entry.request.ifMatch;
  if (entry.request?.ifNoneExist) p.ifNoneExist = entry.request.ifNoneExist;
  if (method === 'POST' || method === 'PUT') {
    assertResource(entry.resource);
    if (entry.resource.resourceType !== url.type)
      throw new GatewayError(
        'bad-request',
        `resource is a ${entry.resource.resourceType} but request.url names ${url.type}`,
      );
    if (method === 'PUT' && url.id && entry.resource.id !== url.id)
      throw new GatewayError(
        'bad-request',
        `resource.id '${entry.resource.id ?? ''}' differs from the id in request.url '${rawUrl}'`,
      );
    if (method === 'PUT' && !url.id && url.query === undefined)
      throw new GatewayError('bad-request', `PUT needs Type/id or Type?criteria in request.url, not '${rawUrl}'`);
    p.resource = entry.resource;
  }
  return p;
}

export function withEntry(e: unknown, p: { index: number; method?: string; rawUrl?: string }): unknown {
  if (!isGatewayError(e)) return e;
  const where = `Bundle.entry[${p.index}]${p.method ? ` (${p.method} ${p.rawUrl ?? ''})` : ''}`;
  // a PATCH entry's resource is its Binary or Parameters: the elements named are those of the patched resource (Task.owner)
  if (p.method === 'PATCH') return new GatewayError(e.code, `${where}: ${e.message}`, e.issues);
  return new GatewayError(
    e.code,
    `${where}: ${e.message}`,
    e.issues.map((i) => ({
      ...i,
      path: `Bundle.entry[${p.index}].resource${i.path ? `.${i.path.replace(/^[A-Z][A-Za-z]+\.?/, '')}` : ''}`.replace(
        /\.$/,
        '',
      ),
    })),
  );
}

/** Replaces every `reference` equal to a key of `map` (urn:uuid fullUrls and other fullUrls) anywhere inside. */
export function resolveReferences<T>(value: T, map: Map<string, string>): T {
  if (Array.isArray(value)) return value.map((v: unknown) => resolveReferences(v, map)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'reference' && typeof v === 'string') out[k] = map.get(v) ?? v;
    else out[k] = resolveReferences(v, map);
  }
  return out as T;
}

export function ok(resource: Resource, created: boolean): BundleEntry {
  const v = resource.meta?.versionId;
  return {
    resource,
    response: {
      status: created ? '201 Created' : '200 OK',
      location: `${resource.resourceType}/${resource.id ?? ''}${v ? `/_history/${v}` : ''}`,
      ...(v ? { etag: `W/"${v}"` } : {}),
      ...(resource.meta?.lastUpdated ? { lastModified: resource.meta.lastUpdated } : {}),
    },
  };
}

export function errorEntry(e: unknown): BundleEntry {
  const err = isGatewayError(e) ? e : new GatewayError('internal', 'The entry failed unexpectedly');
  return { response: { status: statusText(err.status), outcome: toOperationOutcome(err) } };
}
