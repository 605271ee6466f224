import { Hl7Message } from '@medplum/core';
import type { Db } from '../../store/db.port';
import type { Clock } from '../../platform/clock';
import type { Logger } from '../../platform/logger';
import { isGatewayError, type ErrorCode } from '../../platform/errors';
import { mapAdt, readHeader, type MappedAdt, type MessageHeader } from '../../mapping/adt-to-facts';
import type { SenderProfile } from '../../mapping/profile';
import { ackCodeFor, buildAckText, type AckCode, type AckError } from './ack';

export type MessageStatus = 'accepted' | 'ignored' | 'rejected' | 'error';

export interface Hl7Outcome {
  ack: string;
  ackCode: AckCode;
  status: MessageStatus;
  duplicate: boolean;
  stayId?: string;
  error?: AckError;
}

/** Applies a mapped stay message inside the message's transaction; returns the stay (Encounter) id. */
export type ApplyMappedStay = (
  tx: Db,
  mapped: Extract<MappedAdt, { kind: 'stay' }>,
  meta: ReceiveMeta,
) => Promise<{ stayId: string }>;

export interface Hl7ProcessorDeps {
  db: Db;
  profiles: SenderProfile[];
  clock: Clock;
  logger: Logger;
  apply: ApplyMappedStay;
  /** Largest accepted message (characters); larger ones are stored truncated and rejected. */
  maxChars?: number;
}

export interface ReceiveMeta {
  channel: 'mllp' | 'http';
  remote?: string;
  /** The frame was larger than allowed and cut to its head (this many bytes originally): store and reject it. */
  truncatedFrom?: number;
  /** Over HTTP: the client's tenant (`Organization/<id>`); a hospital may only send for itself. */
  organization?: string;
}

type Parsed =
  | { ok: true; msg: Hl7Message; header: MessageHeader; mapped: MappedAdt }
  | { ok: false; msg?: Hl7Message; header?: MessageHeader; error: AckError };

const DEFAULT_MAX_CHARS = 1_000_000;

function toAckError(e: unknown): AckError {
  if (isGatewayError(e)) return { code: e.code, reason: e.message, path: e.issues[0]?.path };
  return { code: 'bad-hl7-structure', reason: `the message could not be parsed: ${(e as Error).message ?? String(e)}` };
}

/** Parse and map without I/O. Never throws. */
export function parseAndMap(
  raw: string,
  profiles: SenderProfile[],
  today: string,
  maxChars = DEFAULT_MAX_CHARS,
): Parsed {
  if (raw.length > maxChars) {
    return {
      ok: false,
      error: { code: 'too-large', reason: `message of ${raw.length} characters exceeds ${maxChars}` },
    };
  }
  let msg: Hl7Message | undefined;
  let header: MessageHeader | undefined;
  try {
    msg = Hl7Message.parse(raw.replace(/\r\n|\n/g, '\r').replace(/\r+$/, ''));
    header = readHeader(msg);
    return { ok: true, msg, header, mapped: mapAdt(msg, profiles, { today }) };
  } catch (e) {
    return { ok: false, msg, header, error: toAckError(e) };
  }
}

/** A cut-off message: keep what can be read of its header so the ACK and the stored row name it. */
function tooLarge(head: string, size: number): Parsed {
  const error: AckError = { code: 'too-large', reason: `message of ${size} bytes exceeds the limit` };
  try {
    const msg = Hl7Message.parse(head.replace(/\r\n|\n/g, '\r').split('\r')[0] ?? '');
    return { ok: false, msg, header: readHeader(msg), error };
  } catch {
    return { ok: false, error };
  }
}

const stripNul = (s: string): string => s.split(String.fromCharCode(0)).join('');

/** Only a message with a real MSH and the standard delimiters is answered in kind; others get a salvaged header. */
function standard(msg: Hl7Message | undefined): Hl7Message | undefined {
  const c = msg?.context;
  if (!msg || !c || msg.segments[0]?.name !== 'MSH') return undefined;
  const ok = c.fieldSeparator === '|' && c.componentSeparator === '^' && c.repetitionSeparator === '~';
  return ok && c.escapeCharacter === '\\' && c.subcomponentSeparator === '&' ? msg : undefined;
}

function safeAck(msg: Hl7Message | undefined, raw: string, code: AckCode, err?: AckError): string {
  try {
    return buildAckText(standard(msg), raw, code, err);
  } catch {
    return buildAckText(undefined, raw, code, err);
  }
}

interface Existing {
  id: number;
  status: MessageStatus;
  ack_code: AckCode | null;
  error_code: string | null;
  error_reason: string | null;
  stay_id: string | null;
}

/**
 * One HL7 v2 message in: store the raw text, map it, apply the facts, record the outcome, all in one
 * transaction; the ACK is returned only after the commit. A repeat of (sender, MSH-10) answers as the first
 * time and changes nothing; a repeat of a message that failed with an internal error is processed again.
 */
export function createHl7Processor(deps: Hl7ProcessorDeps) {
  const { db, profiles, clock, logger } = deps;
  return async function process(raw: string, meta: ReceiveMeta): Promise<Hl7Outcome> {
    const today = clock.now().toISOString().slice(0, 10);
    const parsed: Parsed = meta.truncatedFrom
      ? tooLarge(raw, meta.truncatedFrom)
      : parseAndMap(raw, profiles, today, deps.maxChars);
    const sender = parsed.header?.sender ?? '(unparsed)';
    const controlId = parsed.header?.controlId ?? null;
    const stored = raw.length > (deps.maxChars ?? DEFAULT_MAX_CHARS) ? raw.slice(0, 10_000) : raw;
    try {
      return await db.transaction(async (tx) => {
        const ins = await tx.query<{ id: number }>(
          `INSERT INTO hl7_message (sender, control_id, event, raw, channel, remote, status)
           VALUES ($1, $2, $3, $4, $5, $6, 'error') ON CONFLICT (sender, control_id) DO NOTHING RETURNING id`,
          [sender, controlId, parsed.header?.event ?? null, stripNul(stored), meta.channel, meta.remote ?? null],
        );
        let rowId = ins.rows[0]?.id;
        if (rowId === undefined) {
          const ex = (
            await tx.query<Existing>(
              'SELECT id, status, ack_code, error_code, error_reason, stay_id FROM hl7_message WHERE sender = $1 AND control_id = $2 FOR UPDATE',
              [sender, controlId],
            )
          ).rows[0];
          if (ex && ex.status !== 'error') {
            const error = ex.error_code
              ? { code: ex.error_code as ErrorCode, reason: ex.error_reason ?? '' }
              : undefined;
            const code = ex.ack_code ?? 'AA';
            return {
              ack: safeAck(parsed.msg, raw, code, error),
              ackCode: code,
              status: ex.status,
              duplicate: true,
              stayId: ex.stay_id ?? undefined,
              error,
            };
          }
          rowId = ex?.id;
        }
        const outcome = await applyParsed(tx, parsed, meta);
        await tx.query(
          `UPDATE hl7_message SET status = $2, error_code = $3, error_reason = $4, stay_id = $5, ack_code = $6,
             processed_at = now(), raw = $7 WHERE id = $1`,
          [
            rowId,
            outcome.status,
            outcome.error?.code ?? null,
            outcome.error?.reason ?? null,
            outcome.stayId ?? null,
            outcome.ackCode,
            stripNul(stored),
          ],
        );
        return { ...outcome, ack: safeAck(parsed.msg, raw, outcome.ackCode, outcome.error), duplicate: false };
      });
    } catch (e) {
      // Nothing committed: the sender must resend. Never AA here.
      logger.error('hl7 message could not be stored', {
        sender,
        controlId: controlId ?? undefined,
        err: (e as Error).message,
      });
      const error: AckError = { code: 'unavailable', reason: 'the gateway could not store the message; resend later' };
      return { ack: safeAck(parsed.msg, raw, 'AE', error), ackCode: 'AE', status: 'error', duplicate: false, error };
    }
  };

  async function applyParsed(
    tx: Db,
    parsed: Parsed,
    meta: ReceiveMeta,
  ): Promise<Omit<Hl7Outcome, 'ack' | 'duplicate'>> {
    if (!parsed.ok) return { status: 'rejected', ackCode: ackCodeFor(parsed.error.code), error: parsed.error };
    if (parsed.mapped.kind === 'ignored') return { status: 'ignored', ackCode: 'AA' };
    const mapped = parsed.mapped;
    try {
      const { stayId } = await tx.transaction((sp) => deps.apply(sp, mapped, meta));
      return { status: 'accepted', ackCode: 'AA', stayId };
    } catch (e) {
      // A concurrent change (version conflict, deadlock) is not the sender's fault: kept as `error`, a resend retries.
      if (isGatewayError(e) && e.status < 500 && e.code !== 'version-conflict' && e.code !== 'conflict') {
        return { status: 'rejected', ackCode: ackCodeFor(e.code), error: toAckError(e) };
      }
      logger.error('hl7 message could not be applied', {
        sender: mapped.header.sender,
        controlId: mapped.header.controlId,
        err: (e as Error).message,
      });
      const code: ErrorCode = isGatewayError(e) ? e.code : 'internal';
      return {
        status: 'error',
        ackCode: 'AE',
        error: { code, reason: `internal error while applying the message: ${(e as Error).message}` },
      };
    }
  }
}

export type Hl7Processor = ReturnType<typeof createHl7Processor>;
