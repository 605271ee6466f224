import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdminClient, systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { saveClient } from '../../src/auth/client-store';
import { ManualClock } from '../../src/platform/clock';
import { openShell, type Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';

/** Logs in through the form like a browser; returns the session cookie (name=value) or the redirect target. */
async function login(shell: Shell, id: string, secret: string, next = '/admin/hl7') {
  const res = await request(shell.gateway.app)
    .post('/admin/login')
    .type('form')
    .send({ client_id: id, client_secret: secret, next });
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const raw = setCookie.find((c) => c.startsWith('svu_admin_session='));
  return { status: res.status, location: res.headers.location as string, raw, cookie: raw?.split(';')[0] };
}

describe.each(testDatabases())('admin console login and sessions on %s', (kind) => {
  let shell: Shell;
  const clock = new ManualClock(new Date());
  beforeAll(async () => {
    shell = await openShell({ kind, clock, audit: false });
    await loadDemoRegion(shell.db, systemRepository);
  });
  afterAll(async () => shell.close());

  it('when demo-admin logs in with its secret, then an HttpOnly SameSite=Strict cookie for /admin opens the pages and the API', async () => {
    const s = await login(shell, 'demo-admin', 'demo-admin-secret');
    expect(s.status).toBe(303);
    expect(s.location).toBe('/admin/hl7');
    expect(s.raw).toMatch(/; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const page = await request(shell.gateway.app).get('/admin').set('Cookie', s.cookie!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<b id="who">demo-admin</b>');
    expect(page.text).toContain('href="/admin/queues/"');
    const api = await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!);
    expect(api.status).toBe(200);
    expect(api.body.sessions.map((x: { clientId: string }) => x.clientId)).toContain('demo-admin');
  });

  it('when the secret is wrong or the client has no admin rights, then no cookie and the form says so', async () => {
    const wrong = await login(shell, 'demo-admin', 'nope');
    expect(wrong).toMatchObject({ status: 303, raw: undefined });
    expect(wrong.location).toMatch(/^\/admin\/login\?failed=1/);
    const tenant = await login(shell, 'demo-vasteras', 'demo-vasteras-secret');
    expect(tenant).toMatchObject({ status: 303, raw: undefined });
    const form = await request(shell.gateway.app).get(tenant.location);
    expect(form.text).toContain('id="failed"');
  });

  it('when the login asks to go elsewhere than /admin, then it goes to the overview instead', async () => {
    const s = await login(shell, 'demo-admin', 'demo-admin-secret', 'https://evil.example/');
    expect(s.location).toBe('/admin');
    expect((await login(shell, 'demo-admin', 'demo-admin-secret', '//evil.example/admin')).location).toBe('/admin');
  });

  it('when the access token lifetime has passed, then the session still works; after the idle time it ends', async () => {
    const s = await login(shell, 'demo-admin', 'demo-admin-secret');
    clock.advance(20 * 60_000); // > TOKEN_TTL_SECONDS (300 s)
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!)).status).toBe(200);
    clock.advance(29 * 60_000); // used 29 minutes ago: still within the 30-minute idle limit
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!)).status).toBe(200);
    clock.advance(31 * 60_000);
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!)).status).toBe(401);
    const page = await request(shell.gateway.app).get('/admin/delivery').set('Cookie', s.cookie!);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/admin/login?next=%2Fadmin%2Fdelivery');
  });

  it('when an admin revokes another session, then that cookie stops working at once; logout ends one own session', async () => {
    const a = await login(shell, 'demo-admin', 'demo-admin-secret');
    const b = await login(shell, 'demo-admin', 'demo-admin-secret');
    const list = await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', a.cookie!);
    const others = (list.body.sessions as { id: string }[]).filter((x) => x.id !== list.body.current);
    for (const o of others) {
      await request(shell.gateway.app)
        .post(`/admin/api/sessions/${o.id}/revoke`)
        .set('Cookie', a.cookie!)
        .set('X-SVU-Admin', '1')
        .expect(200);
    }
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', b.cookie!)).status).toBe(401);
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', a.cookie!)).status).toBe(200);
    const out = await request(shell.gateway.app).post('/admin/logout').set('Cookie', a.cookie!);
    expect(out.status).toBe(303);
    expect(String(out.headers['set-cookie'])).toContain(
      'svu_admin_session=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0',
    );
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', a.cookie!)).status).toBe(401);
  });

  it('when a session request changes something without the console header, then 403 (a cross-site form cannot)', async () => {
    const s = await login(shell, 'demo-admin', 'demo-admin-secret');
    const r = await request(shell.gateway.app).post('/admin/api/dead-letters/1/replay').set('Cookie', s.cookie!);
    expect(r.status).toBe(403);
  });

  it('when the admin client is disabled after login, then its sessions stop working', async () => {
    const s = await login(shell, 'demo-admin', 'demo-admin-secret');
    await saveClient(shell.db, {
      clientId: 'demo-admin',
      secret: 'demo-admin-secret',
      allowedScopes: ['system/*.cruds'],
      role: 'admin',
      admin: true,
      organization: 'Organization/region-vastmanland',
      disabled: true,
    });
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!)).status).toBe(401);
  });

  it('when the bearer token of an admin client is sent, then the API still answers (scripts keep working)', async () => {
    await saveClient(shell.db, {
      clientId: 'ops-script',
      secret: 's3cret',
      allowedScopes: ['system/*.rs'],
      role: 'admin',
      admin: true,
    });
    const tok = await request(shell.gateway.app)
      .post('/auth/token')
      .auth('ops-script', 's3cret')
      .type('form')
      .send({ grant_type: 'client_credentials' });
    const r = await request(shell.gateway.app)
      .get('/admin/api/sessions')
      .auth(tok.body.access_token as string, { type: 'bearer' });
    expect(r.status).toBe(200);
  });

  it('when the login page is asked in English, then it is English and the language is remembered', async () => {
    const en = await request(shell.gateway.app).get('/admin/login?lang=en');
    expect(en.text).toContain('<html lang="en">');
    expect(en.text).toContain('Log in with the client id and secret of an admin client.');
    expect(String(en.headers['set-cookie'])).toContain('svu_admin_lang=en');
    const sv = await request(shell.gateway.app).get('/admin/login');
    expect(sv.text).toContain('Logga in med klient-id och hemlighet för en adminklient.');
  });
});

describe('admin login rate limit', () => {
  it('when a client id fails to log in more often than allowed, then the form is refused with Retry-After, even with the right secret', async () => {
    const shell = await openShell({
      audit: false,
      env: { QUEUE_PREFIX: uniquePrefix(), AUTH_MAX_FAILURES_PER_CLIENT: '3', AUTH_MAX_FAILURES_PER_ADDRESS: '100' },
    });
    try {
      await loadDemoRegion(shell.db, systemRepository);
      for (let i = 0; i < 3; i++) expect((await login(shell, 'demo-admin', 'wrong')).location).toMatch(/failed=1/);
      const res = await request(shell.gateway.app)
        .post('/admin/login')
        .type('form')
        .send({ client_id: 'demo-admin', client_secret: 'demo-admin-secret' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/^\/admin\/login\?limited=\d+/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.headers['set-cookie']).toBeUndefined();
    } finally {
      await shell.close();
    }
  });
});

describe('first admin of an installation without the demo', () => {
  it('when ADMIN_BOOTSTRAP_CLIENT_ID and its secret are set, then that admin can log in; a second start keeps its secret', async () => {
    const env = { ADMIN_BOOTSTRAP_CLIENT_ID: 'ops-admin', ADMIN_BOOTSTRAP_SECRET: 'a-long-first-secret' };
    const shell = await openShell({ audit: false, env });
    try {
      const first = await login(shell, 'ops-admin', 'a-long-first-secret');
      expect(first.raw).toBeDefined();
      shell.ctx.config.ADMIN_BOOTSTRAP_SECRET = 'another-long-secret';
      await bootstrapAdminClient(shell.ctx);
      expect((await login(shell, 'ops-admin', 'a-long-first-secret')).raw).toBeDefined();
      expect((await login(shell, 'ops-admin', 'another-long-secret')).raw).toBeUndefined();
    } finally {
      await shell.close();
    }
  });
});
