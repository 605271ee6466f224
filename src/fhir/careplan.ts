/**
 * The coordinated individual plan (SIP) as a CarePlan skeleton (contract "Resources/CarePlan"): author = the
 * named care contact (FVK), contributors = each party, one activity per party's service with its performer,
 * the colour triage as a category, the meeting time and place as extensions. Status starts `draft`; it becomes
 * `active` when every party has signed and the hospital approved (`sipCarePlanStatus`).
 */
import type { CarePlan, Encounter, Group, Patient, Reference } from '@medplum/fhirtypes';
import type { Party } from '../core/engine/types';
import { CANONICAL_BASE, CODE_SYSTEM, EXTENSION, PROFILE, type SipTriageColour } from './constants';
import { SIP_TRIAGE_INFO } from './codes';
import { resolveParty, type PartyResolver } from './references';

export const SIP_IDENTIFIER_SYSTEM = `${CANONICAL_BASE}/sid/sip`;

type ActivityStatus =
  | 'not-started'
  | 'scheduled'
  | 'in-progress'
  | 'on-hold'
  | 'completed'
  | 'cancelled'
  | 'stopped'
  | 'unknown'
  | 'entered-in-error';

export interface SipActivityInput {
  party: Party;
  /** What the party will do, e.g. "Hemtjänst 3 besök/dag". */
  description: string;
  status?: ActivityStatus;
}

export interface SipInput {
  stayId: string;
  patient: Reference<Patient | Group>;
  encounter: Reference<Encounter>;
  /** The named care contact (fast vårdkontakt). */
  fvk: Party;
  contributors: Party[];
  activities: SipActivityInput[];
  triage?: SipTriageColour;
  meeting?: { start: string; place?: string };
  created: string;
  /** `draft` until signed and approved. */
  status?: 'draft' | 'active' | 'completed' | 'revoked';
}

export function buildSipCarePlan(input: SipInput, party?: PartyResolver): CarePlan {
  const category: NonNullable<CarePlan['category']> = [
    { coding: [{ system: CODE_SYSTEM.carePlanCategory, code: 'sip', display: 'Samordnad individuell plan' }] },
  ];
  if (input.triage) {
    category.push({
      coding: [{ system: CODE_SYSTEM.sipTriage, code: input.triage, display: SIP_TRIAGE_INFO[input.triage] }],
    });
  }
  const plan: CarePlan = {
    resourceType: 'CarePlan',
    meta: { profile: [PROFILE.carePlan] },
    identifier: [{ system: SIP_IDENTIFIER_SYSTEM, value: input.stayId }],
    status: input.status ?? 'draft',
    intent: 'plan',
    category,
    title: 'Samordnad individuell plan (SIP)',
    subject: input.patient,
    encounter: input.encounter,
    created: input.created,
    author: resolveParty(input.fvk, party),
    contributor: input.contributors.map((p) => resolveParty(p, party)),
    activity: input.activities.map((a) => ({
      detail: {
        status: a.status ?? 'not-started',
        description: a.description,
        performer: [resolveParty(a.party, party)],
      },
    })),
  };
  if (input.meeting) {
    plan.extension = [{ url: EXTENSION.meetingTime, valueDateTime: input.meeting.start }];
    if (input.meeting.place) plan.extension.push({ url: EXTENSION.meetingPlace, valueString: input.meeting.place });
  }
  return plan;
}

/** `active` once every party has signed and the hospital approved, else `draft`. */
export function sipCarePlanStatus(signedBy: number, parties: number, hospitalApproved: boolean): 'draft' | 'active' {
  return hospitalApproved && signedBy >= parties ? 'active' : 'draft';
}

/** The meeting time and place of a SIP CarePlan. */
export function readSipMeeting(plan: CarePlan): { start?: string; place?: string } {
  const ext = plan.extension ?? [];
  return {
    start: ext.find((e) => e.url === EXTENSION.meetingTime)?.valueDateTime,
    place: ext.find((e) => e.url === EXTENSION.meetingPlace)?.valueString,
  };
}
