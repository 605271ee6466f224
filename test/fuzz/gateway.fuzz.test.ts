import { Hl7Message } from '@medplum/core';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { RawMllpClient } from '../support/mllp-raw';
import { fuzzOptions, FUZZ_RUNS, FUZZ_SEED, jsonValue, mutate, mutations } from './arbitraries';
import { fuzzGateway, longestStallMs, type FuzzGateway } from './harness';
import { searchQuery, strangeId } from './url-arbitraries';
import { mllpFrame } from './hl7-arbitraries';

/**
 * Fuzz suite (issue 12): FHIR bodies, search parameters, ids and MLLP frames against the composed gateway.
 * Every answer is below 500 (an OperationOutcome for /fhir errors), every MLLP frame gets exactly one ACK, and
 * the event loop never stalls for more than a second. Seeded (FUZZ_SEED); FUZZ_RUNS=5000 for a long run.
 */
const STALL_LIMIT_MS = 1000;
const FHIR = 'application/fhir+json';
const admission = JSON.parse(
  readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8'),
) as Bundle;
const long = FUZZ_RUNS > 200 ? 600_000 : 120_000;

describe.each(testDatabases())('fuzzed input to the gateway on %s', (kind) => {
  let gw: FuzzGateway;
  let patientId = '';
  const seen = { requests: 0, byStatus: new Map<number, number>() };
  beforeAll(async () => {
    gw = await fuzzGateway(kind);
    const p = await request(gw.server)
      .post('/fhir/Patient')
      .auth(gw.tokens['demo-ehr'], { type: 'bearer' })
      .set('Content-Type', FHIR)
      .send(JSON.stringify(admission.entry?.[0]?.resource));
    patientId = (p.body as Patient).id ?? '';
  }, 120_000);
  afterAll(async () => {
    console.log(
      `fuzz on ${kind}: seed ${FUZZ_SEED}, ${seen.requests} requests, statuses ${JSON.stringify([...seen.byStatus])}`,
    );
    await gw?.close();
  });

  /*
   * The request that used the most CPU since the last stall check (between two answers; the properties send one
   * request at a time). A stall counts when the loop was delayed over the limit AND one request's own work (this
   * process's CPU time) was over it too: on a shared, loaded machine the loop is also delayed while the process
   * merely waits for a core, which no input causes.
   */
  let heaviest = { cpuMs: 0, wallMs: 0, what: '' };
  let lastWall = performance.now();
  let lastCpu = process.cpuUsage();
  beforeEach(() => {
    heaviest = { cpuMs: 0, wallMs: 0, what: '' };
    lastWall = performance.now();
    lastCpu = process.cpuUsage();
  });
  const expectNoStall = (stall: number) => {
    const why =
      `event loop delayed ${stall.toFixed(0)} ms; heaviest request ${heaviest.cpuMs.toFixed(0)} ms CPU ` +
      `(${heaviest.wallMs.toFixed(0)} ms wall): ${heaviest.what}`;
    const work = heaviest.cpuMs;
    if (stall >= STALL_LIMIT_MS && work < STALL_LIMIT_MS) console.warn(`fuzz: ${why} (machine load, not an input)`);
    expect(Math.min(stall, work), why).toBeLessThan(STALL_LIMIT_MS);
  };
  const note = (what: string) => {
    const used = process.cpuUsage(lastCpu);
    const cpuMs = (used.user + used.system) / 1000;
    const now = performance.now();
    if (cpuMs > heaviest.cpuMs) heaviest = { cpuMs, wallMs: now - lastWall, what: what.slice(0, 300) };
    lastWall = now;
    lastCpu = process.cpuUsage();
  };
  const check = (r: request.Response, what: string) => {
    note(what);
    seen.requests++;
    seen.byStatus.set(r.status, (seen.byStatus.get(r.status) ?? 0) + 1);
    if (r.status >= 500) throw new Error(`${what} → ${r.status}: ${r.text.slice(0, 400)}`);
    if (r.status >= 400 && /json/.test(String(r.headers['content-type'])))
      expect((r.body as { resourceType?: string }).resourceType, what).toBe('OperationOutcome');
  };
  const send = (method: 'post' | 'put', url: string, body: unknown, who: keyof FuzzGateway['tokens'] = 'demo-ehr') =>
    (method === 'post' ? request(gw.server).post(url) : request(gw.server).put(url))
      .auth(gw.tokens[who], { type: 'bearer' })
      .set('Content-Type', FHIR)
      .send(JSON.stringify(body));

  const seeds = () => ({
    Patient: admission.entry?.[0]?.resource,
    Encounter: { ...admission.entry?.[1]?.resource, subject: { reference: `Patient/${patientId}` } },
    Task: {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-task', code: 'avvikelse' }] },
      for: { reference: `Patient/${patientId}` },
      owner: { reference: 'Organization/kommun-1980' },
      authoredOn: '2026-01-10T09:00:00Z',
      note: [{ text: 'fuzz' }],
    },
    Subscription: {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'fuzz',
      criteria: 'Task?owner=Organization/kommun-1980',
      channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook', payload: 'application/fhir+json' },
    },
    Bundle: admission,
  });

  it.each(['Patient', 'Encounter', 'Task', 'Subscription', 'Bundle'] as const)(
    'when mutated %s bodies are written, then no answer is a 5xx and the event loop never stalls a second',
    async (type) => {
      const who = type === 'Subscription' ? 'demo-vasteras' : type === 'Task' ? 'demo-admin' : 'demo-ehr';
      const stall = await longestStallMs(async () => {
        await fc.assert(
          fc.asyncProperty(mutations, fc.boolean(), async (ms, asUpdate) => {
            const body = mutate(seeds()[type], ms);
            const url =
              type === 'Bundle' ? '/fhir' : asUpdate ? `/fhir/${type}/fuzz-${type.toLowerCase()}` : `/fhir/${type}`;
            const r = await send(
              type === 'Bundle' || !asUpdate ? 'post' : 'put',
              url,
              asUpdate && type !== 'Bundle' ? { ...(body as object), id: `fuzz-${type.toLowerCase()}` } : body,
              who,
            );
            check(r, `${type} ${JSON.stringify(body).slice(0, 300)}`);
          }),
          { ...fuzzOptions(), endOnFailure: true },
        );
      });
      expectNoStall(stall);
    },
    240_000,
  );

  it('when bodies of arbitrary JSON carry a resourceType, then no answer is a 5xx', async () => {
    const stall = await longestStallMs(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('Patient', 'Encounter', 'Task', 'Subscription', 'Bundle', 'CarePlan', 'Organization'),
          fc.dictionary(
            fc.oneof(
              fc.string({ maxLength: 8 }),
              fc.constantFrom(
                'id',
                'meta',
                'entry',
                'status',
                'identifier',
                'extension',
                'contained',
                'for',
                'owner',
                'type',
              ),
            ),
            jsonValue,
            { maxKeys: 5 },
          ),
          async (type, fields) => {
            const body = { ...fields, resourceType: type };
            check(
              await send('post', type === 'Bundle' ? '/fhir' : `/fhir/${type}`, body, 'demo-admin'),
              `${type} ${JSON.stringify(body).slice(0, 300)}`,
            );
          },
        ),
        { ...fuzzOptions(), endOnFailure: true },
      );
    });
    expectNoStall(stall);
  }, 240_000);

  it('when one string element is very long, then 413 or 422 in proportion, never a stall', async () => {
    const stall = await longestStallMs(async () => {
      for (const [k, v] of [
        ['meta', 'x'.repeat(long)],
        ['name', 'x'.repeat(long)],
        ['identifier', [{ value: 'x'.repeat(long) }]],
      ] as const) {
        const r = await send('post', '/fhir/Patient', { resourceType: 'Patient', [k]: v });
        check(r, `Patient.${k} of ${long} characters`);
        expect([413, 422]).toContain(r.status);
      }
    });
    expectNoStall(stall);
  }, 120_000);

  it('when search parameters are fuzzed, then no answer is a 5xx', async () => {
    const stall = await longestStallMs(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('Patient', 'Encounter', 'Task', 'Subscription', 'Organization', 'AuditEvent', 'CarePlan'),
          searchQuery,
          fc.constantFrom<keyof FuzzGateway['tokens']>('demo-ehr', 'demo-vasteras', 'demo-admin'),
          async (type, q, who) => {
            check(
              await request(gw.server).get(`/fhir/${type}?${q}`).auth(gw.tokens[who], { type: 'bearer' }),
              `GET ${type}?${q}`,
            );
          },
        ),
        { ...fuzzOptions(2), endOnFailure: true },
      );
    });
    expectNoStall(stall);
  }, 240_000);

  it('when ids and version ids are fuzzed, then no answer is a 5xx', async () => {
    const stall = await longestStallMs(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('Patient', 'Task', 'Encounter', 'Subscription'),
          strangeId,
          strangeId,
          fc.constantFrom('read', 'vread', 'history', 'delete', 'put'),
          async (type, id, vid, how) => {
            const auth = { type: 'bearer' as const };
            const base = `/fhir/${type}/${id}`;
            const r =
              how === 'read'
                ? await request(gw.server).get(base).auth(gw.tokens['demo-admin'], auth)
                : how === 'vread'
                  ? await request(gw.server).get(`${base}/_history/${vid}`).auth(gw.tokens['demo-admin'], auth)
                  : how === 'history'
                    ? await request(gw.server).get(`${base}/_history`).auth(gw.tokens['demo-admin'], auth)
                    : how === 'delete'
                      ? await request(gw.server).delete(base).auth(gw.tokens['demo-vasteras'], auth)
                      : await send('put', base, { resourceType: type, id: decodeSafe(id) }, 'demo-admin');
            check(r, `${how} ${base} (${vid})`);
          },
        ),
        { ...fuzzOptions(2), endOnFailure: true },
      );
    });
    expectNoStall(stall);
  }, 240_000);

  it('when MLLP frames carry mutated ADT messages, then each frame gets exactly one ACK and the listener keeps serving', async () => {
    const client = await RawMllpClient.connect(gw.mllpPort);
    try {
      const stall = await longestStallMs(async () => {
        await fc.assert(
          fc.asyncProperty(mllpFrame, async (text) => {
            client.send(text);
            const ack = await client.next(10_000);
            note(`MLLP ${JSON.stringify(text.slice(0, 200))}`);
            const code = Hl7Message.parse(ack).getSegment('MSA')?.getField(1)?.toString();
            expect(['AA', 'AE', 'AR'], `ACK ${ack.slice(0, 200)} for ${JSON.stringify(text.slice(0, 200))}`).toContain(
              code,
            );
          }),
          { ...fuzzOptions(2), endOnFailure: true },
        );
      });
      expect(client.pending()).toBe(0);
      client.send(adt({ event: 'A08', visit: 'FUZZ-AFTER', obx: [OBX.needs('ingen')] }));
      expect(
        Hl7Message.parse(await client.next())
          .getSegment('MSA')
          ?.getField(1)
          ?.toString(),
      ).toBe('AA');
      expectNoStall(stall);
    } finally {
      client.close();
    }
  }, 240_000);
});

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
