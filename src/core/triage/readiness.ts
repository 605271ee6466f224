import type { ReadinessCriterion } from '../stay/facts';

/** The six ready-for-discharge criteria of Västmanland (seed 001 §3), in the agreement's order. */
export const READINESS_CRITERIA: readonly { id: ReadinessCriterion; text: string }[] = [
  { id: 'physician-assessed', text: 'Behandlande läkare har bedömt att patienten inte längre behöver vård på sjukhus' },
  {
    id: 'written-information',
    text: 'Patienten har skriftlig information inför hemgång (läkemedelsberättelse vid behov)',
  },
  { id: 'fvk-appointed', text: 'Fast vårdkontakt är utsedd i den landstingsfinansierade öppna vården' },
  {
    id: 'information-transferred',
    text: 'Information för fortsatt vård och omsorg är överförd till varje enhet som fått inskrivningsmeddelande',
  },
  {
    id: 'assistive-devices',
    text: 'Nödvändiga hjälpmedel och medicinteknisk utrustning från regionen är utprovade/tillgängliga',
  },
  { id: 'medication-list', text: 'Läkemedelslistan är uppdaterad och nödvändiga läkemedel finns tillgängliga' },
];

/** The required criteria that are not met, in the agreement's order. */
export function missingCriteria(
  required: readonly ReadinessCriterion[],
  met: Iterable<ReadinessCriterion>,
): ReadinessCriterion[] {
  const have = new Set(met);
  return required.filter((c) => !have.has(c));
}

/** Only when all required criteria hold does the ready status activate (001 §3). */
export function isReady(required: readonly ReadinessCriterion[], met: Iterable<ReadinessCriterion>): boolean {
  return missingCriteria(required, met).length === 0;
}
