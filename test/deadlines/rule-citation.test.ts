import type { Task } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { citeDeadlineRule } from '../../src/deadlines/rule-citation';
import { buildTask } from '../../src/fhir/task';
import { EXTENSION } from '../../src/fhir/constants';

const withRule = (valueString: string): Task => ({
  resourceType: 'Task',
  status: 'requested',
  intent: 'order',
  extension: [{ url: EXTENSION.deadlineRule, valueString }],
});

describe('the rule behind a deadline, as a person reads it', () => {
  it("names the agreement's document by its title and section, from the extension the engine's Tasks carry", async () => {
    const agreements = await loadAgreements();
    const vastmanland = agreements.get('vastmanland')!;
    const rule = vastmanland.tasks.inskrivningsmeddelande.deadline!;
    const task = buildTask(
      {
        key: 'inskrivningsmeddelande@municipality:1980',
        code: 'inskrivningsmeddelande',
        owner: { kind: 'municipality', code: '1980' },
        requester: { kind: 'hospital' },
        due: Date.parse('2026-03-11T07:00:00Z'),
        deadlineRule: { agreement: 'vastmanland', rule: 'tasks.inskrivningsmeddelande.deadline', source: rule.source },
        status: 'requested',
      } as never,
      {
        stayId: 's1',
        encounter: { reference: 'Encounter/s1' },
        party: () => ({ reference: 'Organization/x' }),
      } as never,
    );
    const cited = citeDeadlineRule(task, vastmanland);
    const title = vastmanland.sources.find((s) => s.document === rule.source.document)?.title;
    expect(title).toBeTruthy();
    expect(cited).toBe(`${title}, avsnitt ${rule.source.section}`);
    expect(cited).not.toContain('.txt');
    expect(cited).not.toContain('vastmanland/');
  });

  it('writes a named section as it is, a document the agreement does not list by its name, and keeps an unreadable form', async () => {
    const agreements = await loadAgreements();
    const jonkoping = agreements.get('jonkoping')!;
    const doc = jonkoping.sources[0]!;
    expect(citeDeadlineRule(withRule(`jonkoping/x (${doc.document} Steg 3, Kommun)`), jonkoping)).toBe(
      `${doc.title}, Steg 3, Kommun`,
    );
    expect(citeDeadlineRule(withRule('lag/x (SFS 2017:612 2 kap. 5 §)'), jonkoping)).toBe('SFS 2017:612, 2 kap. 5 §');
    expect(citeDeadlineRule(withRule('no parenthesis'), jonkoping)).toBe('no parenthesis');
    expect(citeDeadlineRule({ resourceType: 'Task', status: 'requested', intent: 'order' }, jonkoping)).toBeUndefined();
  });
});
