import { Hl7Message } from '@medplum/core';
import type { ErrorCode } from '../../platform/errors';
import { hl7TimeOf } from '../../mapping/hl7-time';

export type AckCode = 'AA' | 'AE' | 'AR';

/** HL7 table 0357 (message error condition codes) for the gateway's error codes. */
const HL7_ERROR: Partial<Record<ErrorCode, [string, string]>> = {
  'bad-hl7-structure': ['101', 'Required field missing'],
  'unknown-event': ['201', 'Unsupported event code'],
  'invalid-personnummer': ['102', 'Data type error'],
  'unknown-ward': ['103', 'Table value not found'],
  'bad-request': ['103', 'Table value not found'],
  'too-large': ['104', 'Value too long'],
  'duplicate-control-id': ['205', 'Duplicate key identifier'],
};

/** Structure and unsupported events are rejected (AR); content and internal errors are application errors (AE). */
export function ackCodeFor(code: ErrorCode): AckCode {
  return code === 'bad-hl7-structure' ||
    code === 'unknown-event' ||
    code === 'too-large' ||
    code === 'duplicate-control-id'
    ? 'AR'
    : 'AE';
}

export interface AckError {
  code: ErrorCode;
  reason: string;
  /** e.g. `PID-3`, `PV1-19`, `OBX-5 (behov)` */
  path?: string;
}

/** Escapes HL7 delimiters in free text. */
export function escapeHl7(text: string): string {
  return text
    .replace(/\\/g, '\\E\\')
    .replace(/\|/g, '\\F\\')
    .replace(/\^/g, '\\S\\')
    .replace(/&/g, '\\T\\')
    .replace(/~/g, '\\R\\')
    .replace(/[\r\n]+/g, ' ');
}

function errorLocation(path: string | undefined): string {
  const m = /^([A-Z][A-Z0-9]{2})(?:-(\d+))?/.exec(path ?? '');
  if (!m) return '';
  return m[2] ? `${m[1]}^1^${m[2]}` : `${m[1]}^1`;
}

/**
 * Something accepted but worth telling the sender (contract Ingestion 5): an unknown local value, a fact the engine
 * parked or rejected. Sent as ERR with severity `W` beside `AA`.
 */
export interface AckWarning {
  code: string;
  text: string;
  path?: string;
}

/** HL7 table 0357 code of a warning: an unknown table value, else 0 (the message itself was accepted). */
const WARNING_HL7: Record<string, [string, string]> = {
  'unknown-ward': ['103', 'Table value not found'],
  'unknown-code': ['103', 'Table value not found'],
  'unknown-observation': ['103', 'Table value not found'],
};

/** The ERR segment (v2.5) of a warning: severity `W`. */
export function warningSegment(w: AckWarning): string {
  const [hl7, text] = WARNING_HL7[w.code] ?? ['0', 'Message accepted'];
  const reason = escapeHl7(w.text).slice(0, 400);
  const code = escapeHl7(w.code).slice(0, 60);
  return [
    'ERR',
    '',
    errorLocation(w.path),
    `${hl7}^${text}^HL70357`,
    'W',
    `${code}^${reason}^SVU-WARNING`,
    '',
    '',
    reason,
  ].join('|');
}

/** The ERR segment (v2.5): location, HL7 error code, severity, the gateway's code and the reason. */
export function errSegment(err: AckError): string {
  const [hl7, text] = HL7_ERROR[err.code] ?? ['207', 'Application internal error'];
  const reason = escapeHl7(err.reason).slice(0, 400);
  return [
    'ERR',
    '',
    errorLocation(err.path),
    `${hl7}^${text}^HL70357`,
    'E',
    `${err.code}^${reason}^SVU-ERROR`,
    '',
    '',
    reason,
  ].join('|');
}

/** Salvages MSH-10 (and the separators) from text that did not parse, so the sender can match the ACK. */
function fallbackHeader(raw: string): Hl7Message {
  const line = raw.split(/\r\n|\r|\n/).find((l) => l.startsWith('MSH')) ?? '';
  const sep = line.length > 3 && line[3] !== undefined && !/[A-Za-z0-9\s]/.test(line[3]) ? line[3] : '|';
  const fields = line.split(sep);
  const control = (fields[9] ?? '').replace(/[^\w.-]/g, '').slice(0, 64);
  return Hl7Message.parse(`MSH|^~\\&|||||||ADT|${control}|P|2.5`);
}

/**
 * The ACK's MSH segment, as `Hl7Message.buildAck` (`@medplum/core` 4.5) writes it but for the time: sender and
 * receiver swapped, the time, `ACK^<event>^ACK`, the time in ms as control id, `P`, the version (2.5.1 when absent).
 * The time (MSH-7) is `at` in Stockholm local time with its offset: a Swedish EHR reads a time without an offset as
 * its local time, as the gateway reads the EHR's (medplum writes UTC without an offset). Written here because
 * `buildAck` builds and re-parses a whole message to be turned back into text (≈ 1 % of the intake's CPU).
 */
export function ackHeaderSegment(orig: Hl7Message, at: number): string {
  const msh = orig.getSegment('MSH');
  const field = (n: number) => msh?.getField(n)?.toString() ?? '';
  const type = msh?.getField(9);
  const event = type?.getComponent(2);
  const trigger = type?.getComponent(3);
  const ackType = event && trigger ? `ACK^${event}^ACK` : event ? `ACK^${event}` : 'ACK';
  return [
    'MSH',
    orig.context.getMsh2(),
    field(5),
    field(6),
    field(3),
    field(4),
    hl7TimeOf(at),
    '',
    ackType,
    String(at),
    'P',
    msh?.getField(12)?.toString() ?? '2.5.1',
  ].join(orig.context.fieldSeparator);
}

/** The ACK for a message (parsed, or raw text when it did not parse), with MSA-3 and ERR carrying the reason. */
export function buildAckText(
  msg: Hl7Message | undefined,
  raw: string,
  code: AckCode,
  err?: AckError,
  warnings: readonly AckWarning[] = [],
  at: number = Date.now(),
): string {
  const orig = msg ?? fallbackHeader(raw);
  const control = escapeHl7(orig.getSegment('MSH')?.getField(10)?.toString() ?? '');
  const text = err ? escapeHl7(err.reason).slice(0, 200) : 'Message stored';
  const lines = [ackHeaderSegment(orig, at), `MSA|${code}|${control}|${text}`];
  if (err) lines.push(errSegment(err));
  for (const w of warnings) lines.push(warningSegment(w));
  return lines.join('\r');
}
