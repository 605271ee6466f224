import type { AuditEvent } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import { APPLICATION_AGENT, clientAgent, DCM, gatewaySource } from '../audit/audit-parts';
import type { LimitKey, Refusal } from './token-rate-limit';

/**
 * The client id a token request claims, before it is verified (Basic user, form `client_id`, or the `iss` of a
 * client assertion): what the per-client failure limit counts. Undefined when none can be read.
 */
export function claimedClientId(form: Record<string, unknown>, authorization: string | undefined): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=._~-]+)$/i.exec(authorization ?? '');
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return safeDecode(decoded.slice(0, i));
  }
  if (typeof form.client_id === 'string' && form.client_id.length > 0) return form.client_id;
  if (typeof form.client_assertion === 'string') {
    try {
      const iss = decodeJwt(form.client_assertion).iss;
      if (typeof iss === 'string' && iss.length > 0) return iss;
    } catch {
      // not a JWT: only the address is counted
    }
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** The limiter keys of one request: its remote address, and the claimed client id when there is one. */
export function limitKeys(address: string | undefined, clientId: string | undefined): LimitKey[] {
  const keys: LimitKey[] = [{ kind: 'address', value: address ?? 'unknown' }];
  if (clientId) keys.push({ kind: 'client', value: clientId.slice(0, 256) }); // bounded: the key is stored
  return keys;
}

/** AuditEvent of a token request refused by the rate limit (DICOM "User Authentication" / Login, minor failure). */
export function rateLimitAuditEvent(r: {
  refusal: Refusal;
  clientId: string | undefined;
  address: string | undefined;
  windowSeconds: number;
  recorded: Date;
  canonicalBase: string;
  requestId?: string;
}): AuditEvent {
  const what = r.refusal.key.kind === 'client' ? `client ${r.refusal.key.value}` : `address ${r.refusal.key.value}`;
  return {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110114', display: 'User Authentication' },
    subtype: [{ system: DCM, code: '110122', display: 'Login' }],
    action: 'E',
    recorded: r.recorded.toISOString(),
    outcome: '4',
    outcomeDesc:
      `POST /auth/token refused with 429: ${r.refusal.limit} failed authentications of ${what} within ` +
      `${r.windowSeconds} s; retry after ${r.refusal.retryAfterSeconds} s`,
    agent: [
      clientAgent({
        canonicalBase: r.canonicalBase,
        clientId: r.clientId ?? 'unknown',
        display: r.clientId ? `claimed client ${r.clientId}` : 'unidentified caller',
        type: APPLICATION_AGENT,
        ip: r.address,
      }),
    ],
    source: gatewaySource(r.requestId),
  };
}
