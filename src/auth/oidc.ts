import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Db } from '../store/db.port';
import { ConfigError } from '../config/config';

/**
 * OpenID Connect login for the admin console: authorization-code flow with PKCE (S256), the ID token verified with
 * the provider's JWKS (issuer, audience, expiry, nonce), admin rights from a group claim. Only the ID token is
 * used; the access token the provider returns is dropped.
 */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Claim that lists the user's groups or roles (a string or an array of strings). */
  adminClaim: string;
  /** Value in `adminClaim` that gives admin rights. */
  adminGroup: string;
  scopes: string;
  /** Where the provider sends the browser back: `<public base>/admin/oidc/callback`. */
  redirectUri: string;
  /** Ceiling for each call to the provider. */
  timeoutMs?: number;
}

/** The signed-in OIDC user, as the session keeps it. */
export interface OidcUser {
  subject: string;
  /** preferred_username, email or name; else the subject. */
  label: string;
}

/** A refused OIDC login; `reason` is for the log (no personal data), never shown with provider details. */
export class OidcLoginError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

const LOGIN_TTL_MS = 10 * 60_000;
const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('base64url');
const random = () => randomBytes(32).toString('base64url');

export interface OidcClient {
  /** Stores a new login (state, PKCE verifier, nonce) and returns the provider's authorization URL. */
  begin(next: string, now: Date): Promise<string>;
  /** Completes a login from the callback's query: the user, and where to go, or an OidcLoginError. */
  complete(
    query: { state?: unknown; code?: unknown; error?: unknown },
    now: Date,
  ): Promise<OidcUser & { next: string }>;
}

export function createOidcClient(db: Db, s: OidcSettings): OidcClient {
  const timeout = s.timeoutMs ?? 10_000;
  let discovery: Promise<{ meta: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  const discover = () => {
    discovery ??= (async () => {
      const url = `${s.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
      if (!res.ok) throw new OidcLoginError(`discovery answered ${res.status}`);
      const meta = (await res.json()) as Discovery;
      if (meta.issuer !== s.issuer) throw new OidcLoginError('discovery names another issuer');
      for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const)
        if (typeof meta[k] !== 'string') throw new OidcLoginError(`discovery has no ${k}`);
      return { meta, jwks: createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: timeout }) };
    })();
    // a failed discovery is retried at the next login
    discovery.catch(() => (discovery = undefined));
    return discovery;
  };

  return {
    async begin(next, now) {
      const { meta } = await discover();
      const state = random();
      const verifier = random();
      const nonce = random();
      await db.query('DELETE FROM admin_oidc_login WHERE expires_at < $1', [now.toISOString()]);
      await db.query(
        'INSERT INTO admin_oidc_login (state_hash, code_verifier, nonce, next_path, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [sha256(state), verifier, nonce, next, new Date(now.getTime() + LOGIN_TTL_MS).toISOString()],
      );
      const url = new URL(meta.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: s.clientId,
        redirect_uri: s.redirectUri,
        scope: s.scopes,
        state,
        nonce,
        code_challenge: sha256(verifier),
        code_challenge_method: 'S256',
      }).toString();
      return url.toString();
    },

    async complete(query, now) {
      if (typeof query.state !== 'string' || query.state === '') throw new OidcLoginError('callback without state');
      const { rows } = await db.query<{ code_verifier: string; nonce: string; next_path: string; expires_at: string }>(
        'DELETE FROM admin_oidc_login WHERE state_hash = $1 RETURNING code_verifier, nonce, next_path, expires_at',
        [sha256(query.state)],
      );
      const login = rows[0];
      if (!login || new Date(login.expires_at).getTime() < now.getTime())
        throw new OidcLoginError('unknown, used or expired state');
      if (typeof query.error === 'string') throw new OidcLoginError(`provider error ${query.error.slice(0, 60)}`);
      if (typeof query.code !== 'string' || query.code === '') throw new OidcLoginError('callback without code');
      const { meta, jwks } = await discover();
      const body = new URLSearchParams({
        grant_type: 'authorization_code',
        code: query.code,
        redirect_uri: s.redirectUri,
        code_verifier: login.code_verifier,
        client_id: s.clientId,
      });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (s.clientSecret)
        headers.authorization = `Basic ${Buffer.from(
          `${encodeURIComponent(s.clientId)}:${encodeURIComponent(s.clientSecret)}`,
        ).toString('base64')}`;
      const res = await fetch(meta.token_endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(timeout),
      });
      if (!res.ok) throw new OidcLoginError(`token endpoint answered ${res.status}`);
      const tokens = (await res.json()) as { id_token?: unknown };
      if (typeof tokens.id_token !== 'string') throw new OidcLoginError('token response without id_token');
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(tokens.id_token, jwks, {
          issuer: s.issuer,
          audience: s.clientId,
          currentDate: now,
          clockTolerance: 60,
        }));
      } catch (err) {
        throw new OidcLoginError(`id_token refused: ${(err as { code?: string }).code ?? 'invalid'}`);
      }
      if (claims.nonce !== login.nonce) throw new OidcLoginError('id_token nonce does not match');
      if (typeof claims.sub !== 'string' || claims.sub === '') throw new OidcLoginError('id_token without sub');
      if (!hasGroup(claims[s.adminClaim], s.adminGroup)) throw new OidcLoginError('not in the admin group');
      const label = [claims.preferred_username, claims.email, claims.name].find(
        (v): v is string => typeof v === 'string' && v !== '',
      );
      return { subject: claims.sub, label: (label ?? claims.sub).slice(0, 200), next: login.next_path };
    },
  };
}

function hasGroup(claim: unknown, group: string): boolean {
  if (typeof claim === 'string') return claim.split(/[\s,]+/).includes(group);
  return Array.isArray(claim) && claim.some((v) => v === group);
}

/** The OIDC settings from the configuration, or undefined when OIDC_ISSUER is unset. */
export function oidcSettingsFrom(c: {
  OIDC_ISSUER?: string | undefined;
  OIDC_CLIENT_ID?: string | undefined;
  OIDC_CLIENT_SECRET?: string | undefined;
  OIDC_ADMIN_CLAIM: string;
  OIDC_ADMIN_GROUP?: string | undefined;
  OIDC_SCOPES: string;
  PUBLIC_BASE_URL?: string | undefined;
  PORT: number;
}): OidcSettings | undefined {
  if (!c.OIDC_ISSUER) return undefined;
  if (!c.OIDC_CLIENT_ID) throw new ConfigError('Invalid configuration: OIDC_CLIENT_ID is missing (OIDC_ISSUER is set)');
  if (!c.OIDC_ADMIN_GROUP)
    throw new ConfigError('Invalid configuration: OIDC_ADMIN_GROUP is missing (OIDC_ISSUER is set)');
  const base = (c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, '');
  return {
    issuer: c.OIDC_ISSUER,
    clientId: c.OIDC_CLIENT_ID,
    ...(c.OIDC_CLIENT_SECRET ? { clientSecret: c.OIDC_CLIENT_SECRET } : {}),
    adminClaim: c.OIDC_ADMIN_CLAIM,
    adminGroup: c.OIDC_ADMIN_GROUP,
    scopes: c.OIDC_SCOPES.includes('openid') ? c.OIDC_SCOPES : `openid ${c.OIDC_SCOPES}`,
    redirectUri: `${base}/admin/oidc/callback`,
  };
}
