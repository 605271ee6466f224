import { isConnectionError } from '../../platform/dependency-watch';
import { isStalePlan, type Db } from '../../store/db.port';
import { arrayParam, type ArrayElementType } from '../../store/packed-array';
import type { Logger } from '../../platform/logger';
import { isGatewayError, type ErrorCode } from '../../platform/errors';
import type { MappedAdt } from '../../mapping/adt-to-facts';
import { ackCodeFor, type AckCode, type AckError } from './ack';
import type { MessageStatus } from './message-log';
import type { MessageOutcome } from './message-outcome';

export type StayMessage = Extract<MappedAdt, { kind: 'stay' }>;
/** An A31: about the person, not a visit; applied to the Patient and its open stays. */
export type PatientMessage = Extract<MappedAdt, { kind: 'patient' }>;
/** A message the apply queue takes. */
export type ApplicableMessage = StayMessage | PatientMessage;

/** The sending hospital's HSA-id of a message (the tenant an HTTP client must be). */
export const hospitalHsaIdOf = (m: ApplicableMessage): string =>
  m.kind === 'stay' ? m.encounter.hospitalHsaId : m.hospitalHsaId;

export interface ReceiveMeta {
  channel: 'mllp' | 'http';
  remote?: string;
  /** The frame was larger than allowed and cut to its head (this many bytes originally): store and reject it. */
  truncatedFrom?: number;
  /** Over HTTP: the client's tenant (`Organization/<id>`); a hospital may only send for itself. */
  organization?: string;
}

/** One applied message: its stay (Encounter) id (none for an A31) and what it produced. */
export interface AppliedMessage {
  stayId?: string;
  outcome?: MessageOutcome;
}

/** Applies mapped stay messages (in order) inside the caller's transaction; returns each one's stay and outcome. */
export type ApplyStayMessages = (
  tx: Db,
  jobs: readonly Pick<ApplyJob, 'mapped' | 'meta'>[],
) => Promise<readonly AppliedMessage[]>;

export interface ApplyOutcome {
  status: Extract<MessageStatus, 'accepted' | 'rejected' | 'error'>;
  ackCode: AckCode;
  stayId?: string;
  error?: AckError;
  /** What the message produced (warnings, Encounter version, Tasks). */
  outcome?: MessageOutcome;
}

export interface ApplyJob {
  /** The `hl7_message` row. */
  id: number;
  mapped: ApplicableMessage;
  meta: ReceiveMeta;
  /** When the message was received (ms, performance clock of this process), for the latency metric. */
  receivedAt?: number;
}

export interface ApplyQueueOptions {
  db: Db;
  apply: ApplyStayMessages;
  logger: Logger;
  /** Parallel lanes; a stay always goes to the same lane, so its messages apply in arrival order. */
  lanes: number;
  /** Most messages per transaction. */
  batch: number;
  /**
   * How long a lane holding less than a full batch waits for more messages before it starts a transaction (ms; 0:
   * start at once). Fewer, larger transactions cost less CPU per message; each message waits up to this long more.
   */
  lingerMs?: number;
  /** Messages held before `room()` makes receivers wait. */
  backlog: number;
  /** Called once per job: its committed outcome, or undefined when none was recorded (stopped, store down). */
  onApplied?: (job: ApplyJob, outcome: ApplyOutcome | undefined) => void;
  /** Attempts for a message whose apply hit a concurrent change (deadlock, version conflict). */
  attempts?: number;
}

const TRANSIENT = new Set(['40P01', '40001', '55P03']);

function isTransient(e: unknown): boolean {
  if (isGatewayError(e)) return e.code === 'version-conflict' || e.code === 'conflict' || e.status >= 503;
  const code = (e as { code?: unknown }).code;
  return (typeof code === 'string' && TRANSIENT.has(code)) || isStalePlan(e);
}

function failure(e: unknown): ApplyOutcome {
  // A rejection the sender caused (e.g. forbidden) vs an internal failure (kept as `error`, may be retried).
  if (isGatewayError(e) && e.status < 500 && !isTransient(e)) {
    return {
      status: 'rejected',
      ackCode: ackCodeFor(e.code),
      error: { code: e.code, reason: e.message, path: e.issues[0]?.path },
    };
  }
  const code: ErrorCode = isGatewayError(e) ? e.code : 'internal';
  return {
    status: 'error',
    ackCode: 'AE',
    error: { code, reason: `internal error while applying the message: ${(e as Error).message ?? String(e)}` },
  };
}

function accepted(applied: AppliedMessage | undefined): ApplyOutcome {
  const out: ApplyOutcome = { status: 'accepted', ackCode: 'AA', stayId: applied?.stayId };
  if (applied?.outcome) out.outcome = applied.outcome;
  return out;
}

/** The status update of a batch, its seven columns as `arrayParam` expressions (packed texts; see packed-array.ts). */
const markSql = (
  cols: string,
) => `UPDATE hl7_message m SET status = u.status, stay_id = u.stay_id, error_code = u.error_code,
    error_reason = u.error_reason, ack_code = COALESCE(m.ack_code, u.ack_code), processed_at = now(),
    outcome = u.outcome::jsonb
  FROM unnest(${cols})
    AS u(id, status, stay_id, error_code, error_reason, ack_code, outcome)
  WHERE m.id = u.id`;

/** Stores each applied message's outcome (status, stay, error, ACK code, engine outcome) on its row. */
export async function mark(db: Db, rows: { id: number; outcome: ApplyOutcome }[]): Promise<void> {
  if (rows.length === 0) return;
  // packed, not array literals: pg quoted each outcome's JSON and escaped every `"` in it, in copies
  const columns: [Parameters<typeof arrayParam>[1], ArrayElementType, { json?: boolean }?][] = [
    [rows.map((r) => r.id), 'bigint'],
    [rows.map((r) => r.outcome.status), 'text'],
    [rows.map((r) => r.outcome.stayId ?? null), 'text'],
    [rows.map((r) => r.outcome.error?.code ?? null), 'text'],
    [rows.map((r) => r.outcome.error?.reason ?? null), 'text'],
    [rows.map((r) => r.outcome.ackCode), 'text'],
    [rows.map((r) => (r.outcome.outcome ? JSON.stringify(r.outcome.outcome) : null)), 'text', { json: true }],
  ];
  const p: unknown[] = [];
  const cols = columns.map(([values, type, opts]) => arrayParam(p, values, type, opts));
  await db.query(markSql(cols.join(', ')), p);
}

/** A key's lane: FNV-1a over its UTF-16 code units (a stay always lands in the same lane; no digest object per message). */
export function laneOf(key: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

/**
 * Applies stored HL7 messages: lanes by stay (the sender's visit number), each lane taking up to `batch`
 * queued messages into one transaction (facts, Patient, Encounter, Tasks, outbox rows and the messages'
 * status), so the commit cost is shared. If a batch fails, its messages are applied one per transaction, so one
 * bad message does not hold back the others; a concurrent change (deadlock, version conflict) is retried.
 */
export class ApplyQueue {
  private readonly queues: ApplyJob[][];
  private readonly running: boolean[];
  /** Per lane: ends its linger early (a full batch arrived, or stop). */
  private readonly lingering: ((() => void) | undefined)[];
  private readonly queued = new Set<number>();
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private count = 0;
  private stopped = false;

  constructor(private readonly o: ApplyQueueOptions) {
    this.queues = Array.from({ length: o.lanes }, () => []);
    this.running = Array.from({ length: o.lanes }, () => false);
    this.lingering = Array.from({ length: o.lanes }, () => undefined);
  }

  /** Messages queued or being applied. */
  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.queued.has(id);
  }

  enqueue(job: ApplyJob): void {
    if (this.stopped) {
      // Shutting down: the row stays `pending` and is applied at the next start.
      this.o.onApplied?.(job, undefined);
      return;
    }
    if (this.queued.has(job.id)) return;
    this.queued.add(job.id);
    this.count++;
    // A stay's messages by its visit number; an A31 by the person (it waits for the stays' locks when it applies).
    const m = job.mapped;
    const key =
      m.kind === 'stay'
        ? `${m.encounter.visit.system}|${m.encounter.visit.value}`
        : `patient|${m.patient.identifier.value}`;
    const lane = laneOf(key, this.o.lanes);
    const q = this.queues[lane];
    q?.push(job);
    if (!this.running[lane]) void this.run(lane);
    else if (q && q.length >= this.o.batch) this.lingering[lane]?.();
  }

  /** Resolves when the backlog is below its limit (receivers await it before storing more). */
  async room(): Promise<void> {
    while (this.count >= this.o.backlog && !this.stopped) {
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
  }

  /** Resolves when nothing is queued or being applied. */
  async idle(): Promise<void> {
    while (this.count > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Stops taking new batches; resolves when the running ones are committed. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const end of this.lingering) end?.();
    for (const q of this.queues) {
      for (const job of q.splice(0)) {
        this.settle(job);
        this.o.onApplied?.(job, undefined);
      }
    }
    this.wake();
    await this.idle();
  }

  private settle(job: ApplyJob): void {
    this.queued.delete(job.id);
    this.count--;
  }

  private wake(): void {
    if (this.count < this.o.backlog || this.stopped) {
      const w = this.roomWaiters;
      this.roomWaiters = [];
      for (const r of w) r();
    }
    if (this.count === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  private async run(lane: number): Promise<void> {
    this.running[lane] = true;
    const q = this.queues[lane] ?? [];
    try {
      while (q.length > 0 && !this.stopped) {
        const lingerMs = this.o.lingerMs ?? 0;
        if (lingerMs > 0 && q.length < this.o.batch) {
          await this.linger(lane, lingerMs);
          if (this.stopped) break;
        }
        const batch = q.splice(0, this.o.batch);
        const outcomes = await this.applyBatch(batch);
        batch.forEach((job, i) => {
          this.settle(job);
          this.o.onApplied?.(job, outcomes[i]);
        });
        this.wake();
      }
    } finally {
      this.running[lane] = false;
    }
  }

  private linger(lane: number, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.lingering[lane] = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.lingering[lane] = end;
    });
  }

  private async applyBatch(batch: ApplyJob[]): Promise<(ApplyOutcome | undefined)[]> {
    if (batch.length > 1) {
      try {
        return await this.o.db.transaction(async (tx) => {
          const applied = await this.o.apply(tx, batch);
          const out = batch.map((_, i): ApplyOutcome => accepted(applied[i]));
          await mark(
            tx,
            batch.map((job, i) => ({ id: job.id, outcome: out[i] as ApplyOutcome })),
          );
          return out;
        });
      } catch {
        // Fall through: one transaction per message finds the culprit and lets the others through.
      }
    }
    const out: (ApplyOutcome | undefined)[] = [];
    for (const job of batch) out.push(await this.applyOne(job));
    return out;
  }

  private async applyOne(job: ApplyJob): Promise<ApplyOutcome | undefined> {
    const attempts = this.o.attempts ?? 4;
    let last: ApplyOutcome = { status: 'error', ackCode: 'AE' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.o.db.transaction(async (tx) => {
          const [applied] = await this.o.apply(tx, [job]);
          const outcome = accepted(applied);
          await mark(tx, [{ id: job.id, outcome }]);
          return outcome;
        });
      } catch (e) {
        // The store is unreachable (restart, failover): not the message's fault. Marking it `error` would lose
        // a message already acknowledged; it stays `pending` and the recovery sweep applies it once it is back.
        if (isConnectionError(e)) return undefined;
        last = failure(e);
        if (!isTransient(e) || attempt === attempts) {
          if (last.status === 'error') {
            this.o.logger.error('hl7 message could not be applied', {
              messageId: job.id,
              sender: job.mapped.header.sender,
              controlId: job.mapped.header.controlId,
              err: (e as Error).message,
            });
          }
          break;
        }
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
    try {
      await mark(this.o.db, [{ id: job.id, outcome: last }]);
    } catch (e) {
      // The row stays `pending`: the recovery sweep applies it again later.
      this.o.logger.error('hl7 message outcome could not be recorded', {
        messageId: job.id,
        err: (e as Error).message,
      });
      return undefined;
    }
    return last;
  }
}
