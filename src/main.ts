/**
 * Process entry: `node dist/main.js [split|all|api|worker|http|mllp]` (or `tsx src/main.ts ...`).
 * split = a supervisor forking an `api` and a `worker` process on one Redis (src/process-layout.ts); the default
 * on PostgreSQL (DATABASE_URL set), so delivery never waits behind the API's event loop.
 * all = HTTP API + MLLP + workers in one process; the default on PGlite (one process owns its data directory).
 * api = HTTP API + MLLP (`npm run start:api`); worker = queue workers only (`npm run start:worker`);
 * http / mllp = one listener each (docker/compose.yaml).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, loadConfig, type Config } from './config/config';
import type { AppContext, Role } from './compose.types';
import { buildGateway, systemRepository, type Gateway } from './compose';
import { createLogger, type Logger } from './platform/logger';
import { systemClock } from './platform/clock';
import { startLocalRedis, type LocalRedis } from './platform/redis-server';
import { reachRedis, watchDependencies } from './platform/dependency-watch';
import { openDb } from './store/open-db';
import type { ClosableDb } from './store/db.port';
import { loadDemoRegion } from './demo/demo-region';
import { READY_MESSAGE, startSplit, type SplitLayout } from './process-layout';

const MODES: Record<string, Role[]> = {
  all: ['api', 'mllp', 'worker'],
  api: ['api', 'mllp'],
  worker: ['worker'],
  http: ['api'],
  mllp: ['mllp'],
};

/** A start-up failure the operator can fix: printed as one line, exit 1. */
class StartupError extends Error {}

interface Running {
  logger: Logger;
  db: ClosableDb;
  redis?: LocalRedis;
  gateway?: Gateway;
  server?: Server;
  watch?: { stop(): void };
  split?: SplitLayout;
}

/** The layout when no mode is given: two processes on PostgreSQL, one on PGlite (it cannot be shared). */
function defaultMode(config: Config): string {
  return config.DATABASE_URL ? 'split' : 'all';
}

/** `split`: this process only supervises; the roles run in forked children sharing one Redis. */
async function startSupervisor(config: Config, running: Partial<Running>): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL);
  running.logger = logger;
  if (!config.DATABASE_URL) {
    throw new StartupError(
      'Mode split needs DATABASE_URL: PGlite keeps its data in one process (use mode all, the default without it)',
    );
  }
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    running.redis = await startLocalRedis({ dataDir: config.DATA_DIR, detached: true }).catch((err: unknown) => {
      throw new StartupError(err instanceof Error ? err.message : String(err));
    });
    redisUrl = running.redis.url;
    logger.info('started local redis-server', { port: running.redis.port });
  }
  running.split = await startSplit({
    entry: process.argv[1]!,
    execArgv: process.execArgv,
    env: { ...process.env, REDIS_URL: redisUrl },
    logger,
  }).catch((err: unknown) => {
    throw new StartupError(err instanceof Error ? err.message : String(err));
  });
  logger.info('svu-gateway running', { mode: 'split', api: running.split.pids.api, worker: running.split.pids.worker });
}

async function start(mode: string, config: Config, running: Partial<Running>): Promise<void> {
  const roles = new Set(MODES[mode]);
  const logger = createLogger(config.LOG_LEVEL);
  running.logger = logger;

  const where = config.DATABASE_URL ? 'DATABASE_URL' : `PGlite in DATA_DIR=${config.DATA_DIR}`;
  // Bounded: a damaged data directory or an unanswering server ends the start with one line, never a hang.
  let openTimer: NodeJS.Timeout | undefined;
  const openTimeoutMs = config.DB_OPEN_TIMEOUT_SECONDS * 1000;
  running.db = await Promise.race([
    openDb({
      databaseUrl: config.DATABASE_URL,
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

  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    running.redis = await startLocalRedis({ dataDir: config.DATA_DIR, detached: true }).catch((err: unknown) => {
      throw new StartupError(err instanceof Error ? err.message : String(err));
    });
    redisUrl = running.redis.url;
    logger.info('started local redis-server', { port: running.redis.port });
    if (mode !== 'all') {
      logger.warn('REDIS_URL is unset: this process has its own private Redis; split processes must share one');
    }
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

/** A listen failure as one line naming the setting to change. */
function listenError(err: unknown, setting: string, port: number): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return new StartupError(`${setting}=${port} is already in use by another process`);
  if (e.code === 'EACCES')
    return new StartupError(`${setting}=${port}: permission denied (ports below 1024 need privileges)`);
  return err instanceof Error ? err : new Error(String(err));
}

async function stop(running: Partial<Running>): Promise<void> {
  const { logger } = running;
  await running.split?.stop();
  running.watch?.stop();
  if (running.server) {
    const srv = running.server;
    await new Promise<void>((resolve) => {
      srv.close(() => resolve());
      srv.closeIdleConnections();
      setTimeout(() => {
        srv.closeAllConnections();
        resolve();
      }, 5000).unref();
    });
  }
  await running.gateway?.close();
  await running.db?.close().catch((err: unknown) => logger?.error('db close failed', { error: String(err) }));
  await running.redis?.stop();
  logger?.info('svu-gateway stopped');
}

async function main(): Promise<void> {
  const asked = process.argv[2];
  if (asked !== undefined && asked !== 'split' && !MODES[asked]) {
    console.error(`Unknown mode "${asked}": use one of split, ${Object.keys(MODES).join(', ')}`);
    process.exit(2);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  const running: Partial<Running> = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger?.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    stop(running)
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        console.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // Started by a supervisor (`split`, or scripts/start.mjs) over an IPC channel: when that channel closes the
  // parent is gone (even by SIGKILL), and this process must not outlive it.
  if (process.send) process.on('disconnect', () => shutdown('parent process gone'));

  const mode = asked ?? defaultMode(config);
  try {
    if (mode === 'split') {
      await startSupervisor(config, running);
      void running.split?.failed.then((code) => {
        if (stopping) return;
        stopping = true;
        void stop(running)
          .catch(() => undefined)
          .finally(() => process.exit(code));
      });
    } else {
      await start(mode, config, running);
    }
    process.send?.(READY_MESSAGE);
  } catch (err) {
    if (err instanceof StartupError) console.error(err.message);
    else console.error(`Start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stop(running).catch(() => undefined);
    process.exit(1);
  }
}

void main();
