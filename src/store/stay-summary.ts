import type { GatedCriterion } from '../core/engine/fold-stay';
import type { StayFact } from '../core/stay/facts';

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

/**
 * The facts (a `stay_fact` row) whose earliest time is when criterion `c` was first met: its reports. A report of the
 * information transfer for some units only (`to`: the FHIR hospital completed its duty towards one unit) meets the
 * criterion only once every unit with the duty has had one, which the engine judges, not SQL: the summary of a stay
 * with such a report holds the engine's time (`StayState.informationTransferredAt`, written by the apply), and the
 * reports SQL counts are those naming no unit (HL7, the Encounter's criterion), each for every unit (migration 175).
 * So does the summary of a stay whose criterion 3 or 4 a re-routing dropped until it was reported again for the new
 * unit (`StayState.criteriaDropped`), for both criteria: the named care contact's time too (`fvkAppointedAt`,
 * migration 176).
 */
export function criterionReports(c: GatedCriterion): string {
  const report = `kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["${c}"]'`;
  return c === 'information-transferred' ? `${report} AND NOT body ? 'to'` : report;
}

/** Whether a fact reports the information transfer for some units only (the engine then keeps the summary's time). */
export const isTransferToSomeUnits = (f: StayFact): boolean =>
  f.kind === 'readiness-criteria-met' && f.to !== undefined && f.criteria.includes('information-transferred');
