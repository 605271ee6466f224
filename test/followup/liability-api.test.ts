import type { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { saveClient } from '../../src/auth/client-store';
import { liabilityRoutes } from '../../src/followup/liability/liability.routes';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import { openShell, type Shell } from '../http/shell-fixture';
import { saveReport } from '../../src/followup/liability/liability-report.pg';
import { testDatabases } from '../support/db';
import { factsOf, syntheticYear } from './synthetic-stays';

async function token(shell: Shell, id: string, admin: boolean): Promise<string> {
  await saveClient(shell.db, {
    clientId: id,
    secret: `${id}-secret`,
    allowedScopes: admin ? ['system/*.*'] : ['system/Task.rs'],
    role: admin ? 'admin' : 'municipality',
    admin,
    ...(admin ? {} : { organization: 'Organization/kommun-1980' }),
  });
  const r = await request(shell.gateway.app)
    .post('/auth/token')
    .auth(id, `${id}-secret`)
    .type('form')
    .send({ grant_type: 'client_credentials' });
  return r.body.access_token as string;
}

describe.each(testDatabases())('GET /admin/api/liability on %s', (kind) => {
  let shell: Shell;
  let admin: string;
  let municipality: string;
  let routes: Router | undefined;
  const stays = syntheticYear(2022, 120);

  beforeAll(async () => {
    shell = await openShell({
      kind,
      audit: false,
      capabilities: [
        { name: 'liability', mountRoutes: (app) => app.use((q, s, n) => (routes ? routes(q, s, n) : n())) },
      ],
    });
    routes = liabilityRoutes({
      db: shell.db,
      agreements: await loadAgreements(),
      rates: await loadRatesTable(),
      defaultAgreement: 'lag',
    });
    await storeAndLoadFactsOfStays(shell.db, [], stays.flatMap(factsOf), 'hl7');
    admin = await token(shell, 'controller', true);
    municipality = await token(shell, 'vasteras', false);
  }, 60_000);
  afterAll(async () => shell.close());

  const get = (path: string, tok: string) => request(shell.gateway.app).get(path).auth(tok, { type: 'bearer' });

  it('when the controller asks for a month, then each stay comes with its facts and the rate with its source', async () => {
    const r = await get('/admin/api/liability?agreement=jonkoping&month=2022-03', admin);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ source: 'store', agreement: 'jonkoping', dailyRate: 9300, corrections: [] });
    expect(r.body.dailyRateSource).toContain('9 300');
    const d = r.body.municipalities.find((m: { municipality: string }) => m.municipality === '0604');
    expect(d).toMatchObject({ days: 49.6, amount: 461_280, name: 'Aneby (kommun 0604)' });
    expect(d.stays[0].facts.map((f: { kind: string }) => f.kind)).toContain('ready-for-discharge');
  });

  it('when the basis is asked as CSV for one municipality, then only its rows and total come', async () => {
    const r = await get('/admin/api/liability?agreement=jonkoping&month=2022-03&municipality=0602&format=csv', admin);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    const rows = r.text.trim().split('\r\n');
    expect(rows[0]).toBe(
      'agreement;month;municipality;row;stay;days;billableDays;basis;amount;reason;municipalityName',
    );
    expect(rows.slice(1).every((x) => x.startsWith('jonkoping;2022-03;0602;'))).toBe(true);
    expect(rows.at(-1)).toMatch(/^jonkoping;2022-03;0602;total;;;7;;65100;/);
  });

  it('when a municipality client asks, then it is refused (the invoice basis is the controller view)', async () => {
    const r = await get('/admin/api/liability?agreement=lag&month=2022-03', municipality);
    expect(r.status).toBe(403);
  });

  it('when the month is missing or the year has no amount, then an OperationOutcome says why', async () => {
    const bad = await get('/admin/api/liability?agreement=lag', admin);
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    const noRate = await get('/admin/api/liability?agreement=lag&month=2026-12', admin);
    expect(noRate.status).toBe(422);
    expect(noRate.body.issue[0].diagnostics).toContain('HSLF-FS 2025:74');
    const agreed = await get('/admin/api/liability?agreement=lag&month=2026-12&daily-amount=11000', admin);
    expect(agreed.status).toBe(200);
    expect(agreed.body.dailyRate).toBe(11000);
    const unknown = await get('/admin/api/liability?agreement=nowhere&month=2022-03', admin);
    expect(unknown.status).toBe(404);
  });

  it('when the month was reported and a late stay arrives, then the month shows a debit for it', async () => {
    const post = await request(shell.gateway.app)
      .post('/admin/api/liability/report?agreement=lag&month=2022-08')
      .auth(admin, { type: 'bearer' });
    expect(post.status).toBe(201);
    expect(post.body.reported).toMatchObject({ seq: 1, reportedBy: 'controller' });
    const ready = Date.UTC(2022, 7, 8, 7);
    const facts = factsOf({
      ...stays[0]!,
      id: 'late-aug',
      municipality: '0683',
      placing: undefined,
      care: 'somatic',
      readyAt: ready,
      dischargedAt: ready + 8 * 86_400_000,
      withdrawn: false,
      estimated: true,
      sipNeeded: false,
      outpatientUnavailable: false,
      categoryB: false,
    });
    await storeAndLoadFactsOfStays(shell.db, [], facts, 'hl7');
    const r = await get('/admin/api/liability?agreement=lag&month=2022-08', admin);
    const c = r.body.corrections.find((x: { municipality: string }) => x.municipality === '0683');
    expect(c).toMatchObject({ kind: 'debit', difference: { days: 5, amount: 46_500 } });
    expect(c.stays).toEqual([{ id: 'late-aug', reported: 0, current: 5 }]);
  });

  it('when several report the same month at once, then each gets the next number and none is refused', async () => {
    // the stored step itself, many at once (through HTTP the month's computation mostly keeps them apart)
    const saved = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        saveReport(shell.db, { agreement: 'lag', month: '2022-09', reportedBy: `c${i}`, dailyRate: 9300, basis: [] }),
      ),
    );
    expect(saved.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const post = await request(shell.gateway.app)
      .post('/admin/api/liability/report?agreement=lag&month=2022-09')
      .auth(admin, { type: 'bearer' });
    expect(post.body.reported.seq).toBe(13);
  });
});
