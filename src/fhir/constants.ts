/**
 * Every URL and identifier system the gateway's FHIR artefacts use, in one place. The canonical base is the
 * contract's default (`FHIR_CANONICAL_BASE` in config has the same default); the profiles in `profiles/` are
 * authored against it.
 */
import {
  PERSONNUMMER_OID,
  PERSONNUMMER_SYSTEM,
  SAMORDNINGSNUMMER_OID,
  SAMORDNINGSNUMMER_SYSTEM,
} from '../core/identity/personnummer';

export { PERSONNUMMER_OID, PERSONNUMMER_SYSTEM, SAMORDNINGSNUMMER_OID, SAMORDNINGSNUMMER_SYSTEM };

export const CANONICAL_BASE = 'https://svu-gateway.dev/fhir';

const sd = (name: string): string => `${CANONICAL_BASE}/StructureDefinition/${name}`;
const cs = (name: string): string => `${CANONICAL_BASE}/CodeSystem/${name}`;
const vs = (name: string): string => `${CANONICAL_BASE}/ValueSet/${name}`;

/** Profiles (StructureDefinition canonicals) in `profiles/`. */
export const PROFILE = {
  task: sd('SvuTask'),
  encounter: sd('SvuEncounter'),
  carePlan: sd('SvuCarePlan'),
  subscription: sd('SvuSubscription'),
  communication: sd('SvuCommunication'),
  provenance: sd('SvuProvenance'),
} as const;

/** Extensions defined by the project. */
export const EXTENSION = {
  estimatedDischargeDate: sd('estimated-discharge-date'),
  readyForDischarge: sd('ready-for-discharge'),
  patientCategory: sd('patient-category'),
  needs: sd('discharge-needs'),
  agreement: sd('agreement'),
  careKind: sd('care-kind'),
  sipNeeded: sd('sip-needed'),
  outpatientServicesUnavailable: sd('outpatient-services-unavailable'),
  /** Readiness criteria that now hold (contract OBX `utskrivningsklar-kriterier`), repeatable code. */
  readinessCriteria: sd('readiness-criteria'),
  /** Consent to the admission notification (`ja`, `nej`, `menprovning`). */
  consent: sd('consent'),
  /** Compulsory outpatient psychiatric care planned (LPT 7 a §). */
  compulsoryOutpatientCare: sd('compulsory-outpatient-care'),
  /** HSA-id of the region-funded psychiatric/specialist outpatient unit. */
  outpatientUnit: sd('outpatient-unit'),
  /** Kommunkod of the municipality that placed the person elsewhere. */
  placingMunicipality: sd('placing-municipality'),
  /** Encounter: what the engine parks or warns about on this stay now (set by the gateway; ADR 024). */
  engineIssue: sd('engine-issue'),
  /** The patient already has municipal home health care (hemsjukvård): Gävleborg's FVK is the municipal nurse. */
  homeHealthCare: sd('home-health-care'),
  meetingTime: sd('sip-meeting-time'),
  meetingPlace: sd('sip-meeting-place'),
  /** Task: which agreement rule set the deadline, and its source. */
  deadlineRule: sd('deadline-rule'),
  /** HMAC secret of a rest-hook Subscription (contract); never returned on read. */
  subscriptionSecret: sd('subscription-secret'),
  /** Patient, as a recipient sees a protected identity: whom to contact instead of the removed address. */
  protectedIdentityNotice: sd('protected-identity-notice'),
} as const;

export const CODE_SYSTEM = {
  task: cs('svu-task'),
  taskBusinessStatus: cs('svu-task-business-status'),
  patientCategory: cs('svu-patient-category'),
  needs: cs('svu-need'),
  careKind: cs('svu-care-kind'),
  sipTriage: cs('svu-sip-triage'),
  carePlanCategory: cs('svu-careplan-category'),
  /** Task.output types: the receivers' structured answers. */
  taskOutput: cs('svu-task-output'),
  /** Communication.category: what a comment between the parties is about. */
  communicationCategory: cs('svu-communication-category'),
  /** Provenance.activity of a SIP: a party's signature or the hospital's approval. */
  sipSignature: cs('svu-sip-signature'),
  taskStatusReason: cs('svu-task-status-reason'),
} as const;

/**
 * `meta.tag` systems the gateway sets. `stayLeft`: on a Task whose owner the stay left (re-routed away, or it
 * rejected the stay), coded with the owner's Organization id; such a Task no longer opens the stay's Encounter and
 * Patient to its owner (`accessPredicate`), and only the gateway sets or removes it. `rejectedByAnother`: on a
 * receiver's Task `rejected` by another than its owner (an admin), which re-routes nothing; it goes when the owner
 * rejects the Task itself (which then re-routes the stay) or the Task leaves `rejected` (`rejectionMark`).
 */
export const TAG_SYSTEM = {
  stayLeft: `${CANONICAL_BASE}/tag/stay-left`,
  rejectedByAnother: `${CANONICAL_BASE}/tag/rejected-by-another`,
} as const;

export const VALUE_SET = {
  task: vs('svu-task'),
  taskBusinessStatus: vs('svu-task-business-status'),
  patientCategory: vs('svu-patient-category'),
  needs: vs('svu-need'),
  careKind: vs('svu-care-kind'),
  sipTriage: vs('svu-sip-triage'),
  taskOutput: vs('svu-task-output'),
  communicationCategory: vs('svu-communication-category'),
  sipSignature: vs('svu-sip-signature'),
} as const;

/** Identifier systems. */
export const IDENTIFIER_SYSTEM = {
  /** Task.identifier of a SIP invitation (`kallelse-sip` to an invited party): `<CarePlan id>|<Organization id>`. */
  sipInvitation: `${CANONICAL_BASE}/sid/sip-invitation`,
  /** Task.identifier of the written-plan obligation after a SIP meeting: the CarePlan id. */
  sipWrittenPlan: `${CANONICAL_BASE}/sid/sip-written-plan`,
  /** Task.identifier: `<stayId>|<TaskSpec.key>`, stable per obligation. */
  taskKey: `${CANONICAL_BASE}/sid/task-key`,
  /** Municipality code (kommunkod), Inera's code list. */
  kommunkod: 'urn:oid:1.2.752.129.2.2.1.17',
  /** County code (länskod). */
  lanskod: 'urn:oid:1.2.752.129.2.2.1.18',
  hsaId: 'urn:oid:1.2.752.29.4.19',
  organisationNumber: 'urn:oid:2.5.4.97',
  personnummer: PERSONNUMMER_SYSTEM,
  samordningsnummer: SAMORDNINGSNUMMER_SYSTEM,
} as const;

/** HL7 Sweden's security label code system (protected identity). */
export const SE_SECURITY_LABEL_SYSTEM = 'http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel';

/** HL7 v3 ActCode (Encounter.class). */
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** Task.businessStatus codes. */
export const TASK_BUSINESS_STATUSES = ['on-time', 'due-soon', 'overdue', 'escalated'] as const;
export type TaskBusinessStatus = (typeof TASK_BUSINESS_STATUSES)[number];

/** Colour triage of the planning answers (Gävleborg, seed 002). */
export const SIP_TRIAGE_COLOURS = ['blue', 'green', 'yellow', 'red'] as const;
export type SipTriageColour = (typeof SIP_TRIAGE_COLOURS)[number];

/** The receivers' answers on their Tasks (`Task.output.type`, seed 003 steps 1 and 4). */
export const TASK_OUTPUT_CODES = [
  'ej-kand',
  'aktuella-insatser',
  'boende',
  'adl',
  'kan-komma-hem',
  'fast-vardkontakt',
] as const;
export type TaskOutputCode = (typeof TASK_OUTPUT_CODES)[number];

/** What a comment between the parties is about (`Communication.category`). */
export const COMMUNICATION_CATEGORIES = ['kontakt-onskas', 'hemkomst', 'hjalpmedel', 'ovrigt'] as const;
export type CommunicationCategory = (typeof COMMUNICATION_CATEGORIES)[number];

/** A party's signature of its SIP part, or the hospital's approval of the plan (`Provenance.activity`). */
export const SIP_SIGNATURE_KINDS = ['signering', 'godkannande'] as const;
export type SipSignatureKind = (typeof SIP_SIGNATURE_KINDS)[number];
/** Every SIP Provenance activity: the signatures and the named care contact's take-over of the plan (ADR 045). */
export const SIP_PROVENANCE_ACTIVITIES = [...SIP_SIGNATURE_KINDS, 'overtagande'] as const;
export type SipProvenanceActivity = (typeof SIP_PROVENANCE_ACTIVITIES)[number];
