import type { Anchor, Agreement, DeadlineSpec, RuledTaskCode, TaskRule } from '../agreements/agreement.schema';
import { addDuration } from '../calendar/duration';
import { isoUtc } from '../calendar/fast-iso';
import { parseInstant } from '../calendar/stockholm-time';
import { activeDischarge, activeReady, type StayModel } from './stay-model';
import { hospitalParty } from './parties';
import type { Party, RuleRef, SvuTaskCode, TaskSpec } from './types';

/** Codes the hospital sends: the hospital is the party that must meet their deadlines. */
const HOSPITAL_SENDS = new Set<SvuTaskCode>([
  'inskrivningsmeddelande',
  'beraknad-utskrivning-andrad',
  'utskrivningsklar',
  'informationsoverforing',
  'utskrivningsmeddelande',
  'makulering',
]);

export const iso = (ms: number): string => isoUtc(ms);

/** The latest estimated discharge as an instant (a date alone = the start of that Stockholm day). */
function estimatedDischargeMs(m: StayModel): number | undefined {
  const last = m.estimates[m.estimates.length - 1];
  if (!last) return undefined;
  const t = parseInstant(last.date);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * When a duty "before discharge" falls due (anchor `estimated-discharge`, the LPT 7 a § plan): the latest estimated
 * discharge stands in for the discharge while the patient is here; once the patient has left, the discharge itself
 * when that came first, so the deadline is never later than the discharge it stands for (and a duty not met by then
 * is overdue from then). A cancelled discharge (A13) gives the estimate back.
 */
function beforeDischargeMs(m: StayModel): number | undefined {
  const estimated = estimatedDischargeMs(m);
  const left = activeDischarge(m)?.at;
  if (left === undefined) return estimated;
  return estimated === undefined || left < estimated ? left : estimated;
}

/** When an anchor (currently) holds for the stay; `notification` is per recipient and passed in. */
export function anchorMs(m: StayModel, anchor: Anchor, notification?: number): number | undefined {
  switch (anchor) {
    case 'notification':
      return notification;
    case 'admission':
      return m.admittedAt;
    case 'estimated-discharge':
      return beforeDischargeMs(m);
    case 'estimated-discharge-changed':
      return m.estimates[m.estimates.length - 1]?.at;
    case 'ready':
      return activeReady(m)?.at;
    case 'discharge':
      return activeDischarge(m)?.at;
    case 'sip-meeting':
      return m.sipMeetingAt;
    case 'death':
      return m.died?.at;
  }
}

/** When an anchor first happened, even if later withdrawn (a task that arose stays arisen). */
export function firstMs(m: StayModel, anchor: Anchor, notification?: number): number | undefined {
  switch (anchor) {
    case 'ready':
      return m.ready[0]?.at;
    case 'discharge':
      return m.discharges[0]?.at;
    case 'estimated-discharge-changed':
      return m.estimates[0]?.at;
    case 'notification':
    case 'admission':
    case 'estimated-discharge':
    case 'sip-meeting':
    case 'death':
      return anchorMs(m, anchor, notification);
  }
}

/** The first of the rule's `when` anchors that has happened. */
export function arisesAt(m: StayModel, rule: TaskRule, notification?: number): number | undefined {
  let best: number | undefined;
  for (const a of rule.when) {
    const t = firstMs(m, a, notification);
    if (t !== undefined && (best === undefined || t < best)) best = t;
  }
  return best;
}

/**
 * The deadline of a rule, when its anchor holds now. If the anchor is one of the rule's own `when` moments
 * and does not hold, the earliest of the rule's other `when` moments that holds now stands in (e.g.
 * Gävleborg's "the day ready" for a patient discharged without a ready notice). A withdrawn ready status or
 * a cancelled discharge does not count: the deadline stops until the moment holds again.
 */
export function dueMs(m: StayModel, rule: TaskRule, notification?: number): number | undefined {
  const d = rule.deadline;
  if (!d) return undefined;
  let from = anchorMs(m, d.from, notification);
  if (from === undefined && rule.when.includes(d.from)) {
    for (const a of rule.when) {
      const t = anchorMs(m, a, notification);
      if (t !== undefined && (from === undefined || t < from)) from = t;
    }
  }
  return from === undefined ? undefined : addDuration(from, d.after, d.kind);
}

export function deadlineFrom(spec: DeadlineSpec, fromMs: number | undefined): number | undefined {
  return fromMs === undefined ? undefined : addDuration(fromMs, spec.after, spec.kind);
}

export function ruleRef(agreement: Agreement, code: RuledTaskCode, rule: TaskRule): RuleRef | undefined {
  return rule.deadline
    ? { agreement: agreement.id, rule: `tasks.${code}.deadline`, source: rule.deadline.source }
    : undefined;
}

export interface SpecInput {
  key: string;
  code: SvuTaskCode;
  owner: Party;
  hospital: string;
  authoredOn: number;
  due?: number;
  deadlineRule?: RuleRef;
  status?: TaskSpec['status'];
  description?: string;
  focusKey?: string;
  /** Send time (ms) of the hospital's message that meets this Task's duty, when sent. */
  metAt?: number;
}

export function spec(i: SpecInput): TaskSpec {
  const requester = hospitalParty(i.hospital);
  const t: TaskSpec = {
    key: i.key,
    code: i.code,
    owner: i.owner,
    requester,
    authoredOn: iso(i.authoredOn),
    status: i.status ?? 'requested',
  };
  if (i.due !== undefined) t.due = iso(i.due);
  if (i.due !== undefined && i.deadlineRule) t.deadlineRule = i.deadlineRule;
  if (i.description) t.description = i.description;
  if (i.focusKey) t.focusKey = i.focusKey;
  if (HOSPITAL_SENDS.has(i.code)) t.responsible = requester;
  if (i.metAt !== undefined && t.responsible) t.metAt = iso(i.metAt);
  return t;
}

/** The makulering of a Task sent earlier: same recipient, pointing at it with `focusKey`. */
export function makulering(focus: TaskSpec, atMs: number, reason: string): TaskSpec {
  const t: TaskSpec = {
    key: `makulering:${focus.key}`,
    code: 'makulering',
    owner: focus.owner,
    requester: focus.requester,
    authoredOn: iso(atMs),
    status: 'requested',
    focusKey: focus.key,
    description: reason,
    responsible: focus.requester,
  };
  return t;
}
