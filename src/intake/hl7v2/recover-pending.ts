import type { SenderProfile } from '../../mapping/profile';
import type { Db } from '../../store/db.port';
import { ackCodeFor } from './ack';
import type { ApplyQueue } from './apply-queue';
import { parseAndMap } from './process-message';

interface PendingRow {
  id: number | string;
  raw: string;
  channel: 'mllp' | 'http';
  remote: string | null;
}

/**
 * Hands stored-but-unapplied messages (`pending`, e.g. after a crash between the ACK and the apply) to the
 * apply queue, oldest first, skipping those it holds already. `olderThanSeconds` leaves alone rows another
 * running process has just stored and is about to apply (applying one twice is harmless: facts and Tasks are
 * idempotent, but it is wasted work). Returns how many were handed over.
 */
export async function recoverPending(
  db: Db,
  queue: ApplyQueue,
  profiles: SenderProfile[],
  today: string,
  opts: { olderThanSeconds: number; limit?: number },
): Promise<number> {
  const r = await db.query<PendingRow>(
    `SELECT id, raw, channel, remote FROM hl7_message
     WHERE status = 'pending' AND received_at <= now() - make_interval(secs => $1) ORDER BY id LIMIT $2`,
    [opts.olderThanSeconds, opts.limit ?? 1000],
  );
  let handed = 0;
  for (const row of r.rows) {
    const id = Number(row.id);
    if (queue.has(id)) continue;
    const parsed = parseAndMap(row.raw, profiles, today);
    if (parsed.ok && parsed.mapped.kind === 'stay') {
      queue.enqueue({ id, mapped: parsed.mapped, meta: { channel: row.channel, remote: row.remote ?? undefined } });
      handed++;
      continue;
    }
    // The sender profiles changed since it was stored: record what they say now.
    const [status, code, reason] = parsed.ok
      ? ['ignored', null, null]
      : ['rejected', parsed.error.code, parsed.error.reason];
    await db.query(
      `UPDATE hl7_message SET status = $2, error_code = $3, error_reason = $4,
         ack_code = COALESCE(ack_code, $5), processed_at = now() WHERE id = $1 AND status = 'pending'`,
      [id, status, code, reason, parsed.ok ? 'AA' : ackCodeFor(parsed.error.code)],
    );
  }
  return handed;
}
