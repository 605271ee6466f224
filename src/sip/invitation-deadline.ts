/**
 * By when an invited party must acknowledge its SIP invitation (`kallelse-sip`, "Kvittera kallelse utan dröjsmål",
 * seed 003 step 3): the agreement's `sipPlan.acknowledgeWithin`, by default the end of the next Swedish working day
 * (our reading of "without delay", stated as our default in `agreements/lag.json`). Pure: no clock, no I/O.
 */
import type { Agreement } from '../core/agreements/agreement.schema';
import {
  addDaysToDate,
  addDuration,
  endOfLocalDay,
  fromLocal,
  isNonWorkingDay,
  localDate,
  parseDuration,
} from '../core/calendar';

export type AcknowledgeWithin = NonNullable<Agreement['sipPlan']>['acknowledgeWithin'];

/** Used where an agreement sets no `sipPlan` (the same as `lag.json`). */
export const DEFAULT_ACKNOWLEDGE_WITHIN: AcknowledgeWithin = {
  after: 'P1D',
  kind: 'working-days',
  source: {
    document: '003_1fdf470bc4864968.txt',
    section: 'Steg 3, Kommun',
    note: 'Our default reading of "Kvittera kallelse utan dröjsmål": the end of the next working day.',
  },
};

/** The end (local) of the n-th Swedish working day after the day of `fromMs` (n = 0: that day, or the next working day). */
export function endOfWorkingDay(fromMs: number, n: number): number {
  let date = localDate(fromMs);
  if (n === 0) while (isNonWorkingDay(date)) date = addDaysToDate(date, 1);
  for (let left = n; left > 0;) {
    date = addDaysToDate(date, 1);
    if (!isNonWorkingDay(date)) left--;
  }
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return endOfLocalDay(fromLocal({ year, month, day, hour: 12, minute: 0, second: 0, ms: 0 }));
}

/** The acknowledgement deadline (ISO, UTC) of an invitation sent at `sentAt`. */
export function invitationDeadline(sentAt: string, rule: AcknowledgeWithin = DEFAULT_ACKNOWLEDGE_WITHIN): string {
  const from = Date.parse(sentAt);
  if (rule.kind !== 'working-days') return new Date(addDuration(from, rule.after, rule.kind)).toISOString();
  const d = parseDuration(rule.after);
  return new Date(endOfWorkingDay(from, d.days + 7 * d.weeks)).toISOString();
}

/** "agreement/rule (document section)", as the engine's Tasks name the rule behind a deadline. */
export function invitationRuleText(agreement: Agreement): string {
  const rule = agreement.sipPlan?.acknowledgeWithin ?? DEFAULT_ACKNOWLEDGE_WITHIN;
  return `${agreement.id}/sipPlan.acknowledgeWithin (${rule.source.document} ${rule.source.section})`;
}
