import type { Bundle, Resource } from '@medplum/fhirtypes';

/**
 * Who is asking, for tenant isolation inside the store. `undefined` (or `system: true`) means the gateway
 * itself: no filtering. Rules (contract, Security): a municipality or primary-care client sees only the
 * Tasks it owns and the Patients/Encounters those Tasks point to; a hospital client sees what its own
 * organisation sent (resources it wrote); a SIP (CarePlan) only its parties see (ADR 047); admin sees everything.
 */
export interface AccessScope {
  system?: boolean;
  clientId?: string;
  /** `Organization/<id>` of the client's tenant. */
  organization?: string;
  role?: 'hospital' | 'municipality' | 'primary-care' | 'admin';
  /**
   * An admin's explicit right to see a protected identity in full (address, telecom, contact). Without it an
   * admin sees such a Patient as a recipient does (docs/security.md, "Protected identity").
   */
  protectedIdentity?: boolean;
}

export type SearchParams = Record<string, string | string[] | undefined>;

export interface SearchResult<T extends Resource = Resource> {
  resources: T[];
  /** Resources pulled in by `_include` (search mode `include`). */
  included: Resource[];
  total?: number;
  /** Query string (without `?`) of the next page, when there is one. */
  next?: string;
  /** What the answer left out and why (e.g. `_revinclude` past its cap): the API turns each into an outcome issue. */
  notes?: string[];
}

export interface HistoryEntry<T extends Resource = Resource> {
  resource?: T;
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  method: 'POST' | 'PUT' | 'DELETE';
}

export interface WriteOptions {
  /** `W/"<versionId>"` or a bare version id: 412 `version-conflict` when the current version differs. */
  ifMatch?: string;
  /** Who wrote it (client id), stored with the version for audit and tenant rules. */
  author?: string;
  /** The writer's tenant, `Organization/<id>`, stored with the version (hospital clients see their own). */
  authorOrganization?: string;
  /** Write no outbox row (used for AuditEvents, which nobody subscribes to and which are written on every call). */
  silent?: boolean;
  /**
   * Whether the writer may create a resource of this type (the FHIR API: its token's create scope). An update that
   * would create (a PUT of a new id, a conditional PUT that matches nothing) is refused without it; unset: may.
   */
  mayCreate?: (resourceType: string) => boolean;
}

/** One committed-to-be change, handed to hooks inside the writing transaction. */
export interface ResourceChange {
  action: 'create' | 'update' | 'delete';
  resourceType: string;
  id: string;
  /** The version before the change (undefined on create). */
  before?: Resource;
  /** The new version (undefined on delete). */
  after?: Resource;
  author?: string;
  authorOrganization?: string;
  /**
   * The new versions the same write statement stored (key `Type/id`), this one included: a hook that needs a
   * resource written alongside (a transaction Bundle's Patient beside its Encounter) takes it from here instead of
   * reading it again.
   */
  writtenWith?: ReadonlyMap<string, Resource>;
  /**
   * Set by a hook that wrote a later version of this same resource in the transaction (intake adding the protected-
   * identity label a new record of a protected person inherits): the writer is answered with that version, the one
   * stored, not with its own.
   */
  current?: Resource;
}

/**
 * Called by the repository after each write, inside the same transaction (`tx`), so what a hook writes
 * commits or rolls back with the change. Intake uses it to turn FHIR Encounter updates into stay facts.
 * A hook that throws aborts the write (and, in a transaction Bundle, the whole Bundle).
 */
export interface RepositoryHooks {
  /**
   * Called before the versions are written, in the same transaction: returns the version to store instead of
   * `change.after` (what the gateway fills in from what it knows, e.g. a Communication's organisation names), or
   * undefined to store it as it is. The version returned is the one written, told to subscribers (its outbox row),
   * answered to the writer and seen by `afterWrite`. Not called on delete.
   */
  beforeWrite?(
    tx: import('./db.port').Db,
    change: ResourceChange,
    scope: AccessScope | undefined,
  ): Promise<Resource | undefined>;
  afterWrite?(tx: import('./db.port').Db, change: ResourceChange, scope: AccessScope | undefined): Promise<void>;
}

/**
 * The FHIR resource store. Every write keeps the old version (history), sets `meta.versionId` and
 * `meta.lastUpdated`, maintains the search index tables, and writes one `outbox` row (resource-changed event)
 * in the same transaction, so subscriptions and deadline timers see every change exactly once.
 *
 * Obtain one per `Db` handle: `createRepository(db, scope, hooks?)` (implemented in `repository.pg.ts`); inside `db.transaction(tx => ...)` use
 * `createRepository(tx, scope)` so resource writes, outbox rows and other rows commit together.
 *
 * Errors are `GatewayError`s: `not-found`, `gone` (deleted), `version-conflict`, `multiple-matches`,
 * `invalid-resource`, `forbidden`.
 */
/** The change a Bundle's PATCH entry makes to the current version (its JSON Patch applied, the result validated). */
export type EntryPatch = (current: Resource) => Resource;

export interface FhirRepository {
  create<T extends Resource>(resource: T, opts?: WriteOptions): Promise<T>;
  /** Creates several resources with one write (optional: callers fall back to `create` one by one). */
  createMany?<T extends Resource>(resources: readonly T[], opts?: WriteOptions): Promise<T[]>;
  /** Create unless a resource matches `ifNoneExist` (a search query string); returns the match then. */
  conditionalCreate<T extends Resource>(
    resource: T,
    ifNoneExist: string,
    opts?: WriteOptions,
  ): Promise<{ resource: T; created: boolean }>;
  read<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T>;
  /**
   * `read`, row-locking the current version until the caller's transaction ends: a read-modify-write inside
   * `db.transaction` (a SIP party's part, a signature's status) then writes on top of any concurrent change
   * instead of losing it. Outside a transaction the lock ends with the statement.
   */
  readForUpdate<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T>;
  vread<T extends Resource>(resourceType: T['resourceType'], id: string, versionId: string): Promise<T>;
  /** Update (or create with the client's id when absent). A write with no change keeps the version. */
  update<T extends Resource>(resource: T, opts?: WriteOptions): Promise<T>;
  /**
   * Changes the current version with `change` (the caller's patch) under the row lock, in one transaction, and
   * writes the result as an update (the same rules as PUT; `opts.ifMatch` is checked against the locked version).
   * Refused (403) when the caller is shown only part of the resource (a protected identity, a Subscription's
   * secret): a patch would act on what it cannot see.
   */
  patch<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    change: (current: T) => T,
    opts?: WriteOptions,
  ): Promise<T>;
  /** Update the single match of `query`, create when none matches, 412 when several do. */
  conditionalUpdate<T extends Resource>(
    resource: T,
    query: string,
    opts?: WriteOptions,
  ): Promise<{ resource: T; created: boolean }>;
  delete(resourceType: string, id: string, opts?: WriteOptions): Promise<void>;
  search<T extends Resource>(resourceType: T['resourceType'], params: SearchParams): Promise<SearchResult<T>>;
  /** Version history of one resource (newest first), or of a type when `id` is omitted. */
  history(resourceType: string, id?: string, params?: SearchParams): Promise<HistoryEntry[]>;
  /**
   * Executes a `batch` or `transaction` Bundle (transaction: atomic, `urn:uuid` references resolved). A PATCH entry
   * runs the change given for its index in `patches` (the API parses and checks its JSON Patch) as `patch` would.
   */
  processBundle(bundle: Bundle, opts?: WriteOptions, patches?: ReadonlyMap<number, EntryPatch>): Promise<Bundle>;
}
