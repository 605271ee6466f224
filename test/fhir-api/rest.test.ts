import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, type Validator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';
import { encounter, municipality, patient, PNR, pnr } from '../store/fixtures';
import { BASE, testApp, testClients } from './app';

const FHIR = 'application/fhir+json';

describe.each(testDatabases())('FHIR REST interactions on %s', (kind) => {
  let db: ClosableDb;
  let validator: Validator;
  let app: Express;
  beforeAll(async () => {
    db = await openTestDb(kind);
    validator = await createValidator();
    const sys = createRepository(db);
    const v = await sys.create(municipality('1980', 'Västerås stad'));
    const s = await sys.create(municipality('1981', 'Sala kommun'));
    app = testApp(db, validator, testClients(v.id!, s.id!), { maxBodyBytes: 20_000 });
  });
  afterAll(async () => db.close());

  const as = (who: string) => ({
    get: (url: string) => request(app).get(url).set('x-test-as', who),
    post: (url: string, body?: unknown) =>
      request(app).post(url).set('x-test-as', who).set('Content-Type', FHIR).send(JSON.stringify(body)),
    put: (url: string, body?: unknown) =>
      request(app).put(url).set('x-test-as', who).set('Content-Type', FHIR).send(JSON.stringify(body)),
    delete: (url: string) => request(app).delete(url).set('x-test-as', who),
  });
  const ehr = as('ehr');

  it('when the CapabilityStatement is fetched without a token, then it lists the types, search parameters and SMART', async () => {
    const r = await request(app).get('/fhir/metadata');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('application/fhir+json');
    const task = r.body.rest[0].resource.find((x: { type: string }) => x.type === 'Task');
    expect(task.searchParam.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['business-status', 'owner', '_lastUpdated']),
    );
    expect(task.searchInclude).toEqual(expect.arrayContaining(['Task:patient', 'Task:encounter']));
    expect(r.body.rest[0].security.service[0].coding[0].code).toBe('SMART-on-FHIR');
  });

  it('when a client reads again what it already has (If-None-Match, If-Modified-Since), then 304 without a body', async () => {
    const r = await ehr.post('/fhir/Patient', patient(pnr('19121212', '139')));
    const url = `/fhir/Patient/${r.body.id}`;
    const same = await ehr.get(url).set('If-None-Match', 'W/"1"');
    expect(same.status).toBe(304);
    expect(same.text).toBe('');
    expect(same.headers.etag).toBe('W/"1"');
    expect((await ehr.get(`${url}/_history/1`).set('If-None-Match', 'W/"1"')).status).toBe(304);
    expect((await ehr.get(url).set('If-Modified-Since', String(same.headers['last-modified']))).status).toBe(304);
    await ehr.put(url, { ...r.body, gender: 'female' });
    const changed = await ehr.get(url).set('If-None-Match', 'W/"1"');
    expect(changed.status).toBe(200);
    expect(changed.body.gender).toBe('female');
    expect(changed.headers.etag).toBe('W/"2"');
    const earlier = new Date(Date.now() - 3_600_000).toUTCString();
    expect((await ehr.get(url).set('If-Modified-Since', earlier)).status).toBe(200);
  });

  it('when a Patient is created, then 201 with Location and ETag, and read and vread return it', async () => {
    const r = await ehr.post('/fhir/Patient', patient(pnr('19121212', '121')));
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe(`${BASE}/Patient/${r.body.id}/_history/1`);
    expect(r.headers.etag).toBe('W/"1"');
    const read = await ehr.get(`/fhir/Patient/${r.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(r.body);
    expect(read.headers.etag).toBe('W/"1"');
    expect((await ehr.get(`/fhir/Patient/${r.body.id}/_history/1`)).body.id).toBe(r.body.id);
    expect((await ehr.get(`/fhir/Patient/${r.body.id}/_history/9`)).status).toBe(404);
  });

  it('when an update carries a stale If-Match, then 412 with a conflict OperationOutcome', async () => {
    const p = (await ehr.post('/fhir/Patient', patient(pnr('19300101')))).body;
    const ok = await ehr.put(`/fhir/Patient/${p.id}`, { ...p, gender: 'male' }).set('If-Match', 'W/"1"');
    expect(ok.status).toBe(200);
    expect(ok.body.meta.versionId).toBe('2');
    const stale = await ehr.put(`/fhir/Patient/${p.id}`, { ...p, gender: 'female' }).set('If-Match', 'W/"1"');
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    expect(stale.body.issue[0].code).toBe('conflict');
    expect(stale.body.issue[0].diagnostics).toMatch(/version 2/);
  });

  it('when the body is malformed, mismatched, invalid or too large, then 400, 400, 422 and 413 OperationOutcomes', async () => {
    const bad = await request(app)
      .post('/fhir/Patient')
      .set('x-test-as', 'ehr')
      .set('Content-Type', FHIR)
      .send('{"resourceType": "Patient",');
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].diagnostics).toMatch(/not valid JSON/);
    expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.ts:\d+/);
    expect((await ehr.post('/fhir/Patient', encounter('X', 'Patient/1'))).status).toBe(400);
    const p = (await ehr.post('/fhir/Patient', patient(pnr('19310101')))).body;
    const idMismatch = await ehr.put(`/fhir/Patient/${p.id}`, { ...p, id: 'other' });
    expect(idMismatch.status).toBe(400);
    const invalid = await ehr.post('/fhir/Encounter', { ...encounter('X', `Patient/${p.id}`), status: 'bogus' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.issue.some((i: { expression?: string[] }) => i.expression?.[0]?.includes('status'))).toBe(true);
    const big = await ehr.post('/fhir/Patient', {
      ...patient(pnr('19320101')),
      text: { status: 'generated', div: `<div>${'x'.repeat(30_000)}</div>` },
    });
    expect(big.status).toBe(413);
    expect(big.body.issue[0].code).toBe('too-long');
  });

  it('when there is no caller or the scope is missing, then 401 and 403 OperationOutcomes', async () => {
    const none = await request(app).get('/fhir/Patient');
    expect(none.status).toBe(401);
    const r = await as('vasteras').post('/fhir/Patient', patient(pnr('19330101')));
    expect(r.status).toBe(403);
    expect(r.body.issue[0].code).toBe('forbidden');
    expect(r.body.issue[0].diagnostics).toMatch(/system\/Patient\.c/);
  });

  it('when a type, parameter or operation is unknown, then 404, 400 and 404 OperationOutcomes', async () => {
    expect((await ehr.get('/fhir/Basic')).status).toBe(404);
    const param = await ehr.get('/fhir/Patient?shoe-size=42');
    expect(param.status).toBe(400);
    expect(param.body.issue[0].diagnostics).toMatch(/shoe-size/);
    expect((await ehr.get('/fhir/Patient/$everything')).status).toBe(404);
    expect((await ehr.post('/fhir/Patient/123/$frobnicate', {})).status).toBe(404);
  });

  it('when If-None-Exist matches, then the existing resource is answered with 200 and nothing is created', async () => {
    const id = pnr('19400101');
    const first = await ehr.post('/fhir/Patient', patient(id)).set('If-None-Exist', `identifier=${PNR}|${id}`);
    const second = await ehr.post('/fhir/Patient', patient(id)).set('If-None-Exist', `identifier=${PNR}|${id}`);
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.id).toBe(first.body.id);
  });

  it('when PUT names search criteria, then it creates once and updates after', async () => {
    const id = pnr('19410101');
    const a = await ehr.put(`/fhir/Patient?identifier=${PNR}|${id}`, patient(id));
    const b = await ehr.put(`/fhir/Patient?identifier=${PNR}|${id}`, { ...patient(id), gender: 'female' });
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(b.body.id).toBe(a.body.id);
    expect(b.body.meta.versionId).toBe('2');
  });

  it('when a resource is deleted, then read answers 410 and history lists the deletion', async () => {
    const p = (await ehr.post('/fhir/Patient', patient(pnr('19420101')))).body;
    expect((await ehr.delete(`/fhir/Patient/${p.id}`)).status).toBe(204);
    const gone = await ehr.get(`/fhir/Patient/${p.id}`);
    expect(gone.status).toBe(410);
    expect(gone.body.issue[0].code).toBe('deleted');
    const h = await ehr.get(`/fhir/Patient/${p.id}/_history`);
    expect(h.body.type).toBe('history');
    expect(h.body.entry.map((e: { request: { method: string } }) => e.request.method)).toEqual(['DELETE', 'POST']);
    expect((await ehr.get('/fhir/Patient/_history?_count=1')).body.entry).toHaveLength(1);
  });

  it('when a history has more versions than a page, then next links read them all, newest first, each once', async () => {
    const p = (await ehr.post('/fhir/Patient', patient(pnr('19470101', '211')))).body;
    for (const gender of ['female', 'male', 'other', 'unknown', 'female'] as const)
      await ehr.put(`/fhir/Patient/${p.id}`, { ...p, gender });
    const versions: string[] = [];
    let url: string | undefined = `/fhir/Patient/${p.id}/_history?_count=2`;
    let pages = 0;
    while (url) {
      const page = await ehr.get(url);
      expect(page.status).toBe(200);
      versions.push(...page.body.entry.map((e: { response: { etag: string } }) => e.response.etag));
      const next = page.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
      url = next?.replace(BASE, '/fhir');
      if (++pages > 10) break;
    }
    expect(versions).toEqual(['W/"6"', 'W/"5"', 'W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
    expect(pages).toBe(4); // the last full page's next link answers an empty page
    expect((await ehr.get(`/fhir/Patient/${p.id}/_history?_offset=x`)).status).toBe(400);
  });

  it('when a search names a parameter the gateway does not support, then 400; with Prefer handling=lenient it is ignored and said so', async () => {
    const family = `Lenient${kind}`;
    await ehr.post('/fhir/Patient', patient(pnr('19480101', '311'), family));
    const url = `/fhir/Patient?family=${family}&vendor-flag=1&deceased=false`;
    const strict = await ehr.get(url);
    expect(strict.status).toBe(400);
    expect(strict.body.issue[0].diagnostics).toMatch(/Unknown search parameter 'vendor-flag'/);
    const lenient = await ehr.get(url).set('Prefer', 'handling=lenient');
    expect(lenient.status).toBe(200);
    const entries = lenient.body.entry as {
      resource: { resourceType: string; issue?: { diagnostics: string }[] };
      search: { mode: string };
    }[];
    expect(entries.filter((e) => e.search.mode === 'match')).toHaveLength(1);
    const outcome = entries.find((e) => e.search.mode === 'outcome')?.resource;
    expect(outcome?.issue?.map((i) => i.diagnostics)).toEqual([
      expect.stringMatching(/'vendor-flag' is not supported for Patient: ignored/),
      expect.stringMatching(/'deceased' is not supported for Patient: ignored/),
    ]);
    expect(lenient.body.link[0].url).toBe(`${BASE}/Patient?family=${family}`);
    // what cannot be understood is still refused
    expect((await ehr.get(`${url}&_count=many`).set('Prefer', 'handling=lenient')).status).toBe(400);
    // an unknown name inside a chain or a _has is an unknown parameter too
    for (const key of [
      'general-practitioner:Organization.nosuch',
      'organization.partof.nosuch',
      '_has:Task:nosuch:status',
      '_has:Task:patient:nosuch',
    ]) {
      const q = `/fhir/Patient?family=${family}&${key}=1`;
      expect((await ehr.get(q)).status, key).toBe(400);
      const r = await ehr.get(q).set('Prefer', 'handling=lenient');
      expect(r.status, key).toBe(200);
      expect(
        JSON.stringify(r.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome')),
        key,
      ).toContain(`'${key}' is not supported`);
    }
  });

  it('when Prefer asks for minimal or an OperationOutcome, then the body follows it', async () => {
    const min = await ehr.post('/fhir/Patient', patient(pnr('19430101'))).set('Prefer', 'return=minimal');
    expect(min.status).toBe(201);
    expect(min.text).toBe('');
    expect(min.headers.location).toMatch(/\/Patient\/.+\/_history\/1$/);
    const oo = await ehr.post('/fhir/Patient', patient(pnr('19440101'))).set('Prefer', 'return=OperationOutcome');
    expect(oo.body.resourceType).toBe('OperationOutcome');
  });

  it('when a search has more than _count results, then the next link pages through and _total counts', async () => {
    const family = `Paging${kind}`;
    for (let i = 0; i < 5; i++) await ehr.post('/fhir/Patient', patient(pnr('19500101', String(100 + i)), family));
    let url: string | undefined = `/fhir/Patient?family=${family}&_count=2&_total=accurate`;
    const ids: string[] = [];
    while (url) {
      const r = await ehr.get(url);
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(5);
      expect(r.body.link[0].relation).toBe('self');
      ids.push(...r.body.entry.map((e: { resource: { id: string } }) => e.resource.id));
      const next = r.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
      url = next?.replace(BASE, '/fhir');
    }
    expect(new Set(ids).size).toBe(5);
    const form = await request(app)
      .post('/fhir/Patient/_search')
      .set('x-test-as', 'ehr')
      .type('form')
      .send({ family, _count: '10' });
    expect(form.status).toBe(200);
    expect(form.body.entry).toHaveLength(5);
  });

  it('when a parameter is named like a JavaScript member (valueOf, __proto__), then it is an unknown parameter: 400, never 500', async () => {
    for (const name of ['valueOf', 'constructor', '__proto__', 'hasOwnProperty']) {
      const r = await ehr.get(`/fhir/Patient?${name}=1`);
      expect([name, r.status, r.body.issue?.[0]?.diagnostics]).toEqual([
        name,
        400,
        expect.stringContaining(`Unknown search parameter '${name}'`),
      ]);
      const form = await request(app)
        .post('/fhir/Patient/_search')
        .set('x-test-as', 'ehr')
        .type('form')
        .send(`${name}=1`);
      expect([name, form.status]).toEqual([name, 400]);
      const batch = await ehr.post('/fhir', {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: `Patient?${name}=1` } }],
      });
      expect([name, batch.status, batch.body.entry[0].response.status]).toEqual([
        name,
        200,
        expect.stringMatching(/^400/),
      ]);
    }
    expect((await ehr.get('/fhir/Patient?_lastUpdated=')).status).toBe(400);
    expect((await ehr.get('/fhir/Patient?_offset=9999999999999999999')).status).toBe(400);
  });

  it('when DELETE names criteria, then the single match is deleted; no match is 404 and several 412', async () => {
    const id = pnr('19510101');
    const p = (await ehr.post('/fhir/Patient', patient(id))).body;
    expect((await ehr.delete(`/fhir/Patient?identifier=${PNR}|${id}`)).status).toBe(204);
    expect((await ehr.get(`/fhir/Patient/${p.id}`)).status).toBe(410);
    expect((await ehr.delete(`/fhir/Patient?identifier=${PNR}|${id}`)).status).toBe(404);
    const twin = pnr('19520101');
    await ehr.post('/fhir/Patient', patient(twin));
    await ehr.post('/fhir/Patient', patient(twin));
    expect((await ehr.delete(`/fhir/Patient?identifier=${twin}`)).status).toBe(412);
    expect((await ehr.delete('/fhir/Patient')).status).toBe(400);
    expect((await ehr.put('/fhir/Patient', patient(twin))).status).toBe(400);
  });

  it('when the request is not FHIR JSON or asks for a whole-system search, then 415 or 400 says what to send', async () => {
    const xml = await request(app)
      .post('/fhir/Patient')
      .set('x-test-as', 'ehr')
      .set('Content-Type', 'application/fhir+xml')
      .send('<Patient/>');
    expect(xml.status).toBe(415);
    expect(xml.body.issue[0].code).toBe('not-supported');
    expect(xml.body.issue[0].diagnostics).toMatch(/application\/fhir\+json/);
    const plain = await request(app)
      .post('/fhir/Patient')
      .set('x-test-as', 'ehr')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(patient(pnr('19530101'))));
    expect(plain.status).toBe(201);
    expect((await ehr.get('/fhir')).status).toBe(400);
    const notBundle = await ehr.post('/fhir', patient(pnr('19540101')));
    expect(notBundle.status).toBe(400);
  });

  it('when a client asks for the answer in XML only, then 406 says the server speaks FHIR JSON; with JSON among what it accepts, JSON', async () => {
    const asXml = (accept: string | undefined, query = '') => {
      const r = request(app).get(`/fhir/Patient${query}`).set('x-test-as', 'ehr');
      return accept === undefined ? r : r.set('Accept', accept);
    };
    for (const [accept, query] of [
      [undefined, '?_format=xml'],
      [undefined, '?_format=application/fhir%2Bxml'],
      ['application/fhir+xml', ''],
      ['application/xml, text/xml;q=0.5', ''],
      ['application/fhir+json', '?_format=xml'],
    ] as const) {
      const res = await asXml(accept, query);
      expect(res.status, `${accept} ${query}`).toBe(406);
      expect(res.body.issue[0]).toMatchObject({ code: 'not-supported' });
      expect(res.body.issue[0].diagnostics).toMatch(/FHIR JSON only.*_format=json/);
    }
    for (const [accept, query] of [
      [undefined, ''],
      [undefined, '?_format=json'],
      ['application/fhir+xml', '?_format=json'],
      ['application/fhir+xml;q=0.9, application/fhir+json', ''],
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', ''],
    ] as const) {
      const res = await asXml(accept, query);
      expect(res.status, `${accept} ${query}`).toBe(200);
      expect(res.body.resourceType).toBe('Bundle');
    }
  });
});
