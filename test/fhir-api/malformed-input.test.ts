import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/fhir/validator';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb, testDatabases } from '../support/db';
import { municipality, patient, pnr } from '../store/fixtures';
import { testApp, testClients } from './app';

const FHIR = 'application/fhir+json';

interface Outcome {
  resourceType: string;
  issue: { diagnostics?: string; expression?: string[] }[];
}

/** Every expression and diagnostic of an OperationOutcome, for "names the path" checks. */
const said = (body: Outcome): string =>
  body.issue.map((i) => `${(i.expression ?? []).join(' ')} ${i.diagnostics ?? ''}`).join('\n');

/** JSON text of an extension nested `depth` deep (built as text: JSON.stringify itself overflows the stack). */
function nested(depth: number): string {
  const open = '{"url":"https://example.org/n","extension":['.repeat(depth);
  return `${open}{"url":"https://example.org/leaf","valueString":"x"}${']}'.repeat(depth)}`;
}

describe.each(testDatabases())('malformed FHIR input on %s', (kind) => {
  let db: ClosableDb;
  let app: Express;
  beforeAll(async () => {
    db = await openTestDb(kind);
    const sys = createRepository(db);
    const v = await sys.create(municipality('1980', 'Västerås stad'));
    const s = await sys.create(municipality('1981', 'Sala kommun'));
    app = testApp(db, await createValidator(), testClients(v.id!, s.id!), { maxBodyBytes: 1_000_000 });
  });
  afterAll(async () => db.close());

  const post = (url: string, body: unknown) =>
    request(app).post(url).set('x-test-as', 'ehr').set('Content-Type', FHIR).send(JSON.stringify(body));
  const get = (url: string) => request(app).get(url).set('x-test-as', 'ehr');

  it.each([
    ['identifier', 'Patient.identifier', { identifier: 'not-a-list' }],
    ['extension', 'Patient.extension', { extension: 'not-a-list' }],
    ['name given', 'Patient.name[0].given', { name: [{ given: 7 }] }],
    ['telecom value', 'Patient.telecom[0].value', { telecom: [{ system: 'phone', value: { a: 1 } }] }],
    ['meta', 'Patient.meta', { meta: 'x'.repeat(100_000) }],
    ['a list where one value is expected', 'Patient.gender', { gender: ['male'] }],
  ])('when a Patient has a %s of the wrong JSON type, then 4xx naming %s, never 500', async (_what, path, extra) => {
    const r = await post('/fhir/Patient', { ...patient(pnr('19121212', '121')), ...extra });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(said(r.body as Outcome)).toContain(path);
    // one wrong value is one answer, not one issue per character of a long string
    expect((r.body as Outcome).issue.length).toBeLessThanOrEqual(25);
  });

  it('when a transaction Bundle has entry as a string, then 4xx naming Bundle.entry', async () => {
    const r = await post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: 'x'.repeat(50_000) });
    expect(r.status).toBe(422);
    expect(said(r.body as Outcome)).toContain('Bundle.entry');
    expect((r.body as Outcome).issue.length).toBeLessThanOrEqual(25);
  });

  it('when a Bundle entry resource is not an object, then 4xx naming the entry', async () => {
    const r = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: 'Patient', request: { method: 'POST', url: 'Patient' } }],
    });
    expect(r.status).toBe(422);
    expect(said(r.body as Outcome)).toContain('Bundle.entry[0].resource');
  });

  it('when extensions nest 5 000 deep, then 4xx naming the depth limit, never a stack overflow', async () => {
    const body = JSON.stringify(patient(pnr('19121212', '121'))).replace(/}$/, `,"extension":[${nested(5000)}]}`);
    const r = await request(app).post('/fhir/Patient').set('x-test-as', 'ehr').set('Content-Type', FHIR).send(body);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(said(r.body as Outcome)).toMatch(/Patient\.extension\[0\](\.extension\[0\])+.*deep/s);
  });

  it('when one string is longer than the element limit, then 413 naming the path', async () => {
    const r = await post('/fhir/Patient', {
      ...patient(pnr('19121212', '121')),
      name: [{ family: 'x'.repeat(300_000) }],
    });
    expect(r.status).toBe(413);
    expect(said(r.body as Outcome)).toContain('Patient.name[0].family');
  });

  it('when a list is longer than the element limit, then 413 naming the path', async () => {
    const r = await post('/fhir/Patient', {
      ...patient(pnr('19121212', '121')),
      name: Array(20_000).fill({ family: 'x' }),
    });
    expect(r.status).toBe(413);
    expect(said(r.body as Outcome)).toContain('Patient.name');
  });

  it.each([
    ['a NUL byte in an id', '/fhir/Patient/a%00b', 'a%00b'],
    ['bad percent-encoding in an id', '/fhir/Patient/%E0%A4%A', '%E0%A4%A'],
    ['a character outside the FHIR id syntax', '/fhir/Patient/a_b', "id 'a_b'"],
    ['a NUL byte in a search value', '/fhir/Patient?family=a%00b', 'family'],
    ['bad percent-encoding in a search value', '/fhir/Patient?family=%ZZ%E0', 'family'],
    ['a NUL byte in a history version', '/fhir/Patient/abc/_history/1%00', '1%00'],
    ['a space in a history version', '/fhir/Patient/abc/_history/1%20', 'version id'],
    ['an id longer than 64 characters', `/fhir/Patient/${'a'.repeat(65)}`, 'id'],
  ])('when a URL has %s, then 400 naming it, never 500', async (_what, url, named) => {
    const r = await get(url);
    expect(r.status).toBe(400);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(said(r.body as Outcome)).toContain(named);
  });

  it('when a POST _search form value holds a NUL byte, then 400 naming the parameter', async () => {
    const r = await request(app)
      .post('/fhir/Patient/_search')
      .set('x-test-as', 'ehr')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('family=a%00b');
    expect(r.status).toBe(400);
    expect(said(r.body as Outcome)).toContain('family');
  });

  it('when the body is larger than the body limit, then 413 with an OperationOutcome', async () => {
    const r = await post('/fhir/Patient', {
      resourceType: 'Patient',
      text: { status: 'generated', div: 'x'.repeat(1_100_000) },
    });
    expect(r.status).toBe(413);
    expect(said(r.body as Outcome)).toMatch(/exceeds the limit of 1000000 bytes/);
  });
});
