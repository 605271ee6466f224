import { describe, expect, it } from 'vitest';
import { matchesSearchRequest } from '@medplum/core';
import type { Encounter, Resource, Task } from '@medplum/fhirtypes';
import { focusValues, indexByNeedle, mayMatch } from '../../src/subscriptions/prefilter';
import { toSearchRequest } from '../../src/subscriptions/subscription-model';

const SVU = 'https://svu-gateway.dev/fhir/CodeSystem/svu-task';
const HSA = 'urn:oid:1.2.752.129.2.1.4.1';

/** Tasks written the ways a store holds them: relative, absolute, versioned, identifier-only and odd-case values. */
function tasks(): Task[] {
  const out: Task[] = [];
  const owners: Task['owner'][] = [
    { reference: 'Organization/org-3' },
    { reference: 'Organization/ORG-3' },
    { reference: 'https://svu-gateway.dev/fhir/Organization/org-3' },
    { reference: 'Organization/org-3/_history/2' },
    { identifier: { system: HSA, value: 'SE2321000065-org3' } },
    { reference: 'Organization/org-4', display: 'Sala kommun' },
    undefined,
  ];
  const codes = ['inskrivningsmeddelande', 'Kallelse-SIP', 'kallelse-sip'];
  let i = 0;
  for (const owner of owners)
    for (const code of codes)
      for (const status of ['requested', 'completed'] as const)
        out.push({
          resourceType: 'Task',
          id: `t-${i++}`,
          status,
          intent: 'order',
          code: { coding: [{ system: SVU, code }], text: 'Meddelande om inskrivning' },
          ...(owner ? { owner } : {}),
          for: { reference: i % 2 ? 'Patient/p-1' : 'Patient/p-2' },
          identifier: [{ system: HSA, value: `task-${i}` }],
          meta: { tag: [{ system: 'https://svu-gateway.dev/tag', code: i % 3 ? 'demo' : 'prod' }] },
        });
  return out;
}

const encounters: Encounter[] = [
  {
    resourceType: 'Encounter',
    id: 'e-1',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    subject: { reference: 'Patient/p-1' },
    serviceProvider: { reference: 'Organization/vs-hospital' },
  },
  {
    resourceType: 'Encounter',
    id: 'e-2',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'imp' },
    subject: { reference: 'https://other.example/fhir/Patient/p-1' },
  },
];

const TASK_CRITERIA = [
  'owner=Organization/org-3',
  'owner=org-3',
  'owner=Organization/org-3,Organization/org-4',
  'owner=https://svu-gateway.dev/fhir/Organization/org-3',
  'owner=Organization/org-3/_history/2',
  `owner:identifier=${HSA}|SE2321000065-org3`,
  'owner:missing=true',
  'owner:not=Organization/org-3',
  'code=kallelse-sip',
  `code=${SVU}|kallelse-sip`,
  `code=${SVU}|`,
  'code=|kallelse-sip',
  'code:text=meddelande',
  'status=requested',
  'status=requested,completed',
  'status:not=completed',
  'status=requested&owner=Organization/org-3&code=inskrivningsmeddelande',
  `identifier=${HSA}|task-3`,
  'identifier=task-4',
  'subject=Patient/p-1',
  'patient=Patient/p-2',
  '_id=t-5',
  '_tag=demo',
  'intent=order',
  'authored-on=ge2026-01-01',
];

const ENCOUNTER_CRITERIA = [
  'class=IMP',
  'class=imp',
  'status=in-progress',
  'subject=Patient/p-1',
  'patient=Patient/p-1',
  'service-provider=Organization/vs-hospital',
  'service-provider:missing=true',
];

function pairs(resources: Resource[], criteria: string[]) {
  return resources.flatMap((r) =>
    criteria.map((c) => {
      const request = toSearchRequest(r.resourceType, c);
      return { r, c, matches: matchesSearchRequest(r, request), may: mayMatch(focusValues(r), request) };
    }),
  );
}

describe('subscription prefilter', () => {
  it('never rejects a resource that @medplum/core matches, and rejects most that it does not', () => {
    const all = [...pairs(tasks(), TASK_CRITERIA), ...pairs(encounters, ENCOUNTER_CRITERIA)];
    const missed = all.filter((p) => p.matches && !p.may).map((p) => `${p.r.id} ${p.c}`);
    expect(missed).toEqual([]);
    const matched = all.filter((p) => p.matches).length;
    const nonMatching = all.filter((p) => !p.matches);
    const rejected = nonMatching.filter((p) => !p.may).length;
    // The pairs are varied enough to test both sides.
    expect(matched).toBeGreaterThan(150);
    expect(rejected / nonMatching.length).toBeGreaterThan(0.5);
  });

  it('rejects a Task owned by another organisation without asking @medplum/core', () => {
    const task = tasks()[0]!;
    expect(mayMatch(focusValues(task), toSearchRequest('Task', 'owner=Organization/org-9'))).toBe(false);
    expect(mayMatch(focusValues(task), toSearchRequest('Task', 'owner=Organization/org-3'))).toBe(true);
    expect(mayMatch(focusValues(task), toSearchRequest('Task', 'code=utskrivningsklar'))).toBe(false);
  });

  it('leaves to @medplum/core what it does not understand (dates, modifiers, other characters)', () => {
    const task = tasks()[0]!;
    const values = focusValues(task);
    for (const c of ['authored-on=ge2030-01-01', 'owner:not=Organization/org-3', 'code:text=zzz', 'owner=x y'])
      expect(mayMatch(values, toSearchRequest('Task', c)), c).toBe(true);
  });

  it("finds, through its index, every subscription a change matches, in the subscriptions' order", () => {
    const subscriptions = [
      ...TASK_CRITERIA.map((c) => ({ type: 'Task', c })),
      ...ENCOUNTER_CRITERIA.map((c) => ({ type: 'Encounter', c })),
      // A region's other municipalities: each owns none of these Tasks.
      ...Array.from({ length: 300 }, (_, i) => ({ type: 'Task', c: `owner=Organization/idle-${i}` })),
    ];
    const index = indexByNeedle(
      subscriptions,
      (s) => s.type,
      (s) => toSearchRequest(s.type, s.c),
    );
    expect(index.has('Task')).toBe(true);
    expect(index.has('CarePlan')).toBe(false);
    for (const r of [...tasks(), ...encounters]) {
      const found = index.candidates(r.resourceType, focusValues(r));
      const matching = subscriptions.filter(
        (s) => s.type === r.resourceType && matchesSearchRequest(r, toSearchRequest(s.type, s.c)),
      );
      expect(found.filter((s) => matching.includes(s))).toEqual(matching);
      expect(found.length).toBeLessThan(TASK_CRITERIA.length + 1);
    }
  });
});

describe('criteria on the gateway’s own search parameters', () => {
  it('when a Subscription filters on Task deadline or CarePlan contributor, then notifications match as a search would', () => {
    const task: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      restriction: { period: { end: '2026-03-01T10:00:00Z' } },
    };
    expect(matchesSearchRequest(task, toSearchRequest('Task', 'deadline=ge2026-02-01'))).toBe(true);
    expect(matchesSearchRequest(task, toSearchRequest('Task', 'deadline=lt2026-02-01'))).toBe(false);
    const plan = {
      resourceType: 'CarePlan' as const,
      status: 'draft' as const,
      intent: 'plan' as const,
      subject: { reference: 'Patient/p' },
      contributor: [{ reference: 'Organization/kommun-1980' }],
    };
    expect(matchesSearchRequest(plan, toSearchRequest('CarePlan', 'contributor=Organization/kommun-1980'))).toBe(true);
    expect(matchesSearchRequest(plan, toSearchRequest('CarePlan', 'contributor=Organization/kommun-1981'))).toBe(false);
  });
});
