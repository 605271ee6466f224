import type { Bundle } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { MAX_REVINCLUDED } from '../../src/store/read-sql';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, pnr, task } from '../store/fixtures';
import { testApp, testClients } from './app';

describe.each(testDatabases())('_revinclude is bounded per page on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  let stay = '';

  beforeAll(async () => {
    db = await openTestDb(kind);
    const sys = createRepository(db);
    const vasteras = (await sys.create(municipality('1980', 'Västerås stad'))).id!;
    const sala = (await sys.create(municipality('1981', 'Sala kommun'))).id!;
    const p = await sys.create(patient(pnr('19400101', '123')));
    const e = await sys.create(encounter('E-CAP', `Patient/${p.id}`));
    stay = e.id!;
    const owner = `Organization/${vasteras}`;
    // One more Task of the stay than the cap allows.
    for (let i = 0; i <= MAX_REVINCLUDED; i += 50) {
      const n = Math.min(50, MAX_REVINCLUDED + 1 - i);
      await Promise.all(
        Array.from({ length: n }, () =>
          sys.create(task('inskrivningsmeddelande', owner, `Patient/${p.id}`, `Encounter/${e.id}`)),
        ),
      );
    }
    app = testApp(db, await createValidator(), testClients(vasteras, sala));
  }, 180_000);
  afterAll(async () => {
    await db.close();
  });

  it(`when a page's _revinclude would bring more than ${MAX_REVINCLUDED} resources, then it brings exactly that many and says so`, async () => {
    const r = await request(app)
      .get(`/fhir/Encounter?_id=${stay}&_revinclude=Task:encounter`)
      .set('x-test-as', 'admin');
    expect(r.status).toBe(200);
    const b = r.body as Bundle;
    const included = (b.entry ?? []).filter((x) => x.search?.mode === 'include');
    expect(included).toHaveLength(MAX_REVINCLUDED);
    expect(new Set(included.map((x) => x.resource?.id)).size).toBe(MAX_REVINCLUDED);
    const outcome = (b.entry ?? []).find((x) => x.search?.mode === 'outcome')?.resource;
    expect(JSON.stringify(outcome)).toContain('too-costly');
    expect(JSON.stringify(outcome)).toContain(`more than ${MAX_REVINCLUDED}`);
  }, 60_000);
});
