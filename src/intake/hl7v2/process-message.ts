import { Hl7Message } from '@medplum/core';
import type { Clock } from '../../platform/clock';
import type { Logger } from '../../platform/logger';
import { isGatewayError, type ErrorCode } from '../../platform/errors';
import { mapAdt, readHeader, type MappedAdt, type MessageHeader } from '../../mapping/adt-to-facts';
import { parseHl7Text } from '../../mapping/hl7-read';
import type { SenderProfile } from '../../mapping/profile';
import { ackCodeFor, buildAckText, type AckCode, type AckError, type AckWarning } from './ack';
import type { ApplicableMessage, ApplyOutcome, ApplyQueue, ReceiveMeta, StayMessage } from './apply-queue';
import type { LogEntry, MessageLog, MessageStatus } from './message-log';
import { localDate } from '../../core/calendar';

export type { ApplyStayMessages, ReceiveMeta } from './apply-queue';
export type { MessageStatus } from './message-log';

export interface Hl7Outcome {
  ack: string;
  ackCode: AckCode;
  status: MessageStatus;
  duplicate: boolean;
  stayId?: string;
  error?: AckError;
  /** The `hl7_message` row (new messages). */
  messageId?: number;
}

export interface Hl7ProcessorDeps {
  profiles: SenderProfile[];
  clock: Clock;
  logger: Logger;
  log: MessageLog;
  queue: ApplyQueue;
  /** `stored`: AA once the raw message is committed; `applied`: the ACK reports the apply's outcome. */
  ackAfter: 'stored' | 'applied';
  /** Checks before storing that an HTTP client may send this stay (throws `forbidden`). */
  precheck?: (mapped: ApplicableMessage, meta: ReceiveMeta) => Promise<void>;
  /** Largest accepted message (characters); larger ones are stored truncated and rejected. */
  maxChars?: number;
  /**
   * What the message alone shows the engine will park (ADR 024), for the ACK sent on store: ERR severity W beside
   * AA. Not used when the ACK waits for the apply (the engine's own warnings are then in it).
   */
  foresee?: (mapped: StayMessage) => Promise<AckWarning[]>;
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
    msg = parseHl7Text(raw);
    header = readHeader(msg);
    const several = severalMessages(msg);
    if (several) return { ok: false, msg, header, error: several };
    return { ok: true, msg, header, mapped: mapAdt(msg, profiles, { today }) };
  } catch (e) {
    return { ok: false, msg, header, error: toAckError(e) };
  }
}

/**
 * One frame (or POST /hl7v2 body) is one message: a second MSH (or a batch header) is refused as a whole with
 * AR, none of the messages is applied, and the sender resends them one per frame. Answering each with its own
 * ACK would shift every later ACK on the connection by one (a sender reads one answer per frame).
 */
function severalMessages(msg: Hl7Message): AckError | undefined {
  const names = msg.segments.map((s) => s.name);
  const batch = names.find((n) => n === 'FHS' || n === 'BHS');
  const count = names.filter((n) => n === 'MSH').length;
  if (count <= 1 && !batch) return undefined;
  const second = names.indexOf('MSH', 1);
  return {
    code: 'bad-hl7-structure',
    reason: batch
      ? `the frame is an HL7 batch (${batch}); send each message in its own frame, none of them was processed`
      : `the frame holds ${count} messages (another MSH at segment ${second + 1}); send each message in its own frame, none of them was processed`,
    // no ERR location: ERR-2 could only point at the first MSH; the reason names the segment
  };
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

/** Only a message with a real MSH and the standard delimiters is answered in kind; others get a salvaged header. */
function standard(msg: Hl7Message | undefined): Hl7Message | undefined {
  const c = msg?.context;
  if (!msg || !c || msg.segments[0]?.name !== 'MSH') return undefined;
  const ok = c.fieldSeparator === '|' && c.componentSeparator === '^' && c.repetitionSeparator === '~';
  return ok && c.escapeCharacter === '\\' && c.subcomponentSeparator === '&' ? msg : undefined;
}

function safeAck(
  msg: Hl7Message | undefined,
  raw: string,
  code: AckCode,
  err: AckError | undefined,
  warnings: readonly AckWarning[],
  at: number,
): string {
  try {
    return buildAckText(standard(msg), raw, code, err, warnings, at);
  } catch {
    return buildAckText(undefined, raw, code, err, warnings, at);
  }
}

/** What the processor decided for a message before storing it. */
function initialOutcome(parsed: Parsed): Pick<Hl7Outcome, 'status' | 'ackCode' | 'error'> {
  if (!parsed.ok) return { status: 'rejected', ackCode: ackCodeFor(parsed.error.code), error: parsed.error };
  if (parsed.mapped.kind === 'ignored') return { status: 'ignored', ackCode: 'AA' };
  return { status: 'pending', ackCode: 'AA' };
}

/**
 * One HL7 v2 message in: parse and map it (no I/O), store the raw text with its status (group commit with the
 * other connections' messages), then ACK. A stay message is stored `pending` and handed to the apply queue:
 * with `ackAfter: 'stored'` the `AA` goes out once the row is committed (the apply follows, in order per stay);
 * with `'applied'` the ACK waits for the apply's commit and reports its outcome. A repeat of (sender, MSH-10)
 * answers as the first time and changes nothing; a repeat of one that failed while applying is applied again.
 */
export function createHl7Processor(deps: Hl7ProcessorDeps) {
  const { profiles, clock, logger, log, queue } = deps;
  const waiting = new Map<number, (o: ApplyOutcome | undefined) => void>();

  /** The apply queue's callback (the integrator wires it): resolves an ACK waiting for its apply. */
  function applied(id: number, outcome: ApplyOutcome | undefined): void {
    const w = waiting.get(id);
    if (w) {
      waiting.delete(id);
      w(outcome);
    }
  }

  async function process(raw: string, meta: ReceiveMeta): Promise<Hl7Outcome> {
    const receivedAt = performance.now();
    // The Stockholm date, not UTC's: it picks the century of a 10-digit personnummer.
    const today = localDate(clock.now().getTime());
    const parsed: Parsed = meta.truncatedFrom
      ? tooLarge(raw, meta.truncatedFrom)
      : parseAndMap(raw, profiles, today, deps.maxChars);
    const sender = parsed.header?.sender ?? '(unparsed)';
    const controlId = parsed.header?.controlId ?? null;
    const stored = raw.length > (deps.maxChars ?? DEFAULT_MAX_CHARS) ? raw.slice(0, 10_000) : raw;
    let decided = initialOutcome(parsed);
    if (parsed.ok && parsed.mapped.kind !== 'ignored' && deps.precheck && meta.organization) {
      try {
        await deps.precheck(parsed.mapped, meta);
      } catch (e) {
        if (!isGatewayError(e)) throw e;
        decided = { status: 'rejected', ackCode: ackCodeFor(e.code), error: toAckError(e) };
      }
    }
    const entry: LogEntry = {
      sender,
      controlId,
      event: parsed.header?.event ?? null,
      raw: stored,
      channel: meta.channel,
      remote: meta.remote ?? null,
      status: decided.status,
      errorCode: decided.error?.code ?? null,
      errorReason: decided.error?.reason ?? null,
      ackCode: decided.status === 'pending' && deps.ackAfter === 'applied' ? null : decided.ackCode,
    };
    // Unknown local values are accepted and reported (contract Ingestion 5): ERR severity W beside AA.
    const mappingWarnings: AckWarning[] = parsed.ok && parsed.mapped.kind !== 'ignored' ? parsed.mapped.warnings : [];
    const ack = (code: AckCode, error?: AckError, more: readonly AckWarning[] = []) =>
      safeAck(parsed.msg, raw, code, error, code === 'AA' ? [...mappingWarnings, ...more] : [], clock.now().getTime());
    let logged;
    try {
      if (decided.status === 'pending') await queue.room();
      logged = await log.store(entry);
    } catch (e) {
      // Nothing committed: the sender must resend. Never AA here.
      logger.error('hl7 message could not be stored', {
        sender,
        controlId: controlId ?? undefined,
        err: (e as Error).message,
      });
      const error: AckError = { code: 'unavailable', reason: 'the gateway could not store the message; resend later' };
      return { ack: ack('AE', error), ackCode: 'AE', status: 'error', duplicate: false, error };
    }
    if (logged.corrects !== undefined)
      logger.info('hl7 message corrects a refused one under the same control id', {
        sender,
        controlId: controlId ?? undefined,
        messageId: logged.id,
        earlierMessage: logged.corrects,
      });
    if (logged.repeatOf && logged.differs) {
      // The MSH-10 was used before for another message: answering as the repeat would say "stored" for something
      // never applied. Refused, kept as its own row for the admin view, and logged.
      const ex = logged.repeatOf;
      const error: AckError = {
        code: 'duplicate-control-id',
        path: 'MSH-10',
        reason: `MSH-10 ${controlId ?? ''} was used before for another message (message ${ex.id}, ${ex.status}): nothing of this one was applied; send it with a new MSH-10`,
      };
      logger.warn('hl7 message reuses a control id for other content', {
        sender,
        controlId: controlId ?? undefined,
        earlierMessage: ex.id,
      });
      await log.store({
        ...entry,
        controlId: null,
        status: 'rejected',
        errorCode: error.code,
        errorReason: error.reason,
        ackCode: 'AR',
      });
      return { ack: ack('AR', error), ackCode: 'AR', status: 'rejected', duplicate: false, error };
    }
    if (logged.repeatOf) {
      const ex = logged.repeatOf;
      const error = ex.error_code ? { code: ex.error_code as ErrorCode, reason: ex.error_reason ?? '' } : undefined;
      const code = ex.ack_code ?? (ex.status === 'pending' ? 'AA' : error ? ackCodeFor(error.code) : 'AA');
      return {
        ack: ack(code, error),
        ackCode: code,
        status: ex.status,
        duplicate: true,
        stayId: ex.stay_id ?? undefined,
        error,
      };
    }
    if (decided.status !== 'pending' || !parsed.ok || parsed.mapped.kind === 'ignored') {
      return { ...decided, ack: ack(decided.ackCode, decided.error), duplicate: false };
    }
    const job = { id: logged.id, mapped: parsed.mapped, meta, receivedAt };
    if (deps.ackAfter === 'stored') {
      queue.enqueue(job);
      const foreseen = deps.foresee && parsed.mapped.kind === 'stay' ? await deps.foresee(parsed.mapped) : [];
      return {
        status: 'pending',
        ackCode: 'AA',
        ack: ack('AA', undefined, foreseen),
        duplicate: false,
        messageId: logged.id,
      };
    }
    const outcome = await new Promise<ApplyOutcome | undefined>((resolve) => {
      waiting.set(logged.id, resolve);
      queue.enqueue(job);
    });
    if (!outcome) {
      // Stored but not applied yet (shutting down, or the store failed): the row stays pending and is applied
      // after a restart; the sender may resend (a repeat answers as stored).
      const error: AckError = { code: 'unavailable', reason: 'stored but not applied yet; resend later' };
      return { ack: ack('AE', error), ackCode: 'AE', status: 'pending', duplicate: false, error };
    }
    const engineWarnings = outcome.outcome?.warnings ?? [];
    return {
      ...outcome,
      ack: ack(outcome.ackCode, outcome.error, engineWarnings),
      duplicate: false,
      messageId: logged.id,
    };
  }

  return Object.assign(process, { applied });
}

export type Hl7Processor = (raw: string, meta: ReceiveMeta) => Promise<Hl7Outcome>;
