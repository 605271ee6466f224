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
export const FOLD_VERSION = '6';

/** One fold of a stay: the liability's stay and the indicators' row. */
export interface FoldedStay {
  stored: StoredStay;
  indicator: IndicatorStay;
}

export function foldOf(stayId: string, facts: readonly StayFact[], agreement: Agreement): FoldedStay {
  const evaluation = evaluateStay(facts, agreement);
  return {
    stored: storedStayOf(facts, evaluation),
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

/** The stored facts of the stays `ids`, by stay, each stay's in time order. */
export async function storedFacts(db: Db, ids: readonly string[]): Promise<Map<string, StayFact[]>> {
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

/** The columns of each part: `body` the liability's stay, `indicator` the indicators' row. */
const COLUMN = { stored: 'body', indicator: 'indicator' } as const;

/**
 * One part of the folds of `ids` (whose facts' fingerprints are `fps`) under `agreement`, in the same order: from
 * the cache where it is current (only that part read and parsed), else folded now and both parts written back.
 */
export async function foldsOf<P extends keyof FoldedStay>(
  db: Db,
  agreement: Agreement,
  ids: readonly string[],
  fps: readonly string[],
  part: P,
  stats?: FoldStats,
): Promise<FoldedStay[P][]> {
  const key = foldKey(agreement);
  const params: unknown[] = [key];
  const list = arrayParam(params, ids, 'text');
  const r = await db.query<{ stay_id: string; facts: string; part: string }>(
    `SELECT stay_id, facts, ${COLUMN[part]} AS part FROM stay_fold WHERE agreement = $1 AND stay_id = ANY(${list})`,
    params,
  );
  const cached = new Map<string, { facts: string; part: string }>();
  for (const row of r.rows) cached.set(row.stay_id, row);
  const out: (FoldedStay[P] | undefined)[] = new Array<FoldedStay[P] | undefined>(ids.length);
  const stale: number[] = [];
  ids.forEach((id, i) => {
    const c = cached.get(id);
    if (c && c.facts === fps[i]) out[i] = JSON.parse(c.part) as FoldedStay[P];
    else stale.push(i);
  });
  if (stats) {
    stats.cached += ids.length - stale.length;
    stats.folded += stale.length;
  }
  if (stale.length > 0) {
    const facts = await storedFacts(
      db,
      stale.map((i) => ids[i] ?? ''),
    );
    const rows: { id: string; fp: string; stored: string; indicator: string }[] = [];
    for (const i of stale) {
      const id = ids[i] ?? '';
      const fold = foldOf(id, facts.get(id) ?? [], agreement);
      out[i] = fold[part];
      rows.push({
        id,
        fp: fps[i] ?? '',
        stored: JSON.stringify(fold.stored),
        indicator: JSON.stringify(fold.indicator),
      });
    }
    const p: unknown[] = [key];
    const [a, b, c, d] = (['id', 'fp', 'stored', 'indicator'] as const).map((k) =>
      arrayParam(
        p,
        rows.map((x) => x[k]),
        'text',
      ),
    );
    await db.query(
      `INSERT INTO stay_fold (agreement, stay_id, facts, body, indicator)
       SELECT $1, s, f, b, i FROM unnest(${a}, ${b}, ${c}, ${d}) AS u(s, f, b, i)
       ON CONFLICT (agreement, stay_id) DO UPDATE
         SET facts = excluded.facts, body = excluded.body, indicator = excluded.indicator, folded_at = now()`,
      p,
    );
  }
  return out as FoldedStay[P][];
}
