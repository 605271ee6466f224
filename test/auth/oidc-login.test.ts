import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock';
import { oidcSettingsFrom } from '../../src/auth/oidc';
import { loadConfig } from '../../src/config/config';
import { openShell, TEST_BASE_URL, type Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';

const CLIENT_ID = 'svu-console';
const CLIENT_SECRET = 'oidc-test-secret-123';
const GROUP = 'svu-admins';

interface User {
  sub: string;
  preferred_username?: string;
  groups?: string[];
}

/**
 * A small OpenID provider for the test: discovery, JWKS, an authorize endpoint that signs in `provider.user` at
 * once (no form), and a token endpoint that checks the client secret, the redirect URI and the PKCE verifier and
 * issues an RS256 ID token. `provider.tamper` breaks one thing on purpose.
 */
async function startProvider() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { challenge: string; nonce: string; redirect: string; user: User }>();
  const state = {
    issuer: '',
    user: { sub: 'u-1', preferred_username: 'anna.admin', groups: [GROUP] } as User,
    tamper: undefined as undefined | 'nonce' | 'audience',
    tokenCalls: 0,
  };
  const app = express();
  app.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer: state.issuer,
      authorization_endpoint: `${state.issuer}/authorize`,
      token_endpoint: `${state.issuer}/token`,
      jwks_uri: `${state.issuer}/jwks`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
  });
  app.get('/jwks', (_req, res) => {
    res.json({ keys: [jwk] });
  });
  app.get('/authorize', (req, res) => {
    const q = req.query as Record<string, string>;
    if (q.client_id !== CLIENT_ID || q.response_type !== 'code' || q.code_challenge_method !== 'S256') {
      res.status(400).send('bad request');
      return;
    }
    const code = randomBytes(16).toString('hex');
    codes.set(code, { challenge: q.code_challenge!, nonce: q.nonce!, redirect: q.redirect_uri!, user: state.user });
    const back = new URL(q.redirect_uri!);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.state!);
    res.redirect(302, back.toString());
  });
  app.post('/token', express.urlencoded({ extended: false }), async (req, res) => {
    state.tokenCalls++;
    const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
    const body = req.body as Record<string, string>;
    const grant = codes.get(body.code ?? '');
    codes.delete(body.code ?? '');
    const verifierOk =
      grant &&
      createHash('sha256')
        .update(body.code_verifier ?? '')
        .digest('base64url') === grant.challenge;
    if (
      req.get('authorization') !== `Basic ${basic}` ||
      !grant ||
      !verifierOk ||
      body.redirect_uri !== grant.redirect
    ) {
      res.status(400).json({ error: 'invalid_grant' });
      return;
    }
    const { sub, ...claims } = grant.user;
    const idToken = await new SignJWT({ ...claims, nonce: state.tamper === 'nonce' ? 'other' : grant.nonce })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(state.issuer)
      .setSubject(sub)
      .setAudience(state.tamper === 'audience' ? 'someone-else' : CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    res.json({ access_token: 'opaque', token_type: 'Bearer', id_token: idToken });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.each(testDatabases())('admin console login through OIDC on %s', (kind) => {
  let shell: Shell;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    provider = await startProvider();
    shell = await openShell({
      kind,
      clock,
      audit: false,
      env: {
        OIDC_ISSUER: provider.state.issuer,
        OIDC_CLIENT_ID: CLIENT_ID,
        OIDC_CLIENT_SECRET: CLIENT_SECRET,
        OIDC_ADMIN_GROUP: GROUP,
      },
    });
  });
  afterAll(async () => {
    await shell.close();
    await provider.close();
  });

  /** The browser's way through: gateway → provider → gateway callback; returns the callback's answer. */
  async function signIn(next = '/admin/hl7') {
    const start = await request(shell.gateway.app).get(`/admin/oidc/login?next=${encodeURIComponent(next)}`);
    expect(start.status).toBe(303);
    const authorize = new URL(start.headers.location as string);
    expect(authorize.origin).toBe(provider.state.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${TEST_BASE_URL}/admin/oidc/callback`);
    const atProvider = await fetch(authorize, { redirect: 'manual' });
    expect(atProvider.status).toBe(302);
    const back = new URL(atProvider.headers.get('location')!);
    const callback = await request(shell.gateway.app).get(back.pathname + back.search);
    const raw = ([] as string[])
      .concat(callback.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('svu_admin_session='));
    return { callback, raw, cookie: raw?.split(';')[0], back };
  }

  it('when a user of the admin group signs in, then the session cookie opens the console under their name', async () => {
    provider.state.user = { sub: 'u-1', preferred_username: 'anna.admin', groups: [GROUP, 'staff'] };
    const s = await signIn('/admin/hl7');
    expect(s.callback.status).toBe(200);
    expect(s.callback.text).toContain('content="0;url=/admin/hl7"');
    expect(s.raw).toMatch(/; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const page = await request(shell.gateway.app).get('/admin').set('Cookie', s.cookie!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<b id="who">oidc:anna.admin</b>');
    const sessions = await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!);
    expect(sessions.status).toBe(200);
    const mine = sessions.body.sessions.find((x: { id: string }) => x.id === sessions.body.current);
    expect(mine.clientId).toBe('oidc:anna.admin');
    // revocable like any session
    const revoked = await request(shell.gateway.app)
      .post(`/admin/api/sessions/${mine.id}/revoke`)
      .set('Cookie', s.cookie!)
      .set('x-svu-admin', '1');
    expect(revoked.status).toBe(200);
    expect((await request(shell.gateway.app).get('/admin/api/sessions').set('Cookie', s.cookie!)).status).toBe(401);
  });

  it('when the user is not in the admin group, then no session and the login page says it failed', async () => {
    provider.state.user = { sub: 'u-2', preferred_username: 'bo.staff', groups: ['staff'] };
    const s = await signIn();
    expect(s.raw).toBeUndefined();
    expect(s.callback.status).toBe(303);
    expect(s.callback.headers.location).toBe('/admin/login?failed=1');
  });

  it('when the callback is replayed, the ID token carries another nonce or audience, then no session', async () => {
    provider.state.user = { sub: 'u-1', preferred_username: 'anna.admin', groups: [GROUP] };
    const ok = await signIn();
    expect(ok.raw).toBeDefined();
    const replay = await request(shell.gateway.app).get(ok.back.pathname + ok.back.search);
    expect(replay.status).toBe(303);
    expect(replay.headers['set-cookie']).toBeUndefined();
    for (const tamper of ['nonce', 'audience'] as const) {
      provider.state.tamper = tamper;
      try {
        const s = await signIn();
        expect(s.raw, tamper).toBeUndefined();
        expect(s.callback.headers.location).toBe('/admin/login?failed=1');
      } finally {
        provider.state.tamper = undefined;
      }
    }
  });

  it('when the login takes longer than ten minutes, then its state has expired', async () => {
    const start = await request(shell.gateway.app).get('/admin/oidc/login');
    const atProvider = await fetch(start.headers.location as string, { redirect: 'manual' });
    const back = new URL(atProvider.headers.get('location')!);
    const calls = provider.state.tokenCalls;
    clock.advance(11 * 60_000);
    const late = await request(shell.gateway.app).get(back.pathname + back.search);
    expect(late.headers.location).toBe('/admin/login?failed=1');
    expect(provider.state.tokenCalls).toBe(calls); // refused before the code was spent
  });

  it('the login page offers the OIDC sign-in next to the client form', async () => {
    const page = await request(shell.gateway.app).get('/admin/login?next=/admin/delivery');
    expect(page.text).toContain('href="/admin/oidc/login?next=%2Fadmin%2Fdelivery"');
    expect(page.text).toContain('name="client_secret"');
  });
});

describe('OIDC settings', () => {
  it('when OIDC_ISSUER is set without OIDC_ADMIN_GROUP, then the configuration is refused in one line', () => {
    const c = loadConfig({ NODE_ENV: 'test', OIDC_ISSUER: 'https://idp.example', OIDC_CLIENT_ID: 'x' });
    expect(() => oidcSettingsFrom(c)).toThrow(/OIDC_ADMIN_GROUP is missing/);
    expect(oidcSettingsFrom(loadConfig({ NODE_ENV: 'test' }))).toBeUndefined();
  });
});
