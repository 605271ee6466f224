import type { ReadinessCriterion } from '../stay/facts';

/**
 * The six ready-for-discharge criteria of Västmanland (seed 001 §3), in the agreement's order: the engine's id, the
 * code a sender reports it with (HL7 OBX `utskrivningsklar-kriterier`, FHIR extension `readiness-criteria`), the text.
 */
export const READINESS_CRITERIA: readonly { id: ReadinessCriterion; code: string; text: string }[] = [
  {
    id: 'physician-assessed',
    code: 'lakarbedomning',
    text: 'Behandlande läkare har bedömt att patienten inte längre behöver vård på sjukhus',
  },
  {
    id: 'written-information',
    code: 'skriftlig-information',
    text: 'Patienten har skriftlig information inför hemgång (läkemedelsberättelse vid behov)',
  },
  {
    id: 'fvk-appointed',
    code: 'fast-vardkontakt',
    text: 'Fast vårdkontakt är utsedd i den landstingsfinansierade öppna vården',
  },
  {
    id: 'information-transferred',
    code: 'informationsoverforing',
    text: 'Information för fortsatt vård och omsorg är överförd till varje enhet som fått inskrivningsmeddelande',
  },
  {
    id: 'assistive-devices',
    code: 'hjalpmedel',
    text: 'Nödvändiga hjälpmedel och medicinteknisk utrustning från regionen är utprovade/tillgängliga',
  },
  {
    id: 'medication-list',
    code: 'lakemedelslista',
    text: 'Läkemedelslistan är uppdaterad och nödvändiga läkemedel finns tillgängliga',
  },
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

/** A criterion's code and text (`READINESS_CRITERIA`); an id the table lacks stands for both. */
export function criterionOf(id: ReadinessCriterion): { code: string; text: string } {
  const c = READINESS_CRITERIA.find((x) => x.id === id);
  return { code: c?.code ?? id, text: c?.text ?? id };
}

/** The codes a sender reports these criteria with (`fast-vardkontakt`, …), for the texts the sender reads. */
export function criterionCodes(ids: readonly ReadinessCriterion[]): string[] {
  return ids.map((id) => criterionOf(id).code);
}

/** Said where the named care contact's criterion is missing: the outpatient unit meets it when it appoints one. */
export function fvkCriterionNote(missing: readonly ReadinessCriterion[]): string {
  return missing.includes('fvk-appointed')
    ? ' (fast-vardkontakt is met too when the outpatient unit names the named care contact on its Task)'
    : '';
}
