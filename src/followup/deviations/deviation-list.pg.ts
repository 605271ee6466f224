/**
 * One month's deviation list (src/core/indicators/deviations.ts: fired by the ladder or reported by a party, each
 * once, in the local month it occurred): totals per responsible party and kind, and the deviations themselves, every
 * party named by its Organization's name. The region's list (`GET /admin/api/deviations`) and a party's own
 * (`GET /fhir/$followup-deviations`) read it alike; `owners` keeps the deviations those organisations hold a copy of;
 * `names`: the directory's names when the caller has read them already.
 */
import { localMonthWindow, summariseDeviations } from '../../core/indicators/deviations';
import type { Db } from '../../store/db.port';
import { organisationNames } from '../../store/organisation-names.pg';
import { deviationsBetween } from './deviation-rows.pg';

export async function deviationList(
  db: Db,
  month: string,
  owners?: readonly string[],
  names?: (unit: string) => string,
) {
  const { from, to } = localMonthWindow(month);
  const [deviations, name] = await Promise.all([
    deviationsBetween(db, from, to, owners),
    names ?? organisationNames(db),
  ]);
  const summary = summariseDeviations(deviations);
  return {
    month,
    from: from.toISOString(),
    to: to.toISOString(),
    ...summary,
    parties: summary.parties.map((p) => ({ ...p, name: name(p.party) })),
    // Without the holders: who else holds a copy is not the caller's to know.
    deviations: deviations.map((d) => ({
      at: d.at,
      source: d.source,
      kind: d.kind,
      responsible: d.responsible,
      name: name(d.responsible),
    })),
  };
}
