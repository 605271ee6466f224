import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../support/redis';

describe('test redis', () => {
  it('when the suite runs, then a private redis-server answers', async () => {
    const r = new Redis(testRedisUrl());
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });
});
