import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../store/db.port';
import type { AuthContext } from '../auth/auth-context';

/** An admin console session as the session list shows it (never the token). */
export interface AdminSession {
  id: string;
  /** The admin client, or `oidc:<label>` for a user signed in through OIDC. */
  clientId: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  userAgent: string | null;
  remote: string | null;
}

export interface SessionLifetime {
  /** Absolute lifetime from login. */
  maxSeconds: number;
  /** Ends after this long without a request. */
  idleSeconds: number;
}

interface SessionRow {
  id: string;
  client_id: string | null;
  oidc_subject: string | null;
  oidc_label: string | null;
  created_at: string | Date;
  last_seen_at: string | Date;
  expires_at: string | Date;
  idle_seconds: number;
  revoked_at: string | Date | null;
  revoked_by: string | null;
  user_agent: string | null;
  remote: string | null;
}

const iso = (v: string | Date): string => new Date(v).toISOString();
const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('base64url');
/** `last_seen_at` is written at most this often (a page makes several API calls a second). */
const TOUCH_EVERY_MS = 30_000;
/** What an OIDC admin may do with FHIR resources through the console: read and search. */
export const OIDC_ADMIN_SCOPE = 'system/*.rs';

/** The name a session's caller goes by in audit entries and the session list. */
const whoOf = (r: SessionRow): string => r.client_id ?? `oidc:${r.oidc_label ?? r.oidc_subject}`;

function fromRow(r: SessionRow): AdminSession {
  return {
    id: r.id,
    clientId: whoOf(r),
    createdAt: iso(r.created_at),
    lastSeenAt: iso(r.last_seen_at),
    expiresAt: iso(r.expires_at),
    revokedAt: r.revoked_at === null ? null : iso(r.revoked_at),
    revokedBy: r.revoked_by,
    userAgent: r.user_agent,
    remote: r.remote,
  };
}

/**
 * Opens a session for an admin client after its credentials were checked, or for an OIDC user in the admin group
 * (`oidc`); returns the cookie token.
 */
export async function createSession(
  db: Db,
  o: {
    clientId?: string;
    oidc?: { subject: string; label: string };
    now: Date;
    lifetime: SessionLifetime;
    userAgent?: string;
    remote?: string;
  },
): Promise<{ token: string; session: AdminSession }> {
  const token = randomBytes(32).toString('base64url');
  const expires = new Date(o.now.getTime() + o.lifetime.maxSeconds * 1000);
  const { rows } = await db.query<SessionRow>(
    `INSERT INTO admin_session (id, token_hash, client_id, created_at, last_seen_at, expires_at, idle_seconds, user_agent, remote, oidc_subject, oidc_label)
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      randomUUID(),
      hashToken(token),
      o.clientId ?? null,
      o.now.toISOString(),
      expires.toISOString(),
      Math.round(o.lifetime.idleSeconds),
      o.userAgent?.slice(0, 300) ?? null,
      o.remote ?? null,
      o.oidc?.subject ?? null,
      o.oidc?.label ?? null,
    ],
  );
  return { token, session: fromRow(rows[0]!) };
}

interface LiveRow extends SessionRow {
  allowed_scopes: string[] | string | null;
  organization: string | null;
  role: AuthContext['access']['role'];
}

/**
 * The caller behind a session cookie, or undefined when the session is unknown, revoked, expired or idle too
 * long, or its client was disabled or lost its admin rights since the login.
 */
export async function resolveSession(
  db: Db,
  token: string,
  now: Date,
): Promise<{ auth: AuthContext; sessionId: string } | undefined> {
  const { rows } = await db.query<LiveRow>(
    `SELECT s.*, c.allowed_scopes, c.organization, c.role FROM admin_session s
       LEFT JOIN auth_client c ON c.client_id = s.client_id
      WHERE (s.oidc_subject IS NOT NULL OR (c.is_admin AND NOT c.disabled)) AND s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
        AND s.last_seen_at + make_interval(secs => s.idle_seconds) > $2`,
    [hashToken(token), now.toISOString()],
  );
  const r = rows[0];
  if (!r) return undefined;
  if (now.getTime() - new Date(r.last_seen_at).getTime() > TOUCH_EVERY_MS) {
    await db.query('UPDATE admin_session SET last_seen_at = $2 WHERE id = $1', [r.id, now.toISOString()]);
  }
  const who = whoOf(r);
  if (r.client_id === null) {
    // an OIDC admin: reads every resource type (the console is read-only on resources) and acts on the queues
    return {
      sessionId: r.id,
      auth: { clientId: who, scopes: [OIDC_ADMIN_SCOPE], admin: true, access: { clientId: who, role: 'admin' } },
    };
  }
  const scopes =
    typeof r.allowed_scopes === 'string' ? (JSON.parse(r.allowed_scopes) as string[]) : (r.allowed_scopes ?? []);
  const organization = r.organization ?? undefined;
  return {
    sessionId: r.id,
    auth: { clientId: who, scopes, admin: true, access: { clientId: who, organization, role: r.role } },
  };
}

/** Ends a session by its id (the session list) or by its cookie token (logout). Returns whether one ended. */
export async function revokeSession(
  db: Db,
  by: { id: string } | { token: string },
  revokedBy: string,
  now: Date,
): Promise<boolean> {
  const [col, value] = 'id' in by ? ['id', by.id] : ['token_hash', hashToken(by.token)];
  const r = await db.query(
    `UPDATE admin_session SET revoked_at = $2, revoked_by = $3 WHERE ${col} = $1 AND revoked_at IS NULL`,
    [value, now.toISOString(), revokedBy],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Sessions still open (not revoked, not past their absolute end), newest first, at most 200. */
export async function listSessions(db: Db, now: Date): Promise<AdminSession[]> {
  const { rows } = await db.query<SessionRow>(
    `SELECT * FROM admin_session WHERE revoked_at IS NULL AND expires_at > $1
       AND last_seen_at + make_interval(secs => idle_seconds) > $1 ORDER BY created_at DESC LIMIT 200`,
    [now.toISOString()],
  );
  return rows.map(fromRow);
}
