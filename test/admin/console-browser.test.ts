import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { decodeJwt, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import type { IntakeCapability } from '../../src/intake';
import { adt, OBX } from '../mapping/adt-builder';
import { openShell, type Shell } from '../http/shell-fixture';
import { saveClient } from '../../src/auth/client-store';
import { uniquePrefix } from '../support/redis';
import { CHROMIUM, skipBrowser } from '../support/chromium';
import { tokenByAssertion } from '../support/client-assertion';
import { upsertRegistry } from '../../src/subscriptions/registry.pg';
import type { Task } from '@medplum/fhirtypes';

/** Screenshots for a person to look at (not compared by the test). */
const SHOTS = process.env.ADMIN_SCREENSHOTS ?? '/tmp/svu-admin-screenshots';

/**
 * Answers the page's confirm dialogs: each question is pushed to `asked`, dismissed until `answer` is set true, then
 * accepted; `off` stops listening.
 */
function answerDialogs(page: Page, asked: string[]): { answer: boolean; off: () => void } {
  const state = {
    answer: false,
    off: () => void page.off('dialog', onDialog),
  };
  const onDialog = (d: { message: () => string; accept: () => Promise<void>; dismiss: () => Promise<void> }) => {
    asked.push(d.message());
    void (state.answer ? d.accept() : d.dismiss());
  };
  page.on('dialog', onDialog);
  return state;
}

describe.skipIf(skipBrowser)('admin console in headless Chromium', () => {
  let shell: Shell;
  let server: Server;
  let base: string;
  let browser: Browser;
  let page: Page;

  /** Sends one HL7 message over HTTP as the demo EHR and waits until it is applied. */
  async function sendAsEhr(message: string): Promise<void> {
    const tok = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('demo-ehr', 'demo-ehr-secret')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    await request(shell.gateway.app)
      .post('/hl7v2')
      .auth(tok.body.access_token as string, { type: 'bearer' })
      .set('Content-Type', 'x-application/hl7-v2+er7')
      .send(message)
      .expect(200);
    await (shell.gateway.capabilities.find((c) => c.name === 'intake') as IntakeCapability).settled();
  }

  beforeAll(async () => {
    shell = await openShell({ full: true, env: { QUEUE_PREFIX: uniquePrefix(), MLLP_PORT: '0' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const c of shell.gateway.capabilities) await c.start?.(new Set(['api'] as const));
    server = createServer(shell.gateway.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // One message, so the HL7 page has a row to open.
    await sendAsEhr(adt({ event: 'A01', visit: 'BROWSER-1', control: 'BROWSER-1', obx: [OBX.needs('socialtjanst')] }));
    mkdirSync(SHOTS, { recursive: true });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.emulateTimezone('America/New_York');
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await shell?.close();
  });

  /** An instant as the console shows it: Swedish time and offset (`2026-03-01 09:00:00 +01:00`). */
  const stockholm = (iso: string) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('sv-SE', {
        timeZone: 'Europe/Stockholm',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'longOffset',
      })
        .formatToParts(new Date(iso))
        .map((x) => [x.type, x.value]),
    );
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${String(p.timeZoneName).replace('GMT', '')}`;
  };
  const heading = () => page.$eval('h1', (h) => h.textContent ?? '');
  const shot = (name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

  it('when an admin opens /admin, logs in as demo-admin and follows every link, then each page and Bull Board load', async () => {
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().startsWith(base)) failed.push(`${r.status()} ${r.url()}`);
    });
    // What the browser reports as an error on our pages (a script error, something the page's CSP blocks).
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.location().url ?? ''}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${String(e)}`));
    // What the pages ask the browser to fetch from another host (Bull Board links a stylesheet on Google Fonts).
    const elsewhere: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    await page.goto(`${base}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await shot('01-login');
    await page.type('#client_id', 'demo-admin');
    await page.type('#client_secret', 'demo-admin-secret');
    await Promise.all([page.waitForNavigation(), page.click('#submit')]);
    expect(new URL(page.url()).pathname).toBe('/admin');
    expect(await heading()).toBe('Översikt');
    await page.waitForSelector('#queues tr td');
    expect(await page.$eval('#queues', (t) => t.textContent)).toContain('deadline-timers');
    await shot('02-overview');

    const pages: [string, string, string][] = [
      ['delivery', 'Leveranser', '#ep tr'],
      ['hl7', 'HL7 v2-meddelanden', '#list tr[data-id]'],
      ['subscriptions', 'Prenumerationer per organisation', '#groups'],
      ['clients', 'Klienter (OAuth)', '#list tr td'],
      ['deadlines', 'Tidsfrister som närmar sig', '#total:not(:empty)'],
      ['holidays', 'Helgdagskalender', '#periods tr td'],
      ['resources', 'Resurser (endast läsning)', '#list tr[data-id]'],
      ['sessions', 'Inloggade sessioner', '#list tr td'],
    ];
    for (const [nav, title, ready] of pages) {
      await Promise.all([page.waitForNavigation(), page.click(`nav a[data-nav="${nav}"]`)]);
      expect(await heading()).toBe(title);
      await page.waitForSelector(ready);
      // Every time in a table is Swedish time with its offset; none is left as UTC ISO text.
      const times = await page.$$eval('main td time', (ts) =>
        ts.map((x) => [x.getAttribute('datetime'), x.textContent]),
      );
      for (const [iso, shown] of times) expect(shown).toBe(stockholm(iso));
      if (nav === 'resources' || nav === 'sessions') expect(times.length).toBeGreaterThan(0);
      const utc = await page.$$eval('main td', (tds) => tds.map((x) => x.textContent ?? ''));
      expect(utc.filter((x) => /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(x))).toEqual([]);
      await shot(`03-${nav}`);
    }

    // The follow-up dashboard from the navigation: with the session alone (no pasted token) it loads the region.
    await Promise.all([page.waitForNavigation(), page.click('nav a[data-nav="dashboard"]')]);
    expect(new URL(page.url()).pathname).toBe('/admin/dashboard');
    await page.waitForFunction('document.getElementById("msg").textContent.startsWith("Hämtad")', { timeout: 20_000 });
    // The what-if panel is there for the admin, and the console's navigation leads back.
    await page.waitForSelector('#whatIf:not([hidden]) #wiAlt option');
    await shot('03-dashboard');
    await Promise.all([page.waitForNavigation(), page.click('#consoleNav a[data-nav="overview"]')]);
    expect(new URL(page.url()).pathname).toBe('/admin');

    // The HL7 message: its segment tree and what it produced.
    await Promise.all([page.waitForNavigation(), page.click('nav a[data-nav="hl7"]')]);
    await page.waitForSelector('#list tr[data-id]');
    // Columns are named for a person (Swedish here), not by their JSON field names.
    const headers = await page.$$eval('#list th', (th) => th.map((x) => x.textContent));
    expect(headers).toContain('Mottaget');
    expect(headers).not.toContain('receivedAt');
    // The sender by its organisation's name, the visit number (PV1-19) rather than the gateway's stay id, and the
    // time received in Swedish time with its offset, whatever the browser's own zone (New York here).
    const row = await page.$$eval('#list tr', (trs) => {
      const cols = [...trs[0]!.querySelectorAll('th')].map((th) => th.dataset.col);
      const td = [...trs[1]!.querySelectorAll('td')];
      return Object.fromEntries(cols.map((c, i) => [c, td[i]!.textContent]));
    });
    expect(row).toMatchObject({ sender: 'Västmanlands sjukhus Västerås', visitNumber: 'BROWSER-1' });
    expect(headers).toContain('Vårdtillfälle (PV1-19)');
    const received = await page.$eval('#list td time', (x) => [x.getAttribute('datetime'), x.textContent]);
    expect(received[1]).toBe(stockholm(received[0]));
    await page.click('#list tr[data-id]');
    await page.waitForSelector('#tree details');
    const segments = await page.$$eval('#tree summary', (s) => s.map((x) => x.textContent));
    expect(segments).toEqual(expect.arrayContaining(['MSH', 'PID', 'PV1']));
    await page.click('#tree details:nth-of-type(3) summary');
    await shot('04-hl7-message');
    // The stay's case overview from the message, and back.
    await Promise.all([page.waitForNavigation(), page.click('#outcome a#caseLink')]);
    expect(new URL(page.url()).pathname).toMatch(/^\/admin\/cases\/hl7-/);
    expect(await heading()).toBe('Ärendeöversikt');
    // Its own icon, so the browser does not ask for /favicon.ico (404, an error in the console) on each visit.
    expect(await page.$eval('link[rel="icon"]', (l) => l.getAttribute('href'))).toBe('data:,');
    // The console's navigation leads on from the case page (in Swedish, like the page).
    expect(await page.$eval('#consoleNav a[data-nav="hl7"]', (a) => a.textContent)).toBe('HL7-meddelanden');
    await shot('04-case');
    await page.goBack();

    // English, then Bull Board through the navigation (the session cookie is enough).
    await Promise.all([page.waitForNavigation(), page.click('a[lang="en"]')]);
    expect(await heading()).toBe('HL7 v2 messages');
    await Promise.all([page.waitForNavigation(), page.click('nav a[data-nav="queues"]')]);
    expect(new URL(page.url()).pathname).toBe('/admin/queues/');
    await page.waitForFunction('document.body.innerText.includes("deadline-timers")', { timeout: 20_000 });
    const board = (await page.evaluate('document.body.innerText')) as string;
    for (const q of ['delivery', 'deadline-timers', 'deadline-events']) expect(board).toContain(q);
    await shot('05-bull-board');
    await page.goto(`${base}/admin`);
    expect(await heading()).toBe('Overview');
    // The dashboard's navigation stays Swedish, like the page, whatever language the console's pages use.
    await Promise.all([page.waitForNavigation(), page.click('nav a[data-nav="dashboard"]')]);
    expect(await page.$$eval('#consoleNav a', (as) => as.map((a) => a.textContent))).toContain('Översikt');
    expect(await page.$$eval('#consoleNav a', (as) => as.map((a) => a.textContent))).not.toContain('Overview');
    await page.waitForFunction('document.getElementById("msg").textContent.startsWith("Hämtad")', { timeout: 20_000 });
    expect(failed).toEqual([]);
    // No page asks for anything on another host (Bull Board's Google Fonts link is left out), and the browser
    // reports no error on any page.
    expect(elsewhere).toEqual([]);
    expect(consoleErrors).toEqual([]);

    // Logout ends the session: the next page asks for a login again.
    await page.goto(`${base}/admin/sessions`);
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.goto(`${base}/admin/queues/`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
  }, 180_000);

  it('when the admin searches with a bad personnummer, then searches again and processes a rejected message again, then the error goes, statuses read in Swedish and the outcome is shown', async () => {
    // An event no profile supports: rejected now, and again when processed again.
    await sendAsEhr(adt({ event: 'A99', visit: 'BROWSER-99', control: 'BROWSER-99' }));
    await open('/admin/hl7?lang=sv');
    await page.waitForSelector('#list tr[data-id]');
    const shownError = () => page.$eval('#err', (e) => (e.hidden ? '' : (e.textContent ?? '')));
    await page.type('#pnr', '1938');
    await page.click('#go');
    await page.waitForFunction('!document.getElementById("err").hidden');
    expect(await shownError()).toContain('personnummer');
    // The corrected search finds the visit, and the previous search's error is gone.
    await page.$eval('#pnr', (e) => ((e as unknown as { value: string }).value = ''));
    await page.type('#visit', 'BROWSER-99');
    await page.click('#go');
    await page.waitForFunction('document.querySelectorAll("#list tr[data-id]").length === 1');
    expect(await shownError()).toBe('');
    // Statuses as a Swedish reader reads them: in the list, the counts and the status choice.
    const cells = await page.$$eval('#list tr', (trs) => {
      const cols = [...trs[0]!.querySelectorAll('th')].map((th) => th.dataset.col);
      return trs[1]!.querySelectorAll('td')[cols.indexOf('status')]!.textContent;
    });
    expect(cells).toBe('avvisat');
    expect(await page.$eval('#counts', (e) => e.textContent)).toMatch(/avvisat: \d+/);
    expect(await page.$$eval('#status option', (os) => os.map((o) => o.textContent))).toEqual([
      'alla',
      'väntar',
      'accepterat',
      'ignorerat',
      'avvisat',
      'fel vid bearbetning',
    ]);
    // "Bearbeta igen" says what became of the message.
    await page.click('#list tr[data-id]');
    await page.waitForSelector('#again');
    await page.click('#again');
    await page.waitForFunction('document.getElementById("againResult")?.textContent');
    expect(await page.$eval('#againResult', (e) => e.textContent)).toMatch(
      /^Meddelandet bearbetades igen och avvisades: .*A99/,
    );
    await shot('06-hl7-reprocessed');
  }, 60_000);

  it('when the admin clicks Återkalla on their own session and then cancels, then nothing is revoked; when they confirm, they are logged out', async () => {
    await open('/admin/sessions?lang=sv');
    await page.waitForSelector('button[data-own]');
    const asked: string[] = [];
    const posts: string[] = [];
    const onRequest = (r: { method: () => string; url: () => string }) => {
      if (r.method() === 'POST') posts.push(r.url());
    };
    page.on('request', onRequest);
    const dialogs = answerDialogs(page, asked);
    try {
      await page.click('button[data-own]');
      await new Promise((r) => setTimeout(r, 300));
      expect(asked).toEqual(['Det här är din egen session: du loggas ut. Återkalla den?']);
      expect(posts).toEqual([]);
      dialogs.answer = true;
      await Promise.all([page.waitForNavigation(), page.click('button[data-own]')]);
      expect(posts).toHaveLength(1);
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    } finally {
      dialogs.off();
      page.off('request', onRequest);
    }
  }, 60_000);

  /** An active Subscription of Västerås stad's to a closed port (`http://127.0.0.1:9/<path>`), in the registry. */
  const vasterasSubscription = (id: string, path: string) =>
    upsertRegistry(
      shell.db,
      {
        resourceType: 'Subscription',
        id,
        status: 'active',
        reason: 'browser test',
        criteria: 'Task?status=requested',
        channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:9/${path}`, payload: 'application/fhir+json' },
      },
      { clientId: 'demo-vasteras', organization: 'Organization/kommun-1980', role: 'municipality' },
    );

  it('when a Subscription’s organisation has no name in the directory, then the delivery and subscription pages say it is unknown, with its reference, and statuses read as words', async () => {
    // A hospital's Subscription whose Organization the directory does not hold, and one failed delivery for it.
    const ghost = { clientId: 'ghost-ehr', organization: 'Organization/ghost-hospital', role: 'hospital' as const };
    const endpoint = 'http://127.0.0.1:9/ghost-receiver';
    await upsertRegistry(
      shell.db,
      {
        resourceType: 'Subscription',
        id: 'ghost-sub',
        status: 'error',
        reason: 'browser test',
        criteria: 'Encounter?status=in-progress',
        channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
      },
      ghost,
    );
    await shell.db.query(
      `INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status, error, duration_ms)
       VALUES ('ghost-sub', 1, 'event', $1, 1, 'failed', 503, 'unavailable', 12)`,
      [endpoint],
    );
    await open('/admin/delivery?lang=sv');
    await page.waitForSelector('#rc tr td');
    const organisationOf = (table: string) =>
      page.$$eval(
        `${table} tr`,
        (trs, ep) => {
          const cols = [...trs[0]!.querySelectorAll('th')].map((th) => th.dataset.col);
          return trs
            .slice(1)
            .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''))
            .filter((cells) => cells[cols.indexOf('endpoint')] === ep)
            .map((cells) => cells[cols.indexOf('organisation')]);
        },
        endpoint,
      );
    const unknown = 'okänd organisation (Organization/ghost-hospital)';
    expect(await organisationOf('#rc')).toEqual([unknown]);
    expect(await organisationOf('#ep')).toEqual([unknown]);
    // The attempt's kind and status and the endpoint's breaker in words, not the stored codes.
    const cellsOf = (table: string, col: string) =>
      page.$$eval(
        `${table} tr`,
        (trs, ep, c) => {
          const cols = [...trs[0]!.querySelectorAll('th')].map((th) => th.dataset.col);
          return trs
            .slice(1)
            .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''))
            .filter((cells) => cells[cols.indexOf('endpoint')] === ep)
            .map((cells) => cells[cols.indexOf(c)]);
        },
        endpoint,
        col,
      );
    expect(await cellsOf('#rc', 'kind')).toEqual(['händelse']);
    expect(await cellsOf('#rc', 'status')).toEqual(['misslyckad']);
    expect(await cellsOf('#ep', 'breaker')).toEqual(['stängd (skickar)']);
    await page.goto(`${base}/admin/subscriptions`);
    await page.waitForSelector('#groups h2');
    expect(await page.$$eval('#groups h2', (hs) => hs.map((h) => h.textContent))).toContain(unknown);
    expect(await page.$$eval('#groups td', (tds) => tds.map((x) => x.textContent))).toContain('fel');
    // The overview counts the Subscriptions per status in words, not as an object.
    await page.goto(`${base}/admin`);
    await page.waitForSelector('#ov tr td');
    const perStatus = await page.$$eval('#ov tr', (trs) =>
      trs
        .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''))
        .find((c) => c[0] === 'Prenumerationer per status'),
    );
    expect(perStatus?.[1]).toMatch(/^(\p{L}+: \d+)( · \p{L}+: \d+)*$/u);
    expect(perStatus?.[1]).toContain('fel: 1');
  }, 60_000);

  it('when the admin replays one dead letter and discards another, then the page says what was done and both leave the list', async () => {
    await vasterasSubscription('dl-sub', 'dl');
    const ids: string[] = [];
    for (const n of [1, 2]) {
      await shell.db.query(
        `INSERT INTO subscription_event (subscription_id, event_number, order_key, focus_type, focus_id, status, committed_at)
         VALUES ('dl-sub', $1, $2, 'Task', $3, 'dead', now())`,
        [n, `stay-${n}`, `dl-task-${n}`],
      );
      const r = await shell.db.query<{ id: string }>(
        `INSERT INTO dead_letter (subscription_id, event_number, endpoint, reason) VALUES ('dl-sub', $1, 'http://127.0.0.1:9/dl', 'gave up') RETURNING id`,
        [n],
      );
      ids.push(String(r.rows[0]!.id));
    }
    await open('/admin/delivery?lang=sv');
    const openIds = () =>
      page.$$eval('#dl button[data-a="replay"]', (bs) =>
        bs.map((b) => (b as unknown as { dataset: { id: string } }).dataset.id),
      );
    await page.waitForSelector(`#dl button[data-a="replay"][data-id="${ids[0]}"]`);
    await page.click(`#dl button[data-a="replay"][data-id="${ids[0]}"]`);
    await page.waitForFunction('document.getElementById("done").textContent');
    expect(await page.$eval('#done', (e) => e.textContent)).toBe(
      `Dött brev ${ids[0]} skickas igen (en avstängd prenumeration slås på igen).`,
    );
    const onDialog = (d: { accept: () => Promise<void> }) => void d.accept();
    page.on('dialog', onDialog);
    try {
      await page.waitForFunction(`!document.querySelector('#dl button[data-id="${ids[0]}"]')`);
      await page.click(`#dl button[data-a="discard"][data-id="${ids[1]}"]`);
      await page.waitForFunction(`document.getElementById('done').textContent.includes('brev ${ids[1]} är kastat')`);
    } finally {
      page.off('dialog', onDialog);
    }
    await page.waitForFunction(`!document.querySelector('#dl button[data-id="${ids[1]}"]')`);
    expect((await openIds()).filter((id) => ids.includes(id))).toEqual([]);
  }, 60_000);

  it('when a Task’s owner has no display, then the resource browser names it from the directory, or says it is unknown', async () => {
    const repo = systemRepository(shell.db);
    const task = (code: string, owner: string): Task => ({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { text: code },
      owner: { reference: owner },
    });
    await repo.create(task('Namngiven ägare', 'Organization/kommun-1980'));
    await repo.create(task('Okänd ägare', 'Organization/ghost-owner'));
    await open('/admin/resources?type=Task&lang=sv');
    await page.waitForSelector('#list tr[data-id]');
    const summaries = await page.$$eval('#list tr', (trs) => {
      const cols = [...trs[0]!.querySelectorAll('th')].map((th) => th.dataset.col);
      return trs.slice(1).map((tr) => tr.querySelectorAll('td')[cols.indexOf('summary')]?.textContent ?? '');
    });
    expect(summaries).toContain('Namngiven ägare → Västerås stad');
    expect(summaries).toContain('Okänd ägare → okänd organisation (Organization/ghost-owner)');
    expect(summaries.filter((x) => /→ Organization\//.test(x))).toEqual([]);
  }, 60_000);

  /** Opens `path`, logging in as demo-admin first when the session has ended. */
  async function open(path: string): Promise<void> {
    await page.goto(`${base}${path}`);
    if (new URL(page.url()).pathname !== '/admin/login') return;
    await page.type('#client_id', 'demo-admin');
    await page.type('#client_secret', 'demo-admin-secret');
    await Promise.all([page.waitForNavigation(), page.click('#submit')]);
    await page.goto(`${base}${path}`);
  }
  /** The rows of a console table as column → text. */
  const rowsOf = (selector: string) =>
    page.$$eval(`${selector} tr`, (trs) => {
      const cols = [...trs[0]!.querySelectorAll('th')].map((th) => th.dataset.col ?? '');
      return trs
        .slice(1)
        .map((tr) =>
          Object.fromEntries(
            [...tr.querySelectorAll('td')].map((td, i) => [cols[i] || 'actions', td.textContent ?? '']),
          ),
        );
    });
  const tokenFor = (id: string, secret: string) =>
    request(shell.gateway.app)
      .post('/auth/token')
      .auth(id, secret)
      .type('form')
      .send({ grant_type: 'client_credentials' });

  it('when the admin creates a client, is refused by the API’s rules, then disables and enables it, then the secret is shown once and tokens follow the switch', async () => {
    await open('/admin/clients?lang=sv');
    await page.waitForSelector('#list tr td');
    expect((await rowsOf('#list')).find((r) => r.clientId === 'demo-ehr')).toMatchObject({
      organisation: 'Västmanlands sjukhus Västerås',
      role: 'sjukhus',
      enabled: 'ja',
    });
    await page.waitForSelector('#org option[value="Organization/kommun-1980"]');
    // A scope the API does not take: its own words, and no client.
    await page.type('#cid', 'browser-client');
    await page.select('#org', 'Organization/kommun-1980');
    await page.select('#role', 'municipality');
    await page.type('#scopes', 'nonsense');
    await page.click('#go');
    await page.waitForFunction('!document.getElementById("err").hidden');
    expect(await page.$eval('#err', (e) => e.textContent)).toContain(
      'every allowed scope must be a SMART resource scope',
    );
    expect(await page.$eval('#secretBox', (e) => e.hidden)).toBe(true);
    await page.$eval('#scopes', (e) => ((e as unknown as { value: string }).value = 'system/Task.rs'));
    await page.click('#go');
    await page.waitForSelector('#secretBox:not([hidden])');
    const secret = (await page.$eval('#secret', (e) => e.textContent)) ?? '';
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.$eval('#secretNote', (e) => e.textContent)).toContain('visas bara nu');
    await shot('07-client-created');
    expect((await tokenFor('browser-client', secret)).status).toBe(200);
    await page.waitForFunction(
      'document.querySelector("#list button[data-toggle=\'browser-client\']")?.dataset.to === "disable"',
    );
    expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-client')).toMatchObject({
      organisation: 'Västerås stad',
      allowedScopes: 'system/Task.rs',
      enabled: 'ja',
    });
    // The same id again is a new client no more: refused before anything is sent.
    await page.type('#cid', 'browser-client');
    await page.type('#scopes', 'system/Task.rs');
    await page.click('#go');
    await page.waitForFunction('!document.getElementById("err").hidden');
    expect(await page.$eval('#err', (e) => e.textContent)).toContain('Det finns redan en klient browser-client.');
    expect((await tokenFor('browser-client', secret)).status).toBe(200);

    const asked: string[] = [];
    const onDialog = (d: { message: () => string; accept: () => Promise<void> }) => {
      asked.push(d.message());
      void d.accept();
    };
    page.on('dialog', onDialog);
    try {
      await page.click('#list button[data-toggle="browser-client"]');
      await page.waitForFunction('document.getElementById("done").textContent');
      expect(await page.$eval('#done', (e) => e.textContent)).toBe('Klienten browser-client är avstängd.');
      expect(asked).toEqual(['Stänga av klienten browser-client? Den får inga nya token.']);
    } finally {
      page.off('dialog', onDialog);
    }
    await page.waitForFunction(
      'document.querySelector("#list button[data-toggle=\'browser-client\']")?.dataset.to === "enable"',
    );
    expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-client')?.enabled).toBe('nej');
    expect((await tokenFor('browser-client', secret)).status).toBe(401);
    await page.click('#list button[data-toggle="browser-client"]');
    await page.waitForFunction('document.getElementById("done").textContent.includes("påslagen")');
    expect((await tokenFor('browser-client', secret)).status).toBe(200);
    // Shown once: the page opened again has no secret in it.
    await open('/admin/clients');
    await page.waitForSelector('#list tr td');
    expect(await page.content()).not.toContain(secret);
  }, 60_000);

  /** An ES384 key pair: the public JWK as an admin pastes it, the private key the client keeps. */
  async function clientKey(kid: string) {
    const kp = await generateKeyPair('ES384', { extractable: true });
    return {
      privateKey: kp.privateKey,
      privateJwk: { ...(await exportJWK(kp.privateKey)), kid },
      jwks: JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid, alg: 'ES384', use: 'sig' }] }, null, 2),
    };
  }
  /** POST /auth/token as `clientId` with a client assertion signed by `key` (SMART Backend Services). */
  const assertionToken = (clientId: string, key: { privateKey: CryptoKey; privateJwk: { kid: string } }) =>
    tokenByAssertion(shell.gateway.app, clientId, key.privateKey, key.privateJwk.kid);
  const fill = (selector: string, value: string) =>
    page.$eval(selector, (e, v) => ((e as unknown as { value: string }).value = v), value);
  const errorShown = async () => {
    await page.waitForFunction('!document.getElementById("err").hidden');
    return (await page.$eval('#err', (e) => e.textContent)) ?? '';
  };

  it('when the admin registers a client by pasting its public keys (after text that is no JSON and a private key are refused) and later replaces them, then it authenticates with private_key_jwt by the current key only', async () => {
    const [first, second] = [await clientKey('browser-2026-a'), await clientKey('browser-2026-b')];
    await open('/admin/clients?lang=sv');
    await page.waitForSelector('#org option[value="Organization/kommun-1980"]');
    await page.type('#cid', 'browser-jwt');
    await page.select('#org', 'Organization/kommun-1980');
    await page.select('#role', 'municipality');
    await page.type('#scopes', 'system/Task.rs');
    // Text that is no JSON: said by the page, nothing sent.
    await fill('#jwks', '{"keys": [');
    await page.click('#go');
    expect(await errorShown()).toContain('Nycklarna är inte giltig JSON');
    // A private key: the API's refusal as it says it; the key is not stored, nor shown back.
    await fill('#jwks', JSON.stringify({ keys: [first.privateJwk] }));
    await page.click('#go');
    await page.waitForFunction('document.getElementById("err").textContent.includes("HTTP 400")');
    expect(await errorShown()).toContain('jwks.keys[0] holds private key material (d)');
    expect(await page.$eval('#err', (e) => e.textContent)).not.toContain(String(first.privateJwk.d));
    const admin = (await tokenFor('demo-admin', 'demo-admin-secret')).body.access_token as string;
    await request(shell.gateway.app).get('/admin/api/clients/browser-jwt').auth(admin, { type: 'bearer' }).expect(404);

    await fill('#jwks', first.jwks);
    await page.click('#go');
    await page.waitForFunction('document.getElementById("done").textContent.includes("browser-jwt")');
    expect(await page.$eval('#done', (e) => e.textContent)).toBe(
      'Klienten browser-jwt är skapad med publika nycklar (private_key_jwt). Den loggar in med sin privata nyckel; ingen hemlighet finns.',
    );
    expect(await page.$eval('#secretBox', (e) => e.hidden)).toBe(true);
    expect(await page.$eval('#err', (e) => e.hidden)).toBe(true);
    await page.waitForSelector('#list button[data-keys="browser-jwt"]');
    expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-jwt')).toMatchObject({
      organisation: 'Västerås stad',
      authMethods: 'private_key_jwt',
      enabled: 'ja',
      protectedIdentity: '',
    });
    // only an admin client can hold the protected-identity right: no button for this one
    expect(await page.$('#list button[data-pid="browser-jwt"]')).toBeNull();
    await shot('10-client-jwks');
    expect((await assertionToken('browser-jwt', first)).status).toBe(200);

    // Rotation: the new set replaces the old one.
    await page.click('#list button[data-keys="browser-jwt"]');
    await page.waitForSelector('#keys:not([hidden])');
    expect(await page.$eval('#keysTitle', (e) => e.textContent)).toBe('Nya publika nycklar (JWKS) för browser-jwt');
    await fill('#newJwks', JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB' }] }));
    await page.click('#saveKeys');
    expect(await errorShown()).toContain('jwks.keys[0] is not a valid RSA public key');
    expect((await assertionToken('browser-jwt', first)).status).toBe(200);
    await fill('#newJwks', second.jwks);
    await page.click('#saveKeys');
    await page.waitForFunction('document.getElementById("done").textContent.includes("nya nycklar")');
    expect(await page.$eval('#keys', (e) => e.hidden)).toBe(true);
    expect((await assertionToken('browser-jwt', first)).status).toBe(401);
    expect((await assertionToken('browser-jwt', second)).status).toBe(200);
    expect(await page.content()).not.toContain(String(second.privateJwk.d));
  }, 60_000);

  it('when the admin grants an admin client the protected-identity right after a warning and later withdraws it, then the list and the client’s tokens follow', async () => {
    await saveClient(shell.db, {
      clientId: 'browser-pid-admin',
      secret: 'browser-pid-admin-secret',
      allowedScopes: ['system/*.rs'],
      organization: 'Organization/vastmanlands-sjukhus-vasteras',
      role: 'admin',
      admin: true,
    });
    const pidClaim = async () =>
      decodeJwt((await tokenFor('browser-pid-admin', 'browser-pid-admin-secret')).body.access_token as string).pid;
    await open('/admin/clients?lang=sv');
    await page.waitForSelector('#list button[data-pid="browser-pid-admin"]');
    expect(await page.$eval('#pidNote', (e) => e.textContent)).toContain(
      'ser personer med skyddad identitet (skyddad folkbokföring, sekretessmarkering) i sin helhet',
    );
    expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-pid-admin')?.protectedIdentity).toBe('nej');
    expect(await pidClaim()).toBeFalsy();

    const asked: string[] = [];
    const dialogs = answerDialogs(page, asked);
    try {
      // The warning, declined: nothing changes.
      await page.click('#list button[data-pid="browser-pid-admin"]');
      await vi.waitFor(() => expect(asked).toHaveLength(1));
      expect(asked[0]).toBe(
        'Ge klienten browser-pid-admin rätten att se skyddad identitet? Den kommer att se personer med skyddad identitet (skyddad folkbokföring, sekretessmarkering) i sin helhet, även adress, telefon och kontaktpersoner.',
      );
      expect(await pidClaim()).toBeFalsy();
      dialogs.answer = true;
      await page.click('#list button[data-pid="browser-pid-admin"]');
      await page.waitForFunction('document.getElementById("done").textContent.includes("browser-pid-admin")');
      expect(await page.$eval('#done', (e) => e.textContent)).toBe(
        'Klienten browser-pid-admin ser nu skyddad identitet i sin helhet.',
      );
      await page.waitForFunction(
        'document.querySelector("#list button[data-pid=\'browser-pid-admin\']")?.dataset.to === "withdraw"',
      );
      expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-pid-admin')?.protectedIdentity).toBe('ja');
      expect(await pidClaim()).toBe(true);
      // Withdrawing takes rights away: no question asked.
      await page.click('#list button[data-pid="browser-pid-admin"]');
      await page.waitForFunction('document.getElementById("done").textContent.includes("inte längre")');
      expect(asked).toHaveLength(2);
    } finally {
      dialogs.off();
    }
    await page.waitForFunction(
      'document.querySelector("#list button[data-pid=\'browser-pid-admin\']")?.dataset.to === "grant"',
    );
    expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-pid-admin')?.protectedIdentity).toBe('nej');
    expect(await pidClaim()).toBeFalsy();
    // its other settings and its secret are kept
    expect((await tokenFor('browser-pid-admin', 'browser-pid-admin-secret')).status).toBe(200);
  }, 60_000);

  it('when the admin creates an admin client with the protected-identity right, then it is offered for admin clients only, asked after the grant’s warning, and the client’s tokens carry it', async () => {
    await open('/admin/clients?lang=sv');
    await page.waitForSelector('#org option[value="Organization/vastmanlands-sjukhus-vasteras"]');
    await page.type('#cid', 'browser-pid-new');
    await page.select('#org', 'Organization/vastmanlands-sjukhus-vasteras');
    const offered = () => page.$eval('#pidBox', (e) => !e.hidden);
    await page.select('#role', 'municipality');
    expect(await offered()).toBe(false);
    await page.select('#role', 'admin');
    expect(await offered()).toBe(true);
    expect(await page.$eval('#pidBox', (e) => e.textContent)).toBe(' Med rätt att se skyddad identitet');
    await page.type('#scopes', 'system/*.rs');
    await page.click('#admin');
    await page.click('#pid');
    const admin = (await tokenFor('demo-admin', 'demo-admin-secret')).body.access_token as string;

    const asked: string[] = [];
    const dialogs = answerDialogs(page, asked);
    try {
      // The grant's warning, declined: nothing is sent.
      await page.click('#go');
      await vi.waitFor(() => expect(asked).toHaveLength(1));
      expect(asked[0]).toBe(
        'Ge klienten browser-pid-new rätten att se skyddad identitet? Den kommer att se personer med skyddad identitet (skyddad folkbokföring, sekretessmarkering) i sin helhet, även adress, telefon och kontaktpersoner.',
      );
      await request(shell.gateway.app)
        .get('/admin/api/clients/browser-pid-new')
        .auth(admin, { type: 'bearer' })
        .expect(404);
      dialogs.answer = true;
      await page.click('#go');
      await page.waitForSelector('#secretBox:not([hidden])');
      expect(asked).toHaveLength(2);
    } finally {
      dialogs.off();
    }
    const secret = (await page.$eval('#secret', (e) => e.textContent)) ?? '';
    expect(decodeJwt((await tokenFor('browser-pid-new', secret)).body.access_token as string).pid).toBe(true);
    await page.waitForSelector('#list button[data-pid="browser-pid-new"][data-to="withdraw"]');
    expect((await rowsOf('#list')).find((r) => r.clientId === 'browser-pid-new')).toMatchObject({
      role: 'administration',
      admin: 'ja',
      protectedIdentity: 'ja',
    });
    // the form is empty again, the right no longer offered
    expect(await offered()).toBe(false);
    expect(await page.$eval('#pid', (e) => (e as unknown as { checked: boolean }).checked)).toBe(false);
  }, 60_000);

  it('when the admin lists a municipality’s deadlines due soon and follows one to its case, then the list names organisations, shows Swedish time, the case page leads back, and every organisation’s list is one read', async () => {
    const repo = systemRepository(shell.db);
    const enc = (await repo.search('Encounter', { _count: '1' })).resources[0]!;
    const deadline = new Date(Date.now() + 5 * 3_600_000).toISOString();
    await shell.db.query(
      `INSERT INTO deadline_task (task_id, code, owner, requester, encounter, deadline, status, open)
       VALUES ('browser-due-1', 'kallelse-sip', 'Organization/kommun-1980', 'Organization/vastmanlands-sjukhus-vasteras', $1, $2, 'requested', true),
              ('browser-due-2', 'kallelse-sip', 'Organization/vastmanlands-sjukhus-vasteras', 'Organization/kommun-1980', $1, $2, 'requested', true)`,
      [`Encounter/${enc.id}`, deadline],
    );
    await open('/admin/deadlines?organization=Organization/kommun-1980&within=PT24H&lang=sv');
    await page.waitForSelector('#g0 tr td');
    expect(await page.$eval('#groups h2', (h) => h.textContent)).toBe('Västerås stad');
    const rows = await rowsOf('#g0');
    expect(rows).toContainEqual({
      task: 'Kallelse till samordnad individuell planering',
      deadline: stockholm(deadline),
      owner: 'Västerås stad',
      state: 'snart',
      actions: 'Ärendeöversikt',
    });
    await shot('08-deadlines');
    await Promise.all([page.waitForNavigation(), page.click('#g0 a[href^="/admin/cases/"]')]);
    expect(new URL(page.url()).pathname).toBe(`/admin/cases/${enc.id}`);
    expect(await heading()).toBe('Ärendeöversikt');
    // every organisation's list (the page's default) comes from one read of the region's, one AuditEvent
    const asked: string[] = [];
    const count = (r: { url(): string }) => {
      if (r.url().includes('/admin/api/deadlines/due-soon')) asked.push(r.url());
    };
    page.on('request', count);
    await Promise.all([page.waitForNavigation(), page.click('#consoleNav a[data-nav="deadlines"]')]);
    expect(new URL(page.url()).pathname).toBe('/admin/deadlines');
    await page.waitForSelector('#groups h2');
    const groups = await page.$$eval('#groups h2', (hs) => hs.map((h) => h.textContent));
    expect(groups).toEqual(expect.arrayContaining(['Västerås stad', 'Västmanlands sjukhus Västerås']));
    page.off('request', count);
    expect(asked).toHaveLength(1);
    expect(new URL(asked[0]!).searchParams.has('organization')).toBe(false);
    await shell.db.query(`DELETE FROM deadline_task WHERE task_id LIKE 'browser-due-%'`);
  }, 60_000);

  it('when the admin opens the holiday calendar of 2026, then it lists the holidays by weekday and the major holidays the deadlines count with', async () => {
    await open('/admin/holidays?year=2026&lang=sv');
    await page.waitForSelector('#periods tr td');
    expect(await rowsOf('#days')).toContainEqual({
      date: '2026-06-19',
      weekday: 'fredag',
      name: 'Midsommarafton',
      kind: 'afton (räknas som söndag)',
    });
    const periods = await rowsOf('#periods');
    expect(periods.map((p) => [p.start, p.end])).toContainEqual(['2026-04-03', '2026-04-06']);
    expect(periods.find((p) => p.start === '2026-12-24')?.holidays).toContain('Juldagen');
    await shot('09-holidays');
  }, 60_000);

  it('when a notification has waited more than a day, then the overview says how long in days and hours, not seconds', async () => {
    await vasterasSubscription('slow-sub', 'slow');
    await shell.db.query(
      `INSERT INTO subscription_event (subscription_id, event_number, order_key, focus_type, focus_id, status, committed_at)
       VALUES ('slow-sub', 1, 'slow-1', 'Task', 'slow-task', 'waiting', now() - interval '1 day 4 hours')`,
    );
    try {
      await open('/admin?lang=sv');
      await page.waitForSelector('#ov tr td');
      const oldest = (await rowsOf('#ov')).find((r) => r.key === 'Äldsta väntande');
      expect(oldest?.value).toBe('1 dygn 4 h');
    } finally {
      await shell.db.query(`DELETE FROM subscription_event WHERE subscription_id = 'slow-sub'`);
    }
  }, 60_000);
});
