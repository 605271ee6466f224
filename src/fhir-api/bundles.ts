import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { AuthContext, Interaction } from '../auth/auth-context';
import { subsetAnswer, subsetOf, type Subset } from '../fhir/subset';
import type { Validator } from '../fhir/validator';
import { GatewayError, isGatewayError } from '../platform/errors';
import { historyEntry, parseEntryUrl } from '../store/bundle-entry';
import type { EntryPatch, HistoryEntry, SearchParams, SearchResult } from '../store/repository.port';
import { nextPageQuery } from '../store/search-sql';
import { requireScope, toParams } from './http-util';
import { assertPatchable } from './json-patch';
import { entryPatchChange } from './patch';
import { assertIncludesReadable, bundleWithinScope, containedWithinScope, searchsetWithinScope } from './include-scope';
import { noteIssues, statusText, toOperationOutcome } from './operation-outcome';
import type { WriteNote } from '../platform/write-notes';

/** A searchset Bundle with `self` and `next` links built from `baseUrl` (and an `outcome` entry when given). */
export function searchBundle(
  baseUrl: string,
  type: string,
  query: string,
  r: SearchResult,
  outcome?: OperationOutcome,
): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: `${baseUrl}/${type}${query ? `?${query}` : ''}` }];
  if (r.next) link.push({ relation: 'next', url: `${baseUrl}/${type}?${r.next}` });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(r.total !== undefined ? { total: r.total } : {}),
    link,
    entry: [
      ...r.resources.map((resource) => ({
        fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
        resource,
        search: { mode: 'match' as const },
      })),
      ...r.included.map((resource) => ({
        fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
        resource,
        search: { mode: 'include' as const },
      })),
      ...(outcome ? [{ resource: outcome, search: { mode: 'outcome' as const } }] : []),
    ],
  };
}

/** A history Bundle (newest first). */
export function historyBundle(
  baseUrl: string,
  selfPath: string,
  entries: HistoryEntry[],
  page?: { search: SearchParams; count: number; offset: number },
): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: `${baseUrl}/${selfPath}` }];
  // a full page may have more behind it: the next one starts after it (older versions)
  if (page && page.count > 0 && entries.length === page.count)
    link.push({
      relation: 'next',
      url: `${baseUrl}/${selfPath}?${nextPageQuery(page.search, page.offset + page.count)}`,
    });
  return {
    resourceType: 'Bundle',
    type: 'history',
    link,
    entry: entries.map((e) => historyEntry(e, baseUrl)),
  };
}

/** The subset a history asks for (`_elements`, `_summary=true|text|data`); a count of versions it does not give. */
export function historySubset(type: string, search: SearchParams): Subset | undefined {
  const summary = search._summary;
  if ((Array.isArray(summary) ? summary : [summary]).includes('count'))
    throw new GatewayError('bad-request', 'History does not support _summary=count: page through it with _count');
  return subsetOf(type, search);
}

function interactionOf(entry: BundleEntry): { type: string; interaction: Interaction } | undefined {
  const url = parseEntryUrl(entry.request?.url ?? '');
  if (!url) return undefined;
  switch (entry.request?.method) {
    case 'GET':
      return { type: url.type, interaction: url.id ? 'r' : 's' };
    case 'POST':
      return { type: url.type, interaction: 'c' };
    case 'PUT':
    case 'PATCH':
      return { type: url.type, interaction: 'u' };
    case 'DELETE':
      return { type: url.type, interaction: 'd' };
    case 'HEAD':
    case undefined:
      return undefined;
  }
}

/**
 * Checks one entry before the store sees it: the caller's scope, and validity of the resource it writes. A PATCH
 * entry's JSON Patch (a Binary) or FHIRPath Patch (a Parameters resource) is read here; its change (applied to the
 * version the store holds locked, the result validated) is returned for the store to run.
 */
function screen(entry: BundleEntry, auth: AuthContext, validator: Validator): EntryPatch | undefined {
  const what = interactionOf(entry);
  if (what) requireScope(auth, what.type, what.interaction);
  const url = what?.interaction === 's' ? parseEntryUrl(entry.request?.url ?? '') : undefined;
  if (url?.query !== undefined) assertIncludesReadable(auth, url.type, toParams(new URLSearchParams(url.query)));
  entrySubset(entry); // an _elements or _summary that cannot be understood refuses the entry before it runs
  const m = entry.request?.method;
  if ((m === 'POST' || m === 'PUT') && entry.resource) validator.validate(entry.resource);
  if (m !== 'PATCH') return undefined;
  if (what) assertPatchable(what.type);
  return entryPatchChange(entry.resource, validator);
}

/** The subset a GET entry asks for (`Task?status=requested&_elements=status,owner`), if any. */
function entrySubset(entry: BundleEntry | undefined): Subset | undefined {
  if (entry?.request?.method !== 'GET') return undefined;
  const url = parseEntryUrl(entry.request.url ?? '');
  if (url?.query === undefined) return undefined;
  const params = toParams(new URLSearchParams(url.query));
  return url.history ? historySubset(url.type, params) : subsetOf(url.type, params);
}

function entryError(index: number, e: unknown): GatewayError {
  const err = isGatewayError(e) ? e : new GatewayError('internal', 'The entry failed unexpectedly');
  return new GatewayError(
    err.code,
    `Bundle.entry[${index}]: ${err.message}`,
    err.issues.map((i) => ({
      ...i,
      path: `Bundle.entry[${index}].resource${i.path ? `.${i.path.replace(/^[A-Z][A-Za-z]+\.?/, '')}` : ''}`.replace(
        /\.$/,
        '',
      ),
    })),
  );
}

/**
 * Screens the entries of a batch/transaction. A transaction fails as a whole on the first refused entry
 * (403/422, naming it); a batch gets the refused entries' answers back and the rest to run.
 */
export function screenBundle(
  bundle: Bundle,
  auth: AuthContext,
  validator: Validator,
): {
  toRun: Bundle;
  refused: Map<number, BundleEntry>;
  runIndex: number[];
  /** The changes of PATCH entries, by their index in `toRun`. */
  patches: Map<number, EntryPatch>;
} {
  const entries = bundle.entry ?? [];
  const refused = new Map<number, BundleEntry>();
  const runIndex: number[] = [];
  const keep: BundleEntry[] = [];
  const patches = new Map<number, EntryPatch>();
  entries.forEach((entry, i) => {
    try {
      const patch = screen(entry, auth, validator);
      if (patch) patches.set(keep.length, patch);
      runIndex.push(i);
      keep.push(entry);
    } catch (e) {
      const err = entryError(i, e);
      if (bundle.type === 'transaction') throw err;
      refused.set(i, { response: { status: statusText(err.status), outcome: toOperationOutcome(err) } });
    }
  });
  return { toRun: { ...bundle, entry: keep }, refused, runIndex, patches };
}

/**
 * Puts the refused entries back in place and makes locations absolute. The write notes (ADR 024: what the gateway
 * could not do for a stay) go on the entry of the resource each is about, as its `response.outcome`.
 */
export function mergeBundleResponse(
  auth: AuthContext,
  out: Bundle,
  total: number,
  refused: Map<number, BundleEntry>,
  runIndex: number[],
  baseUrl: string,
  minimal: boolean,
  ran?: Bundle,
  notes: readonly WriteNote[] = [],
): Bundle {
  const entries: BundleEntry[] = new Array<BundleEntry>(total);
  (out.entry ?? []).forEach((e, j) => {
    const i = runIndex[j];
    // a GET search entry's `_include` keeps only what the token may read, as a plain search does
    const r = e.resource && subsetAnswer(e.resource, entrySubset(ran?.entry?.[j]));
    // and every contained resource (of a read, a search or a write's answer) passes the per-type read scope
    if (i !== undefined)
      entries[i] = !r
        ? e
        : r.resourceType === 'Bundle'
          ? { ...e, resource: bundleWithinScope(auth, r.type === 'searchset' ? searchsetWithinScope(auth, r) : r) }
          : { ...e, resource: containedWithinScope(auth, r) };
  });
  for (const [i, e] of refused) entries[i] = e;
  return {
    ...out,
    entry: entries.map((e) => {
      const r: Resource | undefined = e.resource;
      const withUrl: BundleEntry = {
        ...(r?.id && r.resourceType !== 'Bundle' ? { fullUrl: `${baseUrl}/${r.resourceType}/${r.id}` } : {}),
        ...e,
      };
      const about = r?.id ? notes.filter((n) => n.about === `${r.resourceType}/${r.id}`) : [];
      if (withUrl.response && about.length > 0 && !withUrl.response.outcome)
        withUrl.response = {
          ...withUrl.response,
          outcome: { resourceType: 'OperationOutcome', issue: noteIssues(about) },
        };
      if (withUrl.response?.location)
        withUrl.response = { ...withUrl.response, location: `${baseUrl}/${withUrl.response.location}` };
      if (
        minimal &&
        withUrl.request === undefined &&
        e.response?.status?.startsWith('2') &&
        r?.resourceType !== 'Bundle'
      )
        delete withUrl.resource;
      return withUrl;
    }),
  };
}
