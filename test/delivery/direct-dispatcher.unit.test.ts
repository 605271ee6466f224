import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { createDirectDispatcher, type DirectDispatchOptions } from '../../src/delivery/direct-dispatch';
import { Postponed } from '../../src/delivery/delivery.worker';
import type { EventRef } from '../../src/subscriptions/events.pg';
import { waitFor } from './helpers';

const ref = (n: number): EventRef => ({ subscriptionId: 's', eventNumber: n, generation: 0 });

/** A dispatcher whose attempts do what `outcome(n)` says; records attempts and hand-offs. */
function harness(over: Partial<DirectDispatchOptions> & { outcome?: (n: number) => Promise<string> } = {}) {
  const attempted: number[] = [];
  const handedOff: { n: number; delayMs: number }[] = [];
  const dispatcher = createDirectDispatcher({
    concurrency: 2,
    startWithinMs: 10_000,
    maxWaiting: 100,
    retryDelayMs: () => 5000,
    deliver: (r) => {
      attempted.push(r.eventNumber);
      return (over.outcome ?? (() => Promise.resolve('delivered')))(r.eventNumber);
    },
    handOff: async (items) => {
      handedOff.push(...items.map((i) => ({ n: i.ref.eventNumber, delayMs: i.delayMs })));
    },
    ...over,
  });
  return { dispatcher, attempted, handedOff };
}

describe('direct dispatcher', () => {
  it('when attempts succeed, then each event is attempted once and nothing goes to the queue', async () => {
    const h = harness();
    h.dispatcher.push([ref(1), ref(2), ref(3)]);
    await waitFor(() => h.attempted.length === 3, 2000, 'three attempts');
    await h.dispatcher.stop();
    expect(h.attempted).toEqual([1, 2, 3]);
    expect(h.handedOff).toEqual([]);
    expect(h.dispatcher.stats()).toEqual({ pushed: 3, handedOff: 0 });
  });

  it('when an attempt fails, is postponed by the breaker or dead-lettered, then only the first two become jobs, with their delays', async () => {
    const h = harness({
      outcome: (n) =>
        n === 1
          ? Promise.reject(new Error('HTTP 503'))
          : n === 2
            ? Promise.reject(new Postponed(Date.now() + 30_000))
            : Promise.reject(new UnrecoverableError('rejected')),
    });
    h.dispatcher.push([ref(1), ref(2), ref(3)]);
    await waitFor(() => h.handedOff.length === 2 && h.attempted.length === 3, 2000, 'the hand-offs');
    await h.dispatcher.stop();
    const byN = new Map(h.handedOff.map((x) => [x.n, x.delayMs]));
    expect([...byN.keys()].sort()).toEqual([1, 2]);
    expect(byN.get(1)).toBe(5000);
    expect(byN.get(2)).toBeGreaterThan(29_000);
  });

  it('when events wait too long or do not fit, then they go to the queue at once instead of being attempted', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<string>((r) => (release = () => r('delivered')));
    const h = harness({ concurrency: 1, maxWaiting: 2, startWithinMs: 30, outcome: () => gate });
    h.dispatcher.push([ref(1)]); // runs
    h.dispatcher.push([ref(2), ref(3), ref(4)]); // 2 and 3 wait, 4 does not fit
    await waitFor(() => h.handedOff.length === 1, 2000, 'the overflow');
    expect(h.handedOff).toEqual([{ n: 4, delayMs: 0 }]);
    await new Promise((r) => setTimeout(r, 60)); // 2 and 3 are now too late to start
    release();
    await waitFor(() => h.handedOff.length === 3, 2000, 'the late ones');
    await h.dispatcher.stop();
    expect(h.attempted).toEqual([1]);
    expect(h.handedOff.map((x) => x.n).sort()).toEqual([2, 3, 4]);
  });

  it('when stopped, then waiting events become jobs and attempts under way finish; after an abort nothing is handed off', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<string>((r) => (release = () => r('delivered')));
    const h = harness({ concurrency: 1, outcome: () => gate });
    h.dispatcher.push([ref(1), ref(2)]);
    const stopped = h.dispatcher.stop();
    release();
    await stopped;
    expect(h.attempted).toEqual([1]);
    expect(h.handedOff).toEqual([{ n: 2, delayMs: 0 }]);

    const a = harness({ concurrency: 1, outcome: () => new Promise<string>(() => undefined) });
    a.dispatcher.push([ref(1), ref(2)]);
    a.dispatcher.abort();
    await new Promise((r) => setTimeout(r, 20));
    expect(a.handedOff).toEqual([]);
  });
});
