import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Bundle, CarePlan, Communication, Encounter, Subscription, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { CANONICAL_BASE, CODE_SYSTEM, EXTENSION, PROFILE } from '../../src/fhir/constants';
import { EXT } from '../../src/subscriptions/topics';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { startReceiver, waitFor, type TestReceiver } from '../delivery/helpers';
import { uniquePrefix } from '../support/redis';
import { testDatabases } from '../support/db';
import type { CaseOverview } from '../../src/case-overview/case-overview';
import type { Db } from '../../src/store/db.port';
import { openShell, type Shell } from '../http/shell-fixture';
import {
  admission,
  codeOf,
  HOSPITAL,
  needsCD,
  ok,
  partyClient,
  SKULTUNA,
  VASTERAS,
  withExtensions,
  type PartyClient,
} from '../sip/party-client';

const out = (code: string, value: Record<string, unknown>) => ({
  type: { coding: [{ system: CODE_SYSTEM.taskOutput, code }] },
  ...value,
});

describe.each(testDatabases())('receivers’ answers and comments reach the hospital on %s', (kind) => {
  let shell: Shell;
  let receiver: TestReceiver;
  let validator: Validator;
  const c: Record<string, PartyClient> = {};
  let encounter: Encounter;

  const hospitalGot = (pred: (r: { resourceType: string } & Record<string, unknown>) => boolean) =>
    receiver
      .events()
      .flatMap((e) => (e.json.entry ?? []).map((x) => x.resource as unknown as { resourceType: string }))
      .filter((r) => r && pred(r as never));

  /** A comment on the stay from Västerås stad (the fields a test changes given in `more`). */
  const comment = (code: string, sent: string, text: string, more: Partial<Communication> = {}): Communication => ({
    resourceType: 'Communication',
    meta: { profile: [PROFILE.communication] },
    status: 'in-progress',
    category: [{ coding: [{ system: CODE_SYSTEM.communicationCategory, code }] }],
    subject: encounter.subject!,
    encounter: { reference: `Encounter/${encounter.id}` },
    sent,
    sender: { reference: VASTERAS },
    recipient: [{ reference: HOSPITAL }],
    payload: [{ contentString: text }],
    ...more,
  });

  const topic = `${CANONICAL_BASE}/SubscriptionTopic/comment-for-my-organisation`;
  const listen = async (who: string): Promise<TestReceiver> => {
    const r = await startReceiver();
    const sub = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'comments to us',
      criteria: topic,
      channel: {
        type: 'rest-hook',
        endpoint: r.url,
        payload: 'application/fhir+json',
        _payload: { extension: [{ url: EXT.payloadContent, valueCode: 'full-resource' }] },
      },
    };
    const created = ok(await c[who]!.post('/fhir/Subscription', sub), 201) as Subscription;
    await waitFor(
      async () => ((await c[who]!.get(`/fhir/Subscription/${created.id}`)).body as Subscription).status === 'active',
      15_000,
      `${who}'s comment Subscription active`,
    );
    return r;
  };
  const comments = (r: TestReceiver) =>
    r
      .events()
      .flatMap((e) => (e.json.entry ?? []).map((x) => x.resource as unknown as Communication | undefined))
      .filter((x): x is Communication => x?.resourceType === 'Communication');

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'jonkoping' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api', 'worker'] as const));
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-sala', 'demo-vc-skultuna', 'demo-admin'])
      c[id] = await partyClient(shell.gateway.app, id);
    validator = await createValidator();
    receiver = await startReceiver();
    for (const criteria of [`Task?requester=${HOSPITAL}`, `Communication?recipient=${HOSPITAL}`]) {
      const sub: Subscription = {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'the hospital hears the answers',
        criteria,
        channel: { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json' },
      };
      const created = ok(await c['demo-ehr']!.post('/fhir/Subscription', sub), 201) as Subscription;
      // Events are numbered only for an active Subscription: wait for its handshake.
      await waitFor(
        async () =>
          ((await c['demo-ehr']!.get(`/fhir/Subscription/${created.id}`)).body as Subscription).status === 'active',
        15_000,
        'the hospital Subscription active',
      );
    }
    const bundle = admission('answers-1', '194001011230', '2026-11-28T08:00:00+01:00', needsCD());
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
  });
  afterAll(async () => {
    await receiver?.close();
    await shell?.close();
  });

  it('when the municipality answers the admission notification, then the answer is on its Task and reaches the hospital', async () => {
    const [notice] = await c['demo-vasteras']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'inskrivningsmeddelande',
    });
    expect(notice?.requester).toMatchObject({ reference: HOSPITAL, display: 'Västmanlands sjukhus Västerås' });
    const answered: Task = {
      ...notice!,
      status: 'received',
      output: [
        out('aktuella-insatser', { valueString: 'Hemtjänst två besök per dag, trygghetslarm' }),
        out('boende', { valueString: 'Lägenhet, tre trappor med hiss' }),
        out('adl', { valueString: 'Klarar förflyttning med rollator' }),
      ],
    };
    const saved = ok(await c['demo-vasteras']!.put(`/fhir/Task/${notice!.id}`, answered)) as Task;
    expect(validator.check(saved, PROFILE.task)).toEqual([]);
    await waitFor(
      () =>
        hospitalGot((x) => x.resourceType === 'Task' && JSON.stringify(x).includes('Hemtjänst två besök')).length > 0,
      15_000,
      'the answer at the hospital',
    );
  });

  it('when an answer has an unknown code or the wrong value type, then it is refused with 422', async () => {
    const [notice] = await c['demo-vasteras']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'inskrivningsmeddelande',
    });
    for (const bad of [out('vet-ej', { valueString: 'x' }), out('kan-komma-hem', { valueString: 'i morgon' })]) {
      const r = await c['demo-vasteras']!.put(`/fhir/Task/${notice!.id}`, { ...notice, output: [bad] });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.resourceType).toBe('OperationOutcome');
    }
  });

  it('when the municipality says when the patient can come home, then the hospital gets it on the ready notice', async () => {
    const ready = withExtensions(encounter, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' }));
    encounter = ok(await c['demo-ehr']!.put(`/fhir/Encounter/${encounter.id}`, ready)) as Encounter;
    const [notice] = await c['demo-vasteras']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'utskrivningsklar',
    });
    const home = out('kan-komma-hem', { valueDateTime: '2026-12-01T14:00:00+01:00' });
    ok(await c['demo-vasteras']!.put(`/fhir/Task/${notice!.id}`, { ...notice, status: 'accepted', output: [home] }));
    await waitFor(
      () =>
        hospitalGot((x) => x.resourceType === 'Task' && JSON.stringify(x).includes('2026-12-01T14:00:00+01:00'))
          .length > 0,
      15_000,
      'the homecoming time at the hospital',
    );
  });

  it('when the vårdcentral appoints the named care contact, then it says who on its Task and the hospital gets it', async () => {
    const [duty] = await c['demo-vc-skultuna']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'utse-fast-vardkontakt',
    });
    expect(duty?.status).toBe('requested');
    const who = out('fast-vardkontakt', { valueString: 'Anna Berg, distriktssköterska, 021-10 20 30' });
    const accepted = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty!.id}`, { ...duty, status: 'accepted', output: [who] }),
    ) as Task;
    const saved = ok(
      await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty!.id}`, { ...accepted, status: 'completed' }),
    ) as Task;
    expect(validator.check(saved, PROFILE.task)).toEqual([]);
    await waitFor(
      () =>
        hospitalGot((x) => x.resourceType === 'Task' && JSON.stringify(x).includes('Anna Berg, distriktssköterska'))
          .length > 0,
      15_000,
      'the named care contact at the hospital',
    );
    const overview = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${encounter.id}/$overview`)) as unknown as {
      parties: { tasks: { code: string; answers: { code: string; value: string }[] }[] }[];
    };
    const fvk = overview.parties.flatMap((p) => p.tasks).find((t) => t.code === 'utse-fast-vardkontakt');
    expect(fvk?.answers).toEqual([{ code: 'fast-vardkontakt', value: 'Anna Berg, distriktssköterska, 021-10 20 30' }]);
    // a yes/no is not a name
    const bad = await c['demo-vc-skultuna']!.put(`/fhir/Task/${duty!.id}`, {
      ...saved,
      output: [out('fast-vardkontakt', { valueBoolean: true })],
    });
    expect(bad.status).toBe(422);
  });

  it('when the municipality comments to the hospital, then only the hospital sees it, is notified and acknowledges it', async () => {
    const note = comment('hemkomst', '2026-11-30T11:00:00+01:00', 'Hemtjänsten kan ta emot från kl. 14 i morgon.');
    expect(
      (
        await c['demo-sala']!.post('/fhir/Communication', {
          ...note,
          sender: { reference: 'Organization/kommun-1981' },
        })
      ).status,
    ).toBe(403);
    expect((await c['demo-vc-skultuna']!.post('/fhir/Communication', note)).status).toBe(403);
    // A recipient that is not in the directory would get nothing and nobody would know: refused, naming it.
    const typo = await c['demo-vasteras']!.post('/fhir/Communication', {
      ...note,
      recipient: [{ reference: HOSPITAL }, { reference: 'Organization/no-such-unit' }],
    });
    expect(typo.status, JSON.stringify(typo.body)).toBe(422);
    expect(JSON.stringify(typo.body)).toContain('Organization/no-such-unit');
    expect(JSON.stringify(typo.body)).not.toContain(HOSPITAL);
    // Sala is in the directory but has no part in this stay: it must not be told about the patient
    const outsider = await c['demo-vasteras']!.post('/fhir/Communication', {
      ...note,
      recipient: [{ reference: 'Organization/kommun-1981' }],
    });
    expect(outsider.status, JSON.stringify(outsider.body)).toBe(422);
    expect(outsider.body.issue[0].diagnostics).toMatch(/^Sala kommun is not a party of this stay/);
    expect(((ok(await c['demo-sala']!.get('/fhir/Communication')) as Bundle).entry ?? []).length).toBe(0);
    const sent = ok(await c['demo-vasteras']!.post('/fhir/Communication', note), 201) as Communication;
    expect(validator.check(sent, PROFILE.communication)).toEqual([]);
    await waitFor(() => hospitalGot((x) => x.resourceType === 'Communication').length > 0, 15_000, 'the comment');
    expect((await c['demo-vc-skultuna']!.get(`/fhir/Communication/${sent.id}`)).status).toBe(404);
    const inbox = ok(await c['demo-ehr']!.get('/fhir/Communication', { recipient: HOSPITAL })) as Bundle;
    expect(inbox.entry?.map((e) => e.resource?.id)).toEqual([sent.id]);
    const rewritten = { ...sent, payload: [{ contentString: 'Ändrad text' }] };
    expect((await c['demo-ehr']!.put(`/fhir/Communication/${sent.id}`, rewritten)).status).toBe(403);
    const ack = ok(
      await c['demo-ehr']!.put(`/fhir/Communication/${sent.id}`, {
        ...sent,
        status: 'completed',
        received: '2026-11-30T11:05:00+01:00',
      }),
    ) as Communication;
    expect(ack.status).toBe('completed');
    const seen = async (who: string) =>
      (ok(await c[who]!.get(`/fhir/Encounter/${encounter.id}/$overview`)) as unknown as CaseOverview).comments;
    expect((await seen('demo-ehr')).map((x) => x.acknowledgedAt)).toEqual(['2026-11-30T11:05:00+01:00']);
    expect(await seen('demo-vc-skultuna')).toEqual([]);
  });

  it('when a party subscribes to the comment topic, then it hears the comments sent to it and no others', async () => {
    const skultuna = await listen('demo-vc-skultuna');
    const sala = await listen('demo-sala');
    try {
      const note = (to: string, text: string): Communication =>
        comment('kontakt-onskas', '2026-11-30T12:00:00+01:00', text, { recipient: [{ reference: to }] });
      const toHospital = ok(
        await c['demo-vasteras']!.post('/fhir/Communication', note(HOSPITAL, 'Till sjukhuset')),
        201,
      );
      const toVc = ok(await c['demo-vasteras']!.post('/fhir/Communication', note(SKULTUNA, 'Ring oss')), 201);
      await waitFor(() => comments(skultuna).length > 0, 15_000, 'the comment at Skultuna');
      // the hospital's comment was committed first: had it matched, it would have come first
      expect(comments(skultuna).map((x) => x.id)).toEqual([toVc.id]);
      expect(comments(skultuna)[0]?.payload?.[0]?.contentString).toBe('Ring oss');
      expect(JSON.stringify(skultuna.events())).not.toContain(String(toHospital.id));
      expect(comments(sala)).toEqual([]);
    } finally {
      await skultuna.close();
      await sala.close();
    }
  });

  it('when a party comments, then the comment as stored and as delivered names its sender and recipients', async () => {
    const skultuna = await listen('demo-vc-skultuna');
    try {
      const note = (recipient: Communication['recipient'], text: string): Communication =>
        comment('kontakt-onskas', '2026-11-30T13:00:00+01:00', text, {
          sender: { reference: VASTERAS, display: 'Kommunen' },
          recipient,
        });
      // the municipality sends a bare recipient and a display of its own that is not the directory's name
      const r = await c['demo-vasteras']!.post(
        '/fhir/Communication',
        note([{ reference: SKULTUNA }, { reference: HOSPITAL }], 'Vem blir fast vårdkontakt?'),
      );
      const sent = ok(r, 201) as Communication;
      const named = {
        sender: { reference: VASTERAS, display: 'Västerås stad' },
        recipient: [
          { reference: SKULTUNA, display: 'Skultuna vårdcentral' },
          { reference: HOSPITAL, display: 'Västmanlands sjukhus Västerås' },
        ],
      };
      expect(sent).toMatchObject(named);
      expect(String(r.headers.warning)).toContain('organisation-name-replaced');
      const stored = ok(await c['demo-vasteras']!.get(`/fhir/Communication/${sent.id}`)) as Communication;
      expect(stored).toMatchObject(named);
      expect(stored.meta?.versionId).toBe('1');
      await waitFor(() => comments(skultuna).some((x) => x.id === sent.id), 15_000, 'the comment at Skultuna');
      expect(comments(skultuna).find((x) => x.id === sent.id)).toMatchObject(named);
      // the recipient acknowledges the comment it kept without the names: the names are the gateway's, not a change
      const ack = await c['demo-vc-skultuna']!.put(`/fhir/Communication/${sent.id}`, {
        ...sent,
        sender: { reference: VASTERAS },
        recipient: [{ reference: SKULTUNA }, { reference: HOSPITAL }],
        status: 'completed',
        received: '2026-11-30T13:05:00+01:00',
      });
      expect(ok(ack)).toMatchObject({ status: 'completed', ...named });
      // an organisation the directory does not hold (an admin's write is not refused for it) is said, not refused
      const odd = await c['demo-admin']!.post(
        '/fhir/Communication',
        note([{ reference: SKULTUNA }, { reference: 'Organization/no-such-unit', display: 'Okänd enhet' }], 'Test'),
      );
      expect(ok(odd, 201)).toMatchObject({
        recipient: [
          { reference: SKULTUNA, display: 'Skultuna vårdcentral' },
          { reference: 'Organization/no-such-unit', display: 'Okänd enhet' },
        ],
      });
      expect(String(odd.headers.warning)).toContain('organisation-name-unknown');
    } finally {
      await skultuna.close();
    }
  });

  it('when a party comments, then its write reads the directory once, to name the organisations and check the recipients', async () => {
    // the directory's query (comment-names' directoryEntries), counted in every transaction the gateway runs
    const directoryReads: string[] = [];
    const recording = (tx: Db): Db =>
      new Proxy(tx, {
        get(target, key) {
          if (key === 'query')
            return (sql: string, params?: readonly unknown[]) => {
              if (sql.includes("resource_type = 'Organization' AND id = ANY")) directoryReads.push(sql);
              return target.query(sql, params);
            };
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    const transaction = shell.db.transaction.bind(shell.db);
    const spy = vi.spyOn(shell.db, 'transaction').mockImplementation((fn) => transaction((tx) => fn(recording(tx))));
    try {
      const note = comment('kontakt-onskas', '2026-11-30T14:00:00+01:00', 'Ring när ni vet tiden', {
        recipient: [{ reference: HOSPITAL }],
      });
      ok(await c['demo-vasteras']!.post('/fhir/Communication', note), 201);
      expect(directoryReads).toHaveLength(1);
      // refused for its unknown recipient on the same read
      directoryReads.length = 0;
      const typo = await c['demo-vasteras']!.post('/fhir/Communication', {
        ...note,
        recipient: [{ reference: 'Organization/no-such-unit' }],
      });
      expect(typo.status, JSON.stringify(typo.body)).toBe(422);
      expect(typo.body.issue[0].diagnostics).toBe(
        'Communication.recipient Organization/no-such-unit is not an organisation in the directory',
      );
      expect(directoryReads).toHaveLength(1);
      // in a Bundle, one read per comment: a transaction is refused whole for one unknown recipient, a batch entry alone
      const entry = (text: string, to: string) => ({
        resource: { ...note, payload: [{ contentString: text }], recipient: [{ reference: to }] },
        request: { method: 'POST', url: 'Communication' },
      });
      const bundle = (type: 'transaction' | 'batch', ...entries: ReturnType<typeof entry>[]) => ({
        resourceType: 'Bundle',
        type,
        entry: entries,
      });
      directoryReads.length = 0;
      const both = await c['demo-vasteras']!.post(
        '/fhir',
        bundle('transaction', entry('Till sjukhuset i en transaktion', HOSPITAL), entry('Till vc', SKULTUNA)),
      );
      expect((ok(both) as Bundle).entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
      expect(directoryReads).toHaveLength(2);
      directoryReads.length = 0;
      const refused = await c['demo-vasteras']!.post(
        '/fhir',
        bundle('transaction', entry('Aldrig skriven', HOSPITAL), entry('Fel mottagare', 'Organization/no-such-unit')),
      );
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(JSON.stringify(refused.body)).toContain(
        'Communication.recipient Organization/no-such-unit is not an organisation in the directory',
      );
      expect(directoryReads).toHaveLength(2);
      directoryReads.length = 0;
      const batch = ok(
        await c['demo-vasteras']!.post(
          '/fhir',
          bundle('batch', entry('Skriven i en batch', HOSPITAL), entry('Fel mottagare', 'Organization/no-such-unit')),
        ),
      ) as Bundle;
      expect(batch.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['201', '422']);
      expect(JSON.stringify(batch.entry?.[1]?.response?.outcome)).toContain(
        'Communication.recipient Organization/no-such-unit is not an organisation in the directory',
      );
      expect(directoryReads).toHaveLength(2);
      const texts = (
        (ok(await c['demo-ehr']!.get('/fhir/Communication', { recipient: HOSPITAL })) as Bundle).entry ?? []
      ).map((e) => (e.resource as Communication).payload?.[0]?.contentString);
      expect(texts).toEqual(expect.arrayContaining(['Till sjukhuset i en transaktion', 'Skriven i en batch']));
      expect(texts).not.toContain('Aldrig skriven');
    } finally {
      spy.mockRestore();
    }
  });

  it('when the stay already has a well-functioning SIP, then the vårdcentral gets no invitation to make and cannot invite', async () => {
    const ext = stayExtensions({
      needs: ['socialtjanst', 'kommunal-hsl'],
      sipNeeded: false,
      readyAt: '2026-11-30T10:00:00+01:00',
    });
    const r = ok(
      await c['demo-ehr']!.post('/fhir', admission('answers-2', '191212121212', '2026-11-28T08:00:00+01:00', ext)),
    ) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    const vc = await c['demo-vc-skultuna']!.tasks({ encounter: `Encounter/${id}` });
    expect(vc.map(codeOf)).not.toContain('kallelse-sip');
    const stay = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    const plan: CarePlan = {
      resourceType: 'CarePlan',
      meta: { profile: [PROFILE.carePlan] },
      status: 'draft',
      intent: 'plan',
      category: [{ coding: [{ system: CODE_SYSTEM.carePlanCategory, code: 'sip' }] }],
      subject: stay.subject!,
      encounter: { reference: `Encounter/${id}` },
      author: { reference: SKULTUNA },
      contributor: [{ reference: VASTERAS }],
      extension: [{ url: EXTENSION.meetingPlace, valueString: 'home' }],
    };
    const refused = await c['demo-vc-skultuna']!.post('/fhir/CarePlan', plan);
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(JSON.stringify(refused.body)).toMatch(/well-functioning SIP/);
  });
});
