import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Organization } from '@medplum/fhirtypes';
import type { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { saveClient } from '../../src/auth/client-store';
import type { StayFact } from '../../src/core/stay/facts';
import { IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { whatIfRoutes } from '../../src/followup/what-if/what-if.routes';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import { ManualClock } from '../../src/platform/clock';
import { createRepository } from '../../src/store/repository.pg';
import { openShell, type Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';
import { factsOf, syntheticYear, type SyntheticStay } from './synthetic-stays';

/** An edited copy of Västmanland's agreement: the admission notification within 12 h instead of 24 h. */
const EDITED = {
  id: 'vastmanland-12h',
  extends: 'vastmanland',
  name: 'Västmanland, förslag: inskrivningsmeddelande inom 12 timmar',
  region: { name: 'Region Västmanland', countyCode: '19' },
  description: 'Test: an edited copy of an agreement, as a region would try in a renegotiation.',
  tasks: {
    inskrivningsmeddelande: {
      deadline: {
        after: 'PT12H',
        kind: 'elapsed',
        from: 'notification',
        source: { document: 'SFS 2017:612', section: '2 kap. 1–3 §', note: 'Proposal: 12 h instead of 24 h.' },
      },
    },
  },
};

const HOUR = 3_600_000;
/** Every third stay's admission and needs assessment reach the gateway 20 h late: on time for 24 h, not for 12 h. */
const late = (s: SyntheticStay, i: number) => i % 3 === 0 && !s.id.startsWith('ex-');
function factsWithSendTimes(stays: SyntheticStay[]): StayFact[] {
  return stays.flatMap((s, i) =>
    factsOf(s).map((f) =>
      late(s, i) && (f.kind === 'admitted' || f.kind === 'needs-assessed')
        ? { ...f, sentAt: new Date(Date.parse(f.at) + 20 * HOUR).toISOString() }
        : f,
    ),
  );
}

describe.each(testDatabases())('agreement what-if for the controller on %s', (kind) => {
  let shell: Shell;
  let routes: Router | undefined;
  const tokens: Record<string, string> = {};
  const stays = syntheticYear(2022, 300);

  beforeAll(async () => {
    shell = await openShell({
      kind,
      audit: false,
      capabilities: [{ name: 'what-if', mountRoutes: (app) => app.use((q, s, n) => (routes ? routes(q, s, n) : n())) }],
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'svu-agreements-'));
    writeFileSync(path.join(dir, 'vastmanland-12h.json'), JSON.stringify(EDITED));
    routes = whatIfRoutes({
      db: shell.db,
      agreements: await loadAgreements({ extraDir: dir }),
      defaultAgreement: 'vastmanland',
      clock: new ManualClock('2022-12-31T00:00:00Z'),
      rates: await loadRatesTable(),
    });
    await storeAndLoadFactsOfStays(shell.db, [], factsWithSendTimes(stays), 'hl7');
    await createRepository(shell.db, { system: true }).update<Organization>({
      resourceType: 'Organization',
      id: 'kommun-1980',
      name: 'Västerås stad',
      identifier: [{ system: IDENTIFIER_SYSTEM.kommunkod, value: '1980' }],
    });
    for (const [id, role] of [
      ['controller', 'admin'],
      ['vasteras', 'municipality'],
    ] as const) {
      await saveClient(shell.db, {
        clientId: id,
        secret: `${id}-secret`,
        allowedScopes: role === 'admin' ? ['system/*.*'] : ['system/*.rs'],
        role,
        admin: role === 'admin',
        ...(role === 'admin' ? {} : { organization: 'Organization/kommun-1980' }),
      });
      const r = await request(shell.gateway.app)
        .post('/auth/token')
        .auth(id, `${id}-secret`)
        .type('form')
        .send({ grant_type: 'client_credentials' });
      tokens[id] = r.body.access_token as string;
    }
  }, 120_000);
  afterAll(async () => shell?.close());

  const get = (url: string, who = 'controller') =>
    request(shell.gateway.app).get(url).auth(tokens[who]!, { type: 'bearer' });

  it('when the controller lists the agreements, then the edited copy is there beside the region’s own', async () => {
    const r = await get('/admin/api/what-if/agreements');
    expect(r.status).toBe(200);
    expect(r.body.default).toBe('vastmanland');
    expect(r.body.agreements).toContainEqual({ id: 'vastmanland-12h', name: EDITED.name });
    expect(r.body.agreements.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining(['lag', 'jonkoping']));
  });

  it('when March is billed under Västmanland and under Jönköping, then each municipality is named and the totals add up', async () => {
    const r = await get('/admin/api/what-if/liability?month=2022-03&alternative=jonkoping');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      month: '2022-03',
      base: { agreement: 'vastmanland' },
      alternative: { agreement: 'jonkoping' },
    });
    type Row = { municipality: string; name: string; base: { amount: number }; alternative: { amount: number } };
    const rows = r.body.municipalities as Row[];
    expect(rows.find((m) => m.municipality === '1980')?.name).toBe('Västerås stad');
    const sum = (f: (m: Row) => number) => Math.round(rows.reduce((a, m) => a + f(m), 0) * 100) / 100;
    expect(r.body.total.base).toBe(sum((m) => m.base.amount));
    expect(r.body.total.alternative).toBe(sum((m) => m.alternative.amount));
    // The two payment models bill March differently (seed 003's worked examples are in it).
    expect(r.body.total.difference).not.toBe(0);
  });

  it('when the admission notification is cut to 12 h, then the notifications sent 20 h late turn from met to missed and no other step changes', async () => {
    const r = await get('/admin/api/what-if/deadlines?month=2022-03&alternative=vastmanland-12h');
    expect(r.status).toBe(200);
    type Counts = { met: number; missed: number; open: number };
    type Row = { code: string; name: string; base: Counts; alternative: Counts };
    const row = (r.body.rows as Row[]).find((x) => x.code === 'inskrivningsmeddelande')!;
    expect(row.name).toBe('Inskrivningsmeddelande');
    expect(row.base.missed).toBe(0);
    expect(row.alternative.missed).toBeGreaterThan(0);
    expect(row.base.met - row.alternative.met).toBe(row.alternative.missed);
    expect(r.body.rows.find((x: Row) => x.code === '*').difference.missed).toBe(row.alternative.missed);
    for (const x of r.body.rows as (Row & { difference: object })[])
      if (x.code !== 'inskrivningsmeddelande' && x.code !== '*')
        expect(x.difference, x.code).toEqual({ met: 0, missed: 0 });
    // Replaying under itself changes nothing.
    const same = await get('/admin/api/what-if/deadlines?month=2022-03&alternative=vastmanland');
    for (const x of same.body.rows as { difference: object }[]) expect(x.difference).toEqual({ met: 0, missed: 0 });
  });

  it('when a year has no national daily amount, then the liability what-if says so, and a given amount is used', async () => {
    const none = await get('/admin/api/what-if/liability?month=2021-03&alternative=lag');
    expect(none.status).toBe(422);
    expect(none.body.issue[0].diagnostics).toMatch(/2021/);
    const given = await get('/admin/api/what-if/liability?month=2021-03&alternative=lag&daily-amount=9000');
    expect(given.status).toBe(200);
    expect(given.body.base.dailyRate).toBe(9000);
  });

  it('when the input is wrong, then 400 names what is wrong', async () => {
    const r = await get('/admin/api/what-if/liability?month=2022-13&alternative=lag');
    expect(r.status).toBe(400);
    const u = await get('/admin/api/what-if/deadlines?month=2022-03&alternative=nowhere');
    expect(u.status).toBe(400);
    expect(u.body.issue[0].diagnostics).toContain('vastmanland-12h');
  });

  it('when a municipality’s client asks for any what-if, then it is refused: the comparison spans every municipality', async () => {
    for (const url of [
      '/admin/api/what-if/agreements',
      '/admin/api/what-if/liability?month=2022-03&alternative=jonkoping',
      '/admin/api/what-if/deadlines?month=2022-03&alternative=vastmanland-12h',
    ]) {
      const r = await get(url, 'vasteras');
      expect(r.status, url).toBe(403);
      expect(JSON.stringify(r.body)).not.toContain('Västerås stad');
    }
  });
});
