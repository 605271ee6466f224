import type { Encounter } from '@medplum/fhirtypes';
import { CODE_SYSTEM, EXTENSION } from '../../fhir/constants';
import { CARE_KINDS, CATEGORIES, CONSENTS, CRITERION_CODES, NEEDS } from '../../fhir/encounter-extensions';

/**
 * The coded extensions of a stay that the intake reads, with the codes it knows: `valueCode` ones (no profile
 * binding checks them) and `valueCoding` ones, each with its CodeSystem (their required binding is not enforced on
 * an Encounter: src/fhir/extension-checks.ts).
 */
const CODES: readonly { url: string; name: string; codes: readonly string[]; system?: string }[] = [
  { url: EXTENSION.readinessCriteria, name: 'readiness-criteria', codes: Object.keys(CRITERION_CODES) },
  { url: EXTENSION.consent, name: 'consent', codes: CONSENTS },
  { url: EXTENSION.needs, name: 'discharge-needs', codes: NEEDS, system: CODE_SYSTEM.needs },
  {
    url: EXTENSION.patientCategory,
    name: 'patient-category',
    codes: CATEGORIES,
    system: CODE_SYSTEM.patientCategory,
  },
  { url: EXTENSION.careKind, name: 'care-kind', codes: CARE_KINDS, system: CODE_SYSTEM.careKind },
];

/** The warning code, the same as the HL7 intake's for a code outside the sender profile's code map. */
export const UNKNOWN_CODE = 'unknown-code';

/**
 * The codes of an Encounter's coded extensions (readiness criteria, consent, needs, patient category, kind of care)
 * that the intake does not know. Such a value is left out and the rest of the write applies: an unknown code never
 * blocks a legally due notification (contract Ingestion 5, as an HL7 code outside the code map), and the writer is
 * told which value was left out instead of finding out from a notice that never goes out. Pure.
 */
export function unknownStayCodes(e: Encounter): { code: string; text: string }[] {
  const out: { code: string; text: string }[] = [];
  (e.extension ?? []).forEach((ext, i) => {
    const known = CODES.find((c) => c.url === ext.url);
    if (!known) return;
    // as the intake reads them (src/fhir/encounter-extensions.ts): by the code
    const code = known.system ? ext.valueCoding?.code : ext.valueCode;
    if (code === undefined || known.codes.includes(code)) return;
    const within = known.system ? ` of ${known.system}` : '';
    out.push({
      code: UNKNOWN_CODE,
      text: `Encounter.extension[${i}] (${known.name}): code "${code}" is not one of ${known.codes.join(', ')}${within}; the value is left out`,
    });
  });
  return out;
}
