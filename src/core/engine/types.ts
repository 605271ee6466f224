import type { CareKind, Need, PatientCategory, ReadinessCriterion } from '../stay/facts';

/**
 * The readiness criteria a re-routing can drop after they were met (001 §3): the named care contact (3), appointed by
 * the unit the stay is routed to, and the information transfer (4), made to the units that got an admission notice.
 */
export const REROUTED_CRITERIA = ['fvk-appointed', 'information-transferred'] as const;
export type ReroutedCriterion = (typeof REROUTED_CRITERIA)[number];

/** Codes of `https://svu-gateway.dev/fhir/CodeSystem/svu-task` (contract). */
export const SVU_TASK_CODES = [
  'inskrivningsmeddelande',
  'utskrivningsklar',
  'utskrivningsmeddelande',
  'beraknad-utskrivning-andrad',
  'utse-fast-vardkontakt',
  'kallelse-sip',
  'informationsoverforing',
  'sip-uppfoljning',
  'avsluta-arende',
  'avvikelse',
  'makulering',
  'korrigera-mottagare',
  /** The named care contact sends the written plan to the person after the SIP meeting (written by src/sip). */
  'sip-skriftlig-plan',
] as const;
export type SvuTaskCode = (typeof SVU_TASK_CODES)[number];

/** Who must act or who asks. Resolved to an Organization by the adapters (kommunkod / HSA-id lookups). */
export type Party =
  | { kind: 'municipality'; code: string }
  | { kind: 'primary-care'; hsaId: string }
  | { kind: 'hospital'; hsaId: string }
  /** The municipal nurse responsible for home health care in a municipality (Gävleborg's FVK rule). */
  | { kind: 'municipal-nurse'; municipality: string };

/**
 * A phrase of an engine text that stands for a party: the engine knows parties, not their names, so the text a person
 * reads gets the party's name from the directory in the phrase's place (src/fhir/references.ts `withPartyNames`).
 */
export interface PartyPhrase {
  phrase: string;
  party: Party;
}

/** A fact the engine did not apply (or holds back), with the reason; `named`: the parties its reason names. */
export interface RejectedFact {
  factId: string;
  reason: string;
  named?: PartyPhrase[];
}

/** A reference into an agreement: which rule produced a value, and where the rule comes from. */
export interface RuleRef {
  agreement: string;
  rule: string;
  source: { document: string; section: string };
}

/**
 * One Task that must exist for the stay. `key` is stable for the same obligation across re-evaluations
 * (e.g. `inskrivningsmeddelande@municipality:1980`): adapters store it as a Task.identifier and reconcile
 * the stored Tasks with the engine's answer (create new, move changed deadlines, cancel withdrawn ones).
 */
export interface TaskSpec {
  key: string;
  code: SvuTaskCode;
  owner: Party;
  requester: Party;
  /** When the obligation arose (ISO). */
  authoredOn: string;
  /** The deadline (ISO instant), absent where the agreement sets none. */
  due?: string;
  deadlineRule?: RuleRef;
  /**
   * `requested` while wanted; `cancelled` when withdrawn (a `makulering` Task tells the receiver); `completed` for
   * a hospital duty (`ansvar:` key) the hospital met, at `metAt`, and for the FVK's `kallelse-sip` once the invitation
   * was sent (stay fact `sip-invitation-sent`).
   */
  status: 'requested' | 'cancelled' | 'completed';
  /** For `makulering`: the key of the Task being withdrawn. */
  focusKey?: string;
  /** Human-readable reason, in Swedish or English, for the Task's description. */
  description?: string;
  /**
   * A phrase of `description` that stands for a party: the engine knows parties, not their names, so the Task's text
   * gets the party's name in its place when the Task is built (a text a person reads names organisations).
   */
  named?: PartyPhrase;
  /**
   * The party that must meet the deadline when it is not the owner (e.g. the hospital must make the
   * information transfer available to the owner). Informational: the FHIR Task and the deadline ladder
   * currently address the owner.
   */
  responsible?: Party;
  /**
   * When the duty was met, if it was: the send time of the hospital's message (for its duty), or when the named care
   * contact sent its SIP invitation (its `kallelse-sip`, `completed`).
   */
  metAt?: string;
  /** For a message to a receiver: the key of the hospital's duty Task it meets (`ansvar:<key>`). */
  dutyKey?: string;
  /**
   * The agreement's two principals for a Task with a deadline: the region (the stay's hospital) and the responsible
   * municipality (placing, else of registration). A deviation (`avvikelse`) goes to them as well as to owner and
   * requester, so a missed step between two region units still reaches the municipality (001 §5.3).
   */
  principals?: Party[];
  /**
   * The owner is a party the stay left (re-routed away from it, or it rejected the stay): the Task stays the owner's
   * to read, answered or withdrawn, but no longer opens the stay's Encounter and Patient to it (a `stay-left` tag).
   */
  partyLeft?: boolean;
}

/** What the engine knows about a stay after folding its facts. */
export interface StayState {
  stayId: string;
  status: 'in-progress' | 'on-leave' | 'finished' | 'cancelled' | 'deceased';
  hospital?: string;
  ward?: string;
  care?: CareKind;
  municipality?: string;
  placingMunicipality?: string;
  primaryCareUnit?: string;
  homeHealthCare: boolean;
  admittedAt?: string;
  /** When the need for municipal/outpatient involvement was found, if after admission. */
  assessedAt?: string;
  needs: Need[];
  category?: PatientCategory;
  inTargetGroup: boolean;
  sipNeeded: boolean;
  estimatedDischarge?: string;
  criteriaMet: ReadinessCriterion[];
  /** Criteria the agreement requires that are not yet met (empty when none apply). */
  missingCriteria: ReadinessCriterion[];
  readyAt?: string;
  /** When a ready notice came that the agreement's readiness gate holds back (until `missingCriteria` are met). */
  readyHeldBackAt?: string;
  /**
   * Since when readiness criterion 4 (the information transfer, 001 §3) has been met for the stay's ready time: the
   * report after which no unit with the duty was left untold (a report naming no unit is for every unit). A re-routing
   * to a unit that has not had the transfer drops the criterion and the report that meets it again sets the time anew
   * (absent while it is dropped), except under a ready notice that went out while it was met: "när ovanstående sex
   * kriterier är uppfyllda så aktiveras utskrivningsklar", and a re-routing after that does not move the ready time,
   * so the time is the one the criterion had then. The dashboard's summary keeps it
   * (`stay_summary.information_transferred_at`) for a stay whose transfer was reported per unit or whose criterion 3
   * or 4 was dropped (`criteriaDropped`); it counts a stay ready from the later of the notice and its criteria.
   */
  informationTransferredAt?: string;
  /**
   * Since when readiness criterion 3 (the named care contact, "Fast vårdkontakt har utsetts i den
   * landstingsfinansierade öppna vården", 001 §3) has been met for the stay's ready time, as `informationTransferredAt`:
   * a re-routing that changes the contact's unit drops it (absent while dropped), the report that meets it again sets
   * it anew, and a ready notice that went out while it was met keeps the time it had then
   * (`stay_summary.fvk_appointed_at` for the same stays).
   */
  fvkAppointedAt?: string;
  /**
   * The criteria a re-routing dropped after they were met (3, the named care contact; 4, the information transfer):
   * the summary's times of both are the engine's, not the first reports'.
   */
  criteriaDropped?: ReroutedCriterion[];
  dischargedAt?: string;
  compulsoryOutpatientCare: boolean;
  outpatientServicesUnavailable: boolean;
  /** The agreement whose rules applied. */
  agreement: string;
  /** When the SIP meeting was held (latest), if known. */
  sipMeetingAt?: string;
  /** When the SIP invitation was sent (first, by any unit), if known. */
  sipInvitedAt?: string;
  /** The unit of the named care contact now (it appoints the FVK and invites to the SIP), if the stay has one. */
  fvk?: Party;
  /** When the patient died, if so. */
  diedAt?: string;
  /** When the admission was cancelled, if so. */
  cancelledAt?: string;
}

export interface StayEvaluation {
  state: StayState;
  tasks: TaskSpec[];
  /** Facts that were rejected (e.g. ready notice before all six criteria hold) with the reason. */
  rejected: RejectedFact[];
  /** Things a person should look at that are not errors in a fact (e.g. no listed vårdcentral to notify). */
  warnings?: string[];
}
