/**
 * Process entry: `node dist/main.js [split|all|api|worker|http|mllp]` (or `tsx src/main.ts ...`).
 * split = a supervisor forking an `api` and a `worker` process on one Redis (src/process-layout.ts); the default
 * on PostgreSQL (DATABASE_URL set), so delivery never waits behind the API's event loop.
 * all = HTTP API + MLLP + workers in one process; the default on PGlite (one process owns its data directory).
 * api = HTTP API + MLLP (`npm run start:api`); worker = queue workers only (`npm run start:worker`);
 * http / mllp = one listener each (docker/compose.yaml).
 */
import { ConfigError, loadConfig, type Config } from './config/config';
import type { Role } from './compose.types';
import { createLogger } from './platform/logger';
import { watchProcessErrors } from './platform/process-errors';
import { READY_MESSAGE, startSplit } from './process-layout';
import { redisFor, StartupError, type Running } from './startup';

const MODES: Record<string, Role[]> = {
  all: ['api', 'mllp', 'worker'],
  api: ['api', 'mllp'],
  worker: ['worker'],
  http: ['api'],
  mllp: ['mllp'],
};

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
  const redisUrl = await redisFor(config, running, logger);
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
  const shutdown = (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    running.logger?.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    stop(running)
      .then(() => process.exit(code))
      .catch((err: unknown) => {
        console.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      });
  };
  watchProcessErrors(
    () => running.logger,
    (reason) => shutdown(reason, 1),
  );
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
      // Imported here: a split supervisor only forks and watches, so it never loads the gateway's modules.
      const { startRoles } = await import('./roles');
      await startRoles(mode, new Set(MODES[mode]), config, running);
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
