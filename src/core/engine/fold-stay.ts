/**
 * The fold of a stay's ordered facts into its `StayModel` (stay-model.ts): each fact in turn, the recipients brought
 * up to date after each (recipients.ts), the readiness gate, and the facts not applied with the reason.
 */
import type { Agreement } from '../agreements/agreement.schema';
import type { PatientRouting, ReadinessCriterion, StayFact } from '../stay/facts';
import { criterionCodes, fvkCriterionNote, missingCriteria } from '../triage/readiness';
import { partyKey, partyLabel } from './parties';
import { fvkOwner, updateRecipients } from './recipients';
import type { TimedFact } from './sort-facts';
import {
  activeDischarge,
  activeReady,
  transferTo,
  type ReadyEpisode,
  type Recipient,
  type StayModel,
} from './stay-model';
import {
  REROUTED_CRITERIA,
  type PartyPhrase,
  type RejectedFact,
  type ReroutedCriterion,
  type StayState,
} from './types';

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

/** The units with the information transfer duty that have had no transfer reported (`untold`), each once. */
function untoldUnits(m: StayModel): PartyPhrase[] {
  const out = new Map<string, PartyPhrase>();
  for (const r of m.recipients) if (untold(m, r)) out.set(r.key, { phrase: partyLabel(r.party), party: r.party });
  return [...out.values()];
}

/**
 * Why a ready notice is held back by the agreement's gate: the criteria it still waits for. An information transfer
 * the hospital did report, but before the stay was re-routed or for some of the units only, is said so: it must be
 * reported to the units left, which the reason names either way (`named`: the directory's names replace the phrases).
 */
function heldBack(m: StayModel, missing: ReturnType<typeof missingCriteria>): Omit<RejectedFact, 'factId'> {
  const reported = missing.includes('information-transferred') ? m.informationTransfers : [];
  const perUnit = reported.some((x) => x.to);
  const left = reported.length > 0 ? untoldUnits(m) : [];
  const to = left.length > 0 ? left.map((u) => u.phrase).join(' and ') : 'each unit that has not had it';
  const towards = left.length > 1 ? 'each' : 'it';
  const again =
    reported.length === 0
      ? ''
      : perUnit
        ? ` (informationsoverforing was reported for some of the units only, or before the stay was re-routed: report the transfer to ${to}, by completing the duty towards ${towards})`
        : ` (informationsoverforing was reported before the stay was re-routed: the information went to the units it had then; report the transfer to ${to}, by the criterion again or by completing the duty towards ${towards})`;
  const reason = `utskrivningsklar not activated: criteria not met (001 §3): ${criterionCodes(missing).join(', ')}; it activates when they are${fvkCriterionNote(missing)}${again}`;
  return left.length > 0 ? { reason, named: left } : { reason };
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
      // A withdrawn outpatient unit or placing municipality (`null`) repeats a stay that has none.
      return (Object.keys(given) as (keyof PatientRouting)[]).every(
        (k) => (given[k] ?? null) === (m.routing[k] ?? null),
      );
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
    informationTransfers: [],
    metSince: {},
  };
  const reject = (f: StayFact, reason: string | Omit<RejectedFact, 'factId'>): void =>
    void m.rejected.push(typeof reason === 'string' ? { factId: f.id, reason } : { factId: f.id, ...reason });

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
        if (f.criteria.includes('information-transferred'))
          m.informationTransfers.push(f.to ? { factId: f.id, at: ms, to: f.to } : { factId: f.id, at: ms });
        // A transfer reported for some units meets criterion 4 once every unit with the duty has had one (001 §3: "till
        // de enheter som har fått ett inskrivningsmeddelande"); one naming no unit is for all of them.
        for (const c of f.criteria)
          if (c !== 'information-transferred' || !f.to || !m.recipients.some((r) => untold(m, r))) m.criteriaMet.add(c);
        for (const c of REROUTED_CRITERIA) if (m.criteriaMet.has(c)) m.metSince[c] ??= ms;
        // A ready notice held back by the gate activates once the last criterion is met (001 §3).
        if (m.pendingReady && open) {
          const held = m.pendingReady.factId;
          const missing = gateMissing(m, agreement);
          if (missing.length === 0) {
            // It went out after all: no longer reported as held back.
            m.rejected = m.rejected.filter((r) => r.factId !== held);
            m.ready.push(readyEpisode(m, held, f.id, ms));
            m.pendingReady = undefined;
          } else {
            // Still held back: the reason names what it waits for now, not what was missing when it came (a FHIR
            // version that reports the criteria with a ready notice dated before the write folds them after it).
            const now = heldBack(m, missing);
            m.rejected = m.rejected.map((r) => (r.factId === held ? { factId: held, ...now } : r));
          }
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
            reject(f, heldBack(m, missing));
          } else m.ready.push(readyEpisode(m, f.id, f.id, ms));
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
        // The invitation counts for the unit that was the named care contact when it was sent (`by`, which the
        // gateway records; else the unit the stay is routed to then). One no unit can be named for is nobody's.
        const fvk = fvkOwner(m, agreement);
        const by = f.by ?? (fvk ? partyKey(fvk.party) : undefined);
        if (by === undefined) reject(f, 'SIP invitation not counted: the stay has no named care contact to send it');
        else {
          m.sipInvitedAt ??= ms;
          if (!m.sipInvitedBy.has(by)) m.sipInvitedBy.set(by, ms);
        }
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
    // Criterion 3 is the named care contact's unit's act (001 §3): a stay re-routed to another unit waits for that
    // unit's contact. Not when the stay is left without a unit: then nobody could meet it again, and the notice stays
    // due. The unit is read only while the criterion is met (this runs for every fact, on the intake's hot path).
    const fvkBefore = m.criteriaMet.has('fvk-appointed') ? fvkKey(m, agreement) : undefined;
    updateRecipients(m, agreement, ms, f.id);
    if (fvkBefore !== undefined) {
      const fvkAfter = fvkKey(m, agreement);
      if (fvkAfter !== undefined && fvkAfter !== fvkBefore) dropCriterion(m, 'fvk-appointed');
    }
    // Criterion 4 is the information transferred to the units that got an admission notification (001 §3): a unit the
    // stay reaches after the transfer was reported (re-routed to it) has not had it, so the criterion waits for the
    // hospital to report the transfer again, as the unit's own duty does (`transferTo`).
    if (m.criteriaMet.has('information-transferred') && m.recipients.some((r) => r.factId === f.id && untold(m, r)))
      dropCriterion(m, 'information-transferred');
  }
  // Facts of a stay whose admission never came (an A08 or A02 of a visit whose A01 is lost, late, or was refused, or
  // a wrong visit number) are kept, and every notice waits for the admission: said, not held back in silence. Only
  // for facts of a stay under way: an A05's or a planned FHIR Encounter's content facts come before an admission by
  // design; a discharge or ready notice before it is rejected with its own reason.
  if (m.admittedAt === undefined && !m.cancelled && ordered.some(({ fact }) => UNDER_WAY.has(fact.kind)))
    m.warnings.add(NO_ADMISSION);
  return m;
}

/** Fact kinds of a stay under way (an update, a transfer, a leave, a discharge cancelled), never of a planned one. */
const UNDER_WAY: ReadonlySet<StayFact['kind']> = new Set([
  'patient-updated',
  'transferred',
  'leave-started',
  'leave-ended',
  'discharge-cancelled',
]);

/** The warning of a stay with facts and no admission (`issues.ts`: `no-admission`). */
export const NO_ADMISSION =
  'no admission known for the stay: its facts are kept and its notifications wait for the admission (HL7 A01, or ' +
  'A04 with PV1-2 I; FHIR: the Encounter in progress with period.start); if one was sent, check its visit number (PV1-19)';

/** A re-routing drops criterion `c` (3 or 4) until it is reported met again: it has no time meanwhile. */
function dropCriterion(m: StayModel, c: ReroutedCriterion): void {
  m.criteriaMet.delete(c);
  m.metSince[c] = undefined;
  (m.criteriaDropped ??= new Set()).add(c);
}

/**
 * A ready notice going out at `ms`, with the times readiness criteria 3 and 4 had been met since then (a re-routing
 * after it does not move the stay's ready time: `StayState.fvkAppointedAt`, `StayState.informationTransferredAt`).
 */
function readyEpisode(m: StayModel, factId: string, sentBy: string, ms: number): ReadyEpisode {
  const r: ReadyEpisode = { factId, sentBy, at: ms, hospital: m.hospital ?? '' };
  if (REROUTED_CRITERIA.some((c) => m.metSince[c] !== undefined)) r.metSince = { ...m.metSince };
  return r;
}

/** Whether `r`, a unit with an information transfer duty, has had no transfer reported that reached it (`transferTo`). */
function untold(m: StayModel, r: Recipient): boolean {
  return r.role !== 'registered-municipality' && r.replacedAt === undefined && !transferTo(m, r);
}

/** The party key of the unit of the named care contact now, if the stay has one. */
function fvkKey(m: StayModel, agreement: Agreement): string | undefined {
  const fvk = fvkOwner(m, agreement);
  return fvk ? partyKey(fvk.party) : undefined;
}

/** The routing values a fact gives: absent is no change; an outpatient unit or placing municipality `null` is a withdrawal (kept). */
function definedOnly(p: PatientRouting): PatientRouting {
  const out: PatientRouting = {};
  if (p.municipality !== undefined) out.municipality = p.municipality;
  if (p.placingMunicipality !== undefined) out.placingMunicipality = p.placingMunicipality;
  if (p.primaryCareUnit !== undefined) out.primaryCareUnit = p.primaryCareUnit;
  if (p.outpatientUnit !== undefined) out.outpatientUnit = p.outpatientUnit;
  if (p.homeHealthCare !== undefined) out.homeHealthCare = p.homeHealthCare;
  return out;
}
