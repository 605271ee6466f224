import type { GatedCriterion } from '../core/engine/fold-stay';

/**
 * The column of the dashboard's `stay_summary` (migration 152) that holds when each readiness criterion was first
 * reported met. The physician's assessment has none: the ready notice is that assessment. Intake keeps the columns
 * (src/intake/stay/fact-store.ts), `svu_rebuild_stay_summary()` makes them again, and the dashboard reads those its
 * agreement's gate waits for (src/followup/dashboard/dashboard-data.pg.ts).
 */
export const CRITERION_COLUMN: Readonly<Record<GatedCriterion, string>> = {
  'written-information': 'written_information_at',
  'fvk-appointed': 'fvk_appointed_at',
  'information-transferred': 'information_transferred_at',
  'assistive-devices': 'assistive_devices_at',
  'medication-list': 'medication_list_at',
};
