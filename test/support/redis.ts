import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** URL of the run's private redis-server (started in global-setup). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A unique BullMQ prefix per test, so no test touches another's keys (never FLUSHALL a shared Redis). */
export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}
