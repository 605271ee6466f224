import type { Subscription } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { AccessScope } from '../store/repository.port';
import { ensureSearchIndex } from './search-index';
import { matchProblem, parseSubscription, type SubscriptionSpec } from './subscription-model';

/** One row of `subscription_registry`: the Subscription as delivery sees it, with its subscriber and counter. */
export interface RegistryEntry {
  id: string;
  status: string;
  resource: Subscription;
  scope: AccessScope | null;
  eventsSinceStart: number;
  consecutiveFailures: number;
  lastError: string | null;
  updatedAt: string;
}

/** A `subscription_registry` row as the driver returns it. */
export interface RegistryRow {
  id: string;
  status: string;
  resource: Subscription;
  scope: AccessScope | null;
  events_since_start: number;
  consecutive_failures: number;
  last_error: string | null;
  updated_at: Date | string;
}

const COLUMNS = 'id, status, resource, scope, events_since_start, consecutive_failures, last_error, updated_at';

export function toEntry(r: RegistryRow): RegistryEntry {
  return {
    id: r.id,
    status: r.status,
    resource: r.resource,
    scope: r.scope,
    eventsSinceStart: Number(r.events_since_start),
    consecutiveFailures: r.consecutive_failures,
    lastError: r.last_error,
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

const HEARTBEAT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period';

/**
 * Mirrors a Subscription version into the registry. `scope` is the subscriber (set on writes by clients);
 * a write without one (the gateway's own status changes) keeps the recorded subscriber.
 */
export async function upsertRegistry(db: Db, sub: Subscription, scope?: AccessScope): Promise<void> {
  const hb = sub.channel?.extension?.find((e) => e.url === HEARTBEAT)?.valueUnsignedInt ?? null;
  await db.query(
    `INSERT INTO subscription_registry (id, status, resource, scope, heartbeat_seconds)
       VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, resource = EXCLUDED.resource,
       scope = COALESCE(EXCLUDED.scope, subscription_registry.scope),
       heartbeat_seconds = EXCLUDED.heartbeat_seconds, updated_at = now()`,
    [sub.id, sub.status, JSON.stringify(sub), scope ? JSON.stringify(scope) : null, hb],
  );
}

export async function markRegistryDeleted(db: Db, id: string): Promise<void> {
  await db.query(`UPDATE subscription_registry SET status = 'off', updated_at = now() WHERE id = $1`, [id]);
}

export async function getRegistryEntry(db: Db, id: string): Promise<RegistryEntry | undefined> {
  const { rows } = await db.query<RegistryRow>(`SELECT ${COLUMNS} FROM subscription_registry WHERE id = $1`, [id]);
  return rows[0] ? toEntry(rows[0]) : undefined;
}

export async function listRegistry(db: Db, statuses?: string[]): Promise<RegistryEntry[]> {
  const { rows } = statuses
    ? await db.query<RegistryRow>(
        `SELECT ${COLUMNS} FROM subscription_registry WHERE status = ANY($1::text[]) ORDER BY id`,
        [statuses],
      )
    : await db.query<RegistryRow>(`SELECT ${COLUMNS} FROM subscription_registry ORDER BY id`);
  return rows.map(toEntry);
}

export interface MatchableSubscription {
  entry: RegistryEntry;
  spec: SubscriptionSpec;
}

/**
 * The subscriptions the matcher evaluates (status active or error), parsed, cached for `ttlMs` in this
 * process; `invalidate()` after a Subscription change seen here. `onProblem` hears, once per version, of a stored
 * Subscription that cannot be parsed (it is left out) or whose criteria can never match (stored before such
 * criteria were refused): neither is held back in silence.
 */
export function createRegistryCache(
  db: Db,
  canonicalBase: string,
  ttlMs = 1000,
  onProblem?: (id: string, problem: string) => void,
) {
  let at = 0;
  let value: MatchableSubscription[] = [];
  let loading: Promise<MatchableSubscription[]> | undefined;
  const specs = new Map<string, { updatedAt: string; spec: SubscriptionSpec }>();
  // the version of each Subscription that could not be parsed, so it is reported once
  const skipped = new Map<string, string>();
  async function load(via: Db): Promise<MatchableSubscription[]> {
    ensureSearchIndex();
    const entries = await listRegistry(via, ['active', 'error']);
    const out: MatchableSubscription[] = [];
    for (const entry of entries) {
      let cached = specs.get(entry.id);
      if (!cached || cached.updatedAt !== entry.updatedAt) {
        try {
          cached = { updatedAt: entry.updatedAt, spec: parseSubscription(entry.resource, canonicalBase) };
          specs.set(entry.id, cached);
        } catch (e) {
          if (skipped.get(entry.id) !== entry.updatedAt) onProblem?.(entry.id, (e as Error).message);
          skipped.set(entry.id, entry.updatedAt);
          continue;
        }
        const problem = matchProblem(cached.spec);
        if (problem) onProblem?.(entry.id, problem);
      }
      out.push({ entry, spec: cached.spec });
    }
    return out;
  }
  return {
    /** `via`: the caller's transaction when it holds one (PGlite has a single connection). */
    async get(via: Db = db): Promise<MatchableSubscription[]> {
      if (Date.now() - at < ttlMs) return value;
      loading ??= load(via).finally(() => {
        loading = undefined;
      });
      value = await loading;
      at = Date.now();
      return value;
    },
    invalidate(): void {
      at = 0;
    },
  };
}
