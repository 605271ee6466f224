import { afterEach, describe, expect, it } from 'vitest';
import { redisConnection } from '../../src/platform/queues';
import { SharedCircuitBreakers } from '../../src/delivery/shared-breaker';
import { testRedisUrl, uniquePrefix } from '../support/redis';

describe('circuit breaker shared between worker processes (Redis)', () => {
  const open: SharedCircuitBreakers[] = [];
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
  });
  const pair = () => {
    const prefix = uniquePrefix();
    const make = () =>
      new SharedCircuitBreakers({
        threshold: 3,
        openMs: 10_000,
        prefix,
        connect: () => redisConnection(testRedisUrl()),
      });
    const ab = [make(), make()] as const;
    open.push(...ab);
    return ab;
  };

  it('when one process sees an endpoint fail, then the other pauses it too after a refresh', async () => {
    const [a, b] = pair();
    for (let i = 0; i < 3; i++) a.failure('http://kommun/hook');
    expect(a.admit('http://kommun/hook')).toBeGreaterThan(Date.now());
    expect(b.admit('http://kommun/hook')).toBeUndefined(); // not yet told
    await a.refresh(); // a's writes went first on its connection
    await b.refresh();
    expect(b.admit('http://kommun/hook')).toBeGreaterThan(Date.now() + 5000);
    expect(b.state('http://kommun/hook')).toBe('open');
  });

  it('when failures are spread over two processes, then they count together, and a success in one closes both', async () => {
    const [a, b] = pair();
    a.failure('http://kommun/hook');
    a.failure('http://kommun/hook');
    await a.refresh();
    await b.refresh();
    b.failure('http://kommun/hook'); // the third consecutive failure, seen by b
    expect(b.state('http://kommun/hook')).toBe('open');
    await b.refresh();
    await a.refresh();
    expect(a.state('http://kommun/hook')).toBe('open');
    a.success('http://kommun/hook');
    await a.refresh();
    await b.refresh();
    expect(b.state('http://kommun/hook')).toBe('closed');
    expect(b.admit('http://kommun/hook')).toBeUndefined();
  });
});
