import type { JSONWebKeySet } from 'jose';
import type { Db } from '../store/db.port';
import type { AccessScope } from '../store/repository.port';
import { hashSecret } from './secret-hash';

export type ClientRole = NonNullable<AccessScope['role']>;

/** An OAuth client of the gateway, bound to one tenant Organization. */
export interface AuthClient {
  clientId: string;
  secretHash?: string;
  jwks?: JSONWebKeySet;
  allowedScopes: string[];
  /** `Organization/<id>` of the tenant. */
  organization?: string;
  role: ClientRole;
  admin: boolean;
  /** An admin's explicit right to see a protected identity in full (see AccessScope.protectedIdentity). */
  protectedIdentity: boolean;
  disabled: boolean;
}

/** What an admin or the demo loader gives to register a client (the secret in clear; it is hashed here). */
export interface ClientRegistration {
  clientId: string;
  secret?: string;
  jwks?: JSONWebKeySet;
  allowedScopes: string[];
  organization?: string;
  role: ClientRole;
  admin?: boolean;
  protectedIdentity?: boolean;
  disabled?: boolean;
}

interface ClientRow {
  client_id: string;
  secret_hash: string | null;
  jwks: JSONWebKeySet | string | null;
  allowed_scopes: string[] | string;
  organization: string | null;
  role: ClientRole;
  is_admin: boolean;
  protected_identity: boolean;
  disabled: boolean;
}

function parseJson<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

function fromRow(r: ClientRow): AuthClient {
  return {
    clientId: r.client_id,
    secretHash: r.secret_hash ?? undefined,
    jwks: r.jwks == null ? undefined : parseJson(r.jwks),
    allowedScopes: parseJson(r.allowed_scopes),
    organization: r.organization ?? undefined,
    role: r.role,
    admin: r.is_admin,
    protectedIdentity: r.protected_identity,
    disabled: r.disabled,
  };
}

/** The client `clientId`; `forUpdate` (in a transaction) locks its row until the transaction ends. */
export async function findClient(
  db: Db,
  clientId: string,
  opts: { forUpdate?: boolean } = {},
): Promise<AuthClient | undefined> {
  const { rows } = await db.query<ClientRow>(
    `SELECT * FROM auth_client WHERE client_id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [clientId],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

const SETTING_COLUMNS = ['allowed_scopes', 'organization', 'role', 'is_admin', 'protected_identity', 'disabled'];

/**
 * Registers a client, or replaces its settings when it exists (`onConflict: 'update'`), or leaves an existing
 * one untouched (`'keep'`, used by the idempotent demo loader). Returns whether a row was written: an update that
 * names no credentials and would leave every setting as it is writes nothing.
 */
export async function saveClient(
  db: Db,
  reg: ClientRegistration,
  onConflict: 'update' | 'keep' = 'update',
): Promise<boolean> {
  const secretHash = reg.secret === undefined ? null : await hashSecret(reg.secret);
  // An update that names neither a secret nor a JWKS keeps the client's credentials (they are never read back, so
  // an admin changing a client's rights or disabling it cannot send them again).
  const credentials =
    reg.secret === undefined && reg.jwks === undefined
      ? ''
      : 'secret_hash = EXCLUDED.secret_hash, jwks = EXCLUDED.jwks, ';
  const settings = SETTING_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  // without new credentials, a row whose settings are all as sent is not written (nothing changed, nothing to audit)
  const columns = (table: string) => SETTING_COLUMNS.map((c) => `${table}.${c}`).join(', ');
  const changed = credentials ? '' : ` WHERE (${columns('auth_client')}) IS DISTINCT FROM (${columns('EXCLUDED')})`;
  const conflict = onConflict === 'keep' ? 'DO NOTHING' : `DO UPDATE SET ${credentials}${settings}${changed}`;
  const r = await db.query(
    `INSERT INTO auth_client (client_id, secret_hash, jwks, allowed_scopes, organization, role, is_admin, disabled, protected_identity)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (client_id) ${conflict}`,
    [
      reg.clientId,
      secretHash,
      reg.jwks === undefined ? null : JSON.stringify(reg.jwks),
      JSON.stringify(reg.allowedScopes),
      reg.organization ?? null,
      reg.role,
      reg.admin ?? false,
      reg.disabled ?? false,
      reg.protectedIdentity ?? false,
    ],
  );
  return r.rowCount > 0;
}

export async function listClients(db: Db): Promise<AuthClient[]> {
  const { rows } = await db.query<ClientRow>('SELECT * FROM auth_client ORDER BY client_id');
  return rows.map(fromRow);
}

export async function countClients(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM auth_client');
  return Number(rows[0]?.n ?? 0);
}

/**
 * Records a client-assertion `jti`; false when it was already used (a replay). Expired rows are pruned on the
 * way, so the table stays as small as the assertions alive at any moment.
 */
export async function recordAssertionJti(db: Db, clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
  await db.query('DELETE FROM auth_assertion_jti WHERE expires_at < now()');
  const r = await db.query(
    'INSERT INTO auth_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [clientId, jti, expiresAt.toISOString()],
  );
  return r.rowCount > 0;
}
