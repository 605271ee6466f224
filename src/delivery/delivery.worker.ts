import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Resource } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import { endpointLabel, type DeliveryMetrics } from '../platform/metrics';
import {
  completeEvent,
  countAttempt,
  deadLetter,
  type EventRef,
  type SubscriptionEvent,
} from '../subscriptions/events.pg';
import { buildNotification, targetUrl, type NotificationType } from '../subscriptions/notification';
import { getRegistryEntry, type RegistryEntry } from '../subscriptions/registry.pg';
import { parseSubscription, type SubscriptionSpec } from '../subscriptions/subscription-model';
import { setSubscriptionStatus } from '../subscriptions/subscription-status';
import type { CircuitBreakers } from './circuit-breaker';
import { createDeliveryBatchers, type PreparedDelivery } from './delivery-batch';
import { eventJob, type DeliveryJob, type RetryPolicy } from './delivery.jobs';
import { sendNotification, type SendResult } from './http-sender';
import { readAs, type RepositoryFactory } from './resource-access';

export interface DeliveryDeps {
  db: Db;
  repos: RepositoryFactory;
  queue: Queue<DeliveryJob>;
  breakers: CircuitBreakers;
  clock: Clock;
  logger: Logger;
  metrics?: DeliveryMetrics;
  canonicalBase: string;
  /** Public FHIR base of the gateway, for references in notifications. */
  fhirBase: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Consecutive failures after which the Subscription shows status `error`. */
  errorAfter?: number;
}

const ACTIVE = new Set(['active', 'error']);
const HEARTBEAT_REJECTED = 'Heartbeat rejected: ';

async function recordAttempt(
  db: Db,
  sub: string,
  n: number | null,
  kind: string,
  endpoint: string,
  attempt: number,
  status: string,
  r: Partial<SendResult>,
): Promise<void> {
  await db.query(
    `INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status, error, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [sub, n, kind, endpoint, attempt, status, r.status ?? null, r.error ?? null, r.durationMs ?? 0],
  );
}

/** The processor of the `delivery` queue: events, handshakes, heartbeats. */
export function createDeliveryProcessor(d: DeliveryDeps) {
  const batch = createDeliveryBatchers(d);
  const specs = new Map<string, { at: string; spec: SubscriptionSpec }>();
  const specOf = (reg: RegistryEntry): SubscriptionSpec => {
    const c = specs.get(reg.id);
    if (c && c.at === reg.updatedAt) return c.spec;
    const spec = parseSubscription(reg.resource, d.canonicalBase);
    specs.set(reg.id, { at: reg.updatedAt, spec });
    return spec;
  };

  async function postponeJob(job: Job, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(at + Math.round(Math.random() * 250), token);
    throw new DelayedError();
  }
  const postponeDirect = (at: number): Promise<never> => Promise.reject(new Postponed(at));

  async function send(
    reg: RegistryEntry,
    spec: SubscriptionSpec,
    type: NotificationType,
    eventId: string,
    events: Parameters<typeof buildNotification>[0]['events'],
  ) {
    const now = d.clock.now();
    const bundle = buildNotification({
      spec,
      fhirBase: d.fhirBase,
      type,
      status: reg.status === 'requested' ? 'requested' : reg.status,
      eventsSinceStart: reg.eventsSinceStart,
      events,
      now,
    });
    const url = targetUrl(spec);
    return {
      url,
      result: await sendNotification({
        url,
        body: JSON.stringify(bundle),
        headers: spec.headers,
        secret: spec.secret,
        eventId,
        timeoutMs: spec.timeoutMs ?? d.timeoutMs,
        now,
      }),
    };
  }

  async function enqueueNext(next: EventRef | undefined): Promise<void> {
    if (!next) return;
    const j = eventJob(next, d.retry);
    await d.queue.add(j.name, j.data, j.opts);
  }

  /**
   * One attempt at an event. `postpone(at)` when its endpoint's breaker is open (no attempt spent); a failure
   * that is to be retried throws an Error, a dead letter an UnrecoverableError (BullMQ's meaning).
   */
  async function deliverEvent(
    ref: EventRef,
    postpone: (at: number) => Promise<never>,
    maxTimeoutMs = Infinity,
    ready?: PreparedDelivery,
  ): Promise<string> {
    // Event, registry row and the focus as the subscriber may read it now, read together with other jobs'
    // (or, for an event this process just recorded, as its match left them: `ready`).
    const { ev, reg, current } = ready ?? (await batch.prepare(ref));
    if (!ev || ev.status !== 'queued' || ev.generation !== ref.generation) return 'stale';
    if (!reg || !ACTIVE.has(reg.status)) return 'inactive';
    const spec = specOf(reg);
    const url = targetUrl(spec);
    // A POST allowed to last longer than the caller can wait for (a direct attempt's claim) is left to a job.
    if ((spec.timeoutMs ?? d.timeoutMs) > maxTimeoutMs) return postpone(Date.now());
    const retryAt = d.breakers.admit(url);
    if (retryAt !== undefined) return postpone(retryAt);
    const call = { reported: false };
    try {
      return await admitted(ev, reg, spec, url, current, call);
    } finally {
      // A probe that made no call (skipped, or an error before the POST) must free the probe slot.
      if (!call.reported) d.breakers.abandon(url);
    }
  }

  async function admitted(
    ev: SubscriptionEvent,
    reg: RegistryEntry,
    spec: SubscriptionSpec,
    url: string,
    current: Resource | null | undefined,
    call: { reported: boolean },
  ): Promise<string> {
    const label = endpointLabel(url);
    // Access re-checked now, as the subscriber: a municipality never gets a Task it does not own (any more).
    let resource: Resource | undefined;
    if (ev.action !== 'delete') {
      if (!current) return skip(ev, url, 'the subscriber may not read the focus resource');
      // The event's own version (the current one in the common case: no second read).
      resource =
        !ev.focusVersion || current.meta?.versionId === ev.focusVersion
          ? current
          : ((await readAs(
              d.repos,
              d.db,
              reg.scope!,
              ev.focusType as Resource['resourceType'],
              ev.focusId,
              ev.focusVersion,
            )) ?? current);
    }
    const { result } = await send(reg, spec, 'event-notification', `${ev.subscriptionId}:${ev.eventNumber}`, [
      {
        eventNumber: ev.eventNumber,
        timestamp: ev.committedAt,
        focusType: ev.focusType,
        focusId: ev.focusId,
        action: ev.action,
        resource,
      },
    ]);
    call.reported = true; // success() or failure() below
    if (!result.ok) return fail(ev, reg, url, result);
    d.breakers.success(url);
    // Closed together with other jobs' deliveries: completion, attempt log, registry reset, release.
    await batch.complete({
      ev,
      log: {
        endpoint: url,
        attempt: ev.attempts + 1,
        status: 'delivered',
        httpStatus: result.status ?? null,
        durationMs: result.durationMs,
      },
    });
    d.metrics?.attempts.inc({ outcome: 'delivered', endpoint: label });
    d.metrics?.latency.observe({ endpoint: label }, Math.max(0, Date.now() - Date.parse(ev.committedAt)) / 1000);
    if (reg.status === 'error') await setSubscriptionStatus(d.db, d.repos, reg.id, 'active', undefined, d.logger);
    return 'delivered';
  }

  async function skip(ev: SubscriptionEvent, url: string, reason: string): Promise<string> {
    const next = await d.db.transaction((tx) =>
      completeEvent(tx, ev, 'skipped', reason, {
        endpoint: url,
        attempt: ev.attempts,
        status: 'skipped',
        error: reason,
      }),
    );
    d.metrics?.attempts.inc({ outcome: 'skipped', endpoint: endpointLabel(url) });
    d.logger.warn('notification skipped at delivery', {
      subscriptionId: ev.subscriptionId,
      event: ev.eventNumber,
      reason,
    });
    await enqueueNext(next);
    return 'skipped';
  }

  async function fail(ev: SubscriptionEvent, reg: RegistryEntry, url: string, result: SendResult): Promise<never> {
    const label = endpointLabel(url);
    endpointHealth(url, result);
    const reason = result.error ?? 'failed';
    const attempts = await countAttempt(d.db, ev, reason);
    const exhausted = attempts >= d.retry.maxAttempts;
    const dead = result.permanent || exhausted;
    await recordAttempt(
      d.db,
      ev.subscriptionId,
      ev.eventNumber,
      'event',
      url,
      attempts,
      dead ? 'dead' : 'failed',
      result,
    );
    const f = await d.db.query<{ n: number }>(
      `UPDATE subscription_registry SET consecutive_failures = consecutive_failures + 1, last_error = $2 WHERE id = $1
       RETURNING consecutive_failures AS n`,
      [ev.subscriptionId, reason],
    );
    const consecutive = f.rows[0]?.n ?? 0;
    if (!dead) {
      d.metrics?.attempts.inc({ outcome: 'retry', endpoint: label });
      if (consecutive >= (d.errorAfter ?? 3) && reg.status === 'active') {
        await setSubscriptionStatus(d.db, d.repos, reg.id, 'error', `Delivery failing: ${reason}`, d.logger);
      }
      d.logger.warn('notification delivery failed; will retry', {
        subscriptionId: ev.subscriptionId,
        event: ev.eventNumber,
        attempts,
        reason,
      });
      throw new Error(reason);
    }
    const dlId = await d.db.transaction((tx) =>
      deadLetter(tx, ev, url, `${result.permanent ? 'rejected' : 'gave up'}: ${reason}`),
    );
    d.metrics?.attempts.inc({ outcome: 'dead', endpoint: label });
    d.logger.error('notification moved to the dead-letter queue; later events of its stay wait behind it', {
      subscriptionId: ev.subscriptionId,
      event: ev.eventNumber,
      deadLetter: dlId,
      reason,
    });
    if (exhausted)
      await setSubscriptionStatus(
        d.db,
        d.repos,
        reg.id,
        'off',
        `Delivery gave up after ${attempts} attempts: ${reason}`,
        d.logger,
      );
    else if (reg.status === 'active')
      await setSubscriptionStatus(d.db, d.repos, reg.id, 'error', `Notification rejected: ${reason}`, d.logger);
    throw new UnrecoverableError(reason);
  }

  async function handshake(job: Job<DeliveryJob>, subscriptionId: string): Promise<string> {
    const reg = await getRegistryEntry(d.db, subscriptionId);
    if (!reg || reg.status !== 'requested') return 'not-requested';
    let spec: SubscriptionSpec;
    try {
      spec = specOf(reg);
    } catch (err) {
      await setSubscriptionStatus(d.db, d.repos, subscriptionId, 'error', (err as Error).message, d.logger);
      return 'invalid';
    }
    const { url, result } = await send(reg, spec, 'handshake', `${subscriptionId}:handshake:${randomUUID()}`, []);
    await recordAttempt(
      d.db,
      subscriptionId,
      null,
      'handshake',
      url,
      job.attemptsMade + 1,
      result.ok ? 'delivered' : 'failed',
      result,
    );
    if (result.ok) {
      await setSubscriptionStatus(d.db, d.repos, subscriptionId, 'active', undefined, d.logger);
      return 'active';
    }
    if (result.permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await setSubscriptionStatus(
        d.db,
        d.repos,
        subscriptionId,
        'error',
        `Handshake failed: ${result.error ?? ''}`,
        d.logger,
      );
      throw new UnrecoverableError(`handshake failed: ${result.error ?? ''}`);
    }
    throw new Error(`handshake failed: ${result.error ?? ''}`);
  }

  /**
   * The endpoint's circuit breaker learns whether the endpoint is up, not whether it accepts this Subscription: a
   * refusal (4xx: a stale secret, a body it will not take) comes from a receiver that answers, so it is no failure
   * of the endpoint, and one Subscription refused there never holds back another's notifications to the same URL.
   */
  function endpointHealth(url: string, result: SendResult): void {
    if (result.ok || result.permanent) d.breakers.success(url);
    else d.breakers.failure(url);
  }

  async function heartbeat(subscriptionId: string): Promise<string> {
    const reg = await getRegistryEntry(d.db, subscriptionId);
    if (!reg || !ACTIVE.has(reg.status)) return 'inactive';
    const spec = specOf(reg);
    if (d.breakers.admit(targetUrl(spec)) !== undefined) return 'breaker-open';
    const { url, result } = await send(reg, spec, 'heartbeat', `${subscriptionId}:heartbeat:${randomUUID()}`, []);
    endpointHealth(url, result);
    await recordAttempt(d.db, subscriptionId, null, 'heartbeat', url, 1, result.ok ? 'delivered' : 'failed', result);
    // A receiver that refuses this Subscription's heartbeats (a secret it no longer has) refuses its events too:
    // shown as an error at once, not found out when the next event of a stay is rejected; back once it answers.
    if (result.permanent && reg.status === 'active')
      await setSubscriptionStatus(
        d.db,
        d.repos,
        reg.id,
        'error',
        `${HEARTBEAT_REJECTED}${result.error ?? ''}`,
        d.logger,
      );
    else if (result.ok && reg.status === 'error' && reg.resource.error?.startsWith(HEARTBEAT_REJECTED))
      await setSubscriptionStatus(d.db, d.repos, reg.id, 'active', undefined, d.logger);
    return result.ok ? 'sent' : 'failed';
  }

  return {
    /** The `delivery` queue's processor. */
    process: async (job: Job<DeliveryJob>, token?: string): Promise<string> => {
      const data = job.data;
      switch (data.kind) {
        case 'event':
          return deliverEvent(data, (at) => postponeJob(job, token, at));
        case 'handshake':
          return handshake(job, data.subscriptionId);
        case 'heartbeat':
          return heartbeat(data.subscriptionId);
      }
    },
    /**
     * The same attempt without a job (direct dispatch): an open breaker, or a subscription whose POST timeout
     * exceeds `maxTimeoutMs`, rejects with `Postponed`. `ready`: what the match of an event just recorded left
     * (see the matcher's preparedFrom), used instead of reading the event, registry row and focus again.
     */
    deliver: (ref: EventRef, maxTimeoutMs?: number, ready?: PreparedDelivery): Promise<string> =>
      deliverEvent(ref, postponeDirect, maxTimeoutMs, ready),
  };
}

/** A direct delivery whose endpoint's breaker is open: to be tried again at `at` (epoch ms), no attempt spent. */
export class Postponed extends Error {
  constructor(readonly at: number) {
    super('postponed: the endpoint is paused');
  }
}
