import type { RecordHolder } from './access-sql';
import { newResourceId } from './resource-id';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import type { EntryPatch, WriteOptions } from './repository.port';
import type { Db } from './db.port';
import type { FhirRepository } from './repository.port';
import { lockQueries, type CurrentRow } from './write-sql';
import {
  errorEntry,
  historyEntry,
  ok,
  ORDER,
  parseEntry,
  resolveReferences,
  withEntry,
  type Parsed,
} from './bundle-entry';
import { collectParams } from './search-sql';
import type { PreparedWrite } from './prepare-write';

/** What Bundle processing needs from the repository (implemented by `BundleRepository`). */
export interface BundleRepository extends FhirRepository {
  inTx<T>(fn: (repo: BundleRepository, tx: Db) => Promise<T>): Promise<T>;
  createWithId<T extends Resource>(resource: T, opts?: WriteOptions): Promise<T>;
  put<T extends Resource>(resource: T, opts?: WriteOptions): Promise<{ resource: T; created: boolean }>;
  matchOne<T extends Resource>(
    tx: Db,
    type: string,
    query: string,
  ): Promise<{ resource: T; row: CurrentRow } | undefined>;
  putMatched<T extends Resource>(
    tx: Db,
    resource: T,
    query: string,
    match: { resource: T; row: CurrentRow } | undefined,
    opts: WriteOptions,
  ): Promise<{ resource: T; created: boolean }>;
  matchMany(
    tx: Db,
    items: ({ type: string; query: string } | { type: string; id: string })[],
  ): Promise<(CurrentRow & { id: string })[][]>;
  prepare<T extends Resource>(
    resource: T,
    id: string,
    cur: CurrentRow | undefined,
    method: 'POST' | 'PUT',
    opts: WriteOptions,
  ): PreparedWrite<T>;
  commitPrepared(tx: Db, prepared: PreparedWrite<Resource>[]): Promise<void>;
  /** The version a patch makes of the locked current row (see `FhirRepository.patch`). */
  patched<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    cur: CurrentRow | undefined,
    change: (current: T) => T,
    ifMatch: string | undefined,
  ): T;
  /** The resource as this repository's scope may see it (Subscription secret removed). */
  visible<T extends Resource>(resource: T, holder?: RecordHolder): T;
}

async function runGet(repo: BundleRepository, p: Parsed): Promise<BundleEntry> {
  const { id, version, query, history } = p.url;
  const type = p.url.type as Resource['resourceType'];
  if (history) {
    const versions = await repo.history(type, id, collectParams(new URLSearchParams(query ?? '')));
    const bundle: Bundle = { resourceType: 'Bundle', type: 'history', entry: versions.map((e) => historyEntry(e)) };
    return { resource: bundle, response: { status: '200 OK' } };
  }
  if (id && version) return ok(await repo.vread(type, id, version), false);
  if (id) return ok(await repo.read(type, id), false);
  const r = await repo.search(type, collectParams(new URLSearchParams(query ?? '')));
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(r.total !== undefined ? { total: r.total } : {}),
    entry: [
      ...r.resources.map((resource) => ({ resource, search: { mode: 'match' as const } })),
      ...r.included.map((resource) => ({ resource, search: { mode: 'include' as const } })),
      ...(r.notes?.length
        ? [
            {
              resource: {
                resourceType: 'OperationOutcome' as const,
                issue: r.notes.map((diagnostics) => ({
                  severity: 'warning' as const,
                  code: 'too-costly' as const,
                  diagnostics,
                })),
              },
              search: { mode: 'outcome' as const },
            },
          ]
        : []),
    ],
  };
  return { resource: bundle, response: { status: '200 OK' } };
}

/** One entry outside a transaction (batch): writes go through the repository's own transactions. */
async function runOne(repo: BundleRepository, p: Parsed, opts: WriteOptions): Promise<BundleEntry> {
  const o = { ...opts, ...(p.ifMatch ? { ifMatch: p.ifMatch } : {}) };
  switch (p.method) {
    case 'GET':
      return runGet(repo, p);
    case 'DELETE':
      if (!p.url.id) throw new GatewayError('bad-request', 'Conditional delete is not supported: DELETE Type/id');
      await repo.delete(p.url.type, p.url.id, o);
      return { response: { status: '204 No Content' } };
    case 'POST': {
      const resource = p.resource as Resource;
      if (p.ifNoneExist) {
        const r = await repo.conditionalCreate(resource, p.ifNoneExist, o);
        return ok(r.resource, r.created);
      }
      return ok(await repo.create(resource, o), true);
    }
    case 'PUT': {
      const resource = p.resource as Resource;
      if (p.url.query !== undefined) {
        const r = await repo.conditionalUpdate(resource, p.url.query, o);
        return ok(r.resource, r.created);
      }
      const r = await repo.put(resource, o);
      return ok(r.resource, r.created);
    }
    case 'PATCH':
      return ok(
        await repo.patch(p.url.type as Resource['resourceType'], p.url.id ?? '', p.patch as EntryPatch, o),
        false,
      );
  }
}

type Patches = ReadonlyMap<number, EntryPatch> | undefined;

async function runBatch(
  repo: BundleRepository,
  entries: BundleEntry[],
  opts: WriteOptions,
  patches: Patches,
): Promise<Bundle> {
  const out: BundleEntry[] = new Array<BundleEntry>(entries.length);
  const parsed: Parsed[] = [];
  entries.forEach((entry, i) => {
    try {
      parsed.push(parseEntry(entry, i, patches?.get(i)));
    } catch (e) {
      out[i] = errorEntry(withEntry(e, { index: i }));
    }
  });
  parsed.sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
  for (const p of parsed) {
    try {
      out[p.index] = await runOne(repo, p, opts);
    } catch (e) {
      out[p.index] = errorEntry(withEntry(e, p));
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}

async function runTransaction(
  repo: BundleRepository,
  entries: BundleEntry[],
  opts: WriteOptions,
  patches: Patches,
): Promise<Bundle> {
  const parsed = entries.map((entry, i) => {
    try {
      return parseEntry(entry, i, patches?.get(i));
    } catch (e) {
      throw withEntry(e, { index: i });
    }
  });
  parsed.sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
  return repo.inTx(async (inner, tx) => {
    // a run that lost a race to a concurrent writer runs again (see inTx): nothing decided in one run is kept
    for (const p of parsed) {
      delete p.targetId;
      delete p.existing;
      delete p.cur;
    }
    const out: BundleEntry[] = new Array<BundleEntry>(entries.length);
    const refs = new Map<string, string>();
    const step = async <R>(p: Parsed, fn: () => Promise<R> | R): Promise<R> => {
      try {
        return await fn();
      } catch (e) {
        throw withEntry(e, p);
      }
    };
    // 1. deletes
    for (const p of parsed) if (p.method === 'DELETE') out[p.index] = await step(p, () => runOne(inner, p, opts));
    // 2. one lock statement for all conditional criteria, one statement for every current row writes need
    const conditional = (p: Parsed) =>
      p.method === 'POST' && p.ifNoneExist
        ? p.ifNoneExist
        : p.method === 'PUT' && p.url.query !== undefined
          ? p.url.query
          : undefined;
    await lockQueries(
      tx,
      parsed.flatMap((p) => {
        const q = conditional(p);
        return q === undefined ? [] : [`${p.url.type}?${q}`];
      }),
    );
    const targets = parsed.filter(
      (p) => conditional(p) !== undefined || ((p.method === 'PUT' || p.method === 'PATCH') && p.url.id),
    );
    const rows = await inner.matchMany(
      tx,
      targets.map((p) => {
        const q = conditional(p);
        return q !== undefined ? { type: p.url.type, query: q } : { type: p.url.type, id: p.url.id ?? '' };
      }),
    );
    targets.forEach((p, k) => {
      const found = rows[k] ?? [];
      if (conditional(p) !== undefined && found.length > 1)
        throw withEntry(
          new GatewayError(
            'multiple-matches',
            `More than one ${p.url.type} matches '${conditional(p) ?? ''}': make the criteria specific`,
          ),
          p,
        );
      p.cur = found[0];
    });
    // 3. ids: matches keep theirs, creates get new ones; then every fullUrl maps to Type/id
    for (const p of parsed) {
      if (p.method === 'PATCH') p.targetId = p.url.id;
      if (p.method !== 'POST' && p.method !== 'PUT') continue;
      const matchId = conditional(p) !== undefined ? p.cur?.id : undefined;
      if (p.method === 'POST') {
        if (matchId && p.cur?.content) p.existing = JSON.parse(p.cur.content) as Resource;
        p.targetId = matchId ?? newResourceId();
        if (!matchId) p.cur = undefined;
      } else if (p.url.query !== undefined) {
        if (matchId && p.resource?.id && p.resource.id !== matchId)
          throw withEntry(
            new GatewayError('bad-request', `resource.id differs from the id of the match of '${p.rawUrl}'`),
            p,
          );
        p.targetId = matchId ?? p.resource?.id ?? newResourceId();
        if (!matchId && p.resource?.id) {
          // no match, but the client named an id: update-as-create over whatever has that id
          p.cur = (await inner.matchMany(tx, [{ type: p.url.type, id: p.resource.id }]))[0]?.[0];
        }
      } else p.targetId = p.url.id;
      if (p.fullUrl && p.targetId) refs.set(p.fullUrl, `${p.url.type}/${p.targetId}`);
    }
    // 4. every create/update decided (references resolved), written in one statement, hooks in entry order
    const seen = new Set<string>();
    const prepared: { p: Parsed; w: PreparedWrite<Resource> }[] = [];
    for (const p of parsed) {
      if (p.method !== 'POST' && p.method !== 'PUT' && p.method !== 'PATCH') continue;
      const key = `${p.url.type}/${p.targetId ?? ''}`;
      if (seen.has(key))
        throw withEntry(new GatewayError('bad-request', `${key} appears in more than one entry of the transaction`), p);
      seen.add(key);
      if (p.existing) {
        out[p.index] = ok(repo.visible(p.existing, p.cur), false);
        continue;
      }
      const o = { ...opts, ...(p.ifMatch ? { ifMatch: p.ifMatch } : {}) };
      // a patch acts on the current version as the caller may see it (its If-Match checked there)
      const base = p.patch
        ? await step(p, () =>
            inner.patched(
              p.url.type as Resource['resourceType'],
              p.targetId ?? '',
              p.cur,
              p.patch as EntryPatch,
              p.ifMatch,
            ),
          )
        : { ...(p.resource as Resource), id: p.targetId };
      const resource = resolveReferences(base, refs);
      const w = await step(p, () =>
        inner.prepare(resource, p.targetId ?? '', p.cur, p.method === 'POST' ? 'POST' : 'PUT', o),
      );
      prepared.push({ p, w });
    }
    await inner.commitPrepared(
      tx,
      prepared.map((x) => x.w),
    );
    for (const { p, w } of prepared) out[p.index] = ok(w.resource, w.created);
    // 5. reads see the writes
    for (const p of parsed) if (p.method === 'GET') out[p.index] = await step(p, () => runGet(inner, p));
    return { resourceType: 'Bundle', type: 'transaction-response', entry: out };
  });
}

/** Executes a `batch` or `transaction` Bundle (FHIR order: DELETE, POST, PUT, GET; answers in entry order). */
export async function processBundle(
  repo: BundleRepository,
  bundle: Bundle,
  opts: WriteOptions,
  patches?: ReadonlyMap<number, EntryPatch>,
): Promise<Bundle> {
  if (bundle?.resourceType !== 'Bundle')
    throw new GatewayError('bad-request', 'Expected a Bundle of type batch or transaction');
  if (bundle.type !== 'batch' && bundle.type !== 'transaction')
    throw new GatewayError('bad-request', `Bundle.type must be batch or transaction, not '${bundle.type ?? ''}'`);
  const entries = bundle.entry ?? [];
  return bundle.type === 'batch'
    ? runBatch(repo, entries, opts, patches)
    : runTransaction(repo, entries, opts, patches);
}
