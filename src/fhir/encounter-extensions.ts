/**
 * The SvuEncounter extensions (profiles/): estimated discharge date, ready-for-discharge time, needs and
 * category A–E, the agreement that applies, psychiatric or somatic care, SIP needed, outpatient services
 * unavailable (law 5 kap. 5 §); as inputs also home health care (hemsjukvård, read by `readStayExtensions`). `applyStayStateToEncounter` writes them from the engine's state,
 * `readStayExtensions` reads them back (also from Encounters an EHR sends).
 */
import type { Encounter, Extension } from '@medplum/fhirtypes';
import type { StayEvaluation, StayState } from '../core/engine/types';
import type { CareKind, Consent, Need, PatientCategory, ReadinessCriterion } from '../core/stay/facts';
import { READINESS_CRITERIA } from '../core/triage/readiness';
import { CODE_SYSTEM, EXTENSION, PROFILE } from './constants';
import { CARE_KIND_INFO, NEED_INFO, PATIENT_CATEGORY_INFO } from './codes';

/** What the extensions carry. */
export interface StayExtensions {
  estimatedDischarge?: string;
  readyAt?: string;
  needs?: Need[];
  category?: PatientCategory;
  agreement?: string;
  care?: CareKind;
  sipNeeded?: boolean;
  outpatientServicesUnavailable?: boolean;
  /** Inputs only (the EHR's, kept as sent): readiness criteria, consent, LPT 7 a §, outpatient unit, placing municipality. */
  criteria?: ReadinessCriterion[];
  consent?: Consent;
  compulsoryOutpatientCare?: boolean;
  outpatientUnit?: string;
  placingMunicipality?: string;
  /** The patient already has municipal home health care (hemsjukvård; contract OBX `hemsjukvard`). */
  homeHealthCare?: boolean;
}

/** The contract's criterion codes (seed 001 §3, as in HL7 OBX `utskrivningsklar-kriterier`) → the engine's. */
export const CRITERION_CODES: Readonly<Record<string, ReadinessCriterion>> = Object.fromEntries(
  READINESS_CRITERIA.map((c) => [c.code, c.id]),
);
/** The codes of the `consent` extension. */
export const CONSENTS: readonly string[] = ['ja', 'nej', 'menprovning'];

const OURS: ReadonlySet<string> = new Set([
  EXTENSION.estimatedDischargeDate,
  EXTENSION.readyForDischarge,
  EXTENSION.needs,
  EXTENSION.patientCategory,
  EXTENSION.agreement,
  EXTENSION.careKind,
  EXTENSION.sipNeeded,
  EXTENSION.outpatientServicesUnavailable,
]);

export function stayExtensions(values: StayExtensions): Extension[] {
  const ext: Extension[] = [];
  if (values.estimatedDischarge) {
    ext.push({ url: EXTENSION.estimatedDischargeDate, valueDateTime: values.estimatedDischarge });
  }
  if (values.readyAt) ext.push({ url: EXTENSION.readyForDischarge, valueDateTime: values.readyAt });
  for (const n of values.needs ?? []) {
    ext.push({ url: EXTENSION.needs, valueCoding: { system: CODE_SYSTEM.needs, code: n, display: NEED_INFO[n] } });
  }
  if (values.category) {
    ext.push({
      url: EXTENSION.patientCategory,
      valueCoding: {
        system: CODE_SYSTEM.patientCategory,
        code: values.category,
        display: PATIENT_CATEGORY_INFO[values.category],
      },
    });
  }
  if (values.agreement) ext.push({ url: EXTENSION.agreement, valueString: values.agreement });
  if (values.care) {
    ext.push({
      url: EXTENSION.careKind,
      valueCoding: { system: CODE_SYSTEM.careKind, code: values.care, display: CARE_KIND_INFO[values.care] },
    });
  }
  if (values.sipNeeded !== undefined) ext.push({ url: EXTENSION.sipNeeded, valueBoolean: values.sipNeeded });
  if (values.outpatientServicesUnavailable !== undefined) {
    ext.push({ url: EXTENSION.outpatientServicesUnavailable, valueBoolean: values.outpatientServicesUnavailable });
  }
  return ext;
}

/**
 * A copy of the Encounter with the gateway's extensions replaced by the state's values (other extensions,
 * status, period, identifiers stay as the EHR sent them) and the SvuEncounter profile claimed.
 */
export function applyStayStateToEncounter(encounter: Encounter, state: StayState): Encounter {
  const others = (encounter.extension ?? []).filter((e) => !OURS.has(e.url));
  const ours = stayExtensions({
    estimatedDischarge: state.estimatedDischarge,
    readyAt: state.readyAt,
    needs: state.needs,
    category: state.category,
    agreement: state.agreement,
    care: state.care,
    sipNeeded: state.sipNeeded,
    outpatientServicesUnavailable: state.outpatientServicesUnavailable,
  });
  const profiles = encounter.meta?.profile ?? [];
  const next: Encounter = {
    ...encounter,
    meta: {
      ...encounter.meta,
      profile: profiles.includes(PROFILE.encounter) ? profiles : [...profiles, PROFILE.encounter],
    },
  };
  const all = [...others, ...ours];
  if (all.length > 0) next.extension = all;
  else delete next.extension;
  return next;
}

/**
 * The Encounter with its `engine-issue` extensions replaced by `issues` (the engine's warnings about the stay and
 * the facts it holds back, as text; ADR 024): the FHIR-readable side of "nothing parked in silence" for stays the
 * gateway builds. No issues: no such extension.
 */
export function withEngineIssues(encounter: Encounter, issues: readonly string[]): Encounter {
  const kept = (encounter.extension ?? []).filter((e) => e.url !== EXTENSION.engineIssue);
  const all = [...kept, ...issues.map((valueString) => ({ url: EXTENSION.engineIssue, valueString }))];
  const next: Encounter = { ...encounter };
  if (all.length > 0) next.extension = all;
  else delete next.extension;
  return next;
}

/** The codes of the `discharge-needs`, `patient-category` and `care-kind` extensions that the intake reads. */
export const NEEDS: readonly string[] = Object.keys(NEED_INFO);
export const CATEGORIES: readonly string[] = Object.keys(PATIENT_CATEGORY_INFO);
export const CARE_KINDS: readonly string[] = Object.keys(CARE_KIND_INFO);

/**
 * Read the gateway's extensions from an Encounter; unknown codes are ignored (the answer names each:
 * src/intake/fhir/unknown-codes.ts).
 */
export function readStayExtensions(encounter: Encounter): StayExtensions {
  const out: StayExtensions = {};
  for (const e of encounter.extension ?? []) {
    switch (e.url) {
      case EXTENSION.estimatedDischargeDate:
        out.estimatedDischarge = e.valueDateTime ?? e.valueDate ?? out.estimatedDischarge;
        break;
      case EXTENSION.readyForDischarge:
        out.readyAt = e.valueDateTime ?? out.readyAt;
        break;
      case EXTENSION.needs:
        if (e.valueCoding?.code && NEEDS.includes(e.valueCoding.code)) {
          out.needs = [...(out.needs ?? []), e.valueCoding.code as Need];
        }
        break;
      case EXTENSION.patientCategory:
        if (e.valueCoding?.code && CATEGORIES.includes(e.valueCoding.code)) {
          out.category = e.valueCoding.code as PatientCategory;
        }
        break;
      case EXTENSION.agreement:
        out.agreement = e.valueString ?? out.agreement;
        break;
      case EXTENSION.careKind:
        if (e.valueCoding?.code && CARE_KINDS.includes(e.valueCoding.code)) out.care = e.valueCoding.code as CareKind;
        break;
      case EXTENSION.sipNeeded:
        out.sipNeeded = e.valueBoolean ?? out.sipNeeded;
        break;
      case EXTENSION.outpatientServicesUnavailable:
        out.outpatientServicesUnavailable = e.valueBoolean ?? out.outpatientServicesUnavailable;
        break;
      case EXTENSION.readinessCriteria: {
        const c = CRITERION_CODES[e.valueCode ?? ''];
        if (c) out.criteria = [...(out.criteria ?? []), c];
        break;
      }
      case EXTENSION.consent:
        if (e.valueCode && CONSENTS.includes(e.valueCode)) out.consent = e.valueCode as Consent;
        break;
      case EXTENSION.compulsoryOutpatientCare:
        out.compulsoryOutpatientCare = e.valueBoolean ?? out.compulsoryOutpatientCare;
        break;
      case EXTENSION.outpatientUnit:
        out.outpatientUnit = e.valueString ?? out.outpatientUnit;
        break;
      case EXTENSION.placingMunicipality:
        out.placingMunicipality = e.valueString ?? out.placingMunicipality;
        break;
      case EXTENSION.homeHealthCare:
        out.homeHealthCare = e.valueBoolean ?? out.homeHealthCare;
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * Every issue of the stay now, as text for the Encounter's `engine-issue` extensions: each fact the engine holds
 * back or ignored (`<fact kind>: <reason>`) and each warning.
 */
export function stayIssueTexts(evaluation: StayEvaluation): string[] {
  return [
    ...evaluation.rejected.map((r) => `${r.factId.split('#')[1] ?? 'fact'}: ${r.reason}`),
    ...(evaluation.warnings ?? []),
  ];
}

/** The texts of the Encounter's `engine-issue` extensions, in order (what `withEngineIssues` wrote). */
export function engineIssuesOf(encounter: Encounter): string[] {
  return (encounter.extension ?? []).filter((e) => e.url === EXTENSION.engineIssue).map((e) => e.valueString ?? '');
}
