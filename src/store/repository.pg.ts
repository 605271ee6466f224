import { newResourceId } from './resource-id';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { GatewayError, LostRaceError } from '../platform/errors';
import { systemClock, type Clock } from '../platform/clock';
import { assertMayChange, assertMayWriteType, type RecordHolder } from './access-sql';
import { assertTargetsReadable } from './write-targets';
import type { Db } from './db.port';
import type {
  AccessScope,
  EntryPatch,
  FhirRepository,
  HistoryEntry,
  RepositoryHooks,
  ResourceChange,
  SearchParams,
  SearchResult,
  WriteOptions,
} from './repository.port';
import {
  assertId,
  assertResource,
  assertSupportedType,
  forScope,
  sameContent,
  secretOf,
  withoutSecret,
} from './resource-util';
import { lockCurrent, lockQueries, writeVersion, writeVersions, type CurrentRow } from './write-sql';
import { processBundle } from './bundle';
import { assertIfMatch, prepareWrite, type PreparedWrite } from './prepare-write';
import { gone, historyOf, notFound, readCurrent, readVersion, searchCurrent } from './read-sql';
import { matchConditional, matchTargets } from './match-sql';

export interface RepositoryOptions {
  clock?: Clock;
  newId?: () => string;
}

/** Internal: a repository already running inside a transaction does not open savepoints for each call. */
interface Internal {
  inTransaction?: boolean;
}

/** The PostgreSQL (and PGlite) FHIR repository. See `FhirRepository` for the contract. */
export function createRepository(
  db: Db,
  scope?: AccessScope,
  hooks?: RepositoryHooks,
  options: RepositoryOptions = {},
): FhirRepository {
  return new PgRepository(db, scope, hooks, options, {});
}

/** How many times a transaction that lost a race to a concurrent writer runs in all (see `PgRepository.inTx`). */
const LOST_RACE_RUNS = 4;

export class PgRepository implements FhirRepository {
  private readonly clock: Clock;
  private readonly newId: () => string;
  constructor(
    private readonly db: Db,
    readonly scope: AccessScope | undefined,
    private readonly hooks: RepositoryHooks | undefined,
    private readonly options: RepositoryOptions,
    private readonly internal: Internal,
  ) {
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? newResourceId;
  }

  /** Runs `fn` in a transaction (or directly, when this repository is bound to one already). */
  /**
   * Runs `fn` in a transaction (or in the caller's). A transaction of its own that lost a race to a concurrent writer
   * (a Task its hooks rewrite was changed meanwhile: `LostRaceError`) runs again from the start, reading afresh, up
   * to LOST_RACE_RUNS times: the client did not ask for a precondition, so it gets its write, not a 412.
   */
  async inTx<T>(fn: (repo: PgRepository, tx: Db) => Promise<T>): Promise<T> {
    if (this.internal.inTransaction) return fn(this, this.db);
    for (let run = 1; ; run++) {
      try {
        return await this.db.transaction((tx) =>
          fn(new PgRepository(tx, this.scope, this.hooks, this.options, { inTransaction: true }), tx),
        );
      } catch (err) {
        if (!(err instanceof LostRaceError) || run >= LOST_RACE_RUNS) throw err;
      }
    }
  }

  async create<T extends Resource>(resource: T, opts: WriteOptions = {}): Promise<T> {
    assertResource(resource);
    assertMayWriteType(this.scope, resource.resourceType);
    const r = await this.inTx((repo, tx) => repo.store(tx, resource, this.newId(), undefined, 'POST', opts));
    return r.resource;
  }

  /** Creates several resources with one write statement; hooks run after it, in order (as in a transaction Bundle). */
  async createMany<T extends Resource>(resources: readonly T[], opts: WriteOptions = {}): Promise<T[]> {
    for (const resource of resources) {
      assertResource(resource);
      assertMayWriteType(this.scope, resource.resourceType);
    }
    if (resources.length === 0) return [];
    return this.inTx(async (repo, tx) => {
      const prepared = resources.map((r) => repo.prepare(r, this.newId(), undefined, 'POST', opts));
      await repo.commitPrepared(tx, prepared);
      return prepared.map((p) => p.resource);
    });
  }

  /** Create with an id chosen by the caller (transaction Bundles assign ids before resolving urn:uuid). */
  async createWithId<T extends Resource>(resource: T, opts: WriteOptions = {}): Promise<T> {
    assertResource(resource);
    assertId(resource.id);
    const id = resource.id;
    assertMayWriteType(this.scope, resource.resourceType);
    const r = await this.inTx((repo, tx) => repo.store(tx, resource, id, undefined, 'POST', opts));
    return r.resource;
  }

  async update<T extends Resource>(resource: T, opts: WriteOptions = {}): Promise<T> {
    return (await this.put(resource, opts)).resource;
  }

  /** Update (or create with the caller's id), saying whether it created. */
  async put<T extends Resource>(resource: T, opts: WriteOptions = {}): Promise<{ resource: T; created: boolean }> {
    assertResource(resource);
    assertId(resource.id);
    const id = resource.id;
    assertMayWriteType(this.scope, resource.resourceType);
    return this.inTx(async (repo, tx) => {
      const cur = await lockCurrent(tx, resource.resourceType, id, this.scope);
      return repo.store(tx, resource, id, cur, 'PUT', opts);
    });
  }

  async patch<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    change: (current: T) => T,
    opts: WriteOptions = {},
  ): Promise<T> {
    assertSupportedType(resourceType);
    assertMayWriteType(this.scope, resourceType);
    return this.inTx(async (repo, tx) => {
      const cur = await lockCurrent(tx, resourceType, id, this.scope);
      const next = this.patched(resourceType, id, cur, change, opts.ifMatch);
      const { ifMatch: _checked, ...rest } = opts;
      return (await repo.store(tx, next, id, cur, 'PUT', rest)).resource;
    });
  }

  /**
   * The next version of `resourceType/id` that `change` makes of its current row `cur` (locked by the caller): 404,
   * 410 and If-Match as a read and an update would answer, 403 when the caller is shown only part of it.
   */
  patched<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    cur: CurrentRow | undefined,
    change: (current: T) => T,
    ifMatch: string | undefined,
  ): T {
    if (!cur || !cur.visible) throw notFound(resourceType, id);
    if (cur.deleted || !cur.content) throw gone(resourceType, id);
    assertIfMatch(resourceType, id, cur, ifMatch);
    const stored = JSON.parse(cur.content) as T;
    const shown = forScope(stored, this.scope, cur);
    // a Subscription is shown without its secret only: the patch acts on the rest, and the secret is kept
    const hiddenSecret = shown !== stored ? secretOf(stored) : undefined;
    if (!sameContent(shown, hiddenSecret ? withoutSecret(stored) : stored))
      throw new GatewayError(
        'forbidden',
        `${resourceType}/${id} is shown to you in part (a protected identity): a patch would change what you cannot see; send the whole resource with PUT`,
      );
    const next = change(structuredClone(shown));
    if (next.resourceType !== resourceType || next.id !== id)
      throw new GatewayError('bad-request', `A patch may not change the resourceType or id of ${resourceType}/${id}`);
    if (hiddenSecret && !secretOf(next)) {
      const withExt = next as T & { extension?: unknown[] };
      withExt.extension = [...(withExt.extension ?? []), hiddenSecret];
    }
    return next;
  }

  async conditionalCreate<T extends Resource>(
    resource: T,
    ifNoneExist: string,
    opts: WriteOptions = {},
  ): Promise<{ resource: T; created: boolean }> {
    assertResource(resource);
    return this.inTx(async (repo, tx) => {
      await lockQueries(tx, [`${resource.resourceType}?${ifNoneExist}`]);
      const match = await repo.matchOne<T>(tx, resource.resourceType, ifNoneExist);
      if (match) return { resource: match.resource, created: false };
      return { resource: await repo.create(resource, opts), created: true };
    });
  }

  async conditionalUpdate<T extends Resource>(
    resource: T,
    query: string,
    opts: WriteOptions = {},
  ): Promise<{ resource: T; created: boolean }> {
    assertResource(resource);
    return this.inTx(async (repo, tx) => {
      await lockQueries(tx, [`${resource.resourceType}?${query}`]);
      const match = await repo.matchOne<T>(tx, resource.resourceType, query);
      return repo.putMatched(tx, resource, query, match, opts);
    });
  }

  /**
   * Writes `resource` over the result of `matchOne` for `query` (update the match, or create when none:
   * with the resource's own id when it has one).
   */
  async putMatched<T extends Resource>(
    tx: Db,
    resource: T,
    query: string,
    match: { resource: T; row: CurrentRow } | undefined,
    opts: WriteOptions,
  ): Promise<{ resource: T; created: boolean }> {
    assertMayWriteType(this.scope, resource.resourceType);
    // nothing the writer may read matches (the match is within its scope): no existence is told by refusing
    if (!match && !resource.id && opts.mayCreate?.(resource.resourceType) === false)
      throw new GatewayError(
        'forbidden',
        `No ${resource.resourceType} matches '${query}', and your token has no scope for create on ${resource.resourceType}: ask for system/${resource.resourceType}.c (or a wider scope) to create one`,
      );
    if (match) {
      const id = match.resource.id ?? '';
      if (resource.id && resource.id !== id)
        throw new GatewayError(
          'bad-request',
          `The resource id '${resource.id}' differs from the id '${id}' of the resource matching '${query}'`,
        );
      return this.store(tx, { ...resource, id }, id, match.row, 'PUT', opts);
    }
    if (resource.id) {
      assertId(resource.id);
      return this.store(
        tx,
        resource,
        resource.id,
        await lockCurrent(tx, resource.resourceType, resource.id, this.scope),
        'PUT',
        opts,
      );
    }
    return this.store(tx, resource, this.newId(), undefined, 'POST', opts);
  }

  /**
   * The single current match of a conditional query, row-locked (undefined when none; 412 when several).
   * Call `lockQueries` first in the same transaction, so two concurrent conditional writes cannot both create.
   */
  async matchOne<T extends Resource>(
    tx: Db,
    type: string,
    query: string,
  ): Promise<{ resource: T; row: CurrentRow } | undefined> {
    return matchConditional<T>(tx, this.scope, type, query);
  }

  /** Current rows for several targets in one statement, each row-locked (see `matchTargets`). */
  async matchMany(
    tx: Db,
    items: ({ type: string; query: string } | { type: string; id: string })[],
  ): Promise<(CurrentRow & { id: string })[][]> {
    return matchTargets(tx, this.scope, items);
  }

  /** Writes a version of `resource` with `id` over `cur` (the locked current row, if any). */
  private async store<T extends Resource>(
    tx: Db,
    resource: T,
    id: string,
    cur: CurrentRow | undefined,
    method: 'POST' | 'PUT',
    opts: WriteOptions,
  ): Promise<{ resource: T; created: boolean }> {
    const prepared = this.prepare(resource, id, cur, method, opts);
    await this.commitPrepared(tx, [prepared]);
    return { resource: prepared.resource, created: prepared.created };
  }

  /** Decides a write without touching the database (see `prepareWrite`); `commitPrepared` writes it. */
  prepare<T extends Resource>(
    resource: T,
    id: string,
    cur: CurrentRow | undefined,
    method: 'POST' | 'PUT',
    opts: WriteOptions,
  ): PreparedWrite<T> {
    return prepareWrite(resource, id, cur, method, opts, { now: this.clock.now(), scope: this.scope });
  }

  async commitPrepared(tx: Db, prepared: PreparedWrite<Resource>[]): Promise<void> {
    const hooks = this.hooks;
    if (hooks?.beforeWrite) for (const p of prepared) await this.fillIn(tx, p, hooks);
    await assertTargetsReadable(tx, this.scope, prepared);
    const writes = prepared.flatMap((p) => (p.write ? [p.write] : []));
    await writeVersions(tx, writes);
    if (!this.hooks?.afterWrite) return;
    const writtenWith = new Map<string, Resource>();
    for (const w of writes) if (w.resource) writtenWith.set(`${w.type}/${w.id}`, w.resource);
    for (const p of prepared) {
      if (!p.change) continue;
      const change: ResourceChange = { ...p.change, writtenWith };
      await this.hooks.afterWrite(tx, change, this.scope);
      // a hook wrote a later version of it (see ResourceChange.current): the writer is answered with what is stored
      if (change.current) p.resource = forScope(change.current, this.scope, p.holder);
    }
  }

  /** What a hook fills in before the write (`RepositoryHooks.beforeWrite`) becomes the version written and answered. */
  private async fillIn(tx: Db, p: PreparedWrite<Resource>, hooks: RepositoryHooks): Promise<void> {
    if (!p.write?.resource || !p.change?.after) return;
    const filled = await hooks.beforeWrite?.(tx, p.change, this.scope);
    if (!filled) return;
    p.write.resource = filled;
    p.change.after = filled;
    p.resource = forScope(filled, this.scope, p.holder);
  }

  async read<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T> {
    return readCurrent<T>(this.db, this.scope, resourceType, id);
  }

  async readForUpdate<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T> {
    return readCurrent<T>(this.db, this.scope, resourceType, id, { forUpdate: true });
  }

  async vread<T extends Resource>(resourceType: T['resourceType'], id: string, versionId: string): Promise<T> {
    return readVersion<T>(this.db, this.scope, resourceType, id, versionId);
  }

  async delete(resourceType: string, id: string, opts: WriteOptions = {}): Promise<void> {
    assertSupportedType(resourceType);
    assertMayWriteType(this.scope, resourceType);
    assertMayChange(resourceType, true, 'delete');
    await this.inTx(async (repo, tx) => {
      const cur = await lockCurrent(tx, resourceType, id, this.scope);
      if (!cur || !cur.visible) throw notFound(resourceType, id);
      if (cur.deleted) return;
      assertIfMatch(resourceType, id, cur, opts.ifMatch);
      const before = cur.content ? (JSON.parse(cur.content) as Resource) : undefined;
      await writeVersion(tx, {
        type: resourceType,
        id,
        prevVersion: cur.version_id,
        version: cur.version_id + 1,
        lastUpdated: this.clock.now().toISOString(),
        method: 'DELETE',
        action: 'delete',
        before,
        opts,
      });
      await repo.hooks?.afterWrite?.(
        tx,
        {
          action: 'delete',
          resourceType,
          id,
          before,
          author: opts.author,
          authorOrganization: opts.authorOrganization,
        },
        this.scope,
      );
    });
  }

  async search<T extends Resource>(resourceType: T['resourceType'], params: SearchParams): Promise<SearchResult<T>> {
    return searchCurrent<T>(this.db, this.scope, resourceType, params);
  }

  async history(resourceType: string, id?: string, params: SearchParams = {}): Promise<HistoryEntry[]> {
    return historyOf(this.db, this.scope, resourceType, id, params);
  }

  /** `resource` as this repository's scope may see it (`holder`: from its row, see `forScope`). */
  visible<T extends Resource>(resource: T, holder?: RecordHolder): T {
    return forScope(resource, this.scope, holder);
  }

  async processBundle(
    bundle: Bundle,
    opts: WriteOptions = {},
    patches?: ReadonlyMap<number, EntryPatch>,
  ): Promise<Bundle> {
    return processBundle(this, bundle, opts, patches);
  }
}
