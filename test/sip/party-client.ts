import request from 'supertest';
import type { Express } from 'express';
import type { Bundle, CarePlan, Encounter, Extension, Resource, Task } from '@medplum/fhirtypes';
import { EXTENSION, PROFILE } from '../../src/fhir/constants';
import { stayExtensions } from '../../src/fhir/encounter-extensions';

export const PNR_SYSTEM = 'http://electronichealth.se/identifier/personnummer';
export const HOSPITAL = 'Organization/vastmanlands-sjukhus-vasteras';
export const VASTERAS = 'Organization/kommun-1980';
export const SALA = 'Organization/kommun-1981';
export const SKULTUNA = 'Organization/vc-skultuna';

/** One party's own client against the in-process app: every call carries its own token. */
export interface PartyClient {
  token: string;
  get(path: string, query?: Record<string, string>): Promise<request.Response>;
  post(path: string, body?: unknown): Promise<request.Response>;
  put(path: string, body: unknown): Promise<request.Response>;
  tasks(query?: Record<string, string>): Promise<Task[]>;
}

export async function partyClient(app: Express, clientId: string): Promise<PartyClient> {
  const t = await request(app)
    .post('/auth/token')
    .auth(clientId, `${clientId}-secret`)
    .type('form')
    .send({ grant_type: 'client_credentials' });
  if (t.status !== 200) throw new Error(`token for ${clientId}: ${t.status} ${JSON.stringify(t.body)}`);
  const token = t.body.access_token as string;
  const c: PartyClient = {
    token,
    get: (path, query = {}) => request(app).get(path).query(query).auth(token, { type: 'bearer' }),
    post: (path, body) => {
      const r = request(app).post(path).auth(token, { type: 'bearer' });
      return body === undefined ? r : r.set('Content-Type', 'application/fhir+json').send(JSON.stringify(body));
    },
    put: (path, body) =>
      request(app)
        .put(path)
        .auth(token, { type: 'bearer' })
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(body)),
    async tasks(query = {}) {
      const r = await c.get('/fhir/Task', { _count: '100', ...query });
      if (r.status !== 200) throw new Error(`Task search: ${r.status} ${JSON.stringify(r.body)}`);
      return ((r.body as Bundle).entry ?? []).map((e) => e.resource as Task);
    },
  };
  return c;
}

export const codeOf = (t: Task): string | undefined => t.code?.coding?.[0]?.code;

/** The admission as a transaction Bundle: a Västerås patient listed at Skultuna vårdcentral, needs and SIP needed. */
export function admission(ehrId: string, pnr: string, start: string, ext: Extension[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:6c1f0000-0000-4000-8000-000000000001',
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: PNR_SYSTEM, value: pnr }],
          name: [{ family: 'Tolvansson', given: ['Tolvan'] }],
          address: [{ use: 'home', city: 'Västerås', district: '1980' }],
          generalPractitioner: [{ identifier: { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0101' } }],
        },
        request: { method: 'PUT', url: `Patient?identifier=${PNR_SYSTEM}|${pnr}` },
      },
      {
        fullUrl: 'urn:uuid:6c1f0000-0000-4000-8000-000000000002',
        resource: {
          resourceType: 'Encounter',
          identifier: [{ system: 'https://ehr.example.se/encounter-id', value: ehrId }],
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
          subject: { reference: 'urn:uuid:6c1f0000-0000-4000-8000-000000000001' },
          serviceProvider: { reference: HOSPITAL },
          period: { start },
          extension: ext,
        },
        request: { method: 'PUT', url: `Encounter?identifier=https://ehr.example.se/encounter-id|${ehrId}` },
      },
    ],
  };
}

/** Needs socialtjänst + kommunal HSL (Gävleborg C+D), SIP needed. */
export const needsCD = (): Extension[] => stayExtensions({ needs: ['socialtjanst', 'kommunal-hsl'], sipNeeded: true });

/** The Encounter with more stay extensions (ready, …) added: the hospital's update. */
export function withExtensions(e: Encounter, more: Extension[], changes: Partial<Encounter> = {}): Encounter {
  const urls = new Set(more.map((x) => x.url));
  return { ...e, ...changes, extension: [...(e.extension ?? []).filter((x) => !urls.has(x.url)), ...more] };
}

export const ok = (r: request.Response, status = 200): Resource => {
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as Resource;
};

/** A SIP draft for `encounter` by `author`, inviting `invited` (meeting at home, 2026-12-02 10:00). */
export function sipDraft(encounter: Encounter, author: string, invited: string[]): CarePlan {
  return {
    resourceType: 'CarePlan',
    meta: { profile: [PROFILE.carePlan] },
    status: 'draft',
    intent: 'plan',
    category: [{ coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-careplan-category', code: 'sip' }] }],
    title: 'Samordnad individuell plan (SIP)',
    subject: encounter.subject!,
    encounter: { reference: `Encounter/${encounter.id}` },
    author: { reference: author },
    contributor: [{ reference: author }, ...invited.map((reference) => ({ reference }))],
    extension: [
      { url: EXTENSION.meetingTime, valueDateTime: '2026-12-02T10:00:00+01:00' },
      { url: EXTENSION.meetingPlace, valueString: 'home' },
    ],
  };
}
