import type { CarePlan, Communication, Provenance, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { AccessScope, FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, patient } from './fixtures';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'ok';
}

const scope = (org: string, role: AccessScope['role']): AccessScope => ({
  clientId: `c-${org}`,
  organization: `Organization/${org}`,
  role,
});
const ids = (rs: { id?: string }[]): (string | undefined)[] => rs.map((r) => r.id).sort();

describe.each(testDatabases())('tenant rules of the collaboration resources on %s', (kind) => {
  let db: ClosableDb;
  let system: FhirRepository;
  const repo: Record<string, FhirRepository> = {};
  let plan: CarePlan;
  let sign: Provenance;
  let note: Communication;

  beforeAll(async () => {
    db = await openTestDb(kind);
    system = createRepository(db);
    for (const [org, role] of [
      ['hosp', 'hospital'],
      ['other-hosp', 'hospital'],
      ['kommun-a', 'municipality'],
      ['kommun-b', 'municipality'],
      ['vc-a', 'primary-care'],
      ['hsl-a', 'municipality'],
    ] as const)
      repo[org] = createRepository(db, scope(org, role));
    const p = await system.create(patient('191212121212'));
    const e = await system.create({
      ...encounter('E1', `Patient/${p.id}`),
      serviceProvider: { reference: 'Organization/hosp' },
    });
    plan = await system.create<CarePlan>({
      resourceType: 'CarePlan',
      status: 'draft',
      intent: 'plan',
      subject: { reference: `Patient/${p.id}` },
      encounter: { reference: `Encounter/${e.id}` },
      author: { reference: 'Organization/vc-a' },
      contributor: [{ reference: 'Organization/kommun-a' }],
    });
    sign = await system.create<Provenance>({
      resourceType: 'Provenance',
      target: [{ reference: `CarePlan/${plan.id}/_history/1` }],
      recorded: '2026-05-07T10:00:00Z',
      agent: [{ who: { reference: 'Organization/kommun-a' } }],
    });
    note = await system.create<Communication>({
      resourceType: 'Communication',
      status: 'in-progress',
      encounter: { reference: `Encounter/${e.id}` },
      sender: { reference: 'Organization/kommun-a' },
      recipient: [{ reference: 'Organization/hosp' }],
      payload: [{ contentString: 'Kan komma hem från 14.00' }],
    });
  });
  afterAll(async () => db.close());

  it('when a municipality’s home health care unit is the FVK (Gävleborg), then it and its invitees see its SIP and invitation; its parent municipality uninvited does not', async () => {
    const p2 = await system.create(patient('191212121213'));
    const e2 = await system.create({
      ...encounter('E2', `Patient/${p2.id}`),
      serviceProvider: { reference: 'Organization/hosp' },
    });
    const hslPlan = await system.create<CarePlan>({
      resourceType: 'CarePlan',
      status: 'draft',
      intent: 'plan',
      subject: { reference: `Patient/${p2.id}` },
      encounter: { reference: `Encounter/${e2.id}` },
      author: { reference: 'Organization/hsl-a' },
      contributor: [{ reference: 'Organization/vc-a' }],
    });
    const invite = await system.create<Task>(
      {
        resourceType: 'Task',
        status: 'requested',
        intent: 'order',
        focus: { reference: `CarePlan/${hslPlan.id}` },
        encounter: { reference: `Encounter/${e2.id}` },
        requester: { reference: 'Organization/hsl-a' },
        owner: { reference: 'Organization/vc-a' },
        restriction: { period: { end: '2026-05-08T21:59:59.999Z' } },
      },
      { author: 'c-hsl-a', authorOrganization: 'Organization/hsl-a' },
    ); // written when hsl-a invited (src/sip)
    for (const org of ['hsl-a', 'vc-a', 'hosp'])
      expect((await repo[org]!.read<CarePlan>('CarePlan', hslPlan.id!)).id, org).toBe(hslPlan.id);
    // The invitation: its owner, and the FVK unit whose write made it; the hospital sees the Tasks it requested only.
    for (const org of ['hsl-a', 'vc-a'])
      expect((await repo[org]!.read<Task>('Task', invite.id!)).id, org).toBe(invite.id);
    for (const org of ['kommun-a', 'kommun-b', 'other-hosp']) {
      expect(await code(repo[org]!.read('CarePlan', hslPlan.id!)), org).toBe('not-found');
      expect(await code(repo[org]!.read('Task', invite.id!)), org).toBe('not-found');
      expect(ids((await repo[org]!.search('Task', { focus: `CarePlan/${hslPlan.id}` })).resources)).toEqual([]);
    }
  });

  it('when parties read a SIP, then its author, invited parties and the stay hospital see it and nobody else', async () => {
    for (const org of ['hosp', 'kommun-a', 'vc-a'])
      expect((await repo[org]!.read<CarePlan>('CarePlan', plan.id!)).id).toBe(plan.id);
    for (const org of ['other-hosp', 'kommun-b']) {
      expect(await code(repo[org]!.read('CarePlan', plan.id!))).toBe('not-found');
      expect((await repo[org]!.search('CarePlan', {})).resources).toEqual([]);
    }
  });

  it('when a tenant wrote a version of a SIP and owns a Task that focuses it but is not one of its parties, then it sees nothing of the plan (read, search, include, history) nor writes it; it sees its Task, the stay and its own signature', async () => {
    const p3 = await system.create(patient('191212121214'));
    const e3 = await system.create({
      ...encounter('E3', `Patient/${p3.id}`),
      serviceProvider: { reference: 'Organization/hosp' },
    });
    const base: CarePlan = {
      resourceType: 'CarePlan',
      status: 'draft',
      intent: 'plan',
      subject: { reference: `Patient/${p3.id}` },
      encounter: { reference: `Encounter/${e3.id}` },
      author: { reference: 'Organization/vc-a' },
      contributor: [{ reference: 'Organization/kommun-a' }, { reference: 'Organization/kommun-b' }],
    };
    const left = await system.create<CarePlan>(base);
    // kommun-b writes (and signs) its part while invited; then the author removes it
    const asB = { author: 'c-kommun-b', authorOrganization: 'Organization/kommun-b' };
    await system.update<CarePlan>({ ...left, description: 'Hemtjänst' }, asB);
    const signed = await system.create<Provenance>(
      {
        resourceType: 'Provenance',
        target: [{ reference: `CarePlan/${left.id}/_history/2` }],
        recorded: '2026-05-07T10:00:00Z',
        agent: [{ who: { reference: 'Organization/kommun-b' } }],
      },
      asB,
    );
    const other = await system.create<Provenance>({
      resourceType: 'Provenance',
      target: [{ reference: `CarePlan/${left.id}/_history/2` }],
      recorded: '2026-05-07T10:00:00Z',
      agent: [{ who: { reference: 'Organization/kommun-a' } }],
    });
    const invite = await system.create<Task>({
      resourceType: 'Task',
      status: 'cancelled',
      intent: 'order',
      focus: { reference: `CarePlan/${left.id}` },
      for: { reference: `Patient/${p3.id}` },
      encounter: { reference: `Encounter/${e3.id}` },
      owner: { reference: 'Organization/kommun-b' },
    });
    const now = await system.update<CarePlan>({
      ...(await system.read<CarePlan>('CarePlan', left.id!)),
      contributor: [{ reference: 'Organization/kommun-a' }],
    });
    const b = repo['kommun-b']!;
    expect(await code(b.read('CarePlan', left.id!))).toBe('not-found');
    expect(await code(b.vread('CarePlan', left.id!, '2'))).toBe('not-found');
    expect((await b.search('CarePlan', { encounter: `Encounter/${e3.id}` })).resources).toEqual([]);
    expect(await code(b.history('CarePlan', left.id))).toBe('not-found');
    expect(await b.history('CarePlan')).toEqual([]);
    const tasks = await b.search('Task', { focus: `CarePlan/${left.id}`, _include: 'Task:focus' });
    expect(ids(tasks.resources)).toEqual([invite.id]);
    expect(tasks.included ?? []).toEqual([]);
    expect(await code(b.update({ ...now, description: 'Ändrad' }))).toBe('not-found');
    // its Task, the stay and the patient it points to, and its own signature (not the other party's)
    expect((await b.read('Encounter', e3.id!)).id).toBe(e3.id);
    expect((await b.read('Patient', p3.id!)).id).toBe(p3.id);
    expect(ids((await b.search('Provenance', { target: `CarePlan/${left.id}` })).resources)).toEqual([signed.id]);
    expect(await code(b.read('Provenance', other.id!))).toBe('not-found');
    // the parties still read it, their signatures too
    for (const org of ['hosp', 'kommun-a', 'vc-a']) {
      expect((await repo[org]!.read<CarePlan>('CarePlan', left.id!)).meta?.versionId, org).toBe('3');
      expect((await repo[org]!.history('CarePlan', left.id)).length, org).toBe(3);
    }
    expect(ids((await repo['kommun-a']!.search('Provenance', { target: `CarePlan/${left.id}` })).resources)).toEqual(
      ids([signed, other]),
    );
  });

  it('when parties read a signature, then whoever sees the signed plan sees it and others do not', async () => {
    for (const org of ['hosp', 'kommun-a', 'vc-a'])
      expect(ids((await repo[org]!.search('Provenance', { target: `CarePlan/${plan.id}` })).resources)).toEqual([
        sign.id,
      ]);
    expect(await code(repo['kommun-b']!.read('Provenance', sign.id!))).toBe('not-found');
    expect((await repo['other-hosp']!.search('Provenance', {})).resources).toEqual([]);
  });

  it('when parties read a comment, then only its sender and recipient see it, and only they may update it', async () => {
    expect((await repo['hosp']!.read('Communication', note.id!)).id).toBe(note.id);
    expect((await repo['kommun-a']!.read('Communication', note.id!)).id).toBe(note.id);
    for (const org of ['vc-a', 'kommun-b', 'other-hosp']) {
      expect(await code(repo[org]!.read('Communication', note.id!))).toBe('not-found');
      expect((await repo[org]!.search('Communication', {})).resources).toEqual([]);
      expect(await code(repo[org]!.update({ ...note, status: 'completed' }))).toBe('not-found');
    }
    expect(await code(repo['hosp']!.update({ ...note, status: 'completed', received: '2026-05-07T11:00:00Z' }))).toBe(
      'ok',
    );
  });
});
