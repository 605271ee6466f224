import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../store/db.port';
import { ORGANIZATION_REFERENCE } from '../fhir/references';
import { GatewayError } from '../platform/errors';
import { organisationDirectory } from '../store/organisation-names.pg';
import type { AuthContext } from './auth-context';
import { clientChanges, logClientChange, writeClientAudit, type ClientAuditOptions } from './client-audit';
import { jwkProblem } from './client-jwks';
import { findClient, listClients, saveClient, type AuthClient } from './client-store';
import { parseScope } from './scopes';

const JWKS_SHAPE = 'jwks must be a JWK Set: {"keys": [public keys]}';
const jwk = z
  .object({ kty: z.string({ error: 'every key in jwks.keys needs a kty' }) }, { error: JWKS_SHAPE })
  .catchall(z.unknown());
// Public keys only: each key is checked (jwkProblem), the reason naming the key by its place in the set.
const publicKeys = z
  .array(jwk, { error: JWKS_SHAPE })
  .min(1, 'jwks.keys must hold at least one key')
  .superRefine((keys, ctx) =>
    keys.forEach((key, i) => {
      const problem = jwkProblem(key);
      if (problem) ctx.addIssue({ code: 'custom', path: [i], message: `jwks.keys[${i}] ${problem}` });
    }),
  );
const registration = z
  .object({
    secret: z.string().min(16, 'secret must be at least 16 characters').optional(),
    jwks: z.object({ keys: publicKeys }, { error: JWKS_SHAPE }).optional(),
    allowedScopes: z
      .array(z.string())
      .min(1)
      .refine((a) => a.every((s) => parseScope(s)), 'every allowed scope must be a SMART resource scope'),
    organization: z.string().regex(ORGANIZATION_REFERENCE, 'organization must be Organization/<id>'),
    role: z.enum(['hospital', 'municipality', 'primary-care', 'admin']),
    admin: z.boolean().optional(),
    protectedIdentity: z.boolean().optional(),
    disabled: z.boolean().optional(),
  })
  .refine(
    (r) => !r.protectedIdentity || r.role === 'admin',
    'protectedIdentity (seeing protected identities in full) is a right only admin clients can hold',
  );

/** A client as the admin API shows it: never the secret hash. */
function view(c: AuthClient) {
  return {
    clientId: c.clientId,
    role: c.role,
    organization: c.organization,
    allowedScopes: c.allowedScopes,
    admin: c.admin,
    protectedIdentity: c.protectedIdentity,
    disabled: c.disabled,
    authMethods: [...(c.secretHash ? ['client_secret_basic'] : []), ...(c.jwks ? ['private_key_jwt'] : [])],
  };
}

/**
 * Client registration for integration admins (mounted under /admin, so admin rights are already checked):
 * `GET /admin/api/clients`, `GET|PUT /admin/api/clients/:id`. A PUT replaces the client's settings; the secret
 * is hashed (scrypt) and never returned, so a PUT without `secret` and `jwks` keeps the client's credentials (a new
 * secret or JWKS in a PUT replaces them: key rotation); `disabled: true` stops new tokens. A JWKS holds public keys
 * only (see jwkProblem): a key with private key material is refused, never stored. Every PUT that changes the client
 * is audited (src/auth/client-audit.ts): one AuditEvent naming the admin, the client and each setting changed,
 * written in the transaction that saves the client (both are stored or neither), and a log line once committed. A
 * PUT that changes nothing (no credentials, every setting as it is) writes nothing; a refused one (400) neither.
 * The protected-identity right can be given at creation as by a later change (admin clients only).
 */
export function clientAdminRoutes(db: Db, audit: ClientAuditOptions): Router {
  const r = Router();
  r.get('/admin/api/clients', async (_req, res) => {
    res.json((await listClients(db)).map(view));
  });
  r.get('/admin/api/clients/:id', async (req, res) => {
    const c = await findClient(db, req.params.id);
    if (!c) throw new GatewayError('not-found', `No client ${req.params.id}`);
    res.json(view(c));
  });
  r.put('/admin/api/clients/:id', async (req, res) => {
    const id = req.params.id;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new GatewayError('bad-request', 'client id: 1–64 of A-Z a-z 0-9 . _ -');
    const parsed = registration.safeParse(req.body);
    if (!parsed.success) {
      throw new GatewayError(
        'bad-request',
        'Invalid client registration',
        parsed.error.issues.map((i) => ({ path: i.path.join('.') || undefined, message: i.message })),
      );
    }
    const admin = res.locals.auth as AuthContext;
    const directory = await organisationDirectory(db);
    const adminOrg = admin.access.organization && directory.name(admin.access.organization);
    const who = {
      admin,
      ...(adminOrg && adminOrg !== admin.access.organization ? { adminOrganization: adminOrg } : {}),
      ip: req.ip,
      requestId: res.locals.requestId as string | undefined,
    };
    // The client and its AuditEvent in one transaction: both are stored or neither.
    const { before, after, saved } = await db.transaction(async (tx) => {
      const before = await findClient(tx, id, { forUpdate: true });
      // A new client needs credentials; an existing one keeps its own when the PUT names none.
      if (!before && !parsed.data.secret && !parsed.data.jwks) {
        throw new GatewayError('bad-request', 'Invalid client registration', [
          { message: 'a client needs a secret or a jwks (private_key_jwt)' },
        ]);
      }
      // A PUT that changes nothing writes nothing: no row, no AuditEvent.
      const written = await saveClient(tx, { clientId: id, ...parsed.data, jwks: parsed.data.jwks });
      const after = (await findClient(tx, id))!;
      if (!written) return { before, after, saved: undefined };
      const changes = clientChanges(before, after, parsed.data, (ref) => directory.label(ref));
      const saved = { clientId: id, created: !before, changes, ...who };
      await writeClientAudit(audit, tx, saved);
      return { before, after, saved };
    });
    if (saved) logClientChange(audit, saved);
    res.status(before ? 200 : 201).json(view(after));
  });
  return r;
}
