import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Router } from 'express';
import type { Organization } from '@medplum/fhirtypes';
import puppeteer, { type Browser } from 'puppeteer-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveClient } from '../../src/auth/client-store';
import { IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { dashboardRoutes } from '../../src/followup/dashboard/dashboard.routes';
import { ownViewRoutes } from '../../src/followup/dashboard/own-view.routes';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { loadRatesTable } from '../../src/followup/liability/rates-file';
import { whatIfRoutes } from '../../src/followup/what-if/what-if.routes';
import { ManualClock } from '../../src/platform/clock';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import { createRepository } from '../../src/store/repository.pg';
import { openShell, type Shell } from '../http/shell-fixture';
import { factsOf, syntheticYear } from './synthetic-stays';
import { CHROMIUM, skipBrowser } from '../support/chromium';

/** The dashboard in headless Chromium, over a year of synthetic stays (seed 003's examples in March). */
describe.skipIf(skipBrowser)('region dashboard in the browser', () => {
  let shell: Shell;
  let server: Server;
  let browser: Browser;
  let base: string;
  let admin: string;
  let routes: Router | undefined;
  let own: Router | undefined;
  let whatIf: Router | undefined;
  let municipality: string;
  let hospital: string;

  beforeAll(async () => {
    const agreements = await loadAgreements();
    shell = await openShell({
      audit: false,
      capabilities: [
        { name: 'dash', mountRoutes: (app) => app.use((q, s, n) => (routes ? routes(q, s, n) : n())) },
        { name: 'own', mountRoutes: (app) => app.use((q, s, n) => (own ? own(q, s, n) : n())) },
        { name: 'what-if', mountRoutes: (app) => app.use((q, s, n) => (whatIf ? whatIf(q, s, n) : n())) },
      ],
    });
    const agreement = () => getAgreement(agreements, 'vastmanland');
    routes = dashboardRoutes({ db: shell.db, now: () => new Date('2022-12-15T00:00:00Z'), agreement });
    own = ownViewRoutes({ db: shell.db, now: () => new Date('2022-12-15T00:00:00Z'), agreement });
    whatIf = whatIfRoutes({
      db: shell.db,
      agreements,
      defaultAgreement: 'vastmanland',
      clock: new ManualClock('2022-12-15T00:00:00Z'),
      rates: await loadRatesTable(),
    });
    await storeAndLoadFactsOfStays(shell.db, [], syntheticYear(2022, 1500).flatMap(factsOf), 'hl7');
    const repo = createRepository(shell.db, { system: true });
    for (const [id, code, name] of [
      ['kommun-0680', '0680', 'Jönköpings kommun'],
      ['kommun-1980', '1980', 'Västerås stad'],
      // The seed's kommun B, named in the directory: the drill-down is headed by its name.
      ['kommun-0602', '0602', 'Sala kommun'],
    ] as const) {
      await repo.update<Organization>({
        resourceType: 'Organization',
        id,
        name,
        identifier: [{ system: IDENTIFIER_SYSTEM.kommunkod, value: code }],
      });
    }
    const open = [
      ['t1', 'Organization/kommun-0680', 'overdue'],
      ['t2', 'Organization/kommun-0680', 'escalated'],
      ['t3', 'Organization/kommun-0680', 'due-soon'],
      ['t4', 'Organization/kommun-1980', 'on-time'],
    ];
    for (const [id, owner, status] of open) {
      await shell.db.query(
        `INSERT INTO deadline_task (task_id, code, owner, status, open, business_status) VALUES ($1, 'utskrivningsklar', $2, 'requested', true, $3)`,
        [id, owner, status],
      );
    }
    await shell.db.query(
      `INSERT INTO deadline_step (task_id, step_id, kind, recipient, seq, due_at, fired_at) VALUES ('t2', 'dev', 'deviation', 'both-principals', 3, '2022-11-10T10:00:00Z', '2022-11-10T10:00:00Z')`,
    );
    await saveClient(shell.db, {
      clientId: 'ctl',
      secret: 'ctl-secret',
      allowedScopes: ['system/*.*'],
      role: 'admin',
      admin: true,
    });
    admin = (
      await request(shell.gateway.app)
        .post('/auth/token')
        .auth('ctl', 'ctl-secret')
        .type('form')
        .send({ grant_type: 'client_credentials' })
    ).body.access_token as string;
    const client = async (id: string, role: 'municipality' | 'hospital', organization: string) => {
      await saveClient(shell.db, {
        clientId: id,
        secret: `${id}-secret`,
        allowedScopes: ['system/Task.rs'],
        role,
        organization,
      });
      return (
        await request(shell.gateway.app)
          .post('/auth/token')
          .auth(id, `${id}-secret`)
          .type('form')
          .send({ grant_type: 'client_credentials' })
      ).body.access_token as string;
    };
    municipality = await client('jkpg', 'municipality', 'Organization/kommun-0680');
    hospital = await client('ryhov', 'hospital', 'Organization/sjukhus-1');
    server = shell.gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await shell?.close();
  });

  it('when the controller loads the dashboard, then parties, ready-day lines, deviations and the drill-down are drawn', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 1400 });
    // A browser elsewhere: the page's times are still Swedish time, marked with their offset.
    await page.emulateTimezone('America/New_York');
    await page.goto(`${base}/followup/dashboard`);
    await page.type('#tok', admin);
    await page.$eval('#to', (el) => ((el as unknown as { value: string }).value = '2022-12'));
    const started = Date.now();
    await page.click('#go');
    await page.waitForSelector('#parties tr:nth-child(2)');
    await page.waitForSelector('#ready canvas');
    const loadMs = Date.now() - started;

    const parties = await page.$$eval('#parties tr', (rows) =>
      rows.map((r) => [...r.children].map((c) => c.textContent)),
    );
    expect(parties).toContainEqual(['Jönköpings kommun', '0', '1', '1', '1']);
    expect(parties).toContainEqual(['Västerås stad', '1', '0', '0', '0']);

    // uPlot's legend names every municipality's series; the canvas has the first series' colour on it.
    const legend = await page.$$eval('#ready .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    // a municipality the directory does not name reads as SCB names it with its code; a code SCB does not list
    // (0601) reads 'kommun <code>'
    expect(legend).not.toContain('0604');
    expect(legend).toEqual(
      expect.arrayContaining(['Jönköpings kommun', 'Västerås stad', 'kommun 0601', 'Aneby (kommun 0604)']),
    );
    const coloured = await page.$eval('#ready canvas', (c) => {
      const canvas = c as unknown as {
        width: number;
        height: number;
        getContext(
          kind: '2d',
        ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
      };
      const data =
        canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 0; i < data.length; i += 4)
        if (data[i] === 0x1f && data[i + 1] === 0x77 && data[i + 2] === 0xb4) n++;
      return n;
    });
    expect(coloured).toBeGreaterThan(50);
    const devLegend = await page.$$eval('#dev .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    expect(devLegend).toContain('Avvikelser');

    // Seed 003 kommun B (0602) in March: 10 stays averaging 2.7 calendar days; the drill-down lists them.
    await page.click('td[data-mun="0602"][data-month="2022-03"]');
    await page.waitForSelector('#stays tr:nth-child(2)');
    expect(await page.$eval('#drillTitle', (e) => e.textContent)).toBe('Sala kommun, 2022-03: 10 vårdtillfällen');
    expect(await page.$eval('td[data-mun="0602"][data-month="2022-03"]', (e) => e.textContent)).toBe('2.7 (10)');
    // A municipality the directory does not name (seed 003 kommun D, 0604: Aneby's kommunkod) is headed by SCB's
    // name with its kommunkod.
    await page.click('td[data-mun="0604"][data-month="2022-03"]');
    await page.waitForFunction('document.getElementById("drillTitle").textContent.includes("0604")');
    expect(await page.$eval('#drillTitle', (e) => e.textContent)).toMatch(
      /^Aneby \(kommun 0604\), 2022-03: \d+ vårdtillfällen$/,
    );
    // and so is its row of the table (not the bare code); a named one by its name
    const rows = await page.$$eval('#readyTable tr td:first-child', (tds) => tds.map((x) => x.textContent ?? ''));
    expect(rows).toContain('Aneby (kommun 0604)');
    expect(rows).toContain('kommun 0601');
    expect(rows).toContain('Sala kommun');
    expect(rows).not.toContain('0604');
    // Times as the admin console shows them (src/http/time-format.ts): Swedish time with its offset.
    const shown = await page.$$eval('#stays tr td:nth-child(2), #stays tr td:nth-child(3)', (tds) =>
      tds.map((x) => x.textContent ?? ''),
    );
    expect(shown.length).toBeGreaterThan(0);
    for (const x of shown) expect(x).toMatch(/^(2022-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0[12]:00|–)$/);
    expect(shown.filter((x) => x !== '–').length).toBeGreaterThan(0);
    expect(await page.$eval('#msg', (e) => e.textContent)).toMatch(
      /^Hämtad \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0[12]:00$/,
    );
    await page.screenshot({ path: '/tmp/followup-dashboard.png', fullPage: true });
    console.log(`dashboard first load with ${1500 + 69} stays: ${loadMs} ms`);
    await page.close();
  }, 60_000);

  it('when the controller compares March under Jönköping’s agreement, then liability per municipality and deadlines per step are shown side by side', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 1400 });
    await page.goto(`${base}/followup/dashboard`);
    await page.type('#tok', admin);
    await page.$eval('#to', (el) => ((el as unknown as { value: string }).value = '2022-12'));
    await page.click('#go');
    await page.waitForSelector('#whatIf:not([hidden]) #wiAlt option');
    await page.$eval('#wiMonth', (el) => ((el as unknown as { value: string }).value = '2022-03'));
    expect(await page.$eval('#wiBase', (el) => (el as unknown as { value: string }).value)).toBe('vastmanland');
    await page.select('#wiAlt', 'jonkoping');
    await page.click('#wiGo');
    await page.waitForSelector('#wiLiability tr:nth-child(2)');
    await page.waitForSelector('#wiDeadlines tr:nth-child(2)');
    const cells = (sel: string) =>
      page.$$eval(`${sel} tr`, (rows) => rows.map((r) => [...r.children].map((c) => c.textContent ?? '')));
    const liability = await cells('#wiLiability');
    expect(liability[0]).toEqual([
      'Kommun',
      'Dagar vastmanland',
      'Belopp vastmanland',
      'Dagar jonkoping',
      'Belopp jonkoping',
      'Skillnad',
    ]);
    const names = liability.slice(1, -1).map((r) => r[0]);
    expect(names).toEqual(expect.arrayContaining(['Jönköpings kommun', 'Västerås stad', 'Aneby (kommun 0604)']));
    expect(liability.at(-1)?.[0]).toBe('Totalt');
    // Seed 003 kommun D (0604) in March is billed under Jönköping's model: 49.6 days × 9 300 kr.
    const d = liability.find((r) => r[0] === 'Aneby (kommun 0604)');
    expect(d?.[4]?.replace(/\s/g, '')).toBe('461280kr');
    const deadlines = await cells('#wiDeadlines');
    expect(deadlines.map((r) => r[0])).toEqual(expect.arrayContaining(['Inskrivningsmeddelande', 'Alla steg']));
    expect(await page.$eval('#wiMsg', (e) => e.textContent)).toMatch(/^\d+ vårdtillfällen inskrivna 2022-03$/);
    await page.screenshot({ path: '/tmp/followup-what-if.png', fullPage: true });
    await page.close();
  }, 60_000);

  it("when a municipality's client loads the dashboard, then only its own municipality and Tasks are drawn", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/followup/dashboard`);
    await page.type('#tok', municipality);
    await page.$eval('#to', (el) => ((el as unknown as { value: string }).value = '2022-12'));
    await page.click('#go');
    await page.waitForSelector('#ready canvas');
    const legend = await page.$$eval('#ready .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    expect(legend).toEqual(['Månad', 'Jönköpings kommun']);
    const parties = await page.$$eval('#parties tr td:first-child', (tds) => tds.map((t) => t.textContent));
    expect(parties).toEqual(['Jönköpings kommun']);
    // The what-if spans every municipality: a municipality's view has no such panel (its API answers 403).
    expect(await page.$eval('#whatIf', (e) => (e as unknown as { hidden: boolean }).hidden)).toBe(true);
    await page.screenshot({ path: '/tmp/followup-dashboard-0680.png', fullPage: true });
    await page.close();
  }, 60_000);

  it('when another municipality or a hospital asks, then it gets its own view or is refused', async () => {
    const get = (path: string, tok?: string) => {
      const r = request(shell.gateway.app).get(path);
      return tok ? r.auth(tok, { type: 'bearer' }) : r;
    };
    expect((await get('/admin/api/dashboard?to=2022-12')).status).toBe(401);
    expect((await get('/admin/api/dashboard?to=2022-12', municipality)).status).toBe(403);
    expect((await get('/fhir/$followup-dashboard?to=2022-12', hospital)).status).toBe(403);
    const asksOther = await get('/fhir/$followup-dashboard?to=2022-12&municipality=1980', municipality);
    expect(asksOther.body.view).toBe('0680');
    expect(asksOther.body.readyDays.map((s: { municipality: string }) => s.municipality)).toEqual(['0680']);
    const drill = await get('/fhir/$followup-dashboard-stays?municipality=1980&month=2022-03', municipality);
    expect(drill.status).toBe(403);
    // Both municipalities by name, not by kommunkod.
    expect(drill.body.issue[0].diagnostics).toBe(
      'Jönköpings kommun sees only its own stays, not those of Västerås stad',
    );
    const region = await get('/fhir/$followup-dashboard?to=2022-12', admin);
    expect(region.body.view).toBe('region');
    expect(region.body.readyDays.length).toBeGreaterThan(5);
  });
});
