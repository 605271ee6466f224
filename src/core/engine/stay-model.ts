/**
 * What the engine learns from a stay's facts before it derives Tasks (`StayModel`, made by `foldStay`), and the
 * small readings of it the rules share: the category, the target group, the active ready notice and discharge.
 */
import type { Agreement } from '../agreements/agreement.schema';
import type { CareKind, Consent, Need, PatientCategory, PatientRouting, ReadinessCriterion } from '../stay/facts';
import { categorize } from '../triage/categories';
import type { Party, RejectedFact, ReroutedCriterion, StayState } from './types';

/** A unit that got (or must get) the admission notification. */
export interface Recipient {
  /** `outpatient-unit`: a psychiatric/specialist outpatient unit reported besides the listed vårdcentral. */
  /** `registered-municipality`: told for information while a placing municipality is responsible (agreement routing). */
  role: 'municipality' | 'primary-care' | 'outpatient-unit' | 'registered-municipality';
  party: Party;
  key: string;
  /** When the notification obligation arose: admission, or the later assessment/re-routing. */
  since: number;
  hospital: string;
  /** The fact that made the unit a recipient (its send time meets the admission notification). */
  factId: string;
  /** Set when the stay was re-routed to another unit of the same role (e.g. the municipality rejected it). */
  replacedAt?: number;
  /**
   * The fact that routed the unit back to a role it had before and was re-routed away from (vårdcentral A → B → A):
   * it is told again, so each of its Tasks of this period has a key of its own, ending `#<round>`. Absent the first
   * time. An earlier period is never brought back: what it had stays withdrawn, with its makulering.
   */
  round?: string;
}

export interface ReadyEpisode {
  factId: string;
  /** The fact that let the notice go out: the ready notice, or the report of the last criterion. */
  sentBy: string;
  at: number;
  hospital: string;
  withdrawnAt?: number;
  /** Since when criteria 3 and 4 had been met when the notice went out (`StayModel.metSince`). */
  metSince?: Partial<Record<ReroutedCriterion, number>>;
}

export interface DischargeEpisode {
  factId: string;
  at: number;
  hospital: string;
  cancelledAt?: number;
  /** The discharge was corrected to a death (a death reported at or before it). */
  replacedByDeath?: boolean;
}

export interface EstimateChange {
  factId: string;
  at: number;
  date: string;
  hospital: string;
}

/** A report of the information transfer: the fact, its time, and the units it was for (absent: all of them). */
export interface InformationTransfer {
  factId: string;
  at: number;
  to?: readonly string[];
}

/** Everything the engine learned from the facts, before tasks are derived. */
export interface StayModel {
  stayId: string;
  status: StayState['status'];
  hospital?: string;
  ward?: string;
  care?: CareKind;
  routing: PatientRouting;
  admittedAt?: number;
  assessedAt?: number;
  needs: Need[];
  consent?: Consent;
  sipNeeded?: boolean;
  explicitCategory?: PatientCategory;
  estimates: EstimateChange[];
  criteriaMet: Set<ReadinessCriterion>;
  ready: ReadyEpisode[];
  discharges: DischargeEpisode[];
  recipients: Recipient[];
  sipMeetingAt?: number;
  /** When a named care contact first sent the SIP invitation (of any unit, while it was the FVK), if so. */
  sipInvitedAt?: number;
  /** Each unit's first SIP invitation (by party key), sent while it was the named care contact. */
  sipInvitedBy: Map<string, number>;
  died?: { factId: string; at: number };
  cancelled?: { factId: string; at: number };
  /** A ready notice the readiness gate held back; it activates when the last criterion is met. */
  pendingReady?: { factId: string; at: number };
  compulsoryOutpatientCare: boolean;
  outpatientServicesUnavailable: boolean;
  rejected: RejectedFact[];
  warnings: Set<string>;
  /** Send time (ms) of each fact, by id (`sentAt`, else `at`). */
  sentAt: Map<string, number>;
  /** Receivers that rejected the stay (by party key): never routed to again; the hospital corrects the routing. */
  rejectedBy: Map<string, { factId: string; at: number; reason: string; role: Recipient['role'] }>;
  /**
   * Each report of the information transfer (readiness criterion 4), in fold order: a recipient's duty is met by the
   * first one made while it was a recipient and made for it (`transferTo`), so every report is kept. `to`: the units
   * (party keys) it was made for; absent, every unit that was a recipient then.
   */
  informationTransfers: InformationTransfer[];
  /**
   * When readiness criteria 3 and 4 were last met, while they are met: a re-routing that changes the named care
   * contact's unit, or reaches a unit that has not had the transfer, drops the criterion (absent), the report that
   * meets it again sets it anew (`StayState.fvkAppointedAt`, `StayState.informationTransferredAt`).
   */
  metSince: Partial<Record<ReroutedCriterion, number>>;
  /** The criteria a re-routing dropped after they were met (`StayState.criteriaDropped`). */
  criteriaDropped?: Set<ReroutedCriterion>;
}

export function currentCategory(m: StayModel): PatientCategory {
  return categorize(m.needs, m.explicitCategory);
}

/** Target group per the agreement's category table, and only with consent (or a harm assessment). */
export function inTargetGroup(m: StayModel, agreement: Agreement): boolean {
  return agreement.categories[currentCategory(m)].inTargetGroup && m.consent !== 'nej';
}

/**
 * The first report of the information transfer that reached the recipient `r` (before it was re-routed away): one made
 * for its unit (a report naming no unit is for every unit), while its unit was a recipient of the stay, in any of its
 * roles or periods (a municipality told for information got an admission notice too: 001 §3 criterion 4, "till de
 * enheter som har fått ett inskrivningsmeddelande"). One made before the stay reached a unit that replaced another of
 * its role went to the unit the stay had then; the first unit of its role (the needs found after the report) is not
 * such a re-routing, and any earlier report counts for it.
 */
export function transferTo(m: StayModel, r: Recipient): InformationTransfer | undefined {
  const replaced = m.recipients.some((x) => x.role === r.role && x.key !== r.key && x.since < r.since);
  const periods = m.recipients.filter((x) => x.key === r.key);
  return m.informationTransfers.find(
    (x) =>
      (x.to === undefined || x.to.includes(r.key)) &&
      (r.replacedAt === undefined || x.at < r.replacedAt) &&
      (!replaced || periods.some((p) => x.at >= p.since && (p.replacedAt === undefined || x.at < p.replacedAt))),
  );
}

export function activeReady(m: StayModel): ReadyEpisode | undefined {
  const last = m.ready[m.ready.length - 1];
  return last && last.withdrawnAt === undefined ? last : undefined;
}

export function activeDischarge(m: StayModel): DischargeEpisode | undefined {
  const last = m.discharges[m.discharges.length - 1];
  return last && last.cancelledAt === undefined ? last : undefined;
}
