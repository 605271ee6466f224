import { Redis } from 'ioredis';
import type { Logger } from './logger';

/** A URL fit for a log line or an error: no user name or password. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const errorText = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
};

/**
 * Start-up check: one connection attempt to Redis (within `timeoutMs`) and a PING. Rejects with one line that
 * names where the URL came from, so an unreachable Redis stops the start instead of being retried for ever.
 */
export async function reachRedis(url: string, label: string, timeoutMs = 5000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  let last: unknown;
  redis.on('error', (err) => (last = err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Cannot reach Redis at ${safeUrl(url)} (${label}): ${errorText(last ?? err)}`);
  } finally {
    redis.disconnect();
  }
}

export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
}

/**
 * Watches dependencies that were up at start: every `intervalMs` it runs each check (bounded by the interval)
 * and logs one WARN line when a dependency goes down and one INFO line when it is back: a state change, not
 * every failed retry of every connection (those stay quiet; see src/platform/queues.ts).
 */
export function watchDependencies(
  checks: readonly DependencyCheck[],
  logger: Logger,
  intervalMs = 2000,
): { stop(): void; isUp(name: string): boolean } {
  const down = new Map<string, number>();
  let busy = false;
  const pass = async (): Promise<void> => {
    for (const c of checks) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${intervalMs} ms`)), intervalMs);
          }),
        ]);
        const since = down.get(c.name);
        if (since !== undefined) {
          down.delete(c.name);
          logger.info('dependency is back', {
            dependency: c.name,
            downSeconds: Math.round((Date.now() - since) / 1000),
          });
        }
      } catch (err) {
        if (!down.has(c.name)) {
          down.set(c.name, Date.now());
          logger.warn('dependency is down; retrying quietly until it is back', {
            dependency: c.name,
            error: errorText(err),
          });
        }
      } finally {
        clearTimeout(timer);
      }
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void pass().finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    isUp: (name) => !down.has(name),
  };
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now (restart, failover), too many connections
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const CONNECTION_TEXT =
  /Connection is closed|Connection terminated|connect ECONN|Client has encountered a connection error|the database system is (starting up|shutting down)|Stream isn't writeable|Reached the max retries per request limit/i;

/**
 * True when `err` says a dependency (PostgreSQL, Redis) is unreachable rather than that the work is wrong. Such
 * errors are retried quietly: `watchDependencies` logs the outage once, not every retry of every connection.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  return CONNECTION_TEXT.test(typeof e?.message === 'string' ? e.message : String(err));
}
