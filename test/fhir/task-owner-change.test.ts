import { describe, expect, it } from 'vitest';
import type { Task } from '@medplum/fhirtypes';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { ownerChangeIssues, requesterChangeIssues } from '../../src/fhir/task-owner-change';
import { taskRowOf } from '../../src/deadlines/task-sync';
import { withRejectedByAnother } from '../../src/fhir/task';
import { fvkAppointedFact } from '../../src/intake/fhir/fvk-appointed';

const duty = (key: string, status: Task['status']): Task => ({
  resourceType: 'Task',
  id: 't1',
  status,
  intent: 'order',
  code: {
    coding: [
      { system: CODE_SYSTEM.task, code: key.replace(/^ansvar:/, '').split('@')[0], display: 'Inskrivningsmeddelande' },
    ],
  },
  identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: `stay-1|${key}` }],
  owner: { reference: 'Organization/hospital' },
  requester: { reference: 'Organization/kommun-1981' },
});

/** What the owner of the hospital's duties may do with their status (contract, "Obligations, acknowledgements"). */
describe('the owner completing a duty directly', () => {
  it('when the hospital completes its open information transfer duty, then nothing is refused', () => {
    for (const from of ['requested', 'received', 'accepted', 'in-progress'] as const) {
      const key = 'ansvar:informationsoverforing@municipality:1981';
      expect(ownerChangeIssues(duty(key, from), duty(key, 'completed'))).toEqual([]);
    }
  });

  it('when the hospital completes another duty or the receiver’s own Task from requested, then the status is refused', () => {
    for (const key of ['ansvar:inskrivningsmeddelande@municipality:1981', 'informationsoverforing@municipality:1981']) {
      const issues = ownerChangeIssues(duty(key, 'requested'), duty(key, 'completed'));
      expect(issues.map((i) => i.path)).toEqual(['Task.status']);
    }
  });

  it('when the information transfer duty was cancelled, then completing it is refused', () => {
    const key = 'ansvar:informationsoverforing@municipality:1981';
    expect(ownerChangeIssues(duty(key, 'cancelled'), duty(key, 'completed')).map((i) => i.path)).toEqual([
      'Task.status',
    ]);
  });
});

/** A duty met by the hospital's message: acknowledged, never completed or rejected by a status. */
describe('the owner of a duty met by a message', () => {
  const key = 'ansvar:inskrivningsmeddelande@municipality:1981';

  it('when the hospital acknowledges it (received, accepted, in-progress), then nothing is refused', () => {
    expect(ownerChangeIssues(duty(key, 'requested'), duty(key, 'received'))).toEqual([]);
    expect(ownerChangeIssues(duty(key, 'received'), duty(key, 'accepted'))).toEqual([]);
    expect(ownerChangeIssues(duty(key, 'accepted'), duty(key, 'in-progress'))).toEqual([]);
  });

  it('when the hospital completes it after accepting it, then the refusal names the message that meets it', () => {
    for (const from of ['accepted', 'in-progress'] as const) {
      const [issue, ...more] = ownerChangeIssues(duty(key, from), duty(key, 'completed'));
      expect(more).toEqual([]);
      expect(issue?.path).toBe('Task.status');
      expect(issue?.message).toContain("met by the hospital's message Inskrivningsmeddelande (inskrivningsmeddelande)");
      expect(issue?.message).toContain('not by a status');
    }
  });

  it('when the hospital rejects a duty, the information transfer too, then it is refused', () => {
    for (const k of [key, 'ansvar:informationsoverforing@municipality:1981']) {
      const [issue] = ownerChangeIssues(duty(k, 'requested'), duty(k, 'rejected'));
      expect(issue?.message).toContain('cannot be rejected');
    }
  });

  it('when a duty with a deadline is completed by a status alone, then the deadline worker keeps it open; met by its message, it is closed', () => {
    const due = { restriction: { period: { end: '2026-12-01T12:00:00Z' } } };
    expect(taskRowOf({ ...duty(key, 'completed'), ...due }, 'vastmanland').open).toBe(true);
    expect(taskRowOf({ ...duty(key, 'rejected'), ...due }, 'vastmanland').open).toBe(true);
    const met = { ...duty(key, 'completed'), ...due, executionPeriod: { end: '2026-12-01T10:00:00Z' } };
    expect(taskRowOf(met, 'vastmanland').open).toBe(false);
    expect(taskRowOf({ ...duty(key, 'cancelled'), ...due }, 'vastmanland').open).toBe(false);
    // a party's own Task is closed by its owner's answer (not its SIP invitation duty: below)
    const own = { ...duty('utse-fast-vardkontakt@vc:skultuna', 'completed'), ...due };
    expect(taskRowOf(own, 'vastmanland').open).toBe(false);
  });
});

/** The named care contact's duty to invite to the SIP is met by its invitation, not by a status. */
describe('the owner of the SIP invitation duty', () => {
  const key = 'kallelse-sip@primary-care:SE2321000172-DEMO0101';
  const rejected = (t: Task, code = 'ej-listad'): Task => ({
    ...t,
    statusReason: { coding: [{ system: CODE_SYSTEM.taskStatusReason, code }] },
  });
  const due = { restriction: { period: { end: '2026-12-04T22:59:59.999Z' } } };

  it('when the unit acknowledges it or rejects it with a coded reason, then nothing is refused; rejected without one, or completed, the refusal says what meets it', () => {
    expect(ownerChangeIssues(duty(key, 'requested'), duty(key, 'accepted'))).toEqual([]);
    expect(ownerChangeIssues(duty(key, 'accepted'), duty(key, 'in-progress'))).toEqual([]);
    expect(ownerChangeIssues(duty(key, 'requested'), rejected(duty(key, 'rejected')))).toEqual([]);
    // the municipality's code says as well that the patient is not the unit's
    expect(ownerChangeIssues(duty(key, 'requested'), rejected(duty(key, 'rejected'), 'ej-folkbokford'))).toEqual([]);
    for (const statusReason of [undefined, { text: 'Inte vår patient' }]) {
      const [issue, ...more] = ownerChangeIssues(duty(key, 'requested'), { ...duty(key, 'rejected'), statusReason });
      expect(more).toEqual([]);
      expect(issue?.path).toBe('Task.statusReason');
      expect(issue?.message).toContain(
        `coded from ${CODE_SYSTEM.taskStatusReason} (ej-folkbokford: Patienten är inte folkbokförd i kommunen (ej folkbokförd här); ej-listad: Patienten är inte listad på vårdcentralen (ej listad här))`,
      );
      expect(issue?.message).toContain('POST /fhir/CarePlan');
    }
    for (const from of ['accepted', 'in-progress'] as const) {
      const [issue, ...more] = ownerChangeIssues(duty(key, from), duty(key, 'completed'));
      expect(more).toEqual([]);
      expect(issue?.path).toBe('Task.status');
      expect(issue?.message).toContain('is met by the SIP invitation, not by a status');
    }
  });

  it('when it is completed or rejected without a coded reason by a status alone, then its deadline runs on; completed with the invitation’s time, or rejected with a coded reason, it is closed', () => {
    expect(taskRowOf({ ...duty(key, 'completed'), ...due }, 'vastmanland').open).toBe(true);
    expect(taskRowOf({ ...duty(key, 'rejected'), ...due }, 'vastmanland').open).toBe(true);
    const met = { ...duty(key, 'completed'), ...due, executionPeriod: { end: '2026-12-02T10:00:00Z' } };
    expect(taskRowOf(met, 'vastmanland').open).toBe(false);
    expect(taskRowOf({ ...rejected(duty(key, 'rejected')), ...due }, 'vastmanland').open).toBe(false);
    // rejected by another than the unit (an admin), even with a coded reason: its deadline runs on
    const byAnother = rejected(duty(key, 'rejected'));
    byAnother.meta = withRejectedByAnother(byAnother, true);
    expect(taskRowOf({ ...byAnother, ...due }, 'vastmanland').open).toBe(true);
    // another unit's Task completed by its owner is its answer
    expect(taskRowOf({ ...duty('sip-uppfoljning@primary-care:x', 'completed'), ...due }, 'vastmanland').open).toBe(
      false,
    );
  });
});

/** The requester of a Task the gateway derived withdraws it; it does not answer it for the owner. */
describe('the requester of a derived Task', () => {
  const key = 'utse-fast-vardkontakt@vc:skultuna';
  const who = [{ type: { coding: [{ system: CODE_SYSTEM.taskOutput, code: 'fast-vardkontakt' }] }, valueString: 'A' }];

  it('when it cancels the Task, then nothing is refused; when it moves it to any answer or writes output, then it is', () => {
    expect(requesterChangeIssues(duty(key, 'requested'), duty(key, 'cancelled'))).toEqual([]);
    for (const to of ['received', 'accepted', 'in-progress', 'completed', 'rejected'] as const)
      expect(requesterChangeIssues(duty(key, 'requested'), duty(key, to)).map((i) => i.path)).toEqual(['Task.status']);
    expect(
      requesterChangeIssues(duty(key, 'requested'), { ...duty(key, 'requested'), output: who }).map((i) => i.path),
    ).toEqual(['Task.output']);
  });

  it('when it changes what the stay says (description, restriction, for, code, input, meta), then each element is refused; a note, a reason with the withdrawal and dropping the deadline status with it are not', () => {
    const before: Task = {
      ...duty(key, 'requested'),
      description: 'Utse fast vårdkontakt',
      restriction: { period: { end: '2026-12-03T12:00:00Z' } },
      for: { reference: 'Patient/p1' },
      businessStatus: { coding: [{ system: CODE_SYSTEM.taskBusinessStatus, code: 'on-time' }] },
      meta: { versionId: '2', lastUpdated: '2026-12-01T10:00:00Z' },
    };
    const after: Task = {
      ...before,
      description: 'Annat',
      restriction: { period: { end: '2026-12-09T12:00:00Z' } },
      for: { reference: 'Patient/p2' },
      code: { text: 'Annat' },
      input: [{ type: { text: 'x' }, valueString: 'y' }],
      meta: { versionId: '2', lastUpdated: '2026-12-01T10:00:00Z', tag: [{ code: 'x' }] },
    };
    expect(requesterChangeIssues(before, after).map((i) => i.path)).toEqual([
      'Task.code',
      'Task.description',
      'Task.for',
      'Task.input',
      'Task.meta',
      'Task.restriction',
    ]);
    const { businessStatus: _gone, ...withoutDeadline } = before;
    const withdrawn: Task = {
      ...withoutDeadline,
      status: 'cancelled',
      statusReason: { text: 'Fel mottagare' },
      note: [{ text: 'Ny kommer' }],
      lastModified: '2026-12-01T11:00:00Z',
      meta: { versionId: '2', lastUpdated: '2026-12-01T11:00:00Z' },
    };
    expect(requesterChangeIssues(before, withdrawn)).toEqual([]);
    expect(requesterChangeIssues(before, { ...before, note: [{ text: 'En rad' }] })).toEqual([]);
    // the deadline status is the gateway's while the Task is open
    const { businessStatus: _dropped, ...open } = before;
    expect(requesterChangeIssues(before, open).map((i) => i.path)).toEqual(['Task.businessStatus']);
  });

  it('when anyone but the unit that owns the FVK Task appoints on it, then no criterion 3; the owner’s write gives it', () => {
    const before = { ...duty(key, 'requested'), owner: { reference: 'Organization/vc-skultuna' } };
    const after = { ...before, status: 'completed' as const };
    const at = '2026-12-01T10:00:00Z';
    expect(fvkAppointedFact(before, after, undefined, at)).toBeUndefined();
    expect(fvkAppointedFact(before, after, 'Organization/hospital', at)).toBeUndefined();
    expect(fvkAppointedFact(undefined, after, 'Organization/vc-skultuna', at)).toBeUndefined();
    expect(fvkAppointedFact(before, after, 'Organization/vc-skultuna', at)).toMatchObject({
      criteria: ['fvk-appointed'],
    });
    // named by an admin first: the unit's own naming still counts
    const named = { ...before, output: who };
    const renamed = { ...before, output: [{ ...who[0]!, valueString: 'B' }] };
    expect(fvkAppointedFact(named, renamed, 'Organization/vc-skultuna', at)).toMatchObject({
      criteria: ['fvk-appointed'],
    });
    expect(
      fvkAppointedFact(named, { ...named, note: [{ text: 'x' }] }, 'Organization/vc-skultuna', at),
    ).toBeUndefined();
  });
});
