-- OAuth clients of the gateway (src/auth). A client authenticates with a secret (scrypt hash) and/or a
-- private key whose public JWKS is stored inline (SMART Backend Services `private_key_jwt`; JWKS URLs are not
-- fetched). Every client is bound to one tenant Organization and has a role that drives tenant isolation.
CREATE TABLE auth_client (
  client_id text PRIMARY KEY,
  -- 'scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>' or NULL (key-only client)
  secret_hash text,
  -- inline public JWKS ({"keys": [...]}) for private_key_jwt, or NULL
  jwks jsonb,
  -- SMART scopes the client may be granted, e.g. ["system/Task.rs", "system/Encounter.cru"]
  allowed_scopes jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- 'Organization/<id>' of the tenant
  organization text,
  -- 'hospital' | 'municipality' | 'primary-care' | 'admin'
  role text NOT NULL,
  is_admin boolean NOT NULL DEFAULT false,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT auth_client_role CHECK (role IN ('hospital', 'municipality', 'primary-care', 'admin'))
);

-- Client-assertion ids seen (replay protection for private_key_jwt); rows are pruned after expiry.
CREATE TABLE auth_assertion_jti (
  client_id text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX auth_assertion_jti_expiry ON auth_assertion_jti (expires_at);
