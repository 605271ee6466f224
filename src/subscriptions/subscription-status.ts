import type { Subscription } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import { readAs, SYSTEM_SCOPE, type RepositoryFactory } from '../delivery/resource-access';
import { upsertRegistry } from './registry.pg';
import { retryOnVersionConflict } from '../platform/errors';

/**
 * Sets Subscription.status (and `error`) through the repository, so clients read it, and mirrors it in the
 * registry at once. `requested → active` after a handshake, `active → error` after repeated failures,
 * `error → active` after a success, `off` when a notification exhausted its retries.
 */
export async function setSubscriptionStatus(
  db: Db,
  repos: RepositoryFactory,
  id: string,
  status: Subscription['status'],
  error: string | undefined,
  logger?: Logger,
): Promise<void> {
  try {
    // compare-and-set on the version read: a client's edit (a new endpoint) that lands in between is kept, and the
    // status is set again on top of it
    await retryOnVersionConflict(async () => {
      const current = await readAs<Subscription>(repos, db, SYSTEM_SCOPE, 'Subscription', id);
      if (!current || (current.status === status && current.error === error)) return;
      const next: Subscription = { ...current, status };
      if (error) next.error = error;
      else delete next.error;
      const saved = await repos(db, SYSTEM_SCOPE).update(next, { ifMatch: current.meta?.versionId });
      await upsertRegistry(db, saved);
      logger?.info('subscription status changed', { subscriptionId: id, from: current.status, to: status });
    });
  } catch (err) {
    logger?.warn('could not update subscription status', { subscriptionId: id, status, error: String(err) });
    await db.query('UPDATE subscription_registry SET status = $2, last_error = $3, updated_at = now() WHERE id = $1', [
      id,
      status,
      error ?? null,
    ]);
  }
}
