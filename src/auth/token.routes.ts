import express, { Router, type Request, type Response } from 'express';
import type { AuditSink } from '../audit/audit-writer';
import type { Clock } from '../platform/clock';
import { log } from '../platform/logger';
import { OAuthError } from './oauth-error';
import { claimedClientId, limitKeys, rateLimitAuditEvent } from './token-guard';
import type { LimitKey, TokenRateLimiter } from './token-rate-limit';
import { ASSERTION_ALGS, type AuthService } from './token.service';

export interface TokenRouteOptions {
  /** Failed-authentication limit (429 with Retry-After); omitted = no limit. */
  limiter?: TokenRateLimiter;
  /** Where a rate-limit refusal is audited, with the clock and canonical base of the AuditEvent. */
  audit?: { sink: AuditSink; clock: Clock; canonicalBase: string };
}

/**
 * `POST /auth/token` (OAuth 2.0 client credentials; SMART Backend Services), `/.well-known/smart-configuration`
 * and `/.well-known/jwks.json` (the gateway's token-signing public key).
 */
export function tokenRoutes(auth: AuthService, maxBodyBytes: number, opts: TokenRouteOptions = {}): Router {
  const router = Router();
  const { limiter } = opts;

  /** 429 when a key is over its limit (audited once per key and window); true when the request was answered. */
  async function refusedByLimit(req: Request, res: Response, keys: LimitKey[], clientId?: string): Promise<boolean> {
    const refusal = limiter ? await limiter.check(keys) : undefined;
    if (!refusal || !limiter) return false;
    const what = refusal.key.kind === 'client' ? 'this client' : 'this address';
    log.warn('token request rate-limited', {
      limit: refusal.key.kind,
      first: refusal.first,
      retryAfter: refusal.retryAfterSeconds,
    });
    if (refusal.first && opts.audit) {
      opts.audit.sink.record(
        rateLimitAuditEvent({
          refusal,
          clientId,
          address: req.ip,
          windowSeconds: limiter.limits.windowSeconds,
          recorded: opts.audit.clock.now(),
          canonicalBase: opts.audit.canonicalBase,
          requestId: res.locals.requestId as string | undefined,
        }),
      );
    }
    res.setHeader('Retry-After', String(refusal.retryAfterSeconds));
    res.status(429).json({
      error: 'temporarily_unavailable',
      error_description: `Too many failed client authentications for ${what}: retry after ${refusal.retryAfterSeconds} s`,
    });
    return true;
  }

  router.post('/auth/token', express.urlencoded({ extended: false, limit: maxBodyBytes }), async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    const form = (req.body ?? {}) as Record<string, unknown>;
    const clientId = claimedClientId(form, req.get('authorization'));
    const keys = limitKeys(req.ip, clientId);
    if (await refusedByLimit(req, res, keys, clientId)) return;
    try {
      const token = await auth.issueToken(form, req.get('authorization'));
      res.json(token);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if (err.error === 'invalid_client') await limiter?.failed(keys);
      log.info('token refused', { error: err.error, reason: err.description });
      if (err.status === 401) {
        res.setHeader('WWW-Authenticate', err.usedBasic ? 'Basic realm="svu-gateway"' : 'Bearer realm="svu-gateway"');
      }
      res.status(err.status).json({ error: err.error, error_description: err.description });
    }
  });
  router.get('/.well-known/smart-configuration', (_req, res) => {
    res.json({
      issuer: auth.issuer,
      jwks_uri: `${auth.issuer}/.well-known/jwks.json`,
      token_endpoint: auth.tokenUrl,
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/*.cruds', 'system/*.rs', 'system/Encounter.cu', 'system/Task.rs', 'system/Task.u'],
      capabilities: [
        'client-confidential-asymmetric',
        'client-confidential-symmetric',
        'permission-v2',
        'permission-v1',
      ],
    });
  });
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.json({ keys: [auth.key.publicJwk] });
  });
  return router;
}
