/**
 * The escalation ladder, planned against one Task deadline. Pure: no I/O, no clock.
 *
 * A ladder step says when (an ISO 8601 offset from the deadline, negative = before), what kind of notice and
 * to whom. Hours, minutes and seconds are elapsed time; days, weeks, months and years are calendar units in
 * Europe/Stockholm (the wall-clock time is kept across a daylight-saving change), as the agreements count days.
 */
import type { LadderStep } from '../core/agreements/agreement.schema';
import { addDuration, fromLocal } from '../core/calendar';

export type StepKind = LadderStep['kind'];
export type StepRecipient = LadderStep['to'];

/** The ladder step as the agreement schema gives it (only the fields the planner reads). */
export type LadderStepInput = Pick<LadderStep, 'id' | 'at' | 'kind' | 'to'>;

export interface PlannedStep {
  stepId: string;
  kind: StepKind;
  recipient: StepRecipient;
  seq: number;
  dueAt: Date;
}

/** The Task.businessStatus each kind of step leaves behind (ranked: a step never lowers the status). */
export const STATUS_OF_KIND: Record<StepKind, BusinessStatusCode> = {
  reminder: 'due-soon',
  overdue: 'overdue',
  escalation: 'escalated',
  deviation: 'escalated',
};
export type BusinessStatusCode = 'on-time' | 'due-soon' | 'overdue' | 'escalated';
const RANK: Record<BusinessStatusCode, number> = { 'on-time': 0, 'due-soon': 1, overdue: 2, escalated: 3 };

/** The higher of two business statuses (unknown codes rank lowest). */
export function raiseStatus(current: string | undefined, next: BusinessStatusCode): BusinessStatusCode {
  const cur = current && current in RANK ? (current as BusinessStatusCode) : 'on-time';
  return RANK[next] >= RANK[cur] ? next : cur;
}

export const TIME_ZONE = 'Europe/Stockholm';

/**
 * A ladder offset added to an instant: calendar units on the Stockholm wall clock (src/core/calendar,
 * `calendar-days`), the time part as elapsed time.
 */
export function addOffset(instant: Date, offset: string): Date {
  return new Date(addDuration(instant.getTime(), offset, 'calendar-days'));
}

/** The steps of `ladder` for a Task due at `deadline` (`authoredOn` for steps counted `from: 'authored'`). */
export function planSteps(ladder: readonly LadderStepInput[], deadline: Date, authoredOn?: Date): PlannedStep[] {
  return ladder.map((s, seq) => {
    const base = s.at.from === 'authored' && authoredOn ? authoredOn : deadline;
    return { stepId: s.id, kind: s.kind, recipient: s.to, seq, dueAt: addOffset(base, s.at.offset) };
  });
}

/** The instant of local midnight starting `yyyy-mm-dd` in Europe/Stockholm. */
export function stockholmMidnight(year: number, month: number, day: number): Date {
  return new Date(fromLocal({ year, month, day, hour: 0, minute: 0, second: 0, ms: 0 }));
}
