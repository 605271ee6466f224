import type { Bundle } from '@medplum/fhirtypes';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { SUBSCRIPTION_SECRET_URL } from '../../src/store/resource-util';
import { openTestDb, testDatabases } from '../support/db';
import { EHR_ENCOUNTER, encounter, municipality, patient, PNR, pnr, task } from '../store/fixtures';
import { BASE, testApp, testClients } from './app';

const FHIR = 'application/fhir+json';

function admission(personnummer: string, ehrId: string): Bundle {
  const pUrl = `urn:uuid:${crypto.randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: pUrl,
        resource: patient(personnummer),
        request: { method: 'PUT', url: `Patient?identifier=${PNR}|${personnummer}` },
      },
      {
        fullUrl: `urn:uuid:${crypto.randomUUID()}`,
        resource: encounter(ehrId, pUrl),
        request: { method: 'PUT', url: `Encounter?identifier=${EHR_ENCOUNTER}|${ehrId}` },
      },
    ],
  };
}

describe.each(testDatabases())('FHIR Bundles and tenants over HTTP on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  const org: Record<string, string> = {};
  beforeAll(async () => {
    db = await openTestDb(kind);
    const sys = createRepository(db);
    org.vasteras = (await sys.create(municipality('1980', 'Västerås stad'))).id!;
    org.sala = (await sys.create(municipality('1981', 'Sala kommun'))).id!;
    app = testApp(db, await createValidator(), testClients(org.vasteras, org.sala));
  });
  afterAll(async () => db.close());

  const send = (who: string, method: 'post' | 'put', url: string, body: unknown) =>
    request(app)[method](url).set('x-test-as', who).set('Content-Type', FHIR).send(JSON.stringify(body));
  const get = (who: string, url: string) => request(app).get(url).set('x-test-as', who);

  it('when a transaction Bundle admits a patient, then urn:uuid references resolve and locations are absolute', async () => {
    const r = await send('ehr', 'post', '/fhir', admission(pnr('19121212', '121'), 'H-1'));
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('transaction-response');
    const [p, e] = r.body.entry;
    expect(p.response.status).toBe('201 Created');
    expect(p.response.location).toMatch(new RegExp(`^${BASE}/Patient/`));
    expect(e.resource.subject.reference).toBe(`Patient/${p.resource.id}`);
    const again = await send('ehr', 'post', '/fhir', admission(pnr('19121212', '121'), 'H-1'));
    expect(again.body.entry.map((x: { response: { status: string } }) => x.response.status)).toEqual([
      '200 OK',
      '200 OK',
    ]);
  });

  it('when one entry of a transaction is invalid, then 422 names the entry and nothing is stored', async () => {
    const b = admission(pnr('19450101'), 'H-2');
    (b.entry![1]!.resource as { status: string }).status = 'bogus';
    const r = await send('ehr', 'post', '/fhir', b);
    expect(r.status).toBe(422);
    expect(r.body.issue[0].diagnostics).toMatch(/Bundle\.entry\[1\]/);
    expect((await get('ehr', `/fhir/Patient?identifier=${pnr('19450101')}`)).body.entry).toHaveLength(0);
  });

  it('when an entry fails inside the store, then the whole transaction rolls back with its status', async () => {
    const b = admission(pnr('19460101'), 'H-3');
    b.entry!.push({
      resource: { ...patient(pnr('19460101')), id: 'nope' },
      request: { method: 'PUT', url: 'Patient/nope', ifMatch: 'W/"3"' },
    });
    const r = await send('ehr', 'post', '/fhir', b);
    expect(r.status).toBe(412);
    expect(r.body.issue[0].diagnostics).toMatch(/Bundle\.entry\[2\]/);
    expect((await get('ehr', `/fhir/Encounter?identifier=H-3`)).body.entry).toHaveLength(0);
  });

  it('when a batch has an entry the caller may not do, then that entry gets 403 and the others run', async () => {
    const r = await send('ehr', 'post', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient(pnr('19470101')), request: { method: 'POST', url: 'Patient' } },
        {
          resource: {
            resourceType: 'Subscription',
            status: 'requested',
            reason: 'x',
            criteria: 'Task?',
            channel: { type: 'rest-hook' },
          },
          request: { method: 'POST', url: 'Subscription' },
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '201 Created',
      '403 Forbidden',
    ]);
    expect(r.body.entry[1].response.outcome.issue[0].code).toBe('forbidden');
    const tx = await send('ehr', 'post', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'DELETE', url: 'Organization/x' } }],
    });
    expect(tx.status).toBe(403);
  });

  it('when a municipality searches, then it sees its own Tasks with their patients included, and nothing else', async () => {
    const sys = createRepository(db);
    const adm = await send('ehr', 'post', '/fhir', admission(pnr('19480101'), 'H-4'));
    const [p, e] = adm.body.entry.map((x: { resource: { id: string } }) => x.resource.id);
    const other = await send('ehr', 'post', '/fhir', admission(pnr('19490101'), 'H-5'));
    const [p2, e2] = other.body.entry.map((x: { resource: { id: string } }) => x.resource.id);
    const t = await sys.create(
      task('inskrivningsmeddelande', `Organization/${org.vasteras}`, `Patient/${p}`, `Encounter/${e}`, {
        businessStatus: { coding: [{ code: 'overdue' }] },
      }),
    );
    await sys.create(task('inskrivningsmeddelande', `Organization/${org.sala}`, `Patient/${p2}`, `Encounter/${e2}`));
    const r = await get('vasteras', '/fhir/Task?_include=Task:patient&_include=Task:encounter&_total=accurate');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(1);
    const modes = r.body.entry.map(
      (x: { resource: { resourceType: string; id: string }; search: { mode: string } }) =>
        `${x.search.mode}:${x.resource.resourceType}/${x.resource.id}`,
    );
    expect(modes.sort()).toEqual([`include:Encounter/${e}`, `include:Patient/${p}`, `match:Task/${t.id}`].sort());
    expect((await get('vasteras', '/fhir/Task?business-status=overdue')).body.entry).toHaveLength(1);
    expect((await get('vasteras', `/fhir/Patient/${p2}`)).status).toBe(404);
    expect((await get('sala', `/fhir/Task/${t.id}`)).status).toBe(404);
    expect((await get('otherEhr', `/fhir/Encounter/${e}`)).status).toBe(404);
    expect((await get('admin', `/fhir/Encounter/${e}`)).status).toBe(200);
    expect(
      (await get('sala', '/fhir/Organization?identifier=urn:oid:1.2.752.129.2.2.1.17|1980')).body.entry,
    ).toHaveLength(1);
  });

  it('when a municipality creates a Subscription with a secret, then the secret is never returned to it', async () => {
    const sub = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'Tasks for Västerås',
      criteria: `Task?owner=Organization/${org.vasteras}`,
      channel: { type: 'rest-hook', endpoint: 'https://vasteras.example/hook', payload: 'application/fhir+json' },
      extension: [{ url: SUBSCRIPTION_SECRET_URL, valueString: 'topsecret' }],
    };
    const r = await send('vasteras', 'post', '/fhir/Subscription', sub);
    expect(r.status).toBe(201);
    expect(JSON.stringify(r.body)).not.toContain('topsecret');
    expect(JSON.stringify((await get('vasteras', `/fhir/Subscription/${r.body.id}`)).body)).not.toContain('topsecret');
    expect(JSON.stringify((await get('vasteras', '/fhir/Subscription')).body)).not.toContain('topsecret');
    expect(JSON.stringify((await get('admin', `/fhir/Subscription/${r.body.id}/_history`)).body)).not.toContain(
      'topsecret',
    );
    expect((await get('sala', `/fhir/Subscription/${r.body.id}`)).status).toBe(404);
  });
});
