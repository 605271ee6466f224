-- An admin client's explicit right to see a protected identity (skyddad folkbokföring, sekretessmarkering) in
-- full: address, telecom and contact. Without it an admin reads such a Patient as a recipient does
-- (docs/security.md, "Protected identity"). Only clients with role 'admin' can hold it.
ALTER TABLE auth_client ADD COLUMN protected_identity boolean NOT NULL DEFAULT false;
ALTER TABLE auth_client ADD CONSTRAINT auth_client_protected_identity_admin CHECK (NOT protected_identity OR role = 'admin');
