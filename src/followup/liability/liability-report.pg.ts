import type { ReportedMunicipality } from '../../core/liability/corrections';
import type { Db } from '../../store/db.port';

/** A stored invoice basis: what was reported for an agreement's month, and when. */
export interface StoredReport {
  seq: number;
  reportedAt: string;
  reportedBy: string | null;
  dailyRate: number;
  basis: ReportedMunicipality[];
}

interface Row {
  seq: number;
  reported_at: Date | string;
  reported_by: string | null;
  daily_rate: string | number;
  basis: ReportedMunicipality[] | string;
}

const toReport = (r: Row): StoredReport => ({
  seq: Number(r.seq),
  reportedAt: new Date(r.reported_at).toISOString(),
  reportedBy: r.reported_by,
  dailyRate: Number(r.daily_rate),
  basis: typeof r.basis === 'string' ? (JSON.parse(r.basis) as ReportedMunicipality[]) : r.basis,
});

/** The latest report for the month, if any. */
export async function latestReport(db: Db, agreement: string, month: string): Promise<StoredReport | undefined> {
  const r = await db.query<Row>(
    `SELECT seq, reported_at, reported_by, daily_rate, basis FROM liability_report
     WHERE agreement = $1 AND month = $2 ORDER BY seq DESC LIMIT 1`,
    [agreement, month],
  );
  return r.rows[0] ? toReport(r.rows[0]) : undefined;
}

/**
 * Stores a basis as reported (the next number for the month); earlier reports stay as they were. Reports of the
 * same month take turns (a transaction-scoped lock on the agreement and month, taken in its own statement so the
 * insert sees the number the previous holder committed): two at once get the next two numbers, not a conflict.
 */
export async function saveReport(
  db: Db,
  x: { agreement: string; month: string; reportedBy?: string; dailyRate: number; basis: ReportedMunicipality[] },
): Promise<StoredReport> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`liability-report|${x.agreement}|${x.month}`]);
    return insertReport(tx, x);
  });
}

async function insertReport(
  db: Db,
  x: { agreement: string; month: string; reportedBy?: string; dailyRate: number; basis: ReportedMunicipality[] },
): Promise<StoredReport> {
  const r = await db.query<Row>(
    `INSERT INTO liability_report (agreement, month, seq, reported_by, daily_rate, basis)
     SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5::jsonb FROM liability_report WHERE agreement = $1 AND month = $2
     RETURNING seq, reported_at, reported_by, daily_rate, basis`,
    [x.agreement, x.month, x.reportedBy ?? null, x.dailyRate, JSON.stringify(x.basis)],
  );
  const row = r.rows[0];
  if (!row) throw new Error('liability report was not stored');
  return toReport(row);
}
