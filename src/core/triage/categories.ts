import type { Need, PatientCategory } from '../stay/facts';
import type { Agreement, CategoryRule } from '../agreements/agreement.schema';

/**
 * The patient category (Gävleborg, seed 002) from the needs after discharge. An explicit category from the
 * arrival talk wins. `kommunal-hsl` always involves region outpatient care too (law 2 kap. 1–2 §), so
 * {oppenvard, kommunal-hsl} is D and {socialtjanst, kommunal-hsl} (with or without oppenvard) is C+D.
 * E (special housing) cannot be told from the needs alone: it comes only as an explicit category.
 */
export function categorize(needs: readonly Need[], explicit?: PatientCategory): PatientCategory {
  if (explicit) return explicit;
  const s = needs.includes('socialtjanst');
  const h = needs.includes('kommunal-hsl');
  const o = needs.includes('oppenvard');
  if (s && h) return 'C+D';
  if (h) return 'D';
  if (s && o) return 'B+C';
  if (s) return 'C';
  if (o) return 'B';
  return 'A';
}

/** The agreement's row for a category: who is notified, FVK, SIP, ready notice (seed 002 table). */
export function categoryRule(agreement: Agreement, category: PatientCategory): CategoryRule {
  return agreement.categories[category];
}
