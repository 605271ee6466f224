import { parseHl7Text, readPath } from '../../mapping/hl7-read';
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
    if (queue.has(Number(row.id))) continue;
    if ((await handOver(db, queue, profiles, today, row, 'pending')).status === 'pending') handed++;
  }
  return handed;
}

/**
 * Maps a stored message with today's sender profiles and hands it to the apply queue (`pending`), or records why
 * it cannot be applied (`rejected` / `ignored`). Only a row still in status `from` is changed.
 */
async function handOver(
  db: Db,
  queue: ApplyQueue,
  profiles: SenderProfile[],
  today: string,
  row: PendingRow,
  from: string,
): Promise<{ status: 'pending' | 'ignored' | 'rejected' | 'unchanged'; reason?: string }> {
  const id = Number(row.id);
  const parsed = parseAndMap(row.raw, profiles, today);
  if (parsed.ok && parsed.mapped.kind !== 'ignored') {
    // Recovery reads rows that are `pending` already; a reprocessed one becomes `pending` again first.
    if (from !== 'pending') {
      const r = await db.query(
        `UPDATE hl7_message SET status = 'pending', error_code = NULL, error_reason = NULL, processed_at = NULL
         WHERE id = $1 AND status = $2`,
        [id, from],
      );
      if (r.rowCount === 0) return { status: 'unchanged' };
    }
    queue.enqueue({ id, mapped: parsed.mapped, meta: { channel: row.channel, remote: row.remote ?? undefined } });
    return { status: 'pending' };
  }
  const [status, code, reason] = parsed.ok
    ? (['ignored', null, null] as const)
    : (['rejected', parsed.error.code, parsed.error.reason] as const);
  await db.query(
    `UPDATE hl7_message SET status = $2, error_code = $3, error_reason = $4,
       ack_code = COALESCE(ack_code, $5), processed_at = now() WHERE id = $1 AND status = $6`,
    [id, status, code, reason, parsed.ok ? 'AA' : ackCodeFor(parsed.error.code), from],
  );
  return { status, ...(reason ? { reason } : {}) };
}

export type ReprocessResult =
  | { status: 'pending' | 'ignored' | 'rejected'; reason?: string }
  | { status: 'not-found' | 'not-reprocessable'; reason: string };

/**
 * An admin's "process again" for a message that was rejected or failed (e.g. after a ward was added to the sender
 * profile): mapped with today's profiles and, if it maps to a stay now, applied like a new message. The original
 * sender's tenant check (HTTP) is not repeated: the admin vouches for the message.
 */
export async function reprocessMessage(
  db: Db,
  queue: ApplyQueue,
  profiles: SenderProfile[],
  today: string,
  id: number,
): Promise<ReprocessResult> {
  const row = (
    await db.query<PendingRow & { status: string; sender: string; control_id: string | null }>(
      'SELECT id, raw, channel, remote, status, sender, control_id FROM hl7_message WHERE id = $1',
      [id],
    )
  ).rows[0];
  if (!row) return { status: 'not-found', reason: `no HL7 message ${id}` };
  if (row.status !== 'rejected' && row.status !== 'error') {
    return {
      status: 'not-reprocessable',
      reason: `HL7 message ${id} is ${row.status}: only rejected or failed messages are processed again`,
    };
  }
  const corrected = row.control_id === null ? await correctedBy(db, row.sender, row.raw, id) : undefined;
  if (corrected) {
    return {
      status: 'not-reprocessable',
      reason: `HL7 message ${id} was corrected by message ${corrected.id}, sent later under the same MSH-10 ${corrected.controlId}: that one is the sender's message now`,
    };
  }
  const { status, reason } = await handOver(db, queue, profiles, today, row, row.status);
  if (status === 'unchanged') {
    return { status: 'not-reprocessable', reason: `HL7 message ${id} changed meanwhile: read it again` };
  }
  return { status, ...(reason ? { reason } : {}) };
}

/** MSH-10 of a stored message's text, read as the intake reads it (`readHeader`); undefined when it cannot be parsed. */
function controlIdOf(raw: string): string | undefined {
  try {
    return readPath(parseHl7Text(raw), 'MSH-10') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The later message of the same sender that holds this refused message's MSH-10 (a corrected resend, ADR 055), if
 * any: processing the refused one again would apply the message its sender replaced. Only a refused row that gave up
 * its MSH-10 can have one (`control_id` null); the caller checks that.
 */
export async function correctedBy(
  db: Db,
  sender: string,
  raw: string,
  id: number,
): Promise<{ id: number; controlId: string } | undefined> {
  const controlId = controlIdOf(raw);
  if (controlId === undefined) return undefined;
  const later = await db.query<{ id: number | string }>(
    'SELECT id FROM hl7_message WHERE sender = $1 AND control_id = $2 AND id > $3',
    [sender, controlId, id],
  );
  const first = later.rows[0];
  return first ? { id: Number(first.id), controlId } : undefined;
}
