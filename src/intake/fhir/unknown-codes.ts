import type { Encounter } from '@medplum/fhirtypes';
import { EXTENSION } from '../../fhir/constants';
import { CONSENTS, CRITERION_CODES } from '../../fhir/encounter-extensions';

/** The `valueCode` extensions of a stay whose codes no profile binding checks: the codes the intake reads. */
const CODES: readonly { url: string; name: string; codes: readonly string[] }[] = [
  { url: EXTENSION.readinessCriteria, name: 'readiness-criteria', codes: Object.keys(CRITERION_CODES) },
  { url: EXTENSION.consent, name: 'consent', codes: CONSENTS },
];

/** The warning code, the same as the HL7 intake's for a code outside the sender profile's code map. */
export const UNKNOWN_CODE = 'unknown-code';

/**
 * The codes of an Encounter's `readiness-criteria` and `consent` extensions that the intake does not know. Such a
 * value is left out and the rest of the write applies: an unknown code never blocks a legally due notification
 * (contract Ingestion 5, as an HL7 code outside the code map), and the writer is told which value was left out
 * instead of finding out from a ready notice that never goes out. Pure.
 */
export function unknownStayCodes(e: Encounter): { code: string; text: string }[] {
  const out: { code: string; text: string }[] = [];
  (e.extension ?? []).forEach((ext, i) => {
    const known = CODES.find((c) => c.url === ext.url);
    if (!known || ext.valueCode === undefined || known.codes.includes(ext.valueCode)) return;
    out.push({
      code: UNKNOWN_CODE,
      text: `Encounter.extension[${i}] (${known.name}): code "${ext.valueCode}" is not one of ${known.codes.join(', ')}; the value is left out`,
    });
  });
  return out;
}
