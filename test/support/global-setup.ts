import type { TestProject } from 'vitest/node';
import { startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';

let redis: LocalRedis | undefined;

/** One private redis-server for the whole run; tests isolate themselves with unique queue prefixes. */
export async function setup(project: TestProject): Promise<void> {
  redis = await startLocalRedis();
  process.env.TEST_REDIS_URL = redis.url;
  project.provide('redisUrl', redis.url);
  project.provide('redisPort', redis.port);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisPort: number;
  }
}
