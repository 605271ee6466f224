/**
 * Runs the roles of one process (`all`, `api`, `worker`, `http`, `mllp`; see src/main.ts): opens the database,
 * starts or reaches Redis, loads the demo region where asked, builds the gateway and starts its capabilities and
 * listeners. Loaded by src/main.ts only in such a process, never by the split supervisor.
 */
import { createServer } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Config } from './config/config';
import type { AppContext, Role } from './compose.types';
import { buildGateway, systemRepository } from './compose';
import { createLogger } from './platform/logger';
import { systemClock } from './platform/clock';
import { reachRedis, watchDependencies } from './platform/dependency-watch';
import { openDb } from './store/open-db';
import { loadDemoRegion } from './demo/demo-region';
import { StartupError, listenError, redisFor, type Running } from './startup';

export async function startRoles(
  mode: string,
  roles: ReadonlySet<Role>,
  config: Config,
  running: Partial<Running>,
): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL);
  running.logger = logger;

  const where = config.DATABASE_URL ? 'DATABASE_URL' : `PGlite in DATA_DIR=${config.DATA_DIR}`;
  // Bounded: a damaged data directory or an unanswering server ends the start with one line, never a hang.
  let openTimer: NodeJS.Timeout | undefined;
  const openTimeoutMs = config.DB_OPEN_TIMEOUT_SECONDS * 1000;
  running.db = await Promise.race([
    openDb({
      databaseUrl: config.DATABASE_URL,
      preparedStatements: config.PG_PREPARED_STATEMENTS,
      jit: config.PG_JIT,
      dataDir: config.DATA_DIR,
      // If PGlite holds the event loop (the timer below cannot run), a thread of its own ends the start.
      watchdog: {
        ms: openTimeoutMs + 5000,
        line: `Cannot open the database (${where}): no answer within ${config.DB_OPEN_TIMEOUT_SECONDS} s`,
      },
    }),
    new Promise<never>((_, reject) => {
      openTimer = setTimeout(
        () => reject(new Error(`no answer within ${config.DB_OPEN_TIMEOUT_SECONDS} s`)),
        openTimeoutMs,
      );
    }),
  ])
    .catch((err: unknown) => {
      throw new StartupError(
        `Cannot open the database (${where}): ${err instanceof Error ? err.message : String(err)}`,
      );
    })
    .finally(() => clearTimeout(openTimer));
  const db = running.db;

  const redisUrl = await redisFor(config, running, logger);
  if (!config.REDIS_URL && mode !== 'all') {
    logger.warn('REDIS_URL is unset: this process has its own private Redis; split processes must share one');
  }

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const ctx: AppContext = { config, db, redisUrl, logger, clock: systemClock, metrics };

  if (roles.has('api') && config.DEMO_REGION && config.NODE_ENV !== 'production') {
    const loaded = await loadDemoRegion(db, systemRepository);
    if (loaded.loaded)
      logger.info('demo region loaded', { organizations: loaded.organizations, clients: loaded.clients });
  }

  await reachRedis(redisUrl, config.REDIS_URL ? 'REDIS_URL' : 'the local redis-server').catch((err: unknown) => {
    throw new StartupError(String(err instanceof Error ? err.message : err));
  });

  running.gateway = await buildGateway(ctx);
  running.watch = watchDependencies(running.gateway.readiness, logger);
  for (const c of running.gateway.capabilities) {
    await c.start?.(roles).catch((err: unknown) => {
      throw listenError(err, 'MLLP_PORT', config.MLLP_PORT);
    });
  }

  if (roles.has('api')) {
    // Not express's app.listen: Express 5 calls its callback with a listen error too, so a taken port looked
    // like a successful start.
    const srv = createServer(running.gateway.app);
    running.server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (err) => reject(listenError(err, 'PORT', config.PORT)));
      srv.listen(config.PORT, config.HOST, () => resolve());
    });
    const addr = running.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
    logger.info('svu-gateway listening', { mode, port, fhirBase: `http://localhost:${port}/fhir`, store: db.kind });
  } else {
    logger.info('svu-gateway running', { mode, roles: [...roles].join(','), store: db.kind });
  }
}
