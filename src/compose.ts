import type { Express } from 'express';
import { Redis } from 'ioredis';
import type { AppContext, Capability } from './compose.types';
import type { Logger } from './platform/logger';
import { createAuthService, type AuthService } from './auth/token.service';
import { createTokenRateLimiter } from './auth/token-rate-limit';
import { ensureSearchIndex } from './subscriptions/search-index';
import { shapeLimits } from './fhir/shape-check';
import { loadSigningKey, type SigningKey } from './auth/signing-key';
import { createAuditWriter, type AuditSink } from './audit/audit-writer';
import { saveClient } from './auth/client-store';
import { createApp } from './http/app';
import type { ReadinessCheck } from './http/health.routes';
import type { Db } from './store/db.port';
import type { FhirRepository, RepositoryHooks } from './store/repository.port';
import { createRepository } from './store/repository.pg';
import { createDeadlinesCapability } from './deadlines';
import { TIMER_QUEUE } from './deadlines/timers';
import { createDeliveryCapability } from './delivery';
import { createIntakeCapability, intakeHooks } from './intake';
import { createFhirRouter } from './fhir-api/fhir.router';
import { createValidator, type Validator } from './fhir/validator';
import { collaborationHooks, createCollaborationCapability, sipDeps } from './sip';
import { combineHooks } from './store/combine-hooks';
import { createFollowupCapability } from './followup/followup.capability';

/** The composed process: the express app, the capabilities in mount order, and what must be closed. */
export interface Gateway {
  app: Express;
  auth: AuthService;
  audit: AuditSink | undefined;
  capabilities: Capability[];
  /** The dependency checks `/readyz` runs (database, Redis); `main` also watches them for state changes. */
  readiness: readonly ReadinessCheck[];
  /** Stops capabilities in reverse order, flushes the audit log, closes shell connections (not the Db). */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** A ready signing key (tests); default: TOKEN_SIGNING_KEY_FILE or a key kept in DATA_DIR. */
  signingKey?: SigningKey;
  /** The repository factory the audit writer uses; default `systemRepository`. `null` = no auditing. */
  systemRepository?: ((db: Db) => FhirRepository) | null;
  /** Extra capabilities mounted before the built-in ones (tests). */
  extraCapabilities?: Capability[];
  /** `false` = the shell alone, without the domain capabilities (shell tests). */
  withCapabilities?: boolean;
}

/** The gateway's own view of the store (no tenant filtering): audit writes, the demo loader. */
export function systemRepository(db: Db): FhirRepository {
  return createRepository(db, { system: true });
}

export function publicBaseUrl(ctx: AppContext): string {
  return ctx.config.PUBLIC_BASE_URL ?? `http://localhost:${ctx.config.PORT}`;
}

/**
 * The composition root: builds the capabilities, in mount order, and the HTTP shell around them.
 *
 * Mount order matters: operation routes (`/fhir/Subscription/:id/$status`, `/fhir/Task/$...`) must be mounted
 * before the generic FHIR router, which answers everything else under /fhir. So: delivery, deadlines, intake,
 * then the FHIR router last.
 */
export async function buildCapabilities(ctx: AppContext): Promise<Capability[]> {
  // Outbox relay, rest-hook/topic subscriptions ($status, $events), signed delivery, DLQ, /admin views.
  const delivery = createDeliveryCapability(ctx, { extraQueues: [TIMER_QUEUE] });
  // One validator (with the request-shape limits) for the FHIR API and the collaboration rules.
  const validator = await createValidator({ today: () => ctx.clock.now(), limits: shapeLimits(ctx.config) });
  const sip = sipDeps(ctx, validator);
  return [
    delivery,
    // Deadline timers, escalation ladder, reconciler; consumes Task changes from delivery's outbox relay.
    createDeadlinesCapability(ctx, { delivery }),
    // POST /hl7v2, the MLLP listener (role mllp), the admin message view.
    createIntakeCapability(ctx),
    // Payment liability from the stored stays, with corrections (/admin/api/liability).
    await createFollowupCapability(ctx),
    // The SIP operations ($sign, $approve, $meeting-held, $print), comments and the case overview.
    createCollaborationCapability(ctx, sip),
    // The generic FHIR REST API, always last under /fhir. Its repository runs delivery's Subscription checks,
    // intake's Encounter → stay-fact derivation and the collaboration rules inside each write's transaction.
    fhirApiCapability(
      ctx,
      combineHooks([delivery.repositoryHooks, intakeHooks(ctx), collaborationHooks(sip)]),
      validator,
    ),
  ];
}

/** The FHIR R4 REST API at /fhir. */
function fhirApiCapability(ctx: AppContext, hooks: RepositoryHooks, validator: Validator): Capability {
  const limits = shapeLimits(ctx.config);
  // The R4 search-parameter index behind Subscription criteria: built here, before the listeners open, instead of
  // lazily by the first Subscription write, which blocked the event loop (and every MLLP ACK) for 0.6–4 s.
  ensureSearchIndex();
  const base = publicBaseUrl(ctx);
  return {
    name: 'fhir-api',
    mountRoutes(app) {
      app.use(
        '/fhir',
        createFhirRouter({
          db: ctx.db,
          validator,
          hooks,
          baseUrl: `${base}/fhir`,
          tokenUrl: `${base}/auth/token`,
          logger: ctx.logger,
          maxBodyBytes: ctx.config.MAX_BODY_BYTES,
          limits,
        }),
      );
    },
  };
}

/**
 * The first admin of an installation without the demo: `ADMIN_BOOTSTRAP_CLIENT_ID` + `ADMIN_BOOTSTRAP_SECRET` register
 * an admin client when none of that id exists (an existing one, e.g. with a rotated secret, is left as it is).
 */
export async function bootstrapAdminClient(ctx: AppContext): Promise<void> {
  const { ADMIN_BOOTSTRAP_CLIENT_ID: clientId, ADMIN_BOOTSTRAP_SECRET: secret } = ctx.config;
  if (!clientId) return;
  if (!secret) {
    ctx.logger.warn('ADMIN_BOOTSTRAP_CLIENT_ID is set without ADMIN_BOOTSTRAP_SECRET: no admin client registered');
    return;
  }
  const created = await saveClient(
    ctx.db,
    { clientId, secret, role: 'admin', admin: true, allowedScopes: ['system/*.cruds'] },
    'keep',
  );
  if (created) ctx.logger.info('admin client registered', { clientId });
}

export async function buildGateway(ctx: AppContext, opts: GatewayOptions = {}): Promise<Gateway> {
  const key =
    opts.signingKey ??
    (await loadSigningKey({ keyFile: ctx.config.TOKEN_SIGNING_KEY_FILE, dataDir: ctx.config.DATA_DIR }));
  const auth = createAuthService({
    db: ctx.db,
    key,
    clock: ctx.clock,
    tokenTtlSeconds: ctx.config.TOKEN_TTL_SECONDS,
    baseUrl: publicBaseUrl(ctx),
  });
  await bootstrapAdminClient(ctx);
  const repoFactory = opts.systemRepository === undefined ? systemRepository : opts.systemRepository;
  const audit = repoFactory
    ? createAuditWriter({ db: ctx.db, repository: repoFactory, logger: ctx.logger, metrics: ctx.metrics })
    : undefined;
  if (!audit) ctx.logger.warn('audit disabled: no repository available');

  // /readyz's Redis probe and the token endpoint's failure counters: fails fast while Redis is down (the limiter
  // then counts per process), reconnects on its own.
  const redis = new Redis(ctx.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  redis.on('error', () => undefined);
  redis.connect().catch(() => undefined);
  const readiness: ReadinessCheck[] = [
    { name: 'database', check: async () => void (await ctx.db.query('SELECT 1')) },
    {
      name: 'redis',
      check: async () => {
        const pong: string = await redis.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING answer ${pong}`);
      },
    },
  ];

  const capabilities = [
    ...(opts.extraCapabilities ?? []),
    ...(opts.withCapabilities === false ? [] : await buildCapabilities(ctx)),
  ];
  const tokenLimiter = createTokenRateLimiter({
    redis,
    prefix: ctx.config.QUEUE_PREFIX,
    limits: {
      windowSeconds: ctx.config.AUTH_FAILURE_WINDOW_SECONDS,
      maxFailuresPerClient: ctx.config.AUTH_MAX_FAILURES_PER_CLIENT,
      maxFailuresPerAddress: ctx.config.AUTH_MAX_FAILURES_PER_ADDRESS,
    },
    logger: ctx.logger,
  });
  const app = createApp(ctx, capabilities, {
    auth,
    audit,
    readiness,
    tokenLimiter,
    repositories: (db, scope) => createRepository(db, scope, undefined, { clock: ctx.clock }),
  });
  return {
    app,
    auth,
    audit,
    capabilities,
    readiness,
    async close() {
      await stopCapabilities(capabilities, ctx.logger);
      await audit
        ?.close()
        .catch((err: unknown) => ctx.logger.error('audit flush at shutdown failed', { error: String(err) }));
      redis.disconnect();
    },
  };
}

/**
 * Shutdown of the capabilities: every `drain` (in reverse order), then every `stop` (in reverse order). A
 * capability may run another's code (the delivery's outbox consumers run the deadlines' handler), so nothing
 * stops until all such work has ended. A failure is logged and the shutdown goes on.
 */
export async function stopCapabilities(capabilities: readonly Capability[], logger: Logger): Promise<void> {
  const reversed = [...capabilities].reverse();
  for (const c of reversed) {
    await c.drain?.().catch((err: unknown) => {
      logger.error('capability drain failed', { capability: c.name, error: String(err) });
    });
  }
  for (const c of reversed) {
    await c.stop?.().catch((err: unknown) => {
      logger.error('capability stop failed', { capability: c.name, error: String(err) });
    });
  }
}
