/**
 * A stored stay's facts → the liability model's stay (pure). The engine folds the facts under the agreement
 * (late and out-of-order facts, withdrawals and cancelled discharges included); this maps its state onto the
 * fields `computeLiability` reads and keeps, per stay, the facts each field came from, so every contribution
 * on an invoice can be traced to what the hospital sent.
 */
import type { Agreement } from '../agreements/agreement.schema';
import { evaluateStay } from '../engine/evaluate';
import type { StayEvaluation } from '../engine/types';
import type { StayFact, StayFactKind } from '../stay/facts';
import type { StayInput } from './stay';

/** One fact behind a stay's contribution. */
export interface FactTrace {
  id: string;
  kind: StayFactKind;
  at: string;
}

/** What a stored stay gives the liability model, or why it cannot be billed at all. */
export type StoredStay =
  { stay: StayInput; facts: FactTrace[] } | { stayId: string; excluded: string; facts: FactTrace[] };

/** The fact kinds that decide liability: each appears in the trace, every one of them (not only the last). */
const TRACED = new Set<StayFactKind>([
  'admitted',
  'patient-updated',
  'needs-assessed',
  'estimated-discharge-set',
  'ready-for-discharge',
  'ready-withdrawn',
  'discharged',
  'discharge-cancelled',
  'admission-cancelled',
  'outpatient-services-unavailable',
  'transferred',
  'sip-invitation-sent',
  'sip-meeting-held',
]);

export function storedStay(facts: readonly StayFact[], agreement: Agreement): StoredStay {
  return storedStayOf(facts, evaluateStay(facts, agreement));
}

/** `storedStay` from an evaluation already made (one fold serves the liability and the indicators). */
export function storedStayOf(facts: readonly StayFact[], evaluation: StayEvaluation): StoredStay {
  const state = evaluation.state;
  const rejected = new Set(evaluation.rejected.map((r) => r.factId));
  const trace = facts
    .filter((f) => TRACED.has(f.kind) && !rejected.has(f.id))
    .map((f) => ({ id: f.id, kind: f.kind, at: f.at }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1));
  const municipality = state.municipality;
  if (state.cancelledAt) return { stayId: state.stayId, excluded: 'the admission was cancelled', facts: trace };
  if (!municipality || !/^\d{4}$/.test(municipality)) {
    return { stayId: state.stayId, excluded: 'no municipality of registration is known', facts: trace };
  }
  const placing = state.placingMunicipality;
  const withdrawn = withdrawnReadyPeriods(trace);
  const stay: StayInput = {
    id: state.stayId,
    municipality,
    placingMunicipality: placing && /^\d{4}$/.test(placing) ? placing : null,
    care: state.care ?? 'somatic',
    admittedAt: state.admittedAt ?? facts[0]?.at ?? '',
    readyAt: state.readyAt ?? null,
    dischargedAt: state.dischargedAt ?? null,
    admissionNoticeSent: state.admittedAt !== undefined,
    estimatedDischargeDateSent: state.estimatedDischarge !== undefined,
    readyNoticeSent: state.readyAt !== undefined || withdrawn.length > 0,
    sipRequired: state.sipNeeded,
    // "Where a SIP is to be held, the municipality is liable only if the named care contact (fasta vårdkontakten)
    // in region-funded outpatient care has called to it" (003 "Ekonomisk reglering", from SFS 2017:612): the
    // engine's reading of the invitation facts, the same that meets the FVK's own duty. An invitation counts when the
    // unit that sent it was the named care contact then (`sip-invitation-sent.by`), so one the unit a stay left
    // sends after the re-routing does not, nor does a party's completed invitation Task. One sent by the FVK before
    // a re-routing still counts: the FVK did call, the invited parties' duty to take part arose with the call, and
    // the plan goes on under the new FVK (ADR 045); the seeds tie the precondition to the call, not to which unit is
    // the FVK at discharge. A held meeting shows a call was made.
    sipInvitationSent: state.sipInvitedAt !== undefined || state.sipMeetingAt !== undefined,
    outpatientServicesUnavailable: state.outpatientServicesUnavailable,
    inTargetGroup: state.inTargetGroup,
  };
  if (state.category) stay.category = state.category;
  if (withdrawn.length > 0) stay.withdrawnReadyPeriods = withdrawn;
  return { stay, facts: trace };
}

/**
 * The ready periods that a withdrawal (avbrott) ended, from the accepted facts in time order: a ready notice
 * opens a period (a repeated notice while one is open changes nothing), a withdrawal closes the open one. The
 * period still open at discharge is the stay's `readyAt`, not one of these.
 */
function withdrawnReadyPeriods(trace: readonly FactTrace[]): { readyAt: string; withdrawnAt: string }[] {
  const out: { readyAt: string; withdrawnAt: string }[] = [];
  let open: string | undefined;
  for (const f of trace) {
    if (f.kind === 'ready-for-discharge') open ??= f.at;
    else if (f.kind === 'ready-withdrawn' && open !== undefined) {
      out.push({ readyAt: open, withdrawnAt: f.at });
      open = undefined;
    }
  }
  return out;
}
