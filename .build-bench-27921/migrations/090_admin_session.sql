-- Browser sessions of integration admins (src/admin/session.pg.ts). The cookie carries a random token; only its
-- SHA-256 is stored, so a copy of this table opens no session. A session outlives the five-minute access token:
-- it ends at expires_at, after idle_seconds without a request, or when revoked (logout or an admin's revoke).
CREATE TABLE admin_session (
  id text PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  client_id text NOT NULL REFERENCES auth_client (client_id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  idle_seconds integer NOT NULL,
  revoked_at timestamptz,
  -- who revoked it: the client id, or 'logout'
  revoked_by text,
  -- the browser's User-Agent and address at login, shown in the session list
  user_agent text,
  remote text
);
CREATE INDEX admin_session_client ON admin_session (client_id, created_at);
