import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT, errors as joseErrors, type JWTPayload } from 'jose';
import type { Db } from '../store/db.port';
import type { Clock } from '../platform/clock';
import type { AuthContext } from './auth-context';
import { findClient, recordAssertionJti, type AuthClient } from './client-store';
import { OAuthError } from './oauth-error';
import { narrowScopes } from './scopes';
import { verifySecret } from './secret-hash';
import type { SigningKey } from './signing-key';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** SMART Backend Services: clients sign assertions with RS384 or ES384. */
export const ASSERTION_ALGS = ['RS384', 'ES384'];
const MAX_ASSERTION_LIFETIME_S = 300;
const CLOCK_SKEW_S = 30;
const VERIFIED_CACHE_MAX = 10_000;

/** A remembered context as the caller's own (its lists and scope copied): flat, so cheaper than structuredClone. */
const copyOf = (ctx: AuthContext): AuthContext => ({ ...ctx, scopes: [...ctx.scopes], access: { ...ctx.access } });
// A well-formed hash of a random secret, checked when the client is unknown so both paths cost the same.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

export interface AuthServiceOptions {
  db: Db;
  key: SigningKey;
  clock: Clock;
  tokenTtlSeconds: number;
  /** External base URL of the gateway, e.g. `http://localhost:8080` (token `iss`). */
  baseUrl: string;
}

export interface AuthService {
  readonly key: SigningKey;
  readonly tokenUrl: string;
  readonly issuer: string;
  /** `POST /auth/token` with the form fields and the Authorization header; throws OAuthError. */
  issueToken(form: Record<string, unknown>, authorization?: string): Promise<TokenResponse>;
  /** Verifies a bearer access token; throws `InvalidToken` with a reason fit for `WWW-Authenticate`. */
  verifyAccessToken(token: string): Promise<AuthContext>;
}

export class InvalidToken extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidToken';
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=._~-]+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw new OAuthError('invalid_client', 'Malformed Basic credentials', true);
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64
  const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

export function createAuthService(opts: AuthServiceOptions): AuthService {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const tokenUrl = `${base}/auth/token`;
  const issuer = base;
  const audience = `${base}/fhir`;
  const nowS = () => Math.floor(opts.clock.now().getTime() / 1000);
  const verified = new Map<string, { ctx: AuthContext; exp: number }>();

  async function bySecret(id: string, secret: string, usedBasic: boolean): Promise<AuthClient> {
    const client = await findClient(opts.db, id);
    const ok = await verifySecret(secret, client?.secretHash ?? DUMMY_HASH);
    if (!client || !client.secretHash || !ok || client.disabled) {
      throw new OAuthError('invalid_client', 'Unknown client or wrong secret', usedBasic);
    }
    return client;
  }

  async function byAssertion(assertion: string, formClientId: string | undefined): Promise<AuthClient> {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new OAuthError('invalid_client', 'client_assertion is not a JWT');
    }
    const id = str(claims.iss);
    if (!id || claims.sub !== id)
      throw new OAuthError('invalid_client', 'client_assertion must have iss = sub = client_id');
    if (formClientId && formClientId !== id)
      throw new OAuthError('invalid_client', 'client_id does not match the assertion');
    const client = await findClient(opts.db, id);
    if (!client || client.disabled || !client.jwks) {
      throw new OAuthError('invalid_client', 'Unknown client or no registered public key');
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
        algorithms: ASSERTION_ALGS,
        issuer: id,
        subject: id,
        audience: tokenUrl,
        requiredClaims: ['exp', 'jti'],
        currentDate: opts.clock.now(),
        clockTolerance: CLOCK_SKEW_S,
      }));
    } catch (err) {
      const why =
        err instanceof joseErrors.JWTExpired
          ? 'client_assertion has expired'
          : err instanceof joseErrors.JWTClaimValidationFailed
            ? `client_assertion claim "${err.claim}" is invalid (aud must be ${tokenUrl})`
            : err instanceof joseErrors.JOSEAlgNotAllowed
              ? `client_assertion must be signed with ${ASSERTION_ALGS.join(' or ')}`
              : 'client_assertion signature does not verify against the registered keys';
      throw new OAuthError('invalid_client', why);
    }
    const exp = payload.exp ?? 0;
    if (exp - nowS() > MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S) {
      throw new OAuthError('invalid_client', 'client_assertion exp must be at most 5 minutes in the future');
    }
    const fresh = await recordAssertionJti(opts.db, id, String(payload.jti), new Date(exp * 1000));
    if (!fresh) throw new OAuthError('invalid_client', 'client_assertion jti was already used');
    return client;
  }

  return {
    key: opts.key,
    tokenUrl,
    issuer,

    async issueToken(form, authorization) {
      if (str(form.grant_type) !== 'client_credentials') {
        throw new OAuthError(
          form.grant_type === undefined ? 'invalid_request' : 'unsupported_grant_type',
          'grant_type must be client_credentials',
        );
      }
      const basic = parseBasic(authorization);
      const assertion = str(form.client_assertion);
      const methods = [basic, assertion, str(form.client_secret)].filter((m) => m !== undefined).length;
      if (methods > 1) {
        throw new OAuthError('invalid_request', 'Use exactly one client authentication method (RFC 6749 §2.3)');
      }
      if (basic && str(form.client_id) && form.client_id !== basic.id) {
        throw new OAuthError('invalid_request', 'client_id does not match the Basic credentials');
      }
      let client: AuthClient;
      if (basic) client = await bySecret(basic.id, basic.secret, true);
      else if (assertion) {
        if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE) {
          throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
        }
        client = await byAssertion(assertion, str(form.client_id));
      } else if (str(form.client_id) && str(form.client_secret)) {
        client = await bySecret(String(form.client_id), String(form.client_secret), false);
      } else {
        throw new OAuthError(
          'invalid_client',
          'Client authentication required (Basic, client_secret or client_assertion)',
        );
      }

      const requested = str(form.scope)?.split(/\s+/) ?? client.allowedScopes;
      const granted = narrowScopes(requested, client.allowedScopes);
      if (granted.length === 0) {
        throw new OAuthError('invalid_scope', `None of the requested scopes is allowed for ${client.clientId}`);
      }
      const iat = nowS();
      const accessToken = await new SignJWT({
        scope: granted.join(' '),
        client_id: client.clientId,
        tenant: client.organization,
        role: client.role,
        adm: client.admin || undefined,
        // the explicit right to see protected identities in full (admins only: the column's constraint)
        pid: (client.role === 'admin' && client.protectedIdentity) || undefined,
      })
        .setProtectedHeader({ alg: opts.key.alg, kid: opts.key.kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(client.clientId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + opts.tokenTtlSeconds)
        .setJti(randomUUID())
        .sign(opts.key.privateKey);
      return {
        access_token: accessToken,
        token_type: 'bearer',
        expires_in: opts.tokenTtlSeconds,
        scope: granted.join(' '),
      };
    },

    async verifyAccessToken(token) {
      // Verified tokens are remembered until they expire: an ES256 verify costs ~1 ms of CPU, a lookup nothing.
      const hit = verified.get(token);
      if (hit) {
        if (hit.exp > opts.clock.now().getTime() / 1000) return copyOf(hit.ctx);
        verified.delete(token);
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(token, opts.key.publicKey, {
          algorithms: [opts.key.alg],
          issuer,
          audience,
          typ: 'at+jwt',
          requiredClaims: ['exp', 'sub'],
          currentDate: opts.clock.now(),
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new InvalidToken('The access token has expired');
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
          throw new InvalidToken('The access token signature does not verify');
        }
        throw new InvalidToken('The access token is malformed or was not issued by this gateway');
      }
      const role = payload.role as AuthContext['access']['role'];
      const clientId = String(payload.sub);
      const organization = str(payload.tenant);
      const ctx: AuthContext = {
        clientId,
        scopes: str(payload.scope)?.split(' ') ?? [],
        admin: payload.adm === true,
        access: { clientId, organization, role, ...(payload.pid === true ? { protectedIdentity: true } : {}) },
      };
      if (verified.size >= VERIFIED_CACHE_MAX) verified.clear();
      verified.set(token, { ctx, exp: payload.exp ?? 0 });
      return copyOf(ctx);
    },
  };
}
