import { createOidcClient, oidcSettingsFrom } from '../auth/oidc';
import express, { type Express, type ErrorRequestHandler } from 'express';
import type { AppContext, Capability } from '../compose.types';
import type { AuthService } from '../auth/token.service';
import type { TokenRateLimiter } from '../auth/token-rate-limit';
import { bearerAuth } from '../auth/bearer.middleware';
import { adminGate } from '../admin/admin-gate';
import { adminAuditMiddleware } from '../admin/admin-audit';
import { consoleRoutes } from '../admin/console.routes';
import type { ScopedRepositoryFactory } from '../admin/resource-browser.routes';
import { tokenRoutes } from '../auth/token.routes';
import { clientAdminRoutes } from '../auth/clients.routes';
import { auditMiddleware } from '../audit/audit.middleware';
import type { AuditSink } from '../audit/audit-writer';
import { healthRoutes, type ReadinessCheck } from './health.routes';
import { requestContext } from './request-context';
import { urlGuard } from './url-guard';
import { capacityGuard } from './capacity-guard';
import { gateRootRouters } from './route-gate';
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
  /** The store's repository for a caller's scope (the admin console's resource browser). */
  repositories: ScopedRepositoryFactory;
}

/**
 * Scripts may also send the admin's access token in this cookie (path=/admin); the API accepts it like a bearer
 * header. Browsers use the console's session cookie instead (src/admin/admin-gate.ts).
 */
export const ADMIN_TOKEN_COOKIE = 'svu_admin_token';

const FHIR_JSON = ['application/json', 'application/fhir+json', 'application/json-patch+json'];

/**
 * The express application. Mount order (each step sees what the earlier ones set):
 * request id + access log → URL check (400 for bad percent-encoding or control characters) → `/healthz`, `/readyz`,
 * `/metrics` → load shedding on `/fhir` and `/hl7v2` (503 beyond HTTP_MAX_IN_FLIGHT, src/http/capacity-guard.ts)
 * → `/auth/token`, `/.well-known/*` → audit on `/fhir` → bearer on `/fhir` (not `GET /fhir/metadata`) →
 * the admin gate on `/admin` (login, session cookie or bearer, admin rights; then the admin audit) → bearer on
 * `/hl7v2` → JSON body parsing (MAX_BODY_BYTES) → the admin console → each capability's routes, in the order given
 * → 404 OperationOutcome → error handler. Routers mounted at the root are entered only for their own paths.
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
    ['/fhir', '/hl7v2'],
    capacityGuard({
      maxInFlight: ctx.config.HTTP_MAX_IN_FLIGHT,
      retryAfterSeconds: ctx.config.HTTP_RETRY_AFTER_SECONDS,
      logger: ctx.logger,
      metrics: ctx.metrics,
    }),
  );
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
  const oidc = oidcSettingsFrom(ctx.config);
  app.use(
    adminGate({
      db: ctx.db,
      auth: deps.auth,
      clock: ctx.clock,
      logger: ctx.logger,
      lifetime: {
        maxSeconds: ctx.config.ADMIN_SESSION_HOURS * 3600,
        idleSeconds: ctx.config.ADMIN_SESSION_IDLE_MINUTES * 60,
      },
      secureCookie: ctx.config.PUBLIC_BASE_URL?.startsWith('https:') ?? false,
      tokenCookie: ADMIN_TOKEN_COOKIE,
      maxBodyBytes: ctx.config.MAX_BODY_BYTES,
      ...(deps.tokenLimiter ? { limiter: deps.tokenLimiter } : {}),
      ...(oidc ? { oidc: createOidcClient(ctx.db, oidc) } : {}),
    }),
  );
  if (deps.audit) app.use('/admin', adminAuditMiddleware(deps.audit, ctx.clock, ctx.config.FHIR_CANONICAL_BASE));
  app.use('/hl7v2', bearer);
  const json = express.json({ limit: ctx.config.MAX_BODY_BYTES, type: FHIR_JSON, strict: true });
  app.use('/fhir', json);
  app.use('/admin', json);

  app.use(
    clientAdminRoutes(ctx.db, {
      logger: ctx.logger,
      ...(deps.audit
        ? { audit: { sink: deps.audit, clock: ctx.clock, canonicalBase: ctx.config.FHIR_CANONICAL_BASE } }
        : {}),
    }),
  );
  app.use(consoleRoutes(ctx.db, deps.repositories, ctx.config.FHIR_CANONICAL_BASE));
  for (const c of capabilities) c.mountRoutes?.(app);
  // Each router mounted at the root is entered only for its own paths (src/http/route-gate.ts).
  gateRootRouters(app);

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
