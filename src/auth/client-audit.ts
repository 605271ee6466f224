import type { AuditEvent, AuditEventEntityDetail } from '@medplum/fhirtypes';
import type { JSONWebKeySet } from 'jose';
import { clientAgent, DCM, gatewaySource, tenantAgent } from '../audit/audit-parts';
import type { AuditSink } from '../audit/audit-writer';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/db.port';
import type { Logger } from '../platform/logger';
import type { AuthContext } from './auth-context';
import type { AuthClient } from './client-store';

/** One setting of a client that a PUT set or changed, as the audit trail says it. */
export interface ClientChange {
  /** `role`, `organization`, `allowedScopes`, `admin`, `protectedIdentity`, `disabled`, `secret` or `jwks`. */
  setting: string;
  /** `hospital → admin`; for a new client the value alone; for credentials only what happened, never a value. */
  change: string;
  /** Set when the protected-identity right was granted or withdrawn. */
  right?: 'granted' | 'withdrawn';
}

/** Where client changes are audited (the shell's audit sink; omitted in tests that do not look at it) and logged. */
export interface ClientAuditOptions {
  logger: Logger;
  audit?: { sink: AuditSink; clock: Clock; canonicalBase: string };
}

const SETTINGS = ['role', 'organization', 'allowedScopes', 'admin', 'protectedIdentity', 'disabled'] as const;
type Setting = (typeof SETTINGS)[number];

function shown(c: AuthClient, s: Setting, orgLabel: (ref: string) => string): string {
  const v = c[s];
  if (s === 'organization') return typeof v === 'string' ? orgLabel(v) : 'none';
  return Array.isArray(v) ? v.join(' ') : String(v);
}

/** `2 keys, kids a, b` (key ids are public names of keys; nothing of the keys themselves). */
function keysText(jwks: JSONWebKeySet): string {
  const kids = jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string' && k !== '');
  const n = jwks.keys.length;
  return `${n} key${n === 1 ? '' : 's'}${kids.length ? `, kids ${kids.join(', ')}` : ', no kid'}`;
}

/**
 * What a PUT of `/admin/api/clients/<id>` did to the client (`before` undefined: created): each non-secret setting
 * it changed with its value before → after (a new client: each setting's value), and for the credentials only
 * whether the secret or the keys were set, replaced or removed. `sent` is what the PUT named (its secret and JWKS
 * are looked at for presence and key ids only). `orgLabel` names an organisation (`Name (Organization/<id>)`).
 */
export function clientChanges(
  before: AuthClient | undefined,
  after: AuthClient,
  sent: { secret?: string; jwks?: JSONWebKeySet },
  orgLabel: (ref: string) => string,
): ClientChange[] {
  const out: ClientChange[] = [];
  for (const s of SETTINGS) {
    const now = shown(after, s, orgLabel);
    const was = before && shown(before, s, orgLabel);
    if (was === now) continue;
    const change: ClientChange = { setting: s, change: was === undefined ? now : `${was} → ${now}` };
    // a new client's right counts when it is granted; a change of it either way
    if (s === 'protectedIdentity' && (before || after.protectedIdentity)) {
      change.right = after.protectedIdentity ? 'granted' : 'withdrawn';
      change.change += after.protectedIdentity
        ? ' (right GRANTED: sees protected identities in full)'
        : ' (right WITHDRAWN)';
    }
    out.push(change);
  }
  if (sent.secret !== undefined)
    out.push({ setting: 'secret', change: before?.secretHash ? 'secret replaced' : 'secret set' });
  else if (before?.secretHash && !after.secretHash) out.push({ setting: 'secret', change: 'secret removed' });
  if (sent.jwks !== undefined) {
    out.push({ setting: 'jwks', change: `keys ${before?.jwks ? 'replaced' : 'set'} (${keysText(sent.jwks)})` });
  } else if (before?.jwks && !after.jwks) out.push({ setting: 'jwks', change: 'keys removed' });
  return out;
}

/** `by` of the log line: an admin client's id; a person signed in through OIDC is not named in a log. */
function loggedAdmin(admin: AuthContext): string {
  return admin.clientId.startsWith('oidc:') ? 'oidc user' : admin.clientId;
}

/** One client create or change as the PUT saved it (`changes` from clientChanges). */
export interface SavedClientChange {
  clientId: string;
  created: boolean;
  changes: readonly ClientChange[];
  admin: AuthContext;
  adminOrganization?: string;
  ip?: string;
  requestId?: string;
}

/**
 * The AuditEvent of a client created or changed by an admin: DICOM "Security Alert" (110113) / "User Security
 * Attributes Changed" (110137), for an OAuth client is a system user and its role, tenant, scopes, rights,
 * credentials and whether it may get tokens are its security attributes (a client is no FHIR resource, so no
 * `rest` interaction). The admin is the requestor (with its tenant); the client is the entity (`what.identifier`
 * and `name`: `entity-name=<client id>` finds its history); each change is an `entity.detail` named by the
 * setting. The protected-identity right, granted or withdrawn, leads `outcomeDesc`.
 */
export function clientChangeAuditEvent(r: SavedClientChange & { recorded: Date; canonicalBase: string }): AuditEvent {
  const clientSystem = `${r.canonicalBase}/sid/client-id`;
  const detail: AuditEventEntityDetail[] = r.changes.map((c) => ({ type: c.setting, valueString: c.change }));
  const right = r.changes.find((c) => c.right)?.right;
  const listed = r.changes.map((c) => `${c.setting}: ${c.change}`).join('; ');
  const summary =
    `${right ? `PROTECTED-IDENTITY RIGHT ${right.toUpperCase()}. ` : ''}` +
    `client ${r.clientId} ${r.created ? 'created' : 'changed'} by ${r.admin.clientId}: ${listed}`;
  return {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110113', display: 'Security Alert' },
    subtype: [{ system: DCM, code: '110137', display: 'User Security Attributes Changed' }],
    action: r.created ? 'C' : 'U',
    recorded: r.recorded.toISOString(),
    outcome: '0',
    outcomeDesc: summary.slice(0, 1000),
    agent: [
      clientAgent({
        canonicalBase: r.canonicalBase,
        clientId: r.admin.clientId,
        display: r.admin.clientId,
        type: { text: 'integration admin' },
        ip: r.ip,
      }),
      ...(r.admin.access.organization ? [tenantAgent(r.admin.access.organization, r.adminOrganization)] : []),
    ],
    source: gatewaySource(r.requestId, 'svu-gateway client registration (PUT /admin/api/clients)'),
    entity: [
      {
        what: { identifier: { system: clientSystem, value: r.clientId }, display: `client ${r.clientId}` },
        type: {
          system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
          code: '2',
          display: 'System Object',
        },
        role: {
          system: 'http://terminology.hl7.org/CodeSystem/object-role',
          code: '11',
          display: 'Security User Entity',
        },
        name: r.clientId,
        description: `OAuth client ${r.created ? 'created' : 'changed'}: ${r.changes.map((c) => c.setting).join(', ')}`,
        detail,
      },
    ],
  };
}

/**
 * Writes the AuditEvent of one client create/change (when auditing is on) in `tx`, the transaction that saves the
 * client: both are stored or neither. Its failure is thrown, so the change is not saved either.
 */
export async function writeClientAudit(o: ClientAuditOptions, tx: Db, r: SavedClientChange): Promise<void> {
  if (!o.audit) return;
  const recorded = o.audit.clock.now();
  await o.audit.sink.writeIn(tx, clientChangeAuditEvent({ ...r, recorded, canonicalBase: o.audit.canonicalBase }));
}

/** The log line of a committed client create/change: the same facts as its AuditEvent. */
export function logClientChange(o: ClientAuditOptions, r: SavedClientChange): void {
  o.logger.info(r.created ? 'client created' : 'client changed', {
    clientId: r.clientId,
    by: loggedAdmin(r.admin),
    byOrganization: r.admin.access.organization,
    changes: r.changes.map((c) => `${c.setting}: ${c.change}`),
  });
}
