import type { Task } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, task } from '../store/fixtures';
import { testApp, testClients } from './app';

const FHIR = 'application/fhir+json';

// An update that creates (PUT with a new id, a conditional PUT that matches nothing) is a create: a client whose token
// may update a type but not create it (a municipality's system/Task.rus) creates nothing that way, and the answer is
// the same whether the id is free or taken by a resource it cannot read (docs/security.md, "Where a token is needed")
describe.each(testDatabases())('update as create needs the create scope, on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  let sys: FhirRepository;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    db = await openTestDb(kind);
    sys = createRepository(db);
    ids.vasteras = (await sys.create(municipality('1980', 'Västerås stad'))).id!;
    ids.sala = (await sys.create(municipality('1981', 'Sala kommun'))).id!;
    const p = await sys.create(patient('191212121212'));
    const e = await sys.create(encounter('E1', `Patient/${p.id}`));
    const own = `Organization/${ids.vasteras}`;
    ids.own = (await sys.create(task('inskrivningsmeddelande', own, `Patient/${p.id}`, `Encounter/${e.id}`))).id!;
    const other = `Organization/${ids.sala}`;
    ids.other = (await sys.create(task('inskrivningsmeddelande', other, `Patient/${p.id}`, `Encounter/${e.id}`))).id!;
    app = testApp(db, await createValidator(), testClients(ids.vasteras, ids.sala));
  });
  afterAll(async () => db.close());

  const put = (who: string, url: string, body: unknown) =>
    request(app).put(url).set('x-test-as', who).set('Content-Type', FHIR).send(JSON.stringify(body));
  const mine = (id: string) => ({
    resourceType: 'Task',
    id,
    status: 'requested',
    intent: 'order',
    owner: { reference: `Organization/${ids.vasteras}` },
  });
  const stored = async (id: string) =>
    sys.read('Task', id).then(
      () => true,
      () => false,
    );

  it('when a client without create scope PUTs a new id, then nothing is created and it reads as a hidden one', async () => {
    const fresh = await put('vasteras', '/fhir/Task/fresh-1', mine('fresh-1'));
    const hidden = await put('vasteras', `/fhir/Task/${ids.other}`, mine(ids.other!));
    expect([fresh.status, hidden.status]).toEqual([404, 404]);
    const text = (r: request.Response, id: string) => String(r.body.issue[0].diagnostics).replace(id, '<id>');
    expect(text(fresh, 'fresh-1')).toBe(text(hidden, ids.other!));
    expect(await stored('fresh-1')).toBe(false);
    // in a Bundle too
    const b = await request(app)
      .post('/fhir')
      .set('x-test-as', 'vasteras')
      .set('Content-Type', FHIR)
      .send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'batch',
          entry: [{ resource: mine('fresh-2'), request: { method: 'PUT', url: 'Task/fresh-2' } }],
        }),
      );
    expect(b.body.entry[0].response.status).toMatch(/^404/);
    expect(await stored('fresh-2')).toBe(false);
  });

  it('when a client without create scope PUTs conditionally and nothing matches, then 403 names the create scope', async () => {
    const r = await put('vasteras', '/fhir/Task?identifier=urn:x|nothing', { ...mine('x'), id: undefined });
    expect(r.status).toBe(403);
    expect(r.body.issue[0].diagnostics).toMatch(/system\/Task\.c/);
    // with an id of its own in the body: as the PUT of that id
    expect((await put('vasteras', '/fhir/Task?identifier=urn:x|nothing', mine('fresh-3'))).status).toBe(404);
    expect(await stored('fresh-3')).toBe(false);
    expect((await sys.search('Task', { identifier: 'urn:x|nothing' })).resources).toHaveLength(0);
  });

  it('when it updates what it may, or a client with create scope PUTs a new id, then both are written', async () => {
    const t = await sys.read<Task>('Task', ids.own!);
    expect((await put('vasteras', `/fhir/Task/${ids.own}`, { ...t, status: 'received' })).status).toBe(200);
    const ok = await put('otherEhr', '/fhir/Task/fresh-4', {
      ...mine('fresh-4'),
      requester: { reference: 'Organization/other-hosp' },
    });
    expect(ok.status).toBe(201);
  });
});
