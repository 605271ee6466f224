import { matchesSearchRequest } from '@medplum/core';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import type { OutboxBatchProcessor, OutboxEvent, OutboxProcessor } from '../delivery/outbox.types';
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
  /** How long the events recorded now are claimed for (delivered by this process without a job); 0: not. */
  claimMs?(): number;
  enqueueHandshake(subscriptionId: string, versionId: string): Promise<void>;
  logger?: Logger;
}

/** The focus the relay read with the row (`focusJson`: that version, as stored; the system's view). */
const prefetched = (e: OutboxEvent): Resource | undefined =>
  e.focusJson && e.action !== 'delete' ? (JSON.parse(e.focusJson) as Resource) : undefined;

async function loadFocus(deps: MatcherDeps, tx: Db, e: OutboxEvent): Promise<Resource | undefined> {
  const ready = prefetched(e);
  if (ready) return ready;
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

/** The events one resource change gives: one per matching subscription whose subscriber may read it. */
async function matchOne(
  deps: MatcherDeps,
  tx: Db,
  e: OutboxEvent,
  focus: Resource,
  candidates: MatchableSubscription[],
  warn: (id: string) => void,
): Promise<NewEvent[]> {
  const orderKey = e.stayKey ?? `${e.resourceType}/${e.resourceId}`;
  const events: NewEvent[] = [];
  for (const m of candidates) {
    if (m.spec.resourceType !== e.resourceType) continue;
    if (!m.entry.scope) {
      warn(m.entry.id);
      continue;
    }
    if (!matchesSearchRequest(focus, toSearchRequest(m.spec.resourceType, filterFor(m)))) continue;
    if (needsAccessCheck(m)) {
      const visible =
        e.action === 'delete'
          ? true
          : await readAs(deps.repos, tx, m.entry.scope, focus.resourceType, e.resourceId ?? '');
      if (!visible) continue;
    }
    events.push({
      subscriptionId: m.entry.id,
      orderKey,
      topic: m.spec.topic,
      focusType: e.resourceType ?? '',
      focusId: e.resourceId ?? '',
      focusVersion: e.versionId,
      action: e.action,
      outboxId: e.outboxId,
      committedAt: e.createdAt,
    });
  }
  return events;
}

/**
 * The focus of each change: the one the relay read with the row, or else read in one search per resource type
 * (`_id` list, current versions); a change whose version is no longer the current one is read by version, a
 * delete from its history.
 */
async function loadFoci(deps: MatcherDeps, tx: Db, events: OutboxEvent[]): Promise<Map<number, Resource>> {
  const out = new Map<number, Resource>();
  const byType = new Map<string, Set<string>>();
  const rest: OutboxEvent[] = [];
  for (const e of events) {
    const ready = prefetched(e);
    if (ready) {
      out.set(e.outboxId, ready);
      continue;
    }
    rest.push(e);
    if (e.action === 'delete') continue;
    const ids = byType.get(e.resourceType ?? '') ?? new Set<string>();
    ids.add(e.resourceId ?? '');
    byType.set(e.resourceType ?? '', ids);
  }
  const current = new Map<string, Resource>();
  for (const [type, ids] of byType) {
    const found = await deps
      .repos(tx, SYSTEM_SCOPE)
      .search(type as Resource['resourceType'], { _id: [...ids].join(','), _count: String(ids.size) });
    for (const r of found.resources) current.set(`${type}/${r.id ?? ''}`, r);
  }
  for (const e of rest) {
    const cur = current.get(`${e.resourceType ?? ''}/${e.resourceId ?? ''}`);
    const focus =
      e.action !== 'delete' && cur && (!e.versionId || cur.meta?.versionId === e.versionId)
        ? cur
        : await loadFocus(deps, tx, e);
    if (focus) out.set(e.outboxId, focus);
  }
  return out;
}

/**
 * The subscription matcher, an outbox consumer. For each resource change it finds the active
 * subscriptions whose criteria or topic filter match (`matchesSearchRequest` from @medplum/core) and whose
 * subscriber may read the resource, numbers one event per subscription in the same transaction, and
 * enqueues the deliveries after commit. Subscription changes refresh the registry and start the handshake.
 * `batch` does the same for many changes at once (one focus search per type, one numbering statement).
 */
export function createSubscriptionMatcher(deps: MatcherDeps): {
  one: OutboxProcessor;
  batch: OutboxBatchProcessor;
  /** The resource types the subscriptions seen last are about (the relay reads their changes' resources along). */
  focusTypes: () => string[];
} {
  let warnedNoScope = false;
  let focusTypes: string[] = [];
  const candidates = async (tx: Db): Promise<MatchableSubscription[]> => {
    const all = await deps.subscriptions.get(tx);
    focusTypes = [...new Set(all.map((m) => m.spec.resourceType))];
    return all;
  };
  const warn = (id: string) => {
    if (!warnedNoScope) deps.logger?.warn('subscription without a recorded subscriber is not matched', { id });
    warnedNoScope = true;
  };
  const isChange = (e: OutboxEvent) => e.kind === 'resource-changed' && !!e.resourceType && !!e.resourceId;

  /** A Subscription change: refresh the registry (and what the others match against); its handshake after commit. */
  const subscriptionChanged = async (e: OutboxEvent, tx: Db): Promise<(() => Promise<void>) | undefined> => {
    deps.subscriptions.invalidate();
    const sub = await readAs<Subscription>(deps.repos, tx, SYSTEM_SCOPE, 'Subscription', e.resourceId ?? '');
    if (!sub) {
      await markRegistryDeleted(tx, e.resourceId ?? '');
      return undefined;
    }
    await upsertRegistry(tx, sub);
    await adoptWriterScope(tx, sub.id ?? '');
    if (sub.status === 'requested') {
      const v = sub.meta?.versionId ?? e.versionId ?? '0';
      return () => deps.enqueueHandshake(sub.id ?? '', v);
    }
    return undefined;
  };

  /** The events one resource change gives (not yet recorded). */
  const eventsOf = async (e: OutboxEvent, tx: Db): Promise<NewEvent[]> => {
    const about = (await candidates(tx)).filter((m) => m.spec.resourceType === e.resourceType);
    if (about.length === 0) return [];
    const focus = await loadFocus(deps, tx, e);
    if (!focus) return [];
    return matchOne(deps, tx, e, focus, about, warn);
  };

  // Every path records a transaction's events in ONE call of recordEvents: it locks their chains in hash order,
  // and a second call in the same transaction would take further chain locks after the first call's, out of
  // that order, which deadlocked with a completion holding the later lock and waiting for the earlier one
  // (two workers, a Subscription change among Task changes; issue 12 item 10).
  const record = async (events: NewEvent[], tx: Db): Promise<(() => Promise<void>) | undefined> => {
    const queued = await recordEvents(tx, events, deps.claimMs?.() ?? 0);
    if (queued.length === 0) return undefined;
    return () => deps.enqueueEvents(queued);
  };

  const one: OutboxProcessor = async (e, tx) => {
    if (!isChange(e)) return;
    if (e.resourceType === 'Subscription') return subscriptionChanged(e, tx);
    return record(await eventsOf(e, tx), tx);
  };

  const batch: OutboxBatchProcessor = async (all, tx) => {
    const changes = all.filter(isChange);
    // Subscription changes are rare and refresh what the others match against: then match one by one, in
    // order, and record all the events at the end (in outbox order, so the numbering is the same).
    if (changes.some((e) => e.resourceType === 'Subscription')) {
      const after: (() => Promise<void>)[] = [];
      const events: NewEvent[] = [];
      for (const e of changes) {
        if (e.resourceType === 'Subscription') {
          const then = await subscriptionChanged(e, tx);
          if (then) after.push(then);
        } else events.push(...(await eventsOf(e, tx)));
      }
      const then = await record(events, tx);
      if (then) after.push(then);
      return after.length ? async () => void (await Promise.all(after.map((f) => f()))) : undefined;
    }
    const active = await candidates(tx);
    const relevant = changes.filter((e) => active.some((m) => m.spec.resourceType === e.resourceType));
    if (relevant.length === 0) return;
    const foci = await loadFoci(deps, tx, relevant);
    const events: NewEvent[] = [];
    for (const e of relevant) {
      const focus = foci.get(e.outboxId);
      if (focus) events.push(...(await matchOne(deps, tx, e, focus, active, warn)));
    }
    return record(events, tx);
  };
  return { one, batch, focusTypes: () => focusTypes };
}
