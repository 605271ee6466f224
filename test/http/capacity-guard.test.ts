import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import request from 'supertest';
import { Registry } from 'prom-client';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { capacityGuard } from '../../src/http/capacity-guard';
import type { Logger } from '../../src/platform/logger';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from './shell-fixture';
import { admission, needsCD, partyClient, type PartyClient } from '../sip/party-client';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, meta?: Record<string, unknown>) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(meta ?? {})}`);
  const l: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}

const metricValue = async (registry: Registry, name: string): Promise<number> =>
  (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? NaN;

describe('load shedding (HTTP_MAX_IN_FLIGHT)', () => {
  it('when the limit is reached, then a new request gets 503 with Retry-After at once, and health stays open', async () => {
    const registry = new Registry();
    const lines: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = express();
    app.use(
      ['/fhir'],
      capacityGuard({ maxInFlight: 2, retryAfterSeconds: 3, logger: recordingLogger(lines), metrics: registry }),
    );
    app.get('/healthz', (_req, res) => void res.send('ok'));
    app.get('/fhir/slow', async (_req, res) => {
      await gate;
      res.json({ ok: true });
    });

    const held = [
      request(app)
        .get('/fhir/slow')
        .then((r) => r),
      request(app)
        .get('/fhir/slow')
        .then((r) => r),
    ];
    while ((await metricValue(registry, 'svu_http_in_flight')) < 2) await new Promise((r) => setTimeout(r, 5));

    const refused = await request(app).get('/fhir/slow');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('3');
    const oo = JSON.parse(refused.text) as OperationOutcome;
    expect(oo.resourceType).toBe('OperationOutcome');
    expect(oo.issue[0]?.code).toBe('transient');
    expect(oo.issue[0]?.diagnostics).toMatch(/at capacity \(2 requests in progress\): nothing was stored/);
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect(await metricValue(registry, 'svu_http_shed_total')).toBe(1);
    expect(lines.filter((l) => l.startsWith('warn http overloaded'))).toHaveLength(1);

    release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    expect((await request(app).get('/fhir/slow')).status).toBe(200);
    expect(await metricValue(registry, 'svu_http_in_flight')).toBe(0);
    expect(lines.some((l) => l.startsWith('info http no longer overloaded') && l.includes('"refused":1'))).toBe(true);
  });

  it('when the limit is 0, then nothing is refused', async () => {
    const registry = new Registry();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = express();
    app.use(
      '/fhir',
      capacityGuard({ maxInFlight: 0, retryAfterSeconds: 1, logger: recordingLogger([]), metrics: registry }),
    );
    app.get('/fhir/slow', async (_req, res) => {
      await gate;
      res.json({ ok: true });
    });
    const all = Array.from({ length: 20 }, () =>
      request(app)
        .get('/fhir/slow')
        .then((r) => r.status),
    );
    while ((await metricValue(registry, 'svu_http_in_flight')) < 20) await new Promise((r) => setTimeout(r, 5));
    release();
    expect(new Set(await Promise.all(all))).toEqual(new Set([200]));
  });
});

describe.each(testDatabases())('load shedding in the gateway on %s', (kind) => {
  let shell: Shell;
  let ehr: PartyClient;

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { HTTP_MAX_IN_FLIGHT: '1', HTTP_RETRY_AFTER_SECONDS: '1' } });
    await loadDemoRegion(shell.db, systemRepository);
    ehr = await partyClient(shell.gateway.app, 'demo-ehr');
  });
  afterAll(async () => shell.close());

  const stored = async (prefix: string): Promise<number> => {
    const r = await ehr.get('/fhir/Encounter', { _count: '100', _total: 'accurate' });
    const b = r.body as Bundle;
    return (b.entry ?? []).filter((e) => JSON.stringify(e.resource).includes(prefix)).length;
  };

  it('when 20 admissions arrive at once over a limit of 1, then each is stored or refused with 503, and a retry stores the refused', async () => {
    const prefix = `shed-${kind}-${Date.now()}`;
    const bundles = Array.from({ length: 20 }, (_, i) =>
      admission(`${prefix}-${i}`, '191212121212', '2026-11-28T08:00:00+01:00', needsCD()),
    );
    const first = await Promise.all(bundles.map((b) => ehr.post('/fhir', b)));
    const statuses = first.map((r) => r.status);
    expect(
      statuses.every((s) => s === 200 || s === 503),
      JSON.stringify(statuses),
    ).toBe(true);
    const refused = first.flatMap((r, i) => (r.status === 503 ? [i] : []));
    expect(refused.length).toBeGreaterThan(0);
    for (const i of refused) {
      expect(first[i]?.headers['retry-after']).toBe('1');
      expect((JSON.parse(first[i]?.text ?? '{}') as OperationOutcome).issue[0]?.code).toBe('transient');
    }
    // nothing of a refused Bundle was stored
    expect(await stored(prefix)).toBe(20 - refused.length);
    // the admin overview counts them
    const admin = await partyClient(shell.gateway.app, 'demo-admin');
    const ov = await admin.get('/admin/api/overview');
    expect(ov.status).toBe(200);
    expect((ov.body as { refusedAtCapacity: number }).refusedAtCapacity).toBe(refused.length);

    for (const i of refused) expect((await ehr.post('/fhir', bundles[i])).status).toBe(200);
    expect(await stored(prefix)).toBe(20);
  });
});
