import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Db } from '../store/db.port';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import type { AuthService } from '../auth/token.service';
import { OAuthError } from '../auth/oauth-error';
import { limitKeys } from '../auth/token-guard';
import type { TokenRateLimiter } from '../auth/token-rate-limit';
import { bearerAuth, cookieValue, requireAdmin } from '../auth/bearer.middleware';
import { createSession, listSessions, resolveSession, revokeSession, type SessionLifetime } from './session.pg';
import { loginPage } from './pages/login-page';
import { OidcLoginError, type OidcClient } from '../auth/oidc';
import { esc } from './pages/layout';
import { langOf } from './pages/i18n';
import { langCookie } from './pages/layout';
import { CONSOLE_PAGE } from '../http/page-policy';

/** The admin console's session cookie: HttpOnly, SameSite=Strict, Path=/admin (Secure behind https). */
export const SESSION_COOKIE = 'svu_admin_session';
/** Header the console's scripts send on every API call; a cross-site form cannot set it (CSRF guard). */
export const CSRF_HEADER = 'x-svu-admin';

export interface AdminGateDeps {
  db: Db;
  auth: AuthService;
  clock: Clock;
  logger: Logger;
  lifetime: SessionLifetime;
  /** Mark the cookie Secure (the public base URL is https). */
  secureCookie: boolean;
  /** Also accept a bearer token from this cookie (older pages and scripts). */
  tokenCookie: string;
  maxBodyBytes: number;
  /** The same failed-authentication limit as `POST /auth/token` (per client id and per address). */
  limiter?: TokenRateLimiter;
  /** Login through an OpenID Connect provider (OIDC_ISSUER), next to the client-credentials form. */
  oidc?: OidcClient;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A path below /admin to return to after login; anything else goes to the overview. */
function safeNext(v: unknown): string {
  return typeof v === 'string' && /^\/admin(?:[/?#]|$)/.test(v) && !v.startsWith('//') ? v : '/admin';
}

/** Browser pages (not the JSON API) answer a missing login with a redirect to the login page. */
function isPage(req: Request): boolean {
  return req.method === 'GET' && !req.originalUrl.startsWith('/admin/api/') && !req.get('authorization');
}

/**
 * Everything in front of `/admin`: the login page and form, logout, the session cookie check (a session sets
 * `res.locals.auth` like a bearer token does), the bearer fallback for API clients, admin rights, and the
 * session list and revoke API. Mount before any `/admin` route.
 */
export function adminGate(d: AdminGateDeps): Router {
  const r = Router();
  const cookie = (token: string, maxAge: number) =>
    `${SESSION_COOKIE}=${token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${d.secureCookie ? '; Secure' : ''}`;

  r.get('/admin/login', (req, res) => {
    const lang = langOf(req);
    if (req.query.lang) res.append('Set-Cookie', langCookie(lang));
    const state = req.query.limited ? 'limited' : req.query.failed ? 'failed' : req.query.out ? 'out' : undefined;
    res
      .set('Cache-Control', 'no-store')
      .set('Content-Security-Policy', CONSOLE_PAGE)
      .type('html')
      .send(loginPage(lang, safeNext(req.query.next), state, !!d.oidc));
  });

  const oidc = d.oidc;
  if (oidc) {
    r.get('/admin/oidc/login', async (req, res, next) => {
      try {
        res.set('Cache-Control', 'no-store').redirect(303, await oidc.begin(safeNext(req.query.next), d.clock.now()));
      } catch (err) {
        if (!(err instanceof OidcLoginError)) return next(err);
        d.logger.warn('admin OIDC login unavailable', { reason: err.reason });
        res.redirect(303, '/admin/login?failed=1');
      }
    });
    r.get('/admin/oidc/callback', async (req, res, next) => {
      try {
        const user = await oidc.complete(req.query, d.clock.now());
        const { token, session } = await createSession(d.db, {
          oidc: { subject: user.subject, label: user.label },
          now: d.clock.now(),
          lifetime: d.lifetime,
          userAgent: req.get('user-agent'),
          remote: req.ip,
        });
        d.logger.info('admin login', { via: 'oidc', sessionId: session.id });
        // The browser arrives here from the provider's site, so a SameSite=Strict cookie would not go with a
        // redirect; a same-site navigation from this page carries it.
        const target = esc(safeNext(user.next));
        res
          .append('Set-Cookie', cookie(token, d.lifetime.maxSeconds))
          .set('Cache-Control', 'no-store')
          .type('html')
          .send(
            `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}"><title>svu-gateway</title></head><body><p><a href="${target}">/admin</a></p></body></html>`,
          );
      } catch (err) {
        if (!(err instanceof OidcLoginError)) return next(err);
        d.logger.info('admin login refused', { via: 'oidc', reason: err.reason });
        res.redirect(303, '/admin/login?failed=1');
      }
    });
  }

  r.post('/admin/login', express.urlencoded({ extended: false, limit: d.maxBodyBytes }), async (req, res, next) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const target = safeNext(form.next);
    const back = `/admin/login?failed=1&next=${encodeURIComponent(target)}`;
    const keys = limitKeys(req.ip, typeof form.client_id === 'string' ? form.client_id : undefined);
    const refusal = d.limiter ? await d.limiter.check(keys) : undefined;
    if (refusal) {
      d.logger.warn('admin login rate-limited', { limit: refusal.key.kind, retryAfter: refusal.retryAfterSeconds });
      res.setHeader('Retry-After', String(refusal.retryAfterSeconds));
      res.redirect(303, `/admin/login?limited=${refusal.retryAfterSeconds}&next=${encodeURIComponent(target)}`);
      return;
    }
    try {
      const issued = await d.auth.issueToken({
        grant_type: 'client_credentials',
        client_id: form.client_id,
        client_secret: form.client_secret,
      });
      const who = await d.auth.verifyAccessToken(issued.access_token);
      if (!who.admin) {
        d.logger.info('admin login refused', { clientId: who.clientId, reason: 'no admin rights' });
        res.redirect(303, back);
        return;
      }
      const { token, session } = await createSession(d.db, {
        clientId: who.clientId,
        now: d.clock.now(),
        lifetime: d.lifetime,
        userAgent: req.get('user-agent'),
        remote: req.ip,
      });
      d.logger.info('admin login', { clientId: who.clientId, sessionId: session.id });
      res.append('Set-Cookie', cookie(token, d.lifetime.maxSeconds)).redirect(303, target);
    } catch (err) {
      if (!(err instanceof OAuthError)) {
        next(err);
        return;
      }
      if (err.error === 'invalid_client') await d.limiter?.failed(keys);
      d.logger.info('admin login refused', { reason: err.description });
      res.redirect(303, back);
    }
  });

  r.post('/admin/logout', async (req, res) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    if (token) await revokeSession(d.db, { token }, 'logout', d.clock.now());
    res.append('Set-Cookie', cookie('', 0)).redirect(303, '/admin/login?out=1');
  });

  const bearer = bearerAuth(d.auth, { cookie: d.tokenCookie });
  const session: RequestHandler = async (req, res, next) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    const found = token && !req.get('authorization') ? await resolveSession(d.db, token, d.clock.now()) : undefined;
    if (found) {
      if (UNSAFE.has(req.method) && req.get(CSRF_HEADER) !== '1') {
        res.status(403).json({ error: `a console request must carry the ${CSRF_HEADER} header` });
        return;
      }
      res.locals.auth = found.auth;
      res.locals.adminSession = found.sessionId;
      next();
      return;
    }
    const hasBearer = !!req.get('authorization') || !!cookieValue(req.get('cookie'), d.tokenCookie);
    if (!hasBearer && isPage(req)) {
      res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    await bearer(req, res, next);
  };
  r.use('/admin', session, requireAdmin);

  r.get('/admin/api/sessions', async (_req, res) => {
    res.json({
      current: (res.locals.adminSession as string | undefined) ?? null,
      sessions: await listSessions(d.db, d.clock.now()),
    });
  });
  r.post('/admin/api/sessions/:id/revoke', async (req, res) => {
    const by = (res.locals.auth as { clientId: string }).clientId;
    const done = await revokeSession(d.db, { id: String(req.params.id) }, by, d.clock.now());
    if (!done) {
      res.status(404).json({ error: 'no open session with that id' });
      return;
    }
    d.logger.info('admin session revoked', { sessionId: req.params.id, by });
    res.json({ revoked: req.params.id });
  });
  return r;
}

/** Sets the language cookie when a page is opened with `?lang=`. */
export function rememberLang(req: Request, res: Response): void {
  if (req.query.lang === 'sv' || req.query.lang === 'en') res.append('Set-Cookie', langCookie(req.query.lang));
}
