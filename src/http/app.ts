import express, { type Express, type ErrorRequestHandler } from 'express';
import type { AppContext, Capability } from '../compose.types';
import type { AuthService } from '../auth/token.service';
import type { TokenRateLimiter } from '../auth/token-rate-limit';
import { bearerAuth, requireAdmin } from '../auth/bearer.middleware';
import { tokenRoutes } from '../auth/token.routes';
import { clientAdminRoutes } from '../auth/clients.routes';
import { auditMiddleware } from '../audit/audit.middleware';
import type { AuditSink } from '../audit/audit-writer';
import { healthRoutes, type ReadinessCheck } from './health.routes';
import { requestContext } from './request-context';
import { urlGuard } from './url-guard';
import { sendOutcome, toOutcome } from './errors';

/** What the shell needs beyond the AppContext; built by the composition root (src/compose.ts). */
export interface ShellDeps {
  auth: AuthService;
  /** Audit sink for `/fhir` calls; omitted = no auditing (only in tests that do not look at it). */
  audit?: AuditSink;
  /** Dependencies `/readyz` checks (database, Redis). */
  readiness: readonly ReadinessCheck[];
  /** Failed-authentication limit of `POST /auth/token`; omitted = none. */
  tokenLimiter?: TokenRateLimiter;
}

/**
 * Browser access to /admin: a page may keep the admin's access token in this cookie (path=/admin,
 * SameSite=Strict) so that Bull Board's own requests carry it; the API accepts it like a bearer header.
 */
export const ADMIN_TOKEN_COOKIE = 'svu_admin_token';
/** Static admin pages that hold no data and ask for the token themselves (paths below /admin). */
export const ADMIN_PUBLIC_PAGES: ReadonlySet<string> = new Set([
  '/delivery',
  '/hl7',
  '/dashboard',
  '/assets/uplot.iife.min.js',
  '/assets/uplot.min.css',
]);

const FHIR_JSON = ['application/json', 'application/fhir+json', 'application/json-patch+json'];

/**
 * The express application. Mount order (each step sees what the earlier ones set):
 * request id + access log → URL check (400 for bad percent-encoding or control characters) → `/healthz`, `/readyz`, `/metrics` → `/auth/token`, `/.well-known/*` → audit on `/fhir`
 * → bearer on `/fhir` (not `GET /fhir/metadata`), `/admin` (+ admin rights) and `/hl7v2` → JSON body parsing
 * (MAX_BODY_BYTES) → each capability's routes, in the order given → 404 OperationOutcome → error handler.
 */
export function createApp(ctx: AppContext, capabilities: readonly Capability[], deps: ShellDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(requestContext(ctx.logger, ctx.metrics));
  app.use(urlGuard);
  app.use(healthRoutes(deps.readiness));
  app.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.contentType).send(await ctx.metrics.metrics());
  });
  app.use(
    tokenRoutes(deps.auth, ctx.config.MAX_BODY_BYTES, {
      ...(deps.tokenLimiter ? { limiter: deps.tokenLimiter } : {}),
      ...(deps.audit
        ? { audit: { sink: deps.audit, clock: ctx.clock, canonicalBase: ctx.config.FHIR_CANONICAL_BASE } }
        : {}),
    }),
  );

  if (deps.audit) app.use('/fhir', auditMiddleware(deps.audit, ctx.clock, ctx.config.FHIR_CANONICAL_BASE));
  const bearer = bearerAuth(deps.auth);
  app.use('/fhir', bearerAuth(deps.auth, { except: (method, path) => method === 'GET' && path === '/metadata' }));
  app.use(
    '/admin',
    bearerAuth(deps.auth, {
      cookie: ADMIN_TOKEN_COOKIE,
      except: (method, path) => method === 'GET' && ADMIN_PUBLIC_PAGES.has(path),
    }),
    (req, res, next) => (res.locals.auth ? requireAdmin(req, res, next) : next()),
  );
  app.use('/hl7v2', bearer);
  const json = express.json({ limit: ctx.config.MAX_BODY_BYTES, type: FHIR_JSON, strict: true });
  app.use('/fhir', json);
  app.use('/admin', json);

  app.use(clientAdminRoutes(ctx.db));
  for (const c of capabilities) c.mountRoutes?.(app);

  app.use((req, res) => {
    sendOutcome(res, 404, 'not-found', `No route for ${req.method} ${req.path}`);
  });
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, body } = toOutcome(err, ctx.logger);
    res.status(status).type('application/fhir+json').send(JSON.stringify(body));
  };
  app.use(onError);
  return app;
}
