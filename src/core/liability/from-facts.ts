/**
 * A stored stay's facts → the liability model's stay (pure). The engine folds the facts under the agreement
 * (late and out-of-order facts, withdrawals and cancelled discharges included); this maps its state onto the
 * fields `computeLiability` reads and keeps, per stay, the facts each field came from, so every contribution
 * on an invoice can be traced to what the hospital sent.
 */
import type { Agreement } from '../agreements/agreement.schema';
import { evaluateStay } from '../engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../engine/types';
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
  const placing =
    state.placingMunicipality && /^\d{4}$/.test(state.placingMunicipality) ? state.placingMunicipality : null;
  // The paying municipality's clock runs from the ready notice it was sent (the engine's Task to it): a notice the
  // hospital gave before the municipality was told of the stay (its admission notification, e.g. needs found late,
  // a placing municipality reported later) reached it only with that notification, and one withdrawn before then
  // never did (000: the notice goes to "berörda enheter"; 002: a ready notice only where an admission notification
  // was sent; 003 "Ekonomisk reglering": liability presupposes both were sent).
  const payer = placing ?? municipality;
  const sent = sentTo(evaluation, 'utskrivningsklar', payer);
  const withdrawn = withdrawnReadyPeriods(trace, sent);
  const readyAt =
    state.readyAt === undefined ? undefined : reached(state.readyAt, state.dischargedAt, 'discharged', sent);
  const readyNoticeSent = sent.length > 0 && (readyAt !== undefined || withdrawn.length > 0);
  const stay: StayInput = {
    id: state.stayId,
    municipality,
    placingMunicipality: placing,
    care: state.care ?? 'somatic',
    admittedAt: state.admittedAt ?? facts[0]?.at ?? '',
    readyAt: readyAt ?? state.readyAt ?? null, // the hospital's notice when none reached the municipality
    dischargedAt: state.dischargedAt ?? null,
    admissionNoticeSent: sentTo(evaluation, 'inskrivningsmeddelande', payer).length > 0,
    estimatedDischargeDateSent: state.estimatedDischarge !== undefined,
    readyNoticeSent,
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
function withdrawnReadyPeriods(
  trace: readonly FactTrace[],
  sent: readonly number[],
): { readyAt: string; withdrawnAt: string }[] {
  const out: { readyAt: string; withdrawnAt: string }[] = [];
  let open: string | undefined;
  for (const f of trace) {
    if (f.kind === 'ready-for-discharge') open ??= f.at;
    else if (f.kind === 'ready-withdrawn' && open !== undefined) {
      // No ready notice reached the municipality at all (e.g. category B): the hospital's periods, for the record.
      const from = sent.length === 0 ? open : reached(open, f.at, 'withdrawn', sent);
      if (from !== undefined) out.push({ readyAt: from, withdrawnAt: f.at });
      open = undefined;
    }
  }
  return out;
}

/** When the engine's Tasks of `code` to the municipality were authored (sent), in time order. */
function sentTo(evaluation: StayEvaluation, code: TaskSpec['code'], municipality: string): number[] {
  return evaluation.tasks
    .filter((t) => t.code === code && t.owner.kind === 'municipality' && t.owner.code === municipality)
    .map((t) => Date.parse(t.authoredOn))
    .sort((a, b) => a - b);
}

/**
 * When the municipality got the ready notice of the period from `readyAt` to `endAt` (a withdrawal, the discharge,
 * or none): the first ready notice sent to it in the period (a notice sent as the patient left still counts, one
 * sent as it was withdrawn does not, as the engine derives them), or undefined when none reached it.
 */
function reached(
  readyAt: string,
  endAt: string | undefined,
  ended: 'withdrawn' | 'discharged',
  sent: readonly number[],
): string | undefined {
  if (sent.length === 0) return undefined;
  const from = Date.parse(readyAt);
  const to = endAt === undefined ? Infinity : Date.parse(endAt);
  const at = sent.find((t) => t >= from && (t < to || (t === to && ended === 'discharged')));
  return at === undefined ? undefined : at === from ? readyAt : new Date(at).toISOString();
}
