import type { Db } from '../store/db.port';

/** Read models for the delivery admin API (all from PostgreSQL: the truth, whatever Redis holds). */
export async function listDeliveries(
  db: Db,
  f: { endpoint?: string; status?: string; subscription?: string; before?: number; count?: number },
) {
  const where: string[] = [];
  const p: unknown[] = [];
  if (f.endpoint) where.push(`endpoint LIKE $${p.push(`${f.endpoint}%`)}`);
  if (f.status) where.push(`status = $${p.push(f.status)}`);
  if (f.subscription) where.push(`subscription_id = $${p.push(f.subscription)}`);
  if (f.before) where.push(`id < $${p.push(f.before)}`);
  const limit = Math.min(Math.max(f.count ?? 100, 1), 1000);
  const { rows } = await db.query(
    `SELECT id, subscription_id AS "subscriptionId", event_number AS "eventNumber", kind, endpoint, attempt, status,
            http_status AS "httpStatus", error, duration_ms AS "durationMs", created_at AS "at"
       FROM delivery_attempt ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`,
    p,
  );
  return rows;
}

export async function listDeadLetters(db: Db, open = true) {
  const { rows } = await db.query(
    `SELECT d.id, d.subscription_id AS "subscriptionId", d.event_number AS "eventNumber", d.endpoint, d.reason,
            d.created_at AS "at", d.replayed_at AS "replayedAt", d.discarded_at AS "discardedAt",
            e.focus_type || '/' || e.focus_id AS focus, e.order_key AS "orderKey",
            (SELECT count(*)::int FROM subscription_event w WHERE w.subscription_id = e.subscription_id
               AND w.order_key = e.order_key AND w.status = 'waiting') AS "parkedBehind"
       FROM dead_letter d JOIN subscription_event e ON e.subscription_id = d.subscription_id AND e.event_number = d.event_number
      ${open ? 'WHERE d.replayed_at IS NULL AND d.discarded_at IS NULL' : ''}
      ORDER BY d.id DESC LIMIT 500`,
  );
  return rows;
}

/** Per endpoint over the last hour: attempts, failures, last success and last error. */
export async function endpointStats(db: Db) {
  const { rows } = await db.query<{
    endpoint: string;
    attempts: number;
    failures: number;
    lastSuccess: string | null;
    lastError: string | null;
  }>(
    `SELECT endpoint, count(*)::int AS attempts,
            count(*) FILTER (WHERE status IN ('failed', 'dead'))::int AS failures,
            max(created_at) FILTER (WHERE status = 'delivered') AS "lastSuccess",
            (array_agg(error ORDER BY id DESC) FILTER (WHERE status IN ('failed', 'dead')))[1] AS "lastError"
       FROM delivery_attempt WHERE created_at > now() - interval '1 hour'
      GROUP BY endpoint ORDER BY failures DESC, endpoint`,
  );
  return rows;
}

export async function deliveryOverview(db: Db) {
  const q = async <T>(sql: string): Promise<T | undefined> => (await db.query<T>(sql)).rows[0];
  const pending = await q<{ n: number; age: number | null }>(
    `SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(committed_at))::float8 AS age
       FROM subscription_event WHERE status IN ('queued', 'waiting')`,
  );
  const dlq = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM dead_letter WHERE replayed_at IS NULL AND discarded_at IS NULL`,
  );
  const parked = await q<{ n: number }>(
    `SELECT count(DISTINCT (subscription_id, order_key))::int AS n FROM subscription_event WHERE status = 'dead'`,
  );
  const outbox = await q<{ n: number; age: number | null }>(
    `SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM outbox WHERE dispatched_at IS NULL`,
  );
  const subs = (
    await db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM subscription_registry GROUP BY status',
    )
  ).rows;
  return {
    pendingNotifications: pending?.n ?? 0,
    oldestPendingSeconds: Math.max(0, pending?.age ?? 0),
    deadLetters: dlq?.n ?? 0,
    parkedKeys: parked?.n ?? 0,
    outboxPending: outbox?.n ?? 0,
    outboxLagSeconds: Math.max(0, outbox?.age ?? 0),
    subscriptions: Object.fromEntries(subs.map((s) => [s.status, s.n])),
  };
}
