import { UnrecoverableError } from 'bullmq';
import type { Logger } from '../platform/logger';
import { eventJobId, type EventRef } from '../subscriptions/events.pg';
import type { PreparedDelivery } from './delivery-batch';
import { Postponed } from './delivery.worker';

/**
 * Direct dispatch: the events the matcher queued in this process go straight to the delivery attempt here,
 * without a BullMQ job (no enqueue, fetch and completion in Redis per event). The matcher claims them in the
 * same transaction that records them (`subscription_event.claimed_until`), so the delivery reconciler leaves
 * them alone while this process owns them and adds a job once the claim has run out (the process died).
 * Everything that is not a first attempt goes to BullMQ as before: a failure to retry (with backoff), an
 * endpoint whose breaker is open (delayed to its retry time), an event that could not start within
 * `startWithinMs` or did not fit (`maxWaiting`), and what is still waiting at `stop()`.
 */
export interface DirectDispatchOptions {
  /** Attempts at once (besides the BullMQ worker's). */
  concurrency: number;
  /** An event not started this long after it was handed over goes to BullMQ instead (its claim is running out). */
  startWithinMs: number;
  /** More waiting than this: the rest go to BullMQ at once. */
  maxWaiting: number;
  /** One attempt (the delivery processor's `deliver`), with what the match left when it is still fresh. */
  deliver(ref: EventRef, ready?: PreparedDelivery): Promise<string>;
  /** Adds BullMQ jobs (`delayMs` from now). */
  handOff(items: { ref: EventRef; delayMs: number }[]): Promise<void>;
  /** Delay of the first retry after a failed attempt. */
  retryDelayMs(): number;
  logger?: Logger;
}

export interface DirectDispatcher {
  /**
   * Takes events just recorded (and claimed) by this process; `prepared` (by `eventJobId`): what their match left
   * (event, registry row, focus as the subscriber may read it), used when the attempt starts within `FRESH_MS`.
   */
  push(refs: EventRef[], prepared?: ReadonlyMap<string, PreparedDelivery>): void;
  /** Claimed events handed over so far, and how many of them went to BullMQ (tests, diagnostics). */
  stats(): { pushed: number; handedOff: number };
  /** Stops taking events; what waits goes to BullMQ, attempts under way finish. */
  stop(): Promise<void>;
  /** Stops at once (as if the process died): waiting events are left to their claims and the reconciler. */
  abort(): void;
}

/**
 * An attempt that starts later than this after its event was recorded reads the event, registry row and focus
 * again rather than use what the match left: access is re-checked at delivery unless the match was just now.
 */
export const FRESH_MS = 250;

export function createDirectDispatcher(o: DirectDispatchOptions): DirectDispatcher {
  const waiting: { ref: EventRef; at: number; ready?: PreparedDelivery }[] = [];
  const active = new Set<Promise<void>>();
  let outbox: { ref: EventRef; delayMs: number }[] = [];
  const flushing = new Set<Promise<void>>();
  let stopped = false;
  let pushed = 0;
  let handedOff = 0;

  function handOff(ref: EventRef, delayMs: number): void {
    handedOff++;
    outbox.push({ ref, delayMs: Math.max(0, Math.round(delayMs)) });
    if (outbox.length === 1) setImmediate(flush);
  }

  function flush(): void {
    const items = outbox;
    outbox = [];
    if (items.length === 0) return;
    // If Redis does not take them, the claims run out and the reconciler adds the jobs.
    const p: Promise<void> = o
      .handOff(items)
      .catch((err: unknown) =>
        o.logger?.warn('direct dispatch: could not add jobs; the reconciler will', {
          count: items.length,
          error: String(err),
        }),
      )
      .finally(() => flushing.delete(p));
    flushing.add(p);
  }

  async function attempt(ref: EventRef, ready?: PreparedDelivery): Promise<void> {
    try {
      await o.deliver(ref, ready);
    } catch (err) {
      if (err instanceof Postponed) handOff(ref, err.at - Date.now() + Math.random() * 250);
      else if (!(err instanceof UnrecoverableError)) handOff(ref, o.retryDelayMs()); // dead letters are done
    }
  }

  function pump(): void {
    while (!stopped && active.size < o.concurrency && waiting.length > 0) {
      const item = waiting.shift()!;
      if (Date.now() - item.at > o.startWithinMs) {
        handOff(item.ref, 0);
        continue;
      }
      const fresh = Date.now() - item.at <= FRESH_MS ? item.ready : undefined;
      const p: Promise<void> = attempt(item.ref, fresh).finally(() => {
        active.delete(p);
        pump();
      });
      active.add(p);
    }
  }

  return {
    push(refs, prepared) {
      const at = Date.now();
      for (const ref of refs) {
        pushed++;
        if (stopped || waiting.length >= o.maxWaiting) handOff(ref, 0);
        else waiting.push({ ref, at, ready: prepared?.get(eventJobId(ref)) });
      }
      pump();
    },
    stats: () => ({ pushed, handedOff }),
    async stop() {
      stopped = true;
      for (const item of waiting.splice(0)) handOff(item.ref, 0);
      await Promise.all(active);
      flush();
      await Promise.all(flushing);
    },
    abort() {
      stopped = true;
      waiting.length = 0;
      outbox = [];
    },
  };
}
