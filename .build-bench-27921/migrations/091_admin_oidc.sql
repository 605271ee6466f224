-- Admin console login through an OpenID Connect provider (src/auth/oidc.ts, src/admin/admin-gate.ts).
-- A session of an OIDC user has no OAuth client: it names the provider's subject and a label for the session list
-- (preferred_username, email or name from the ID token); its rights come from the admin group claim at login.
ALTER TABLE admin_session ALTER COLUMN client_id DROP NOT NULL;
ALTER TABLE admin_session ADD COLUMN oidc_subject text;
ALTER TABLE admin_session ADD COLUMN oidc_label text;
ALTER TABLE admin_session ADD CONSTRAINT admin_session_who CHECK (client_id IS NOT NULL OR oidc_subject IS NOT NULL);

-- Logins under way: the state sent to the provider (only its SHA-256), with the PKCE verifier and nonce that the
-- callback needs. A row is used once (deleted by the callback) and is void after expires_at.
CREATE TABLE admin_oidc_login (
  state_hash text PRIMARY KEY,
  code_verifier text NOT NULL,
  nonce text NOT NULL,
  next_path text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX admin_oidc_login_expires ON admin_oidc_login (expires_at);
