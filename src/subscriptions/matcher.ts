import { matchesSearchRequest } from '@medplum/core';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import type { OutboxEvent, OutboxProcessor } from '../delivery/outbox.types';
import { isUnrestricted, readAs, SYSTEM_SCOPE, type RepositoryFactory } from '../delivery/resource-access';
import { recordEvents, type EventRef, type NewEvent } from './events.pg';
import { markRegistryDeleted, upsertRegistry, type MatchableSubscription } from './registry.pg';
import { toSearchRequest } from './subscription-model';

export const SUBSCRIPTION_MATCH_CONSUMER = 'subscription-match';

export interface MatcherDeps {
  repos: RepositoryFactory;
  /** Active/error subscriptions (cached). */
  subscriptions: { get(via?: Db): Promise<MatchableSubscription[]>; invalidate(): void };
  enqueueEvents(refs: EventRef[]): Promise<void>;
  enqueueHandshake(subscriptionId: string, versionId: string): Promise<void>;
  logger?: Logger;
}

async function loadFocus(deps: MatcherDeps, tx: Db, e: OutboxEvent): Promise<Resource | undefined> {
  const type = e.resourceType as Resource['resourceType'];
  const id = e.resourceId ?? '';
  if (e.action !== 'delete') return readAs(deps.repos, tx, SYSTEM_SCOPE, type, id, e.versionId);
  // A delete matches what the resource was just before it.
  const history = await deps.repos(tx, SYSTEM_SCOPE).history(type, id);
  return history.find((h) => h.resource)?.resource;
}

/**
 * Fallback when the Subscription write hook (createSubscriptionHooks) was not wired into the FHIR API's
 * repository: the subscriber is taken to be the organisation that wrote the Subscription (least privilege:
 * no role, so the store applies the owner-only tenant rules). Without any writer the subscription is not
 * matched at all.
 */
async function adoptWriterScope(tx: Db, id: string): Promise<void> {
  await tx.query(
    `UPDATE subscription_registry s SET scope = jsonb_build_object('organization', r.writer_orgs[1])
       FROM fhir_resource r
      WHERE s.id = $1 AND s.scope IS NULL AND r.resource_type = 'Subscription' AND r.id = $1
        AND cardinality(r.writer_orgs) > 0`,
    [id],
  );
}

/** Does the subscription need the store's tenant check at match time (not implied by its owner filter)? */
function needsAccessCheck(m: MatchableSubscription): boolean {
  if (isUnrestricted(m.entry.scope)) return false;
  if (m.spec.resourceType !== 'Task') return true;
  return !(m.spec.topicDef?.implicitFilter || new URLSearchParams(m.spec.filter).has('owner'));
}

function filterFor(m: MatchableSubscription): string {
  const implicit = m.spec.topicDef?.implicitFilter && m.entry.scope?.organization;
  const parts = [m.spec.filter, implicit ? m.spec.topicDef!.implicitFilter!(m.entry.scope!.organization!) : ''];
  return parts.filter((p) => p).join('&');
}

/**
 * The subscription matcher, an outbox consumer. For each resource change it finds the active
 * subscriptions whose criteria or topic filter match (`matchesSearchRequest` from @medplum/core) and whose
 * subscriber may read the resource, numbers one event per subscription in the same transaction, and
 * enqueues the deliveries after commit. Subscription changes refresh the registry and start the handshake.
 */
export function createSubscriptionMatcher(deps: MatcherDeps): OutboxProcessor {
  let warnedNoScope = false;
  return async (e, tx) => {
    if (e.kind !== 'resource-changed' || !e.resourceType || !e.resourceId) return;
    if (e.resourceType === 'Subscription') {
      deps.subscriptions.invalidate();
      const sub = await readAs<Subscription>(deps.repos, tx, SYSTEM_SCOPE, 'Subscription', e.resourceId);
      if (!sub) {
        await markRegistryDeleted(tx, e.resourceId);
        return;
      }
      await upsertRegistry(tx, sub);
      await adoptWriterScope(tx, sub.id ?? '');
      if (sub.status === 'requested') {
        const v = sub.meta?.versionId ?? e.versionId ?? '0';
        return () => deps.enqueueHandshake(sub.id ?? '', v);
      }
      return;
    }
    const candidates = (await deps.subscriptions.get(tx)).filter((m) => m.spec.resourceType === e.resourceType);
    if (candidates.length === 0) return;
    const focus = await loadFocus(deps, tx, e);
    if (!focus) return;
    const orderKey = e.stayKey ?? `${e.resourceType}/${e.resourceId}`;
    const events: NewEvent[] = [];
    for (const m of candidates) {
      if (!m.entry.scope) {
        if (!warnedNoScope)
          deps.logger?.warn('subscription without a recorded subscriber is not matched', { id: m.entry.id });
        warnedNoScope = true;
        continue;
      }
      if (!matchesSearchRequest(focus, toSearchRequest(m.spec.resourceType, filterFor(m)))) continue;
      if (needsAccessCheck(m)) {
        const visible =
          e.action === 'delete' ? true : await readAs(deps.repos, tx, m.entry.scope, focus.resourceType, e.resourceId);
        if (!visible) continue;
      }
      events.push({
        subscriptionId: m.entry.id,
        orderKey,
        topic: m.spec.topic,
        focusType: e.resourceType,
        focusId: e.resourceId,
        focusVersion: e.versionId,
        action: e.action,
        outboxId: e.outboxId,
        committedAt: e.createdAt,
      });
    }
    if (events.length === 0) return;
    const queued = await recordEvents(tx, events);
    if (queued.length === 0) return;
    return () => deps.enqueueEvents(queued);
  };
}
