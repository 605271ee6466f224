import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@medplum/fhirtypes';
import { systemRepository } from '../../src/compose';
import { duration } from '../../src/admin/pages/duration';
import { withoutExternalStylesheets } from '../../src/admin/queues-board';
import type { Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';
import { partyClient } from '../sip/party-client';
import { openAdminShell } from './admin-shell';

describe('a number of seconds as the console shows it', () => {
  it('when seconds are formatted, then the two largest units are shown, a unit that is 0 left out', () => {
    expect(duration(0)).toBe('0 s');
    expect(duration(45)).toBe('45 s');
    expect(duration(200)).toBe('3 min 20 s');
    expect(duration(7500)).toBe('2 h 5 min');
    expect(duration(7200)).toBe('2 h');
    expect(duration(100_800)).toBe('1 dygn 4 h');
    expect(duration(3 * 86_400 + 59)).toBe('3 dygn');
    expect(duration(100_800, 'd')).toBe('1 d 4 h');
    expect(duration(null)).toBe(null);
  });
});

describe('Bull Board’s page without third-party stylesheets', () => {
  it('when the page links Google Fonts, then the link is left out and its own stylesheet kept', () => {
    const html = `<title>x</title>
    <link href="https://fonts.googleapis.com/css2?family=IBM+Plex+Sans&display=swap" rel="stylesheet">
<link href="static/css/main.css" rel="stylesheet"></head>`;
    expect(withoutExternalStylesheets(html)).toBe(`<title>x</title>
    <link href="static/css/main.css" rel="stylesheet"></head>`);
  });
});

describe.each(testDatabases())('admin console pages on %s', (kind) => {
  let shell: Shell;
  let cookie: string;
  const get = (path: string) => request(shell.gateway.app).get(path).set('Cookie', cookie);

  beforeAll(async () => {
    ({ shell, cookie } = await openAdminShell(kind));
  });
  afterAll(async () => shell?.close());

  it('when the admin opens the clients, deadlines and holidays pages, then each has the console’s navigation, and without a session the login', async () => {
    for (const [path, heading] of [
      ['/admin/clients', 'Klienter (OAuth)'],
      ['/admin/deadlines', 'Tidsfrister som närmar sig'],
      ['/admin/holidays', 'Helgdagskalender'],
    ] as const) {
      const page = await get(`${path}?lang=sv`).expect(200);
      expect(page.text).toContain(`<h1>${heading}</h1>`);
      for (const nav of ['clients', 'deadlines', 'holidays', 'overview'])
        expect(page.text).toContain(`data-nav="${nav}"`);
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      const anonymous = await request(shell.gateway.app).get(path);
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.location).toBe(`/admin/login?next=${encodeURIComponent(path)}`);
    }
  });

  it('when the admin opens the clients page in Swedish or English, then it offers public keys (JWKS) for a new client and new keys for each, and warns that the protected-identity right shows protected identities in full', async () => {
    for (const [lang, words] of [
      [
        'sv',
        [
          'Publika nycklar (JWKS, JSON) för private_key_jwt',
          'i sin helhet',
          'Ser skyddad identitet',
          'Varje ändring av en klient loggas',
        ],
      ],
      [
        'en',
        [
          'Public keys (JWKS, JSON) for private_key_jwt',
          'protected identity (skyddad identitet',
          'in full',
          'Every change of a client is logged',
        ],
      ],
    ] as const) {
      const page = (await get(`/admin/clients?lang=${lang}`).expect(200)).text;
      for (const el of [
        '<textarea id="jwks"',
        '<form id="keys" hidden>',
        '<textarea id="newJwks"',
        'id="pidNote"',
        'id="auditedNote"',
      ])
        expect(page, el).toContain(el);
      for (const w of words) expect(page, w).toContain(w);
    }
  });

  it('when the pages ask for the directory and a year’s holidays, then organisations come by name and the calendar is the one deadlines count with', async () => {
    const orgs = (await get('/admin/api/organisations').expect(200)).body as { reference: string; name: string }[];
    expect(orgs).toContainEqual({ reference: 'Organization/kommun-1980', name: 'Västerås stad' });
    const names = orgs.map((o) => o.name);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'sv')));
    const cal = (await get('/admin/api/holidays?year=2026').expect(200)).body as {
      holidays: { date: string; name: string; kind: string }[];
    };
    expect(cal.holidays).toContainEqual({ date: '2026-06-19', name: 'Midsommarafton', kind: 'eve' });
    expect(cal.holidays).toContainEqual({ date: '2026-04-03', name: 'Långfredagen', kind: 'public' });
    await get('/admin/api/holidays?year=abc').expect(400);
    // the JSON API stays behind the admin gate
    expect((await request(shell.gateway.app).get('/admin/api/organisations')).status).toBe(401);
  });

  it('when the admin asks for the region’s deadlines due soon, then one read answers for every organisation by name with one AuditEvent, and a municipality’s client gets none', async () => {
    const soon = new Date(Date.now() + 3 * 3_600_000).toISOString();
    const due = [
      ['region-due-1', 'Organization/kommun-1980'],
      ['region-due-2', 'Organization/vastmanlands-sjukhus-vasteras'],
      ['region-due-3', 'Organization/kommun-1980'],
    ];
    for (const [task, owner] of due)
      await shell.db.query(
        `INSERT INTO deadline_task (task_id, code, owner, requester, encounter, deadline, status, open)
         VALUES ($1, 'kallelse-sip', $2, 'Organization/region-vastmanland', 'Encounter/region-due', $3, 'requested', true)`,
        [task, owner, soon],
      );
    try {
      const audited = async () => {
        await shell.gateway.audit!.flush();
        const events = await systemRepository(shell.db).search<AuditEvent>('AuditEvent', { _count: '1000' });
        return events.resources.filter((e) => e.entity?.[0]?.description?.includes('/admin/api/deadlines/due-soon'))
          .length;
      };
      const before = await audited();
      const region = (await get('/admin/api/deadlines/due-soon?within=PT24H').expect(200)).body as {
        total: number;
        organisations: { organization: string; name: string; items: { task: string; ownerName: string }[] }[];
      };
      expect(await audited()).toBe(before + 1);
      const mine = region.organisations
        .map((g) => ({ ...g, items: g.items.filter((i) => i.task.startsWith('Task/region-due-')) }))
        .filter((g) => g.items.length > 0);
      expect(mine.map((g) => [g.name, g.items.map((i) => i.task)])).toEqual([
        ['Västerås stad', ['Task/region-due-1', 'Task/region-due-3']],
        ['Västmanlands sjukhus Västerås', ['Task/region-due-2']],
      ]);
      expect(mine[0]!.items[0]!.ownerName).toBe('Västerås stad');
      // the per-organisation list stays, and a tenant never reads the region's
      const one = (await get('/admin/api/deadlines/due-soon?organization=Organization/kommun-1980').expect(200)).body;
      expect(one.items.map((i: { task: string }) => i.task)).toContain('Task/region-due-1');
      const vasteras = await partyClient(shell.gateway.app, 'demo-vasteras');
      const tenant = await vasteras.get('/admin/api/deadlines/due-soon', { within: 'PT24H' });
      expect(tenant.status).toBe(403);
      expect(JSON.stringify(tenant.body)).not.toContain('region-due-2');
    } finally {
      await shell.db.query(`DELETE FROM deadline_task WHERE task_id LIKE 'region-due-%'`);
    }
  });

  it('when the dashboard is opened with English chosen, then its navigation is Swedish like the page', async () => {
    const page = await get('/admin/dashboard').set('Cookie', `${cookie}; svu_admin_lang=en`).expect(200);
    const nav = /<nav id="consoleNav"[^]*?<\/nav>/.exec(page.text)?.[0] ?? '';
    expect(nav).toContain('>Översikt<');
    expect(nav).toContain('>Uppföljning<');
    expect(nav).not.toContain('>Overview<');
  });

  it('when a case page is opened, found or not, then it carries the console’s navigation back', async () => {
    const missing = await get('/admin/cases/no-such-stay').expect(404);
    expect(missing.text).toMatch(/<nav id="consoleNav"[^]*data-nav="overview"[^]*data-nav="deadlines"/);
    expect(missing.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('when Bull Board’s page is opened, then it links no stylesheet on another host', async () => {
    const board = await get('/admin/queues/').expect(200);
    expect(board.text).toContain('static/css/');
    expect(board.text).not.toContain('fonts.googleapis.com');
    expect(board.text).toContain('svu-gateway · köer');
  });
});
