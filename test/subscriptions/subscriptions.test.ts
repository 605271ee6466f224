import { afterEach, describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import type { Bundle, Parameters, Patient, Task } from '@medplum/fhirtypes';
import type { ClosableDb } from '../../src/store/db.port';
import type { AuthContext } from '../../src/auth/auth-context';
import type { AccessScope } from '../../src/store/repository.port';
import { subscriptionRoutes } from '../../src/subscriptions/subscription.routes';
import { EXT } from '../../src/subscriptions/topics';
import { SHAPE_EXTENSION } from '../../src/subscriptions/subscription-model';
import { protectIdentity } from '../../src/fhir/protected-identity';
import { getRegistryEntry } from '../../src/subscriptions/registry.pg';
import { eventNumbers, notificationType, waitFor } from '../delivery/helpers';
import {
  BASE,
  FHIR_BASE,
  SALA,
  subscribe,
  subscriptionFor,
  SYSTEM,
  task,
  testRepos,
  testResources,
  VASTERAS,
} from '../delivery/fixture';

const TOPIC = `${BASE}/SubscriptionTopic/task-for-my-organisation`;

function topicSubscription(endpoint: string, payload: string, filter?: string, extra: object = {}) {
  return subscriptionFor(endpoint, {
    criteria: TOPIC,
    ...(filter ? { _criteria: { extension: [{ url: EXT.filterCriteria, valueString: filter }] } } : {}),
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: EXT.payloadContent, valueCode: payload }] },
      ...extra,
    },
  } as object);
}

function appAs(db: ClosableDb, scope: AccessScope, scopes = ['system/*.rs']) {
  const app = express();
  app.use((_req, res, next) => {
    const auth: AuthContext = { clientId: scope.clientId ?? 'x', scopes, access: scope, admin: false };
    res.locals.auth = auth;
    next();
  });
  app.use(subscriptionRoutes({ db, repos: testRepos(), canonicalBase: BASE, fhirBase: FHIR_BASE }));
  app.use(
    (
      err: { code?: string; status?: number; message: string },
      _req: express.Request,
      res: express.Response,
      _n: express.NextFunction,
    ) => {
      res.status(err.status ?? 500).json({ code: err.code, message: err.message });
    },
  );
  return app;
}

describe('subscriptions (rest-hook criteria and backport topics)', () => {
  const { closeAll, setup } = testResources();
  afterEach(closeAll);

  it('when a municipality subscribes to another organisation’s Tasks, then the create is refused', async () => {
    const { db, receiver } = await setup();
    const repo = testRepos()(db, VASTERAS);
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria: 'Task?owner=Organization/sala' })),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria: 'Task?status=requested' })),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(repo.create(subscriptionFor(receiver.url, { criteria: 'Organization?name=x' }))).rejects.toMatchObject(
      { code: 'forbidden' },
    );
    await expect(repo.create(subscriptionFor('ftp://nope', {}))).rejects.toMatchObject({ code: 'invalid-resource' });
  });

  it('when a municipality is refused a subscription, then the text names the organisations; the criteria advice keeps the reference', async () => {
    const { db, receiver } = await setup();
    const sys = testRepos()(db, SYSTEM);
    await sys.update({ resourceType: 'Organization', id: 'vasteras', name: 'Västerås stad' });
    await sys.update({ resourceType: 'Organization', id: 'sala', name: 'Sala kommun' });
    const repo = testRepos()(db, VASTERAS);
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria: 'Task?owner=Organization/sala' })),
    ).rejects.toMatchObject({
      code: 'forbidden',
      message:
        'owner must be your own organisation, Västerås stad (Organization/vasteras), not Sala kommun (Organization/sala): use criteria Task?owner=Organization/vasteras',
    });
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria: 'Task?status=requested' })),
    ).rejects.toMatchObject({
      code: 'forbidden',
      message:
        'A municipality client (Västerås stad) may only subscribe to Tasks it owns: use criteria Task?owner=Organization/vasteras',
    });
    // An owner the directory does not know is said to be unknown, with its reference.
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria: 'Task?owner=Organization/nowhere' })),
    ).rejects.toMatchObject({
      message:
        'owner must be your own organisation, Västerås stad (Organization/vasteras), not unknown organisation (Organization/nowhere): use criteria Task?owner=Organization/vasteras',
    });
  });

  it('when the criteria carry a parameter notifications cannot be matched on, then the create is refused naming it; the gateway’s own parameters are accepted', async () => {
    const { db, receiver } = await setup();
    const repo = testRepos()(db, VASTERAS);
    const own = 'Task?owner=Organization/vasteras';
    await expect(repo.create(subscriptionFor(receiver.url, { criteria: `${own}&nosuch=1` }))).rejects.toMatchObject({
      code: 'invalid-resource',
      message: expect.stringMatching(/'nosuch' is not a search parameter of Task/),
    });
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria: `${own}&patient.identifier=191212121212` })),
    ).rejects.toMatchObject({
      code: 'invalid-resource',
      message: expect.stringMatching(/chained parameter \('patient.identifier'\)/),
    });
    // Task `deadline` (restriction.period.end) is the gateway's own parameter: it matches as a search does
    const sub = await repo.create(subscriptionFor(receiver.url, { criteria: `${own}&deadline=ge2026-01-01` }));
    expect(sub.id).toBeDefined();
  });

  it('when the channel asks for XML or carries a header that cannot be sent, then the create is refused saying why; JSON and a plain header are accepted', async () => {
    const { db, receiver } = await setup();
    const repo = testRepos()(db, VASTERAS);
    const criteria = 'Task?owner=Organization/vasteras';
    const channel = (extra: object) => ({ type: 'rest-hook' as const, endpoint: receiver.url, ...extra });
    await expect(
      repo.create(subscriptionFor(receiver.url, { criteria, channel: channel({ payload: 'application/fhir+xml' }) })),
    ).rejects.toMatchObject({
      code: 'invalid-resource',
      message: expect.stringMatching(/channel.payload 'application\/fhir\+xml' is not sent here.*FHIR JSON/),
    });
    for (const header of ['Authorization: Bearer abc\r\nX-Evil: 1', 'Bad Name: x', ': x', 'X-Key: a\u0000b']) {
      await expect(
        repo.create(subscriptionFor(receiver.url, { criteria, channel: channel({ header: [header] }) })),
        header,
      ).rejects.toMatchObject({
        code: 'invalid-resource',
        message: expect.stringMatching(/must be "Name: value" on one line/),
      });
    }
    const ok = await repo.create(
      subscriptionFor(receiver.url, {
        criteria,
        channel: channel({ payload: 'application/fhir+json; fhirVersion=4.0', header: ['Authorization: Bearer abc'] }),
      }),
    );
    expect(ok.id).toBeDefined();
  });

  it('when the endpoint fails the handshake, then the Subscription ends in status error', async () => {
    const { db, receiver } = await setup();
    receiver.status = () => 404;
    const sub = await subscribe(db, VASTERAS, subscriptionFor(receiver.url), 'error');
    const stored = await testRepos()(db, SYSTEM).read('Subscription', sub.id!);
    expect(stored).toMatchObject({ status: 'error' });
  });

  it('when a topic subscription filters on code with id-only payload, then only matching Tasks of its own organisation arrive, without the resource', async () => {
    const { db, receiver } = await setup();
    const sub = await subscribe(db, VASTERAS, topicSubscription(receiver.url, 'id-only', 'Task?code=utskrivningsklar'));
    const repo = testRepos()(db, SYSTEM);
    const code = (c: string) => ({ coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-task', code: c }] });
    await repo.create(task('vasteras', 'a', { code: code('inskrivningsmeddelande') }));
    await repo.create(task('sala', 'b', { code: code('utskrivningsklar') }));
    const hit = await repo.create(task('vasteras', 'c', { code: code('utskrivningsklar') }));
    await waitFor(() => receiver.events().length === 1, 10_000, 'one notification');
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.events()).toHaveLength(1);
    const n = receiver.events()[0]!;
    const status = n.json.entry?.[0]?.resource as unknown as Parameters;
    expect(status.parameter?.find((p) => p.name === 'topic')?.valueCanonical).toBe(TOPIC);
    expect(status.parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('1');
    const entry = (n.json as unknown as Bundle).entry?.[1];
    expect(entry?.fullUrl).toBe(`${FHIR_BASE}/Task/${hit.id}`);
    expect(entry?.resource).toBeUndefined();
    expect(sub.id).toBeTruthy();
  });

  it('when a consumer was down, then $status shows the counter and $events returns what it missed, as it may read it', async () => {
    const { db, receiver } = await setup();
    const sub = await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    receiver.status = () => 503;
    const repo = testRepos()(db, SYSTEM);
    const t1 = await repo.create(task('vasteras', 'm1'));
    const t2 = await repo.create(task('vasteras', 'm2'));
    await waitFor(async () => (await getRegistryEntry(db, sub.id!))?.eventsSinceStart === 2, 8000, 'two events');
    const app = appAs(db, VASTERAS);
    const st = await request(app).get(`/fhir/Subscription/${sub.id}/$status`).expect(200);
    const params = (st.body as Bundle).entry?.[0]?.resource as Parameters;
    expect(params.parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('2');
    expect(params.parameter?.find((p) => p.name === 'type')?.valueCode).toBe('query-status');
    const ev = await request(app)
      .get(`/fhir/Subscription/${sub.id}/$events?eventsSinceNumber=1&eventsUntilNumber=2`)
      .expect(200);
    const ids = ((ev.body as Bundle).entry ?? []).slice(1).map((e) => (e.resource as Task).id);
    expect(ids).toEqual([t1.id, t2.id]);
    // Another tenant cannot read the subscription at all.
    await request(appAs(db, SALA)).get(`/fhir/Subscription/${sub.id}/$status`).expect(404);
    // The Task moved to Sala: $events no longer shows it to Västerås.
    await repo.update({ ...t1, owner: { reference: 'Organization/sala' } });
    const ev2 = await request(app)
      .get(`/fhir/Subscription/${sub.id}/$events?eventsSinceNumber=1&eventsUntilNumber=2`)
      .expect(200);
    expect(((ev2.body as Bundle).entry ?? []).slice(1).map((e) => (e.resource as Task).id)).toEqual([t2.id]);
  });

  it('when a token may read Subscriptions but not Tasks, then $events lists the events without the Task', async () => {
    const { db, receiver } = await setup();
    const sub = await subscribe(db, VASTERAS, subscriptionFor(receiver.url));
    const t1 = await testRepos()(db, SYSTEM).create(task('vasteras', 'm1'));
    await waitFor(async () => (await getRegistryEntry(db, sub.id!))?.eventsSinceStart === 1, 8000, 'one event');
    const app = appAs(db, VASTERAS, ['system/Subscription.rs']);
    const ev = await request(app).get(`/fhir/Subscription/${sub.id}/$events?eventsSinceNumber=1`).expect(200);
    const entries = ((ev.body as Bundle).entry ?? []).slice(1);
    expect(entries.map((e) => e.fullUrl)).toEqual([`${FHIR_BASE}/Task/${t1.id}`]);
    expect(entries[0]?.resource).toBeUndefined();
  });

  it('when a heartbeat period is set, then heartbeats arrive while nothing happens', async () => {
    const { db, receiver } = await setup();
    await subscribe(
      db,
      VASTERAS,
      subscriptionFor(receiver.url, {
        channel: {
          type: 'rest-hook',
          endpoint: receiver.url,
          payload: 'application/fhir+json',
          extension: [{ url: EXT.heartbeatPeriod, valueUnsignedInt: 1 }],
        },
      }),
    );
    await waitFor(
      () => receiver.received.filter((r) => notificationType(r) === 'heartbeat').length >= 2,
      8000,
      'heartbeats',
    );
  });

  it('when the subscription asks for messaging, then a message Bundle with the svu-task event code goes to $process-message', async () => {
    const { db, receiver } = await setup();
    await subscribe(
      db,
      VASTERAS,
      subscriptionFor(receiver.url, {
        channel: {
          type: 'rest-hook',
          endpoint: receiver.url,
          payload: 'application/fhir+json',
          extension: [{ url: SHAPE_EXTENSION, valueCode: 'message' }],
        },
      }),
    );
    await testRepos()(db, SYSTEM).create(task('vasteras', 'msg'));
    await waitFor(
      () => receiver.received.some((r) => r.json.type === 'message' && eventNumbers(r).length === 1),
      8000,
      'message',
    );
    const m = receiver.received.find((r) => r.json.type === 'message' && eventNumbers(r).length === 1)!;
    expect(m.path).toBe('/hook/$process-message');
    const header = m.json.entry?.[0]?.resource as { resourceType: string; eventCoding?: { code?: string } };
    expect(header.resourceType).toBe('MessageHeader');
    expect(header.eventCoding?.code).toBe('inskrivningsmeddelande');
  });
});

describe('protected identity in subscription criteria', () => {
  const { closeAll, setup } = testResources();
  afterEach(closeAll);

  it('when a municipality subscribes to Patients by address, then a protected identity at that address never notifies it; an open one does', async () => {
    const { db, receiver } = await setup();
    await subscribe(db, VASTERAS, subscriptionFor(receiver.url, { criteria: 'Patient?address=Hemliga' }));
    const repo = testRepos()(db, SYSTEM);
    const label = { system: 'http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel', code: 'skyddadFolkbokforing' };
    const at = (id: string, security?: object[]): Patient => ({
      resourceType: 'Patient',
      id,
      ...(security ? { meta: { security } } : {}),
      address: [{ line: ['Hemliga vägen 1'], city: 'Västerås' }],
    });
    // both are Patients of Västerås's Tasks, so it may read both (the protected one without its address)
    await repo.update(at('p-hidden', [label]));
    await repo.create(task('vasteras', 'hidden'));
    await repo.update(at('p-open'));
    await repo.create(task('vasteras', 'open'));
    await waitFor(() => receiver.events().length >= 1, 10_000, 'the open Patient');
    await new Promise((r) => setTimeout(r, 500));
    const focus = receiver.events().map((e) => (e.json as unknown as Bundle).entry?.[1]?.fullUrl);
    expect(focus).toEqual([`${FHIR_BASE}/Patient/p-open`]);
  });
});

describe('protected identity', () => {
  it('when a Patient carries skyddadFolkbokforing, then address and telecom are removed from what is sent', () => {
    const p: Patient = {
      resourceType: 'Patient',
      meta: {
        security: [{ system: 'http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel', code: 'skyddadFolkbokforing' }],
      },
      address: [{ city: 'Västerås' }],
      telecom: [{ system: 'phone', value: '021-000000' }],
      gender: 'female',
    };
    const out = protectIdentity(p);
    expect(out.address).toBeUndefined();
    expect(out.telecom).toBeUndefined();
    expect(out.gender).toBe('female');
    const plain: Patient = { resourceType: 'Patient', address: [{ city: 'Sala' }] };
    expect(protectIdentity(plain).address).toHaveLength(1);
  });
});
