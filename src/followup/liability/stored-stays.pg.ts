/**
 * Reads the stays a month's liability needs from the store: every stay with a discharge fact near the month (or,
 * for a model that looks back at earlier months, before its end), and all facts of each (the SIP invitation among
 * them). The facts are folded by the engine (`storedStay`), as intake does.
 */
import type { Agreement } from '../../core/agreements/agreement.schema';
import { storedStay, type StoredStay } from '../../core/liability/from-facts';
import type { PaymentModel } from '../../core/liability/payment-model';
import type { Db } from '../../store/db.port';
import { factsByStay, type FactRow } from '../stays/fact-rows';

const DAY_MS = 86_400_000;

/** UTC bounds wide enough to hold every discharge in the month in local time (a day of margin each side). */
export function dischargeWindow(month: string, payment: PaymentModel): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const start = Date.UTC(y, m - 1, 1) - DAY_MS;
  const end = Date.UTC(y, m, 1) + DAY_MS;
  // The next-month model decides a month by the months before it: load every earlier discharge too.
  const from = payment.model === 'average-next-month' ? Date.UTC(2018, 0, 1) - DAY_MS : start;
  return { from: new Date(from).toISOString(), to: new Date(end).toISOString() };
}

export async function loadStoredStays(
  db: Db,
  agreement: Agreement,
  month: string,
  payment: PaymentModel,
): Promise<StoredStay[]> {
  const w = dischargeWindow(month, payment);
  const facts = await db.query<FactRow>(
    `SELECT f.stay_id, f.body FROM stay_fact f
     WHERE f.stay_id IN (SELECT DISTINCT stay_id FROM stay_fact WHERE kind = 'discharged' AND at >= $1 AND at < $2)
     ORDER BY f.stay_id, f.at, f.fact_id`,
    [w.from, w.to],
  );
  const byStay = factsByStay(facts.rows);
  return [...byStay].map(([, fs]) => storedStay(fs, agreement));
}
