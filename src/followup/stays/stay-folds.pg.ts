/**
 * The engine's fold of stored stays, kept in `stay_fold` (migration 110) so that a follow-up run over many months
 * folds each stay once, and a later run folds only the stays whose facts changed. A cached fold is used only when
 * its fingerprint equals the stay's facts now and its key names the same agreement content and fold version; any
 * other stay is folded again by `evaluateStay` and the row replaced. The rules stay in the engine alone.
 */
import { createHash } from 'node:crypto';
import type { Agreement } from '../../core/agreements/agreement.schema';
import { evaluateStay } from '../../core/engine/evaluate';
import { indicatorStayOf, type IndicatorStay } from '../../core/indicators/compute-indicators';
import { storedStayOf, type StoredStay } from '../../core/liability/from-facts';
import type { StayFact } from '../../core/stay/facts';
import type { Db } from '../../store/db.port';
import { arrayParam } from '../../store/packed-array';
import { factsByStay, type FactRow } from './fact-rows';

/** Bump when the engine's fold or the shape below changes: every cached fold is then made again. */
export const FOLD_VERSION = '1';

/** One fold of a stay: the liability's stay without extras (no SIP invitation Task) and the indicators' row. */
export interface FoldedStay {
  stored: StoredStay;
  indicator: IndicatorStay;
}

export function foldOf(stayId: string, facts: readonly StayFact[], agreement: Agreement): FoldedStay {
  const evaluation = evaluateStay(facts, agreement);
  return {
    stored: storedStayOf(facts, evaluation, { sipInvitationSent: false }),
    indicator: { ...indicatorStayOf(evaluation.state), stayId },
  };
}

const keys = new WeakMap<Agreement, string>();

/** `<agreement id>#<hash of its content and FOLD_VERSION>`. */
export function foldKey(agreement: Agreement): string {
  let k = keys.get(agreement);
  if (!k) {
    const h = createHash('sha256').update(FOLD_VERSION).update(JSON.stringify(agreement)).digest('hex');
    k = `${agreement.id}#${h.slice(0, 16)}`;
    keys.set(agreement, k);
  }
  return k;
}

async function factsOf(db: Db, ids: readonly string[]): Promise<Map<string, StayFact[]>> {
  const params: unknown[] = [];
  const list = arrayParam(params, ids, 'text');
  const r = await db.query<FactRow>(
    `SELECT stay_id, body FROM stay_fact WHERE stay_id = ANY(${list}) ORDER BY stay_id, at, fact_id`,
    params,
  );
  return factsByStay(r.rows);
}

export interface FoldStats {
  cached: number;
  folded: number;
}

/**
 * The folds of `ids` (whose facts' fingerprints are `fps`) under `agreement`, in the same order: from the cache
 * where it is current, else folded now and written back.
 */
export async function foldsOf(
  db: Db,
  agreement: Agreement,
  ids: readonly string[],
  fps: readonly string[],
  stats?: FoldStats,
): Promise<FoldedStay[]> {
  const key = foldKey(agreement);
  const params: unknown[] = [key];
  const list = arrayParam(params, ids, 'text');
  const r = await db.query<{ stay_id: string; facts: string; body: string }>(
    `SELECT stay_id, facts, body FROM stay_fold WHERE agreement = $1 AND stay_id = ANY(${list})`,
    params,
  );
  const cached = new Map<string, { facts: string; body: string }>();
  for (const row of r.rows) cached.set(row.stay_id, row);
  const out: (FoldedStay | undefined)[] = new Array<FoldedStay | undefined>(ids.length);
  const stale: number[] = [];
  ids.forEach((id, i) => {
    const c = cached.get(id);
    if (c && c.facts === fps[i]) out[i] = JSON.parse(c.body) as FoldedStay;
    else stale.push(i);
  });
  if (stats) {
    stats.cached += ids.length - stale.length;
    stats.folded += stale.length;
  }
  if (stale.length > 0) {
    const facts = await factsOf(
      db,
      stale.map((i) => ids[i] ?? ''),
    );
    const rows: { id: string; fp: string; body: string }[] = [];
    for (const i of stale) {
      const id = ids[i] ?? '';
      const fold = foldOf(id, facts.get(id) ?? [], agreement);
      out[i] = fold;
      rows.push({ id, fp: fps[i] ?? '', body: JSON.stringify(fold) });
    }
    const p: unknown[] = [key];
    const a = arrayParam(
      p,
      rows.map((x) => x.id),
      'text',
    );
    const b = arrayParam(
      p,
      rows.map((x) => x.fp),
      'text',
    );
    const c = arrayParam(
      p,
      rows.map((x) => x.body),
      'text',
    );
    await db.query(
      `INSERT INTO stay_fold (agreement, stay_id, facts, body)
       SELECT $1, s, f, b FROM unnest(${a}, ${b}, ${c}) AS u(s, f, b)
       ON CONFLICT (agreement, stay_id) DO UPDATE SET facts = excluded.facts, body = excluded.body, folded_at = now()`,
      p,
    );
  }
  return out as FoldedStay[];
}
