import { matchesSearchRequest, type SearchRequest } from '@medplum/core';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import { hasProtectedIdentity } from '../fhir/protected-identity';
import { searchesProtectedParam } from '../store/search-params';
import { inSession, type Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import type { OutboxBatchProcessor, OutboxEvent, OutboxProcessor } from '../delivery/outbox.types';
import type { PreparedDelivery } from '../delivery/delivery-batch';
import {
  isUnrestricted,
  readAs,
  addToFocusGroup,
  readManyAs,
  SYSTEM_SCOPE,
  type FocusGroup,
  type RepositoryFactory,
} from '../delivery/resource-access';
import {
  claimAndRecord,
  eventJobId,
  recordEvents,
  type EventRef,
  type NewEvent,
  type RecordedEvent,
} from './events.pg';
import { handleOutboxBatch, orderKey as outboxOrderKey } from '../delivery/outbox-consumer';
import { markRegistryDeleted, upsertRegistry, type MatchableSubscription } from './registry.pg';
import { toSearchRequest } from './subscription-model';
import { focusValues, indexByNeedle, mayMatch, type CandidateIndex } from './prefilter';

export const SUBSCRIPTION_MATCH_CONSUMER = 'subscription-match';

export interface MatcherDeps {
  repos: RepositoryFactory;
  /** Active/error subscriptions (cached). */
  subscriptions: { get(via?: Db): Promise<MatchableSubscription[]>; invalidate(): void };
  /** `prepared`: for direct dispatch, what each event's delivery would read again (by `eventJobId`). */
  enqueueEvents(refs: EventRef[], prepared?: ReadonlyMap<string, PreparedDelivery>): Promise<void>;
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

/** Whether the criteria search a Patient's elements a recipient never sees of a protected identity. */
function searchesHidden(request: SearchRequest): boolean {
  if (request.resourceType !== 'Patient') return false;
  return (request.filters ?? []).some((f) => searchesProtectedParam('Patient', f.code));
}

function filterFor(m: MatchableSubscription): string {
  const implicit = m.spec.topicDef?.implicitFilter && m.entry.scope?.organization;
  const parts = [m.spec.filter, implicit ? m.spec.topicDef!.implicitFilter!(m.entry.scope!.organization!) : ''];
  return parts.filter((p) => p).join('&');
}

/** The subscription's search request, kept with the registry's entry (a new entry after each change). */
const requests = new WeakMap<MatchableSubscription, SearchRequest>();
function requestFor(m: MatchableSubscription): SearchRequest {
  let request = requests.get(m);
  if (!request) requests.set(m, (request = toSearchRequest(m.spec.resourceType, filterFor(m))));
  return request;
}

/** The subscriptions indexed by what a change must hold to match them (`indexByNeedle`), per registry list. */
const indexes = new WeakMap<MatchableSubscription[], CandidateIndex<MatchableSubscription>>();
function indexFor(candidates: MatchableSubscription[]): CandidateIndex<MatchableSubscription> {
  let index = indexes.get(candidates);
  if (!index) {
    index = indexByNeedle(
      candidates,
      (m) => m.spec.resourceType,
      (m) => (m.entry.scope ? requestFor(m) : undefined),
    );
    indexes.set(candidates, index);
  }
  return index;
}

/** An event to record, with the focus as its subscriber may read it when that was read (`current`). */
interface Matched {
  event: NewEvent;
  entry: MatchableSubscription['entry'];
  current?: Resource;
}

/**
 * The events the changes give: one per matching subscription whose subscriber may read the resource, in outbox
 * order. Where the store's tenant check is needed (or `view`: the caller delivers the events itself right after
 * the commit), the focus is read as each subscriber for all changes in one statement (`readManyAs`), and the
 * event keeps what its subscriber may read.
 */
async function matchChanges(
  tx: Db,
  changes: { e: OutboxEvent; focus: Resource }[],
  candidates: MatchableSubscription[],
  warn: (id: string) => void,
  view: boolean,
): Promise<Matched[]> {
  const out: (Matched & { check: boolean; recheck?: SearchRequest })[] = [];
  const groups = new Map<string, FocusGroup<Matched>>();
  const index = indexFor(candidates);
  for (const { e, focus } of changes) {
    if (!index.has(e.resourceType ?? '')) continue;
    const values = focusValues(focus);
    for (const m of index.candidates(e.resourceType ?? '', values)) {
      if (!m.entry.scope) {
        warn(m.entry.id);
        continue;
      }
      const request = requestFor(m);
      if (!mayMatch(values, request) || !matchesSearchRequest(focus, request)) continue;
      const event: NewEvent = {
        subscriptionId: m.entry.id,
        orderKey: outboxOrderKey(e),
        topic: m.spec.topic,
        focusType: e.resourceType ?? '',
        focusId: e.resourceId ?? '',
        focusVersion: e.versionId,
        action: e.action,
        outboxId: e.outboxId,
        committedAt: e.createdAt,
      };
      // Criteria on a protected identity's address must match what the subscriber may read of it, not the record
      const hidden = searchesHidden(request) && hasProtectedIdentity(focus) ? request : undefined;
      // A delete goes out without the resource: nothing to read or check.
      const check = e.action !== 'delete' && (needsAccessCheck(m) || hidden !== undefined);
      const item: Matched & { check: boolean; recheck?: SearchRequest } = {
        event,
        entry: m.entry,
        check,
        ...(hidden ? { recheck: hidden } : {}),
      };
      out.push(item);
      if (e.action !== 'delete' && (check || view))
        addToFocusGroup(groups, m.entry.id, m.entry.scope, event.focusType, event.focusId, item);
    }
  }
  if (groups.size > 0) {
    const list = [...groups.values()];
    const visible = await readManyAs(tx, list);
    list.forEach((g, i) => {
      for (const item of g.items) item.current = visible[i]!.get(item.event.focusId);
    });
  }
  return out
    .filter(
      (item) => !item.check || (item.current && (!item.recheck || matchesSearchRequest(item.current, item.recheck))),
    )
    .map(({ event, entry, current }) => ({ event, entry, current }));
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
 * What the delivery of each just-recorded event would read again after the commit, from the match: the event as
 * recorded, its registry row (the cached one, with the status and counter the recording returned; none when the
 * Subscription changed since it was cached) and the focus as the subscriber may read it (read in the matching
 * transaction). Keyed by `eventJobId`; an event without a complete entry is prepared by its delivery as before.
 */
function preparedFrom(matched: Matched[], queued: RecordedEvent[]): Map<string, PreparedDelivery> {
  const byKey = new Map(matched.map((m) => [`${m.event.subscriptionId}|${m.event.outboxId ?? ''}`, m]));
  const out = new Map<string, PreparedDelivery>();
  for (const q of queued) {
    const m = byKey.get(`${q.subscriptionId}|${q.outboxId ?? ''}`);
    if (!m || m.entry.updatedAt !== q.registry.updatedAt) continue;
    if (m.event.action !== 'delete' && !m.current) continue;
    out.set(eventJobId(q), {
      ev: {
        subscriptionId: q.subscriptionId,
        eventNumber: q.eventNumber,
        outboxId: q.outboxId,
        orderKey: m.event.orderKey,
        topic: m.event.topic ?? null,
        focusType: m.event.focusType,
        focusId: m.event.focusId,
        focusVersion: m.event.focusVersion ?? null,
        action: m.event.action ?? null,
        status: 'queued',
        generation: q.generation,
        attempts: 0,
        committedAt: new Date(m.event.committedAt).toISOString(),
        deliveredAt: null,
        lastError: null,
      },
      reg: { ...m.entry, status: q.registry.status, eventsSinceStart: q.registry.eventsSinceStart },
      current: m.current,
    });
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
  /** The relay's inline handling of rows (one statement when it can; see below). */
  inline: (db: Db, consumer: string, events: OutboxEvent[], ordered: boolean) => Promise<unknown>;
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

  /** Does this process deliver the events it records itself, right after the commit (direct dispatch)? */
  const delivering = () => (deps.claimMs?.() ?? 0) > 0;

  /** The events of changes (no Subscription among them): their foci, then one match over all of them. */
  const matchAll = async (changes: OutboxEvent[], via: Db): Promise<Matched[]> => {
    const active = await candidates(via);
    const index = indexFor(active);
    const relevant = changes.filter((e) => index.has(e.resourceType ?? ''));
    if (relevant.length === 0) return [];
    const foci = await loadFoci(deps, via, relevant);
    const withFocus = relevant.flatMap((e) => {
      const focus = foci.get(e.outboxId);
      return focus ? [{ e, focus }] : [];
    });
    return matchChanges(via, withFocus, active, warn, delivering());
  };

  /** Recorded events to delivery (after the commit), with what direct dispatch would otherwise read again. */
  const dispatch = (matched: Matched[], recorded: RecordedEvent[]): Promise<void> =>
    deps.enqueueEvents(recorded, delivering() ? preparedFrom(matched, recorded) : undefined);

  /** The events one resource change gives (not yet recorded). */
  const eventsOf = async (e: OutboxEvent, tx: Db): Promise<Matched[]> => {
    const all = await candidates(tx);
    if (!indexFor(all).has(e.resourceType ?? '')) return [];
    const focus = await loadFocus(deps, tx, e);
    if (!focus) return [];
    return matchChanges(tx, [{ e, focus }], all, warn, delivering());
  };

  // Every path records a transaction's events in ONE call of recordEvents: it locks their chains in hash order,
  // and a second call in the same transaction would take further chain locks after the first call's, out of
  // that order, which deadlocked with a completion holding the later lock and waiting for the earlier one
  // (two workers, a Subscription change among Task changes; issue 12 item 10).
  // The events recorded for direct dispatch go with what their delivery would read again (see preparedFrom).
  const record = async (matched: Matched[], tx: Db): Promise<(() => Promise<void>) | undefined> => {
    const queued = await recordEvents(
      tx,
      matched.map((m) => m.event),
      deps.claimMs?.() ?? 0,
    );
    if (queued.length === 0) return undefined;
    return () => dispatch(matched, queued);
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
      const events: Matched[] = [];
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
    return record(await matchAll(changes, tx), tx);
  };
  /**
   * The relay's inline pass over `all`: matched first (reads only), then claimed and recorded in one autocommitted
   * statement (`claimAndRecord`) instead of a transaction of BEGIN, claim, record and COMMIT; the events go to
   * delivery after it. Rows with a Subscription change, or a claim that brings earlier unprocessed rows of the
   * same stays, take the transaction (`handleOutboxBatch` with `batch`).
   */
  const inline = async (db: Db, consumer: string, all: OutboxEvent[], ordered: boolean): Promise<unknown> => {
    const changes = all.filter(isChange);
    const transaction = () => handleOutboxBatch(db, consumer, all, batch, ordered, { dispatch: true });
    if (changes.some((e) => e.resourceType === 'Subscription')) return transaction();
    // One connection for the reads and the claim: waited for once while the API holds the pool.
    const queued = await inSession(db, async (conn) => {
      const matched = await matchAll(changes, conn);
      const claim = {
        consumer,
        ids: all.map((e) => e.outboxId),
        keys: [...new Set(all.map(outboxOrderKey))],
        ordered,
        dispatch: true,
      };
      const recorded = await claimAndRecord(
        conn,
        claim,
        matched.map((m) => m.event),
        deps.claimMs?.() ?? 0,
      );
      return recorded && { recorded, matched };
    });
    if (!queued) return transaction();
    const { recorded, matched } = queued;
    if (recorded.length > 0) await dispatch(matched, recorded);
    return recorded.length;
  };
  return { one, batch, inline, focusTypes: () => focusTypes };
}
