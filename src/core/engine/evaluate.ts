import type { Agreement } from '../agreements/agreement.schema';
import type { ReadinessCriterion, StayFact } from '../stay/facts';
import { deriveTasks } from './derive-tasks';
import { foldStay } from './fold-stay';
import { fvkOwner } from './recipients';
import { activeReady, currentCategory, inTargetGroup, type StayModel } from './stay-model';
import { hospitalDuties } from './duties';
import { hospitalParty, municipalityParty } from './parties';
import { orderFacts } from './sort-facts';
import { iso, makulering } from './task-context';
import { missingCriteria } from '../triage/readiness';
import {
  REROUTED_CRITERIA,
  type ReroutedCriterion,
  type StayEvaluation,
  type StayState,
  type SvuTaskCode,
  type TaskSpec,
} from './types';

/** Why a missing estimated discharge date is said (the engine's warning and the ACK's, `foreseeMessageIssues`). */
export const ESTIMATE_IS_MANDATORY =
  'it is mandatory content of the admission notification and a precondition of payment';

/** Obligations that lapse when the patient dies (the case is closed instead). */
const LAPSE_ON_DEATH = new Set<SvuTaskCode>([
  'utse-fast-vardkontakt',
  'kallelse-sip',
  'sip-uppfoljning',
  'informationsoverforing',
]);

/**
 * A death: each open planning Task lapses, and its owner is told the way every withdrawn Task is (`cancelled` and a
 * `makulering` beside it); where the agreement says so, `avsluta-arende` asks it to close the case. Work already
 * done stands and is not withdrawn (a makulering would read as if it never happened): an invitation sent
 * (`kallelse-sip` completed), an information transfer the hospital made (`metAt`). A Task its owner completed is
 * told of only where its news no longer holds (the reconciler's `withdrawsSomethingSent`).
 */
function lapseOnDeath(died: { at: number }, tasks: TaskSpec[]): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (const t of tasks) {
    out.push(t);
    if (t.status !== 'requested' || !LAPSE_ON_DEATH.has(t.code)) continue;
    if (t.code === 'informationsoverforing' && t.metAt !== undefined) continue;
    const what = t.description ?? t.code;
    t.status = 'cancelled';
    t.description = `${what} (patienten har avlidit)`;
    out.push(makulering(t, died.at, `Patienten har avlidit: ${what} behövs inte längre och återkallas`));
  }
  return out;
}

function applyEndings(m: StayModel, derived: TaskSpec[]): TaskSpec[] {
  const tasks = m.died ? lapseOnDeath(m.died, derived) : derived;
  if (m.cancelled) {
    const cancelledAt = m.cancelled.at;
    // a notice already withdrawn (its unit re-routed away) has its makulering: the unit is not told twice
    const withdrawn = new Set(tasks.filter((t) => t.code === 'makulering').map((t) => t.focusKey));
    const out: TaskSpec[] = [];
    for (const t of tasks) {
      if (t.code !== 'makulering') t.status = 'cancelled';
      out.push(t);
      // One makulering per recipient of the admission notification; it withdraws the whole case.
      if (t.code === 'inskrivningsmeddelande' && !withdrawn.has(t.key)) {
        out.push(
          makulering(t, cancelledAt, 'Inskrivningen är makulerad: allt som skickats för vårdtillfället återkallas'),
        );
      }
    }
    return out;
  }
  return tasks;
}

/** Criteria met now; a ready notice (active or held back) stands for the physician's assessment. */
function metNow(m: StayModel): Set<ReadinessCriterion> {
  if (!activeReady(m) && !m.pendingReady) return m.criteriaMet;
  return new Set(m.criteriaMet).add('physician-assessed');
}

function toState(m: StayModel, agreement: Agreement): StayState {
  const ready = activeReady(m);
  const discharge = m.discharges.filter((d) => d.cancelledAt === undefined).at(-1);
  const state: StayState = {
    stayId: m.stayId,
    status: m.status,
    homeHealthCare: m.routing.homeHealthCare ?? false,
    needs: m.needs,
    category: m.admittedAt !== undefined || m.needs.length > 0 ? currentCategory(m) : undefined,
    inTargetGroup: inTargetGroup(m, agreement),
    sipNeeded: m.sipNeeded ?? agreement.categories[currentCategory(m)].sip,
    criteriaMet: agreement.readiness.criteria.filter((c) => m.criteriaMet.has(c)),
    missingCriteria: agreement.readiness.gate ? missingCriteria(agreement.readiness.criteria, metNow(m)) : [],
    compulsoryOutpatientCare: m.compulsoryOutpatientCare,
    outpatientServicesUnavailable: m.outpatientServicesUnavailable,
    agreement: agreement.id,
  };
  if (m.hospital) state.hospital = m.hospital;
  if (m.ward) state.ward = m.ward;
  if (m.care) state.care = m.care;
  if (m.routing.municipality) state.municipality = m.routing.municipality;
  if (m.routing.placingMunicipality) state.placingMunicipality = m.routing.placingMunicipality;
  if (m.routing.primaryCareUnit) state.primaryCareUnit = m.routing.primaryCareUnit;
  if (m.admittedAt !== undefined) state.admittedAt = iso(m.admittedAt);
  if (m.assessedAt !== undefined) state.assessedAt = iso(m.assessedAt);
  const est = m.estimates.at(-1);
  if (est) state.estimatedDischarge = est.date;
  if (ready) state.readyAt = iso(ready.at);
  if (m.pendingReady) state.readyHeldBackAt = iso(m.pendingReady.at);
  // a ready notice in force keeps the times its criteria had when it went out (ADR 056)
  const since = (c: ReroutedCriterion): number | undefined => ready?.metSince?.[c] ?? m.metSince[c];
  const informed = since('information-transferred');
  if (informed !== undefined) state.informationTransferredAt = iso(informed);
  const appointed = since('fvk-appointed');
  if (appointed !== undefined) state.fvkAppointedAt = iso(appointed);
  if (m.criteriaDropped) state.criteriaDropped = REROUTED_CRITERIA.filter((c) => m.criteriaDropped?.has(c));
  if (discharge) state.dischargedAt = iso(discharge.at);
  if (m.sipMeetingAt !== undefined) state.sipMeetingAt = iso(m.sipMeetingAt);
  if (m.sipInvitedAt !== undefined) state.sipInvitedAt = iso(m.sipInvitedAt);
  const fvk = fvkOwner(m, agreement);
  if (fvk) state.fvk = fvk.party;
  if (m.died) state.diedAt = iso(m.died.at);
  if (m.cancelled) state.cancelledAt = iso(m.cancelled.at);
  return state;
}

/**
 * The engine's main entry: fold a stay's facts (any order, repeats allowed) under an agreement into its
 * state and the full set of Tasks that must exist. Pure and deterministic: the same set of facts always
 * gives the same evaluation, so adapters can re-evaluate after every fact and reconcile by `TaskSpec.key`.
 */
export function evaluateStay(facts: readonly StayFact[], agreement: Agreement): StayEvaluation {
  const { ordered, invalid } = orderFacts(facts);
  // The stay is the one of the first admission (or first fact); facts of other stays are rejected.
  const stayId =
    ordered.find((t) => t.fact.kind === 'admitted')?.fact.stayId ?? ordered[0]?.fact.stayId ?? invalid[0]?.stayId ?? '';
  const own = ordered.filter((t) => t.fact.stayId === stayId);
  const m = foldStay(stayId, own, agreement);
  for (const f of invalid) m.rejected.push({ factId: f.id, reason: `not an ISO 8601 time: "${f.at}"` });
  for (const { fact } of ordered) {
    if (fact.stayId !== stayId)
      m.rejected.push({ factId: fact.id, reason: `belongs to stay ${fact.stayId}, not ${stayId}` });
  }
  const derived = applyEndings(m, deriveTasks(m, agreement));
  if (m.recipients.length > 0 && m.estimates.length === 0 && (m.status === 'in-progress' || m.status === 'on-leave')) {
    m.warnings.add(
      `no estimated discharge date (PV2-9 or the estimated-discharge-date extension): ${ESTIMATE_IS_MANDATORY}`,
    );
  }
  derived.push(...hospitalDuties(derived));
  const principals = [
    ...(m.hospital ? [hospitalParty(m.hospital)] : []),
    ...((m.routing.placingMunicipality ?? m.routing.municipality)
      ? [municipalityParty(m.routing.placingMunicipality ?? m.routing.municipality ?? '')]
      : []),
  ];
  for (const t of derived) if (t.due && !t.dutyKey && principals.length > 0) t.principals = principals;
  const tasks = derived.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    state: toState(m, agreement),
    tasks,
    rejected: m.rejected,
    warnings: [...m.warnings].sort(),
  };
}
