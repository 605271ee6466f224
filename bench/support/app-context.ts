/**
 * The context of a gateway a bench builds in its own process (`buildGateway`) on a database it opened: test
 * configuration with `env` over it, errors-only logging, the system clock and a metrics registry of its own.
 */
import { Registry } from 'prom-client';
import type { AppContext } from '../../src/compose.types';
import { loadConfig } from '../../src/config/config';
import { systemClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import type { Db } from '../../src/store/db.port';

export function benchContext(db: Db, env: Record<string, string>): AppContext {
  return {
    config: loadConfig({ NODE_ENV: 'test', PUBLIC_BASE_URL: 'http://gateway.bench', ...env }),
    db,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    logger: createLogger('error'),
    clock: systemClock,
    metrics: new Registry(),
  };
}
