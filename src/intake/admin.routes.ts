import { Router } from 'express';
import { auditRawHl7View } from '../audit/raw-hl7-audit';
import type { AuthContext } from '../auth/auth-context';
import type { Db } from '../store/db.port';
import { correctedBy, type ReprocessResult } from './hl7v2/recover-pending';
import { rawFilters } from './message-filters';
import { MESSAGE_STATUSES } from './hl7v2/message-log';
import type { MessageOutcome } from './hl7v2/message-outcome';
import { messageLabels, type MessageLabels } from './message-labels';
import type { SenderProfile } from '../mapping/profile';
import { organisationDirectory } from '../store/organisation-names.pg';

interface Row {
  id: number;
  sender: string;
  control_id: string | null;
  event: string | null;
  channel: string;
  remote: string | null;
  received_at: string | Date;
  status: string;
  error_code: string | null;
  error_reason: string | null;
  stay_id: string | null;
  ack_code: string | null;
  processed_at: string | Date | null;
  outcome: MessageOutcome | string | null;
  raw?: string;
}

const NO_OUTCOME: MessageOutcome = { warnings: [], tasks: { created: [], changed: [], cancelled: [] } };

/** The stored outcome (jsonb: an object on PostgreSQL, possibly text elsewhere); an empty one before the apply. */
function outcomeOf(v: Row['outcome']): MessageOutcome {
  if (v === null) return NO_OUTCOME;
  return typeof v === 'string' ? (JSON.parse(v) as MessageOutcome) : v;
}

const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());

/** A message as the admin API answers it; `raw` only when asked for (`withRaw`: a view that is audited). */
function toJson(r: Row, labels: MessageLabels, withRaw: boolean) {
  return {
    id: r.id,
    sender: r.sender,
    senderName: labels.senderName,
    senderOrganization: labels.senderOrganization,
    visitNumber: labels.visitNumber,
    controlId: r.control_id,
    event: r.event,
    channel: r.channel,
    remote: r.remote,
    receivedAt: iso(r.received_at),
    status: r.status,
    errorCode: r.error_code,
    errorReason: r.error_reason,
    stayId: r.stay_id,
    ackCode: r.ack_code,
    processedAt: iso(r.processed_at),
    outcome: outcomeOf(r.outcome),
    ...(withRaw && r.raw !== undefined ? { raw: r.raw } : {}),
  };
}

/**
 * Counts per status, each from the (status, id) index (an index-only scan where the log's pages are all-visible,
 * instead of every message's row with its raw text: 70 MB per 50 000 messages), and the time the status's newest
 * message (highest id) was received, from the index's last entry for it (`ORDER BY id DESC LIMIT 1` was planned as a walk
of the whole log back for a status no message has). Still a count of every message: ≈ 100 ms
 * per million (docs/performance.md, 2026-12-07).
 */
const SUMMARY = `SELECT s.status, c.n, l.last FROM unnest($1::text[]) AS s(status)
  CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM hl7_message m WHERE m.status = s.status) c
  CROSS JOIN LATERAL (SELECT m.received_at AS last FROM hl7_message m
    WHERE m.id = (SELECT max(x.id) FROM hl7_message x WHERE x.status = s.status)) l`;

const COLUMNS =
  'id, sender, control_id, event, channel, remote, received_at, status, error_code, error_reason, stay_id, ack_code, processed_at, outcome';

/**
 * Admin view of received HL7 v2 messages (the shell requires admin rights on `/admin`):
 * `GET /admin/api/hl7/messages?status=rejected&sender=<MSH-3[/MSH-4]>&event=&from=&to=&visit=&pnr=&before=<id>&limit=50&include=raw`
 * (newest first; see message-filters.ts) and
 * `GET /admin/api/hl7/messages/:id` (with the raw text), plus counts per status at `/admin/api/hl7/summary`, and
 * `POST /admin/api/hl7/messages/:id/reprocess` for a rejected or failed message; the admin console's page `/admin/hl7` browses them.
 */
/** HTTP status of a reprocess answer: queued (202), decided at once (200), unknown (404), not allowed now (409). */
const REPROCESS_STATUS: Record<ReprocessResult['status'], number> = {
  pending: 202,
  ignored: 200,
  rejected: 200,
  'not-found': 404,
  'not-reprocessable': 409,
};

export function intakeAdminRoutes(
  db: Db,
  profiles: SenderProfile[],
  reprocess?: (id: number) => Promise<ReprocessResult>,
): Router {
  const r = Router();
  // The sender's organisation and the visit number are read from the raw text (not shown unless asked for).
  const labelled = async (rows: Row[], withRaw: boolean) => {
    const dir = await organisationDirectory(db);
    return rows.map((x) => toJson(x, messageLabels(x.raw ?? '', profiles, dir), withRaw));
  };
  if (reprocess) {
    // Process a rejected or failed message again (after fixing the sender profile, say): 202 when it is queued.
    r.post('/admin/api/hl7/messages/:id/reprocess', async (req, res) => {
      const id = Number(req.params.id);
      const out: ReprocessResult = Number.isInteger(id)
        ? await reprocess(id)
        : { status: 'not-found', reason: `no HL7 message ${req.params.id}` };
      res.status(REPROCESS_STATUS[out.status]).json({ id, ...out });
    });
  }
  r.get('/admin/api/hl7/messages', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      let i = 0;
      where.push(
        sql.replace(/\?/g, () => {
          params.push(values[i++]);
          return `$${params.length}`;
        }),
      );
    };
    // A known status is written into the text: as a parameter, the named statement's generic plan (planned for
    // 'accepted', nearly every message) walked the whole log for a rare one ('rejected': 0.1 s per 100 000 messages)
    if (q.status && (MESSAGE_STATUSES as readonly string[]).includes(q.status)) where.push(`status = '${q.status}'`);
    else if (q.status) add('status = ?', q.status);
    // The sender as stored ('MSH-3/MSH-4'), or its sending application alone (MSH-3, e.g. 'COSMIC'): the list shows
    // the sending organisation's name, so the admin rarely knows the facility code.
    const sender = q.sender?.trim();
    if (sender && sender.includes('/')) add('sender = ?', sender);
    else if (sender) add('starts_with(sender, ?)', `${sender}/`);
    if (q.event) add('event = ?', q.event);
    if (q.stay) add('stay_id = ?', q.stay);
    for (const [sql, ...values] of rawFilters(q)) add(sql, ...values);
    if (q.before && /^\d+$/.test(q.before)) add('id < ?', Number(q.before));
    const limit = Math.min(Math.max(Number(q.limit ?? 50) || 50, 1), 500);
    const raw = q.include === 'raw';
    const rows = (
      await db.query<Row>(
        `SELECT ${COLUMNS}, raw FROM hl7_message ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`,
        params,
      )
    ).rows;
    // Raw text shown: audited with the patients it exposed (log review).
    if (raw)
      await auditRawHl7View(
        db,
        res.locals.auth as AuthContext | undefined,
        rows.map((x) => ({ id: x.id, stayId: x.stay_id })),
      );
    const last = rows.at(-1);
    res.json({
      messages: await labelled(rows, raw),
      ...(rows.length === limit && last ? { next: `before=${last.id}` } : {}),
    });
  });
  r.get('/admin/api/hl7/messages/:id', async (req, res) => {
    const id = Number(req.params.id);
    const row = Number.isInteger(id)
      ? (await db.query<Row>(`SELECT ${COLUMNS}, raw FROM hl7_message WHERE id = $1`, [id])).rows[0]
      : undefined;
    if (!row) {
      res.status(404).json({ error: `no HL7 message ${req.params.id}` });
      return;
    }
    await auditRawHl7View(db, res.locals.auth as AuthContext | undefined, [{ id: row.id, stayId: row.stay_id }]);
    // a refused message its sender corrected under the same MSH-10 (ADR 055) names the message that replaced it
    const corrected =
      row.status === 'rejected' && row.control_id === null && row.raw !== undefined
        ? await correctedBy(db, row.sender, row.raw, row.id)
        : undefined;
    res.json({ ...(await labelled([row], true))[0], ...(corrected ? { correctedBy: corrected.id } : {}) });
  });
  r.get('/admin/api/hl7/summary', async (_req, res) => {
    const rows = (await db.query<{ status: string; n: number; last: string | Date }>(SUMMARY, [[...MESSAGE_STATUSES]]))
      .rows;
    res.json({
      byStatus: Object.fromEntries(rows.map((x) => [x.status, { count: x.n, lastReceivedAt: iso(x.last) }])),
    });
  });
  return r;
}
