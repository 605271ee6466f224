import express, { Router } from 'express';
import { log } from '../platform/logger';
import { OAuthError } from './oauth-error';
import { ASSERTION_ALGS, type AuthService } from './token.service';

/**
 * `POST /auth/token` (OAuth 2.0 client credentials; SMART Backend Services), `/.well-known/smart-configuration`
 * and `/.well-known/jwks.json` (the gateway's token-signing public key).
 */
export function tokenRoutes(auth: AuthService, maxBodyBytes: number): Router {
  const router = Router();
  router.post('/auth/token', express.urlencoded({ extended: false, limit: maxBodyBytes }), async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    try {
      const form = (req.body ?? {}) as Record<string, unknown>;
      const token = await auth.issueToken(form, req.get('authorization'));
      res.json(token);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
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
