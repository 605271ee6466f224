import { describe, expect, it } from 'vitest';
import type { Task } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { ownerChangeIssues } from '../../src/fhir/task-owner-change';

const duty = (key: string, status: Task['status']): Task => ({
  resourceType: 'Task',
  id: 't1',
  status,
  intent: 'order',
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
