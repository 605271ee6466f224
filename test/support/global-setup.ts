import type { TestProject } from 'vitest/node';
import { startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';
import { createTemplateDb } from './db';

let redis: LocalRedis | undefined;
let dropTemplate: (() => Promise<void>) | undefined;

/** One private redis-server for the whole run; tests isolate themselves with unique queue prefixes. */
export async function setup(project: TestProject): Promise<void> {
  redis = await startLocalRedis();
  process.env.TEST_REDIS_URL = redis.url;
  project.provide('redisUrl', redis.url);
  project.provide('redisPort', redis.port);
  // PostgreSQL test databases are copies of one migrated database (openTestDb): a copy is cheaper than migrating
  if (process.env.DATABASE_URL) dropTemplate = await createTemplateDb(process.env.DATABASE_URL);
}

export async function teardown(): Promise<void> {
  await dropTemplate?.();
  await redis?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisPort: number;
  }
}
