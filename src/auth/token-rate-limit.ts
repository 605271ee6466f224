import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger';

/**
 * Failed-authentication limiter of `POST /auth/token`, shared by every process through Redis: a fixed window
 * per key (one per claimed client id, one per remote address) that counts failed client authentications.
 * When a key has reached its limit, further requests for it are refused (429) without checking the
 * credentials, until the window that began with its first failure ends. Successful requests are not counted,
 * so a normal client never meets the limit.
 *
 * If Redis cannot be reached, each process counts in its own memory instead (the limit then holds per process,
 * not across processes) and says so once in the log: the token endpoint stays available without Redis.
 */
export interface TokenRateLimits {
  windowSeconds: number;
  maxFailuresPerClient: number;
  maxFailuresPerAddress: number;
}

export interface LimitKey {
  kind: 'client' | 'address';
  value: string;
}

export interface Refusal {
  key: LimitKey;
  limit: number;
  retryAfterSeconds: number;
  /** The first refusal of this key in its window (audited; later ones are only counted). */
  first: boolean;
}

export interface TokenRateLimiter {
  readonly limits: TokenRateLimits;
  /** Before checking credentials: the first key over its limit, or undefined when the request may go on. */
  check(keys: readonly LimitKey[]): Promise<Refusal | undefined>;
  /** After a failed client authentication: counts it for every key. */
  failed(keys: readonly LimitKey[]): Promise<void>;
}

// KEYS: the counters; ARGV: one limit per key, then the window in ms. A key at its limit is counted once more
// (so the caller knows the first refusal) and returned with its remaining time.
const CHECK = `
for i, k in ipairs(KEYS) do
  local c = tonumber(redis.call('GET', k) or '0')
  if c >= tonumber(ARGV[i]) then
    local n = redis.call('INCR', k)
    local t = redis.call('PTTL', k)
    if t < 0 then
      t = tonumber(ARGV[#KEYS + 1])
      redis.call('PEXPIRE', k, t)
    end
    return {i, t, n}
  end
end
return {0, 0, 0}`;

// KEYS: the counters; ARGV[1]: the window in ms (set when the window begins with its first failure).
const FAIL = `
for _, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('PEXPIRE', k, ARGV[1]) end
end
return 1`;

const MAX_LOCAL_KEYS = 10_000;

export function createTokenRateLimiter(opts: {
  redis: Redis;
  /** Key prefix (the deployment's QUEUE_PREFIX), so two gateways on one Redis do not share counters. */
  prefix: string;
  limits: TokenRateLimits;
  logger: Logger;
  now?: () => number;
}): TokenRateLimiter {
  const { redis, limits, logger } = opts;
  const now = opts.now ?? Date.now;
  const windowMs = limits.windowSeconds * 1000;
  const local = new Map<string, { count: number; until: number }>();
  let degraded = false;

  const limitOf = (k: LimitKey) => (k.kind === 'client' ? limits.maxFailuresPerClient : limits.maxFailuresPerAddress);
  const redisKey = (k: LimitKey) => `${opts.prefix}:auth-limit:${k.kind}:${encodeURIComponent(k.value).slice(0, 200)}`;

  const fallback = (e: unknown) => {
    if (!degraded) {
      degraded = true;
      logger.warn('token rate limit: Redis unreachable, counting per process until it is back', {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  };
  const localEntry = (key: string) => {
    const e = local.get(key);
    if (e && e.until > now()) return e;
    local.delete(key);
    return undefined;
  };

  return {
    limits,
    async check(keys) {
      try {
        const r = (await redis.eval(CHECK, keys.length, ...keys.map(redisKey), ...keys.map(limitOf), windowMs)) as [
          number,
          number,
          number,
        ];
        degraded = false;
        const key = keys[r[0] - 1];
        if (!key) return undefined;
        return {
          key,
          limit: limitOf(key),
          retryAfterSeconds: Math.max(1, Math.ceil(r[1] / 1000)),
          first: r[2] === limitOf(key) + 1,
        };
      } catch (e) {
        fallback(e);
        for (const key of keys) {
          const entry = localEntry(redisKey(key));
          if (entry && entry.count >= limitOf(key)) {
            entry.count++;
            const retryAfterSeconds = Math.max(1, Math.ceil((entry.until - now()) / 1000));
            return { key, limit: limitOf(key), retryAfterSeconds, first: entry.count === limitOf(key) + 1 };
          }
        }
        return undefined;
      }
    },
    async failed(keys) {
      try {
        await redis.eval(FAIL, keys.length, ...keys.map(redisKey), windowMs);
        degraded = false;
      } catch (e) {
        fallback(e);
        if (local.size > MAX_LOCAL_KEYS) local.clear();
        for (const key of keys) {
          const k = redisKey(key);
          const entry = localEntry(k);
          if (entry) entry.count++;
          else local.set(k, { count: 1, until: now() + windowMs });
        }
      }
    },
  };
}
