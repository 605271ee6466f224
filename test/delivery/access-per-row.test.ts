import { afterEach, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import type { ClosableDb } from '../../src/store/db.port';
import type { AccessScope } from '../../src/store/repository.port';
import { accessPredicate, SqlParams } from '../../src/store/access-sql';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';

/**
 * The delivery access re-check uses the store's tenant rules in their per-row form (`perRow`): for every
 * scope and type it must let through exactly what the set form (the one reads use) lets through.
 */
describe.each(testDatabases())('tenant rules per row on %s', (kind) => {
  let db: ClosableDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  async function visible(scope: AccessScope, type: string, perRow: boolean): Promise<string[]> {
    const params = new SqlParams();
    const where = [`r.resource_type = ${params.add(type)}`, 'NOT r.deleted'];
    const access = accessPredicate(scope, 'r', params, type, { perRow });
    if (access) where.push(access);
    const { rows } = await db!.query<{ id: string }>(
      `SELECT r.id FROM fhir_resource r WHERE ${where.join(' AND ')} ORDER BY r.id`,
      params.values,
    );
    return rows.map((r) => r.id);
  }

  it('when Tasks, their patients and stays belong to different organisations, then the per-row rules see exactly what the set rules see', async () => {
    db = await openTestDb(kind);
    const system = createRepository(db, { system: true });
    const put = (r: Resource): Promise<Resource> => system.create(r);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const patient = await put({ resourceType: 'Patient', active: true });
      const stay = await put({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'IMP' } });
      ids.push(patient.id!, stay.id!);
      await put({
        resourceType: 'Task',
        status: 'requested',
        intent: 'order',
        owner: { reference: `Organization/org-${i % 3}` },
        requester: { reference: `Organization/hosp-${i % 2}` },
        for: { reference: `Patient/${patient.id}` },
        encounter: { reference: `Encounter/${stay.id}` },
      });
    }
    // A Patient no Task points to, written by org-1 itself (writer rule).
    await createRepository(db, { organization: 'Organization/org-1', role: 'municipality' }).create({
      resourceType: 'Patient',
      active: true,
    });
    const scopes: AccessScope[] = [
      { organization: 'Organization/org-0', role: 'municipality' },
      { organization: 'Organization/org-1', role: 'primary-care' },
      { organization: 'Organization/hosp-1', role: 'hospital' },
      { organization: 'Organization/nobody', role: 'municipality' },
    ];
    let seen = 0;
    for (const scope of scopes)
      for (const type of ['Task', 'Patient', 'Encounter']) {
        const set = await visible(scope, type, false);
        expect(await visible(scope, type, true), `${scope.organization} ${type}`).toEqual(set);
        seen += set.length;
      }
    // The comparison is not vacuous: the scopes do see some, and not all, of the resources.
    expect(seen).toBeGreaterThan(10);
    expect(await visible(scopes[0]!, 'Task', true)).toHaveLength(2);
    expect(await visible(scopes[2]!, 'Patient', true)).toHaveLength(3);
  });
});
