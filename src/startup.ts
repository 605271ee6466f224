import type { Server } from 'node:http';
import type { Gateway } from './compose';
import { startLocalRedis, type LocalRedis } from './platform/redis-server';
import type { Config } from './config/config';
import type { Logger } from './platform/logger';
import type { ClosableDb } from './store/db.port';
import type { SplitLayout } from './process-layout';

/** A start-up failure the operator can fix: printed as one line, exit 1. */
export class StartupError extends Error {}

/** What a process started, for its shutdown. */
export interface Running {
  logger: Logger;
  db: ClosableDb;
  redis?: LocalRedis;
  gateway?: Gateway;
  server?: Server;
  watch?: { stop(): void };
  split?: SplitLayout;
}

/** A listen failure as one line naming the setting to change. */
export function listenError(err: unknown, setting: string, port: number): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return new StartupError(`${setting}=${port} is already in use by another process`);
  if (e.code === 'EACCES')
    return new StartupError(`${setting}=${port}: permission denied (ports below 1024 need privileges)`);
  return err instanceof Error ? err : new Error(String(err));
}

/** REDIS_URL, or else a local redis-server started for this process (kept in `running` so it stops with it). */
export async function redisFor(config: Config, running: Partial<Running>, logger: Logger): Promise<string> {
  if (config.REDIS_URL) return config.REDIS_URL;
  running.redis = await startLocalRedis({ dataDir: config.DATA_DIR, detached: true }).catch((err: unknown) => {
    throw new StartupError(err instanceof Error ? err.message : String(err));
  });
  logger.info('started local redis-server', { port: running.redis.port });
  return running.redis.url;
}
