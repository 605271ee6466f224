import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The gateway's configuration: one schema, parsed once at start-up, the only reader of `process.env`.
 * Each key's `describe()` text is its documentation; the README's configuration table is generated from it
 * (`npx tsx scripts/config-table.ts`).
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('`production` never loads the demo region'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port: FHIR API, auth, admin, metrics'),
  MLLP_PORT: z.coerce.number().int().min(0).max(65535).default(2575).describe('HL7 v2 MLLP listener port'),
  HOST: z.string().default('0.0.0.0').describe('Interface to bind the HTTP and MLLP listeners to'),
  DATABASE_URL: z
    .string()
    .url()
    .optional()
    .describe(
      'PostgreSQL URL, e.g. `postgresql://user:pw@db-host:5432/svu`, or over a Unix socket `postgresql://user:pw@localhost/svu?host=/var/run/postgresql`; unset = embedded PostgreSQL (PGlite) in DATA_DIR',
    ),
  DATA_DIR: z.string().default('./data').describe('Where PGlite and the child redis-server keep their data'),
  PG_PREPARED_STATEMENTS: bool
    .default(true)
    .describe(
      'PostgreSQL: name the statements run often, so each connection parses them once and may reuse their plans (false behind a pooler in transaction mode, e.g. PgBouncer before 1.21)',
    ),
  PG_JIT: bool
    .default(false)
    .describe(
      "PostgreSQL: leave JIT compilation of the gateway's statements to the server's `jit` setting; false = `SET jit = off` on each connection (on a store without statistics compiling cost 14–250 ms per search that ran in under 10 ms; the follow-up's year-long reads gained nothing measurable from it)",
    ),
  DB_OPEN_TIMEOUT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(120)
    .describe('How long opening and migrating the database may take at start before the start fails with one line'),
  REDIS_URL: z.string().url().optional().describe('Redis URL; unset = `npm start` runs a local redis-server child'),
  QUEUE_PREFIX: z.string().default('svu').describe('Key prefix for all BullMQ queues'),
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .optional()
    .describe('External base URL of the gateway (default http://localhost:PORT)'),
  FHIR_CANONICAL_BASE: z
    .string()
    .url()
    .default('https://svu-gateway.dev/fhir')
    .describe("Canonical base of the project's FHIR artefacts"),
  AGREEMENT: z.string().default('vastmanland').describe('Which agreement (file id in agreements/) the region uses'),
  AGREEMENTS_DIR: z.string().optional().describe('An extra folder of agreement files loaded beside agreements/'),
  TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(86400)
    .default(300)
    .describe('Lifetime of issued access tokens'),
  TOKEN_SIGNING_KEY_FILE: z
    .string()
    .optional()
    .describe("PEM file with the gateway's token-signing private key; unset = a key generated in DATA_DIR"),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(60)
    .describe(
      '`POST /auth/token`: the window in which failed client authentications are counted (Redis, all processes)',
    ),
  AUTH_MAX_FAILURES_PER_CLIENT: z.coerce
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('Failed client authentications per claimed client id in the window before 429 with Retry-After'),
  AUTH_MAX_FAILURES_PER_ADDRESS: z.coerce
    .number()
    .int()
    .min(1)
    .default(30)
    .describe('Failed client authentications per remote address in the window before 429 with Retry-After'),
  ADMIN_SESSION_HOURS: z.coerce
    .number()
    .min(0.1)
    .max(24 * 7)
    .default(8)
    .describe('Longest life of an admin console session (login at /admin/login), whatever its use'),
  ADMIN_SESSION_IDLE_MINUTES: z.coerce
    .number()
    .min(1)
    .max(24 * 60)
    .default(30)
    .describe('An admin console session ends after this long without a request'),
  ADMIN_BOOTSTRAP_CLIENT_ID: z
    .string()
    .optional()
    .describe(
      'Registers this admin client at start when it does not exist yet (the first login of a new installation)',
    ),
  ADMIN_BOOTSTRAP_SECRET: z
    .string()
    .min(16)
    .optional()
    .describe('Secret of ADMIN_BOOTSTRAP_CLIENT_ID (at least 16 characters; give it as ADMIN_BOOTSTRAP_SECRET_FILE)'),
  OIDC_ISSUER: z
    .string()
    .url()
    .optional()
    .describe(
      'OpenID Connect provider for the admin console login (its issuer URL; discovery at /.well-known/openid-configuration). Unset = client credentials only',
    ),
  OIDC_CLIENT_ID: z.string().min(1).optional().describe("The gateway's client id at OIDC_ISSUER"),
  OIDC_CLIENT_SECRET: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Its client secret (client_secret_basic; give it as OIDC_CLIENT_SECRET_FILE); unset = public client with PKCE',
    ),
  OIDC_ADMIN_CLAIM: z
    .string()
    .min(1)
    .default('groups')
    .describe("ID-token claim listing the user's groups or roles (array, or space/comma separated)"),
  OIDC_ADMIN_GROUP: z
    .string()
    .min(1)
    .optional()
    .describe('Value of OIDC_ADMIN_CLAIM that makes a user an integration admin (required with OIDC_ISSUER)'),
  OIDC_SCOPES: z.string().default('openid profile email').describe('Scopes asked of the OIDC provider'),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024)
    .describe('Largest accepted request body (413 beyond)'),
  FHIR_MAX_VALUES: z.coerce
    .number()
    .int()
    .min(100)
    .default(5000)
    .describe(
      'Most JSON values (objects, list items, primitives) in one FHIR body; validation costs about 0.1 ms per value, so this bounds one request (413 beyond)',
    ),
  FHIR_MAX_LIST_LENGTH: z.coerce
    .number()
    .int()
    .min(10)
    .default(1000)
    .describe('Longest list in a FHIR body, e.g. Bundle.entry (413 beyond)'),
  FHIR_MAX_STRING_LENGTH: z.coerce
    .number()
    .int()
    .min(1024)
    .default(65536)
    .describe('Longest string in a FHIR body, except base64Binary and xhtml (413 beyond)'),
  DEMO_REGION: bool
    .default(true)
    .describe('Load the demo region (Västmanland) into an empty store (never when NODE_ENV=production)'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('winston log level'),
  DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10000).describe('Timeout of one notification POST'),
  DELIVERY_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(25)
    .describe('Attempts before a notification goes to the dead-letter queue'),
  DELIVERY_BACKOFF_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(5000)
    .describe('First retry delay; doubles per attempt with jitter, capped at 1 h'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).default(16).describe('Concurrent jobs per worker process'),
  HTTP_MAX_IN_FLIGHT: z.coerce
    .number()
    .int()
    .min(0)
    .default(128)
    .describe(
      'FHIR and HL7 HTTP requests in progress per API process beyond which new ones get 503 with Retry-After at once (nothing stored; the sender retries) instead of queueing until they time out; 0 = no limit',
    ),
  HTTP_RETRY_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(300)
    .default(2)
    .describe('The Retry-After (seconds) of a 503 from HTTP_MAX_IN_FLIGHT'),
  HL7_ACK_AFTER: z
    .enum(['stored', 'applied'])
    .default('stored')
    .describe(
      'When an HL7 v2 `AA` is sent: `stored` = once the raw message is committed (applied right after, in order per stay); `applied` = after its facts, Encounter and Tasks are committed',
    ),
  HL7_APPLY_LANES: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe(
      'Parallel HL7 apply lanes (a stay always uses the same lane, so its messages apply in order); more lanes contend more in PostgreSQL',
    ),
  HL7_APPLY_BATCH: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(50)
    .describe('Most stored HL7 messages applied in one database transaction'),
  HL7_APPLY_LINGER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(20)
    .describe(
      'With `HL7_ACK_AFTER=stored`: how long an apply lane with less than a full batch waits for more messages before its transaction (fewer, larger transactions, less CPU per message; this much more latency to the Task). 0 = no wait',
    ),
  HL7_APPLY_BACKLOG: z.coerce
    .number()
    .int()
    .min(1)
    .default(5000)
    .describe('Stored-but-unapplied HL7 messages held in memory; beyond it ACKs wait (back-pressure on the senders)'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/**
 * Secrets from files (Docker/Kubernetes secrets): for any setting `X`, `X_FILE=<path>` gives its value as the
 * file's content (trailing newline removed), e.g. `DATABASE_URL_FILE=/run/secrets/database_url`. Setting both
 * `X` and `X_FILE` is refused, so it is never unclear which one is used.
 */
export function withFileSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const key of Object.keys(configSchema.shape)) {
    const file = env[`${key}_FILE`];
    if (!file || key.endsWith('_FILE')) continue;
    if (env[key] !== undefined) throw new ConfigError(`Invalid configuration: set ${key} or ${key}_FILE, not both`);
    try {
      out[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`Invalid configuration: ${key}_FILE=${file} cannot be read (${(err as Error).message})`);
    }
  }
  return out;
}

/** Parses the environment; on failure throws a ConfigError whose message is one line naming the variable. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): Config {
  // An empty value (`DATABASE_URL= npm start`) means unset, as in shells and .env files: the default applies.
  const env = Object.fromEntries(Object.entries(withFileSecrets(rawEnv)).filter(([, v]) => v !== ''));
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const name = first?.path.join('.') ?? '(unknown)';
    const value = typeof first?.path[0] === 'string' ? env[first.path[0]] : undefined;
    throw new ConfigError(
      `Invalid configuration: ${name}${value === undefined ? ' is missing' : `=${JSON.stringify(value)}`}: ${first?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
