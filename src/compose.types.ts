import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Config } from './config/config';
import type { Db } from './store/db.port';
import type { Logger } from './platform/logger';
import type { Clock } from './platform/clock';

/**
 * What the composition root (src/compose.ts) hands every capability. Capabilities take only what they
 * use; nothing here is a module-level singleton.
 */
export interface AppContext {
  config: Config;
  db: Db;
  /** Redis URL for BullMQ/ioredis connections (each worker/queue makes its own connection from it). */
  redisUrl: string;
  logger: Logger;
  clock: Clock;
  /** The process's Prometheus registry, served at /metrics. */
  metrics: Registry;
}

/** Which pieces a process runs (`npm start` = all; `start:api` = api + mllp; `start:worker` = worker). */
export type Role = 'api' | 'mllp' | 'worker';

/**
 * A capability plugs into the process through this shape. `mountRoutes` runs after the auth middleware is
 * installed on `/fhir` and `/admin` (so `res.locals.auth` is set there); `start` runs for the roles it
 * names; at shutdown every `drain` runs, then every `stop`, each in reverse order.
 */
export interface Capability {
  name: string;
  mountRoutes?(app: Express): void;
  start?(roles: ReadonlySet<Role>): Promise<void>;
  /** Stops taking work that runs other capabilities' code (e.g. the outbox consumers); all drain before any stops. */
  drain?(): Promise<void>;
  stop?(): Promise<void>;
}
