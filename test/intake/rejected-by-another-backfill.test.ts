import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encounter, Task } from '@medplum/fhirtypes';
import { READINESS_CRITERIA } from '../../src/core/triage/readiness';
import { CODE_SYSTEM, EXTENSION, TAG_SYSTEM } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { withRejectedByAnother } from '../../src/fhir/task';
import { intakeRepository, intakeServices } from '../../src/intake';
import {
  backfillRejectedByAnother,
  REJECTED_BY_ANOTHER_BACKFILL,
} from '../../src/intake/fhir/rejected-by-another-backfill';
import { testDatabases } from '../support/db';
import { codeOf, ok, VASTERAS, withExtensions } from '../sip/party-client';
import { openDutyWrites, type DutyWrites } from './duty-writes-fixture';
import { isDuty } from './harness';

/**
 * A receiver's Task an admin rejected under 0.19.0 carries no `rejected-by-another` tag (ADR 053: the gateway sets it
 * since 0.20.0), so its owner's own coded rejection in the same content was no version and re-routed nothing. The
 * store knows who wrote each version (its client and tenant): the one-off tags the current versions another than the
 * owner rejected whose rejection made no fact, and leaves the owner's own rejections, counted or not. Through the FHIR
 * API with Västmanland's agreement and the demo region.
 */
const coded = { coding: [{ system: CODE_SYSTEM.taskStatusReason, code: 'ej-folkbokford' }] };
const ADMIN = 'rejections-backfill-admin';

describe.each(testDatabases())('the rejected-by-another tag of Tasks rejected before 0.20.0 on %s', (kind) => {
  let w: DutyWrites;
  beforeAll(async () => {
    w = await openDutyWrites(kind, ADMIN);
  });
  afterAll(async () => {
    await w?.shell.close();
  });

  /** A ready stay of a Västerås patient (all six criteria), and Västerås stad's admission notice of it. */
  const notice = async (ehrId: string, pnr: string): Promise<Task> => {
    const admitted = await w.admit(ehrId, pnr, new Date(Date.now() - 3_600_000).toISOString());
    const ready = [
      ...stayExtensions({ readyAt: new Date(Date.now() - 1_800_000).toISOString() }),
      ...READINESS_CRITERIA.map(({ code }) => ({ url: EXTENSION.readinessCriteria, valueCode: code })),
    ];
    const stay = ok(
      await w.c['demo-ehr']!.put(`/fhir/Encounter/${admitted.id}`, withExtensions(admitted, ready)),
    ) as Encounter;
    const found = (await w.c['demo-ehr']!.tasks({ encounter: `Encounter/${stay.id}` })).find(
      (t) => codeOf(t) === 'inskrivningsmeddelande' && !isDuty(t) && t.owner?.reference === VASTERAS,
    );
    if (!found) throw new Error('no admission notice for Västerås');
    return found;
  };
  const tagged = (t: Task): boolean => (t.meta?.tag ?? []).some((x) => x.system === TAG_SYSTEM.rejectedByAnother);
  const read = async (id: string): Promise<Task> => ok(await w.c['demo-vasteras']!.get(`/fhir/Task/${id}`)) as Task;
  const stayOf = (t: Task): string => (t.encounter?.reference ?? '').replace('Encounter/', '');
  /** The stored version as 0.19.0 left it: the same, without the tag. */
  const untag = async (id: string): Promise<void> => {
    const r = await w.shell.db.query<{ content: string }>(
      `SELECT content FROM fhir_resource WHERE resource_type = 'Task' AND id = $1`,
      [id],
    );
    const t = JSON.parse(r.rows[0]!.content) as Task;
    await w.shell.db.query(`UPDATE fhir_resource SET content = $2 WHERE resource_type = 'Task' AND id = $1`, [
      id,
      JSON.stringify({ ...t, meta: withRejectedByAnother(t, false) }),
    ]);
  };
  const backfill = () => backfillRejectedByAnother(w.shell.db, intakeRepository, intakeServices(w.shell.ctx).deps);

  it('when an admin rejected a notice before 0.20.0, then the one-off tags it, and the owner’s own rejection in the same content then re-routes the stay; the owner’s rejections and one that counted are left as they are', async () => {
    const byAdmin = await notice('backfill-1', '194002031237');
    ok(await w.c[ADMIN]!.put(`/fhir/Task/${byAdmin.id}`, { ...byAdmin, status: 'rejected', statusReason: coded }));
    await untag(byAdmin.id ?? '');
    // as under 0.19.0: the owner's rejection as it reads the Task is no version and re-routes nothing
    const before = await read(byAdmin.id ?? '');
    expect(tagged(before)).toBe(false);
    const noop = ok(await w.c['demo-vasteras']!.put(`/fhir/Task/${before.id}`, before)) as Task;
    expect(noop.meta?.versionId).toBe(before.meta?.versionId);
    expect(await w.facts(stayOf(before), '%#rejected')).toBe(0);

    // the owner's own rejections: with a code (counted) and without one (not counted, but its own)
    const counted = await notice('backfill-2', '194006071239');
    ok(
      await w.c['demo-vasteras']!.put(`/fhir/Task/${counted.id}`, {
        ...counted,
        status: 'rejected',
        statusReason: coded,
      }),
    );
    expect(await w.facts(stayOf(counted), '%#rejected')).toBe(1);
    const uncoded = await notice('backfill-3', '194003041235');
    ok(await w.c['demo-vasteras']!.put(`/fhir/Task/${uncoded.id}`, { ...uncoded, status: 'rejected' }));
    // an admin's rejection before 0.19.0 re-routed the stay (its fact stands): it counted, so no tag
    const before019 = await notice('backfill-4', '194005061231');
    ok(await w.c[ADMIN]!.put(`/fhir/Task/${before019.id}`, { ...before019, status: 'rejected', statusReason: coded }));
    await untag(before019.id ?? '');
    const rejectedVersion = (await read(before019.id ?? '')).meta?.versionId ?? '';
    await w.shell.db.query(
      `INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source) VALUES ($1, $2, 'receiver-rejected', now(), $3, 'fhir')`,
      [
        `fhir:Task/${before019.id}/_history/${rejectedVersion}#rejected`,
        stayOf(before019),
        JSON.stringify({ party: 'municipality:1980', reason: 'ej-folkbokford' }),
      ],
    );
    const untouched = [await read(counted.id ?? ''), await read(uncoded.id ?? ''), await read(before019.id ?? '')];

    await w.shell.db.query('DELETE FROM schema_migrations WHERE name = $1', [REJECTED_BY_ANOTHER_BACKFILL]);
    expect(await backfill()).toBe(1);
    const after = await read(byAdmin.id ?? '');
    expect(tagged(after)).toBe(true);
    expect(Number(after.meta?.versionId)).toBe(Number(before.meta?.versionId) + 1);
    expect([await read(counted.id ?? ''), await read(uncoded.id ?? ''), await read(before019.id ?? '')]).toEqual(
      untouched,
    );

    const own = ok(await w.c['demo-vasteras']!.put(`/fhir/Task/${after.id}`, after)) as Task;
    expect(Number(own.meta?.versionId)).toBe(Number(after.meta?.versionId) + 1);
    expect(tagged(own)).toBe(false);
    expect(await w.facts(stayOf(after), '%#rejected')).toBe(1);
    expect(await backfill()).toBe(0);
  });
});
