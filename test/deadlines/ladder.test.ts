import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { addOffset, planSteps, raiseStatus, stockholmMidnight } from '../../src/deadlines/ladder';
import { timerJobId } from '../../src/deadlines/timers';

describe('escalation ladder planning', () => {
  it("when the law default ladder is planned for a deadline, then reminder, overdue, escalation and deviation fall at the agreement's offsets", async () => {
    const lag = (await loadAgreements()).get('lag')!;
    const steps = planSteps(lag.escalation.steps, new Date('2026-06-10T10:00:00Z'));
    expect(steps.map((s) => [s.stepId, s.kind, s.recipient, s.dueAt.toISOString()])).toEqual([
      ['reminder', 'reminder', 'owner', '2026-06-10T06:00:00.000Z'],
      ['overdue', 'overdue', 'owner', '2026-06-10T10:00:00.000Z'],
      ['escalation', 'escalation', 'owner-head-of-unit', '2026-06-11T10:00:00.000Z'],
      ['deviation', 'deviation', 'both-principals', '2026-06-13T10:00:00.000Z'],
    ]);
  });

  it('when a day offset crosses the switch to summer time, then it keeps the Stockholm wall-clock time (23 h)', () => {
    // 2026-03-29 02:00 CET → 03:00 CEST
    const from = new Date('2026-03-28T08:00:00Z'); // 09:00 CET
    expect(addOffset(from, 'P1D').toISOString()).toBe('2026-03-29T07:00:00.000Z'); // 09:00 CEST
    expect(addOffset(from, 'PT24H').toISOString()).toBe('2026-03-29T08:00:00.000Z');
    expect(addOffset(from, '-P1D').toISOString()).toBe('2026-03-27T08:00:00.000Z');
  });

  it('when steps are counted from the authoring time, then they use it', () => {
    const [s] = planSteps(
      [{ id: 'r', at: { offset: 'PT1H', from: 'authored' }, kind: 'reminder', to: 'owner' }],
      new Date('2026-01-02T00:00:00Z'),
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(s!.dueAt.toISOString()).toBe('2026-01-01T01:00:00.000Z');
  });

  it('when a later status meets an earlier one, then the business status never goes down', () => {
    expect(raiseStatus(undefined, 'due-soon')).toBe('due-soon');
    expect(raiseStatus('escalated', 'overdue')).toBe('escalated');
    expect(raiseStatus('on-time', 'overdue')).toBe('overdue');
  });

  it('when a month starts, then its Stockholm midnight is found in winter and summer', () => {
    expect(stockholmMidnight(2027, 1, 1).toISOString()).toBe('2026-12-31T23:00:00.000Z');
    expect(stockholmMidnight(2026, 7, 1).toISOString()).toBe('2026-06-30T22:00:00.000Z');
  });

  it('when a timer id is built, then it is deterministic per task, step and due time and has no colon', () => {
    const id = timerJobId({ taskId: 'abc', stepId: 'x:y', dueAt: new Date(1000) });
    expect(id).toBe('dl-abc-x_y-1000');
  });
});
