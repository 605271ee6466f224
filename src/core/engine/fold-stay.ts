import type { Agreement } from '../agreements/agreement.schema';
import type {
  CareKind,
  Consent,
  Need,
  PatientCategory,
  PatientRouting,
  ReadinessCriterion,
  StayFact,
} from '../stay/facts';
import { categorize } from '../triage/categories';
import { missingCriteria } from '../triage/readiness';
import { municipalityParty, partyKey, primaryCareParty } from './parties';
import type { TimedFact } from './sort-facts';
import type { Party, StayState } from './types';

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
}

export interface ReadyEpisode {
  factId: string;
  /** The fact that let the notice go out: the ready notice, or the report of the last criterion. */
  sentBy: string;
  at: number;
  hospital: string;
  withdrawnAt?: number;
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
  /** When the named care contact sent the SIP invitation (first time, of any unit), if so. */
  sipInvitedAt?: number;
  /** Each unit's first SIP invitation (by party key), sent while it was the named care contact. */
  sipInvitedBy: Map<string, number>;
  died?: { factId: string; at: number };
  cancelled?: { factId: string; at: number };
  /** A ready notice the readiness gate held back; it activates when the last criterion is met. */
  pendingReady?: { factId: string; at: number };
  compulsoryOutpatientCare: boolean;
  outpatientServicesUnavailable: boolean;
  rejected: { factId: string; reason: string }[];
  warnings: Set<string>;
  /** Send time (ms) of each fact, by id (`sentAt`, else `at`). */
  sentAt: Map<string, number>;
  /** Receivers that rejected the stay (by party key): never routed to again; the hospital corrects the routing. */
  rejectedBy: Map<string, { factId: string; at: number; reason: string; role: Recipient['role'] }>;
  /** The fact that reported the information transfer done (readiness criterion), if any. */
  informationTransferredBy?: string;
}

export function currentCategory(m: StayModel): PatientCategory {
  return categorize(m.needs, m.explicitCategory);
}

/** Target group per the agreement's category table, and only with consent (or a harm assessment). */
export function inTargetGroup(m: StayModel, agreement: Agreement): boolean {
  return agreement.categories[currentCategory(m)].inTargetGroup && m.consent !== 'nej';
}

export function activeReady(m: StayModel): ReadyEpisode | undefined {
  const last = m.ready[m.ready.length - 1];
  return last && last.withdrawnAt === undefined ? last : undefined;
}

export function activeDischarge(m: StayModel): DischargeEpisode | undefined {
  const last = m.discharges[m.discharges.length - 1];
  return last && last.cancelledAt === undefined ? last : undefined;
}

function desiredRecipients(m: StayModel, agreement: Agreement): { role: Recipient['role']; party: Party }[] {
  if (!inTargetGroup(m, agreement)) {
    if (m.consent === 'nej' && agreement.categories[currentCategory(m)].inTargetGroup)
      m.warnings.add(
        'consent refused (samtycke nej): no admission notification is sent; record a harm assessment (menprovning) if one is made',
      );
    return [];
  }
  const out: { role: Recipient['role']; party: Party }[] = [];
  for (const role of agreement.categories[currentCategory(m)].notify) {
    if (role === 'municipality') {
      const { placingMunicipality: placing, municipality: registered } = m.routing;
      const code = placing ?? registered;
      if (code) out.push({ role, party: municipalityParty(code) });
      if (placing && registered && registered !== placing && agreement.routing.notifyRegisteredMunicipality)
        out.push({ role: 'registered-municipality', party: municipalityParty(registered) });
      if (!code)
        m.warnings.add(
          'no municipality of registration (PID-11) or placing municipality: cannot notify the municipality',
        );
    } else {
      const hsa = m.routing.primaryCareUnit;
      const unit = m.routing.outpatientUnit;
      if (hsa) out.push({ role, party: primaryCareParty(hsa) });
      if (unit && unit !== hsa) out.push({ role: 'outpatient-unit', party: primaryCareParty(unit) });
      if (!hsa && !unit)
        m.warnings.add(
          'no listed primary-care unit (PD1-3) nor outpatient unit (oppenvardsenhet): cannot notify region-funded outpatient care',
        );
    }
  }
  return out;
}

/** Bring the recipients up to date after a fact: add new ones, mark re-routed ones. Once notified, a unit stays. */
function updateRecipients(m: StayModel, agreement: Agreement, at: number, factId: string): void {
  if (m.admittedAt === undefined || !m.hospital) return;
  if (m.status !== 'in-progress' && m.status !== 'on-leave') return;
  const since = Math.max(at, m.admittedAt);
  const wanted = desiredRecipients(m, agreement);
  // A municipality told for information that is now responsible itself (the placing municipality is reported as
  // it), or no longer the municipality of registration beside the placing one: its notice for information is
  // withdrawn. One told as responsible has its own recipient (below), never the one for information brought back.
  if (wanted.some((w) => w.role === 'municipality')) {
    const informed = new Set(wanted.filter((w) => w.role === 'registered-municipality').map((w) => partyKey(w.party)));
    for (const r of m.recipients)
      if (r.role === 'registered-municipality' && r.replacedAt === undefined && !informed.has(r.key))
        r.replacedAt = since;
  }
  for (const want of wanted) {
    const key = partyKey(want.party);
    if (m.rejectedBy.has(key)) continue; // it said the stay is not its own: wait for the corrected routing
    // Still told as the responsible municipality (the placing one rejected the stay): not told again for information.
    // Re-routed from that role (a placing municipality reported later), it is told for information, as it would
    // have been had the placing municipality been known from the start: its own earlier recipient does not count.
    const informed = want.role === 'registered-municipality';
    if (informed && m.recipients.some((r) => r.key === key && r.replacedAt === undefined)) continue;
    const current = m.recipients.filter((r) => r.role === want.role && r.replacedAt === undefined);
    if (current.some((r) => r.key === key)) continue;
    for (const r of current) r.replacedAt = since;
    const earlier = m.recipients.find((r) => r.key === key && (r.role === 'registered-municipality') === informed);
    if (earlier) earlier.replacedAt = undefined;
    else m.recipients.push({ role: want.role, party: want.party, key, since, hospital: m.hospital, factId });
    if (m.assessedAt === undefined && since > m.admittedAt) m.assessedAt = since;
  }
}

/** The unit of the named care contact (FVK), and when the obligation reached it. */
export interface FvkOwner {
  party: Party;
  since: number;
  hospital: string;
}

/** Whose unit the named care contact is now: the municipal nurse where the agreement says so, else the vårdcentral. */
export function fvkOwner(m: StayModel, agreement: Agreement): FvkOwner | undefined {
  const current = m.recipients.filter((r) => r.replacedAt === undefined);
  if (agreement.fvk.owner === 'municipal-nurse-if-home-health-care' && m.routing.homeHealthCare) {
    const muni = current.find((r) => r.role === 'municipality');
    if (muni && muni.party.kind === 'municipality') {
      return {
        party: { kind: 'municipal-nurse', municipality: muni.party.code },
        since: muni.since,
        hospital: muni.hospital,
      };
    }
  }
  // The listed vårdcentral appoints the FVK; a reported outpatient unit does where there is none.
  const pc = current.find((r) => r.role === 'primary-care') ?? current.find((r) => r.role === 'outpatient-unit');
  return pc ? { party: pc.party, since: pc.since, hospital: pc.hospital } : undefined;
}

/**
 * The criteria the agreement's gate waits for besides the ready notice, which is itself the physician's assessment
 * (criterion 1); none without a gate. A held-back notice goes out when the last of them is first reported.
 */
export function gatedCriteria(agreement: Agreement): GatedCriterion[] {
  if (!agreement.readiness.gate) return [];
  return agreement.readiness.criteria.filter((c): c is GatedCriterion => c !== 'physician-assessed');
}

/** A criterion a gate can wait for: any but the physician's assessment. */
export type GatedCriterion = Exclude<ReadinessCriterion, 'physician-assessed'>;

/** Criteria the agreement's gate still needs. */
function gateMissing(m: StayModel, agreement: Agreement): ReturnType<typeof missingCriteria> {
  return missingCriteria(gatedCriteria(agreement), m.criteriaMet);
}

const ENDED: Partial<Record<StayState['status'], string>> = {
  cancelled: 'the admission was cancelled',
  deceased: 'the patient has died',
};

const sameMembers = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x) => b.includes(x));

/**
 * Whether a fact after the death only repeats what the stay holds: the message reporting the death (an A08 with
 * PID-29/30, an A03 with PV1-36) carries the patient, needs and estimate again, dated after the death, and a death
 * may be reported twice. Applying it would change nothing, so it is not reported as a fact not applied.
 */
function repeatsKnown(m: StayModel, f: StayFact, ms: number): boolean {
  switch (f.kind) {
    case 'patient-updated': {
      const given = definedOnly(f.patient);
      return (Object.keys(given) as (keyof PatientRouting)[]).every((k) => given[k] === m.routing[k]);
    }
    case 'needs-assessed':
      return (
        sameMembers(f.needs, m.needs) &&
        f.category === m.explicitCategory &&
        (f.consent === undefined || f.consent === m.consent) &&
        (f.sipNeeded === undefined || f.sipNeeded === m.sipNeeded)
      );
    case 'estimated-discharge-set':
      return f.date === m.estimates.at(-1)?.date;
    case 'readiness-criteria-met':
      return f.criteria.every((c) => m.criteriaMet.has(c));
    case 'compulsory-outpatient-care':
      return f.planned === m.compulsoryOutpatientCare;
    case 'outpatient-services-unavailable':
      return f.unavailable === m.outpatientServicesUnavailable;
    case 'died':
      return ms === m.died?.at;
    case 'admitted':
    case 'transferred':
    case 'receiver-rejected':
    case 'ready-for-discharge':
    case 'ready-withdrawn':
    case 'sip-meeting-held':
    case 'sip-invitation-sent':
    case 'leave-started':
    case 'leave-ended':
    case 'discharged':
    case 'discharge-cancelled':
    case 'admission-cancelled':
      return false;
  }
}

/** Fold the ordered facts into a StayModel (no tasks yet). */
export function foldStay(stayId: string, ordered: readonly TimedFact[], agreement: Agreement): StayModel {
  const m: StayModel = {
    stayId,
    status: 'in-progress',
    routing: {},
    needs: [],
    estimates: [],
    criteriaMet: new Set(),
    ready: [],
    discharges: [],
    recipients: [],
    compulsoryOutpatientCare: false,
    outpatientServicesUnavailable: false,
    rejected: [],
    warnings: new Set(),
    sentAt: new Map(),
    rejectedBy: new Map(),
    sipInvitedBy: new Map(),
  };
  const reject = (f: StayFact, reason: string): void => void m.rejected.push({ factId: f.id, reason });

  for (const { fact: f, ms } of ordered) {
    const sent = f.sentAt === undefined ? Number.NaN : Date.parse(f.sentAt);
    m.sentAt.set(f.id, Number.isNaN(sent) ? ms : sent);
    const ended = ENDED[m.status];
    if (ended) {
      if (m.status !== 'deceased' || !repeatsKnown(m, f, ms)) reject(f, `ignored: ${ended}`);
      continue;
    }
    const open = m.status === 'in-progress' || m.status === 'on-leave';
    switch (f.kind) {
      case 'admitted':
        if (m.admittedAt === undefined) m.admittedAt = ms;
        m.hospital = f.hospital;
        m.ward = f.ward ?? m.ward;
        m.care = f.care;
        m.routing = { ...m.routing, ...definedOnly(f.patient) };
        break;
      case 'patient-updated':
        m.routing = { ...m.routing, ...definedOnly(f.patient) };
        break;
      case 'needs-assessed':
        m.needs = [...f.needs];
        m.consent = f.consent ?? m.consent;
        m.sipNeeded = f.sipNeeded ?? m.sipNeeded;
        m.explicitCategory = f.category;
        break;
      case 'estimated-discharge-set':
        if (!open) reject(f, 'ignored: the patient is already discharged');
        else if (Number.isNaN(Date.parse(f.date))) reject(f, `not a date: "${f.date}"`);
        else m.estimates.push({ factId: f.id, at: ms, date: f.date, hospital: m.hospital ?? '' });
        break;
      case 'readiness-criteria-met':
        for (const c of f.criteria) m.criteriaMet.add(c);
        if (f.criteria.includes('information-transferred')) m.informationTransferredBy ??= f.id;
        // A ready notice held back by the gate activates once the last criterion is met (001 §3).
        if (m.pendingReady && open && gateMissing(m, agreement).length === 0) {
          const held = m.pendingReady.factId;
          // It went out after all: no longer reported as held back.
          m.rejected = m.rejected.filter((r) => r.factId !== held);
          m.ready.push({ factId: held, sentBy: f.id, at: ms, hospital: m.hospital ?? '' });
          m.pendingReady = undefined;
        }
        break;
      case 'ready-for-discharge': {
        if (m.admittedAt === undefined) reject(f, 'ready for discharge before any admission is known');
        else if (!open) reject(f, 'ignored: the patient is already discharged');
        else if (activeReady(m) || m.pendingReady) break;
        else {
          const missing = gateMissing(m, agreement);
          if (missing.length > 0) {
            m.pendingReady = { factId: f.id, at: ms };
            reject(
              f,
              `utskrivningsklar not activated: criteria not met (001 §3): ${missing.join(', ')}; it activates when they are`,
            );
          } else m.ready.push({ factId: f.id, sentBy: f.id, at: ms, hospital: m.hospital ?? '' });
        }
        break;
      }
      case 'ready-withdrawn': {
        const r = activeReady(m);
        if (!open) reject(f, 'ignored: the patient is already discharged');
        else if (m.pendingReady) m.pendingReady = undefined;
        else if (!r) reject(f, 'ready status withdrawn but the patient is not ready for discharge');
        else r.withdrawnAt = ms;
        break;
      }
      case 'discharged':
        if (m.admittedAt === undefined) reject(f, 'discharge before any admission is known');
        else if (!open) reject(f, 'the patient is already discharged');
        else {
          m.pendingReady = undefined;
          m.discharges.push({ factId: f.id, at: ms, hospital: m.hospital ?? '' });
          if (f.compulsoryOutpatientCare) m.compulsoryOutpatientCare = true;
          m.status = 'finished';
        }
        break;
      case 'discharge-cancelled': {
        const d = activeDischarge(m);
        if (!d || m.status !== 'finished') reject(f, 'no discharge to cancel');
        else {
          d.cancelledAt = ms;
          m.status = 'in-progress';
        }
        break;
      }
      case 'admission-cancelled':
        // A cancellation of a visit never admitted here (a lost A01, a wrong visit number) still voids the stay, and
        // says so: nothing is dropped in silence.
        if (m.admittedAt === undefined)
          m.warnings.add('admission cancelled before any admission is known: check the visit number (PV1-19)');
        m.cancelled = { factId: f.id, at: ms };
        m.status = 'cancelled';
        break;
      case 'leave-started':
        if (m.status === 'in-progress') m.status = 'on-leave';
        else reject(f, `leave cannot start while the stay is ${m.status}`);
        break;
      case 'leave-ended':
        if (m.status === 'on-leave') m.status = 'in-progress';
        else reject(f, 'leave ended but the patient is not on leave');
        break;
      case 'transferred':
        if (!open) reject(f, 'ignored: the patient is already discharged');
        else {
          m.hospital = f.hospital ?? m.hospital;
          m.ward = f.ward ?? m.ward;
          m.care = f.care ?? m.care;
        }
        break;
      case 'died': {
        // A death reported after a plain discharge of the same (or a later) time corrects it: the patient
        // left hospital by dying, so that discharge no longer counts (no discharge notice, no payment after it).
        const d = open ? undefined : activeDischarge(m);
        if (d && m.status === 'finished' && ms <= d.at) {
          d.cancelledAt = ms;
          d.replacedByDeath = true;
          m.died = { factId: f.id, at: ms };
          m.status = 'deceased';
        } else if (!open) reject(f, 'death after discharge is outside the stay');
        else {
          m.died = { factId: f.id, at: ms };
          m.status = 'deceased';
        }
        break;
      }
      case 'compulsory-outpatient-care':
        m.compulsoryOutpatientCare = f.planned;
        break;
      case 'outpatient-services-unavailable':
        m.outpatientServicesUnavailable = f.unavailable;
        break;
      case 'sip-meeting-held':
        m.sipMeetingAt = ms;
        break;
      case 'sip-invitation-sent': {
        // The invitation counts for the unit that was the named care contact when it was sent.
        const fvk = fvkOwner(m, agreement);
        const by = f.by ?? (fvk ? partyKey(fvk.party) : undefined);
        m.sipInvitedAt ??= ms;
        if (by !== undefined && !m.sipInvitedBy.has(by)) m.sipInvitedBy.set(by, ms);
        break;
      }
      case 'receiver-rejected': {
        const r = m.recipients.find((x) => x.key === f.party && x.replacedAt === undefined);
        if (!r) reject(f, `${f.party} is not a current recipient of the stay`);
        else if (!m.rejectedBy.has(f.party)) {
          r.replacedAt = ms;
          m.rejectedBy.set(f.party, { factId: f.id, at: ms, reason: f.reason, role: r.role });
        }
        break;
      }
    }
    updateRecipients(m, agreement, ms, f.id);
  }
  return m;
}

function definedOnly(p: PatientRouting): PatientRouting {
  const out: PatientRouting = {};
  if (p.municipality !== undefined) out.municipality = p.municipality;
  if (p.placingMunicipality !== undefined) out.placingMunicipality = p.placingMunicipality;
  if (p.primaryCareUnit !== undefined) out.primaryCareUnit = p.primaryCareUnit;
  if (p.outpatientUnit !== undefined) out.outpatientUnit = p.outpatientUnit;
  if (p.homeHealthCare !== undefined) out.homeHealthCare = p.homeHealthCare;
  return out;
}
