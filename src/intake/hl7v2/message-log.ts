import type { Db } from '../../store/db.port';
import { arrayParam } from '../../store/packed-array';
import { searchKeys } from '../message-filters';
import type { AckCode } from './ack';

/** A received message's row in `hl7_message`. `pending` = stored, not applied yet. */
export const MESSAGE_STATUSES = ['pending', 'accepted', 'ignored', 'rejected', 'error'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface LogEntry {
  sender: string;
  /** MSH-10; null when unreadable (never a repeat). */
  controlId: string | null;
  event: string | null;
  raw: string;
  channel: 'mllp' | 'http';
  remote: string | null;
  status: MessageStatus;
  errorCode: string | null;
  errorReason: string | null;
  /** The ACK code already decided (rejections, `AA` when acknowledging on store); null when decided later. */
  ackCode: AckCode | null;
}

/** The earlier row of a repeated (sender, MSH-10). */
export interface ExistingRow {
  id: number;
  status: MessageStatus;
  ack_code: AckCode | null;
  error_code: string | null;
  error_reason: string | null;
  stay_id: string | null;
}

/**
 * Where an entry ended up: a new row, or the earlier row of the same (sender, MSH-10). `differs`: the earlier row's
 * message is not this one (other segments or values, MSH-7 aside): the MSH-10 was used again for another message.
 */
export type Logged =
  | { id: number; repeatOf?: undefined; /** The refused message this one corrects (same MSH-10). */ corrects?: number }
  | { id: number; repeatOf: ExistingRow; differs: boolean; corrects?: undefined };

/** A message's text for "is this the same message again?": segments trimmed, MSH-7 (when it was sent) left out. */
export function sameMessageKey(raw: string): string {
  return raw
    .split(/\r\n|\r|\n/)
    .map((seg) => seg.trim())
    .filter((seg) => seg.length > 0)
    .map((seg) => {
      if (!seg.startsWith('MSH')) return seg;
      const sep = seg.charAt(3) || '|';
      const fields = seg.split(sep);
      // MSH-1 is the separator itself: MSH-7 is fields[6]
      if (fields.length > 6) fields[6] = '';
      return fields.join(sep);
    })
    .join('\r');
}

interface Waiting {
  entry: LogEntry;
  resolve: (l: Logged) => void;
  reject: (e: unknown) => void;
}

const NUL = String.fromCharCode(0);
const stripNul = (s: string): string => (s.includes(NUL) ? s.split(NUL).join('') : s);
const orNull = (s: string | null): string | null => (s === null ? null : stripNul(s));

/** PostgreSQL text holds no NUL (0x00): it is dropped from every text the log stores, not only the raw message. */
function withoutNul(e: LogEntry): LogEntry {
  return {
    ...e,
    sender: stripNul(e.sender),
    controlId: orNull(e.controlId),
    event: orNull(e.event),
    raw: stripNul(e.raw),
    remote: orNull(e.remote),
    errorReason: orNull(e.errorReason),
  };
}

const keyOf = (sender: string, controlId: string | null) => `${sender}\u0000${controlId ?? ''}`;

/**
 * The INSERT of a batch, its ten columns and each message's search keys (joined by spaces: a key holds none) as
 * `arrayParam` expressions (packed texts; see packed-array.ts).
 */
const insertSql = (
  cols: string,
) => `INSERT INTO hl7_message (sender, control_id, event, raw, channel, remote, status, error_code,
    error_reason, ack_code, processed_at, search_keys)
  SELECT s, c, e, r, ch, rm, st, ec, er, ac, CASE WHEN st = 'pending' THEN NULL ELSE now() END, string_to_array(k, ' ')
  FROM unnest(${cols}) AS t(s, c, e, r, ch, rm, st, ec, er, ac, k)
  ON CONFLICT (sender, control_id) DO NOTHING
  RETURNING id, sender, control_id`;

const LOG_COLUMNS = [
  'sender',
  'controlId',
  'event',
  'raw',
  'channel',
  'remote',
  'status',
  'errorCode',
  'errorReason',
  'ackCode',
] as const satisfies readonly (keyof LogEntry)[];

/**
 * Stores received messages with group commit: entries that arrive while a write is in flight are written
 * together by the next one (one multi-row INSERT, one commit), so many connections share each fsync. A
 * promise resolves only after its row is committed. A repeat of (sender, MSH-10) returns the earlier row; a
 * repeat of one that ended in `error` is stored again as `pending` (the resend is processed again), and another
 * message under the MSH-10 of a refused one (`rejected`: a corrected resend) gets the MSH-10 and a row of its own.
 */
export class MessageLog {
  private waiting: Waiting[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 500,
  ) {}

  store(entry: LogEntry): Promise<Logged> {
    return new Promise<Logged>((resolve, reject) => {
      this.waiting.push({ entry: withoutNul(entry), resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Resolves when every entry handed in so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    // Let the entries handed in during this tick join the first write.
    await Promise.resolve();
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        try {
          const out = await this.write(batch.map((w) => w.entry));
          batch.forEach((w, i) => w.resolve(out[i] as Logged));
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** One multi-row INSERT of `entries`; a (sender, MSH-10) already stored inserts nothing. The new rows' ids by key. */
  private async insert(entries: LogEntry[]): Promise<Map<string, number>> {
    // packed, not array literals: pg quoted and escaped every raw message (MSH-2 holds a backslash) in copies
    const params: unknown[] = [];
    const cols = [
      ...LOG_COLUMNS.map((k) =>
        arrayParam(
          params,
          entries.map((e) => e[k]),
          'text',
        ),
      ),
      // the keys of the admin's visit and personnummer searches (message-filters.ts), with the message
      arrayParam(
        params,
        entries.map((e) => searchKeys(e.raw).join(' ')),
        'text',
      ),
    ].join(', ');
    const ins = await this.db.query<{ id: number | string; sender: string; control_id: string | null }>(
      insertSql(cols),
      params,
    );
    // RETURNING has no order guarantee: match rows by key. Unreadable MSH-10 rows (null) never collide, and
    // nothing later needs their ids.
    const inserted = new Map<string, number>();
    for (const r of ins.rows) if (r.control_id !== null) inserted.set(keyOf(r.sender, r.control_id), Number(r.id));
    return inserted;
  }

  private async write(entries: LogEntry[]): Promise<Logged[]> {
    const inserted = await this.insert(entries);
    const out: (Logged | undefined)[] = entries.map((e) => {
      if (e.controlId === null) return { id: 0 };
      const k = keyOf(e.sender, e.controlId);
      const id = inserted.get(k);
      if (id === undefined) return undefined;
      inserted.delete(k); // a second entry with the same key in this batch is a repeat of the first
      return { id };
    });
    const repeats = entries.flatMap((e, i) => (out[i] ? [] : [i]));
    if (repeats.length > 0) {
      const found = await this.db.query<ExistingRow & { sender: string; control_id: string; raw: string }>(
        `SELECT m.id, m.sender, m.control_id, m.status, m.ack_code, m.error_code, m.error_reason, m.stay_id, m.raw
         FROM unnest($1::text[], $2::text[]) AS k(s, c)
         CROSS JOIN LATERAL (SELECT * FROM hl7_message x WHERE x.sender = k.s AND x.control_id = k.c OFFSET 0) m`,
        [repeats.map((i) => entries[i]?.sender), repeats.map((i) => entries[i]?.controlId)],
      );
      const rows = new Map(
        found.rows.map(({ raw, ...r }) => [keyOf(r.sender, r.control_id), { ...r, id: Number(r.id), raw }]),
      );
      const retried = new Set<number>();
      for (const i of repeats) {
        const e = entries[i] as LogEntry;
        const row = rows.get(keyOf(e.sender, e.controlId));
        if (!row) throw new Error('hl7_message: a repeated message has no earlier row');
        if (row.status === 'error' && e.status === 'pending' && !retried.has(row.id)) {
          // A resend of a message that failed while being applied: store it again and process it again (its
          // search keys follow its text: trigger of migration 174).
          retried.add(row.id);
          await this.db.query(
            `UPDATE hl7_message SET status = 'pending', raw = $2, channel = $3, remote = $4, ack_code = $5,
               error_code = NULL, error_reason = NULL, processed_at = NULL WHERE id = $1 AND status = 'error'`,
            [row.id, e.raw, e.channel, e.remote, e.ackCode],
          );
          out[i] = { id: row.id };
        } else if (
          row.status === 'rejected' &&
          !retried.has(row.id) &&
          sameMessageKey(row.raw) !== sameMessageKey(e.raw)
        ) {
          // A corrected resend of a message the gateway refused (nothing of it was applied, so nothing can be applied
          // twice): the MSH-10 moves to the new message, which is processed as any other. The refused row stays, its
          // text holding the MSH-10, for the admin view.
          retried.add(row.id);
          await this.db.query(`UPDATE hl7_message SET control_id = NULL WHERE id = $1 AND status = 'rejected'`, [
            row.id,
          ]);
          const id = (await this.insert([e])).get(keyOf(e.sender, e.controlId));
          if (id === undefined)
            throw new Error('hl7_message: the corrected resend of a refused message was not stored');
          out[i] = { id, corrects: row.id };
        } else {
          const { raw, ...earlier } = row;
          out[i] = { id: row.id, repeatOf: earlier, differs: sameMessageKey(raw) !== sameMessageKey(e.raw) };
        }
      }
    }
    return out as Logged[];
  }
}
