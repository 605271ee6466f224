import { Registry } from 'prom-client';
import type { Capability, AppContext } from '../../src/compose.types';
import { buildGateway, type Gateway } from '../../src/compose';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/platform/logger';
import { systemClock, type Clock } from '../../src/platform/clock';
import { generateSigningKey } from '../../src/auth/signing-key';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';

export const TEST_BASE_URL = 'http://gateway.test';

export interface Shell {
  db: ClosableDb;
  ctx: AppContext;
  gateway: Gateway;
  close(): Promise<void>;
}

/** The composed HTTP app over a fresh test database and the run's private Redis. */
export async function openShell(
  opts: {
    kind?: 'pglite' | 'postgres';
    clock?: Clock;
    redisUrl?: string;
    env?: Record<string, string>;
    capabilities?: Capability[];
    audit?: boolean;
    /** Build the domain capabilities too (FHIR router, intake, deadlines); default the shell alone. */
    full?: boolean;
  } = {},
): Promise<Shell> {
  const db = await openTestDb(opts.kind ?? 'pglite');
  // a unique key prefix per shell: its queues and rate-limit counters are its own on the shared test Redis
  const config = loadConfig({
    NODE_ENV: 'test',
    PUBLIC_BASE_URL: TEST_BASE_URL,
    QUEUE_PREFIX: uniquePrefix(),
    ...opts.env,
  });
  const ctx: AppContext = {
    config,
    db,
    redisUrl: opts.redisUrl ?? testRedisUrl(),
    logger: createLogger('error'),
    clock: opts.clock ?? systemClock,
    metrics: new Registry(),
  };
  const gateway = await buildGateway(ctx, {
    signingKey: await generateSigningKey(),
    extraCapabilities: opts.capabilities,
    withCapabilities: opts.full ?? false,
    ...(opts.audit === false ? { systemRepository: null } : {}),
  });
  return {
    db,
    ctx,
    gateway,
    async close() {
      await gateway.close();
      await db.close();
    },
  };
}
