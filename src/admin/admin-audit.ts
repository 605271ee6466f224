import type { RequestHandler } from 'express';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { AuditSink } from '../audit/audit-writer';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../platform/clock';
import { redact } from '../platform/logger';
import { clientAgent, DCM } from '../audit/audit-parts';

/**
 * Admin paths (below /admin) that show personal data: messages, resources, notifications and their focus, a
 * case's page, the stays behind the dashboard, the Tasks due soon and the month's deviations (stays and Tasks).
 */
const PERSONAL =
  /^\/(?:api\/(?:hl7\/messages|resources|deliveries|dead-letters|dashboard\/stays|deadlines\/due-soon|deviations)|cases)(?:\/|$)/;

/** Does a request to `/admin<path>` show personal data (and so get an AuditEvent)? */
export const isPersonalView = (path: string): boolean => PERSONAL.test(path);
/** Query values that never name a person; every other value is written as `***`. */
const SAFE_KEYS = new Set(['status', 'event', 'sender', 'from', 'to', 'limit', 'before', '_count', 'include', 'all']);
const BROWSED = /^\/api\/resources\/([A-Za-z]+)\/([A-Za-z0-9.-]{1,64})$/;
const CASE = /^\/cases\/([A-Za-z0-9.-]{1,64})$/;

/** The query string as written to the audit trail: safe keys keep their values, the others are masked. */
export function auditQuery(query: Record<string, unknown>): string {
  const parts = Object.entries(query).map(([k, v]) =>
    SAFE_KEYS.has(k) && typeof v === 'string' ? `${k}=${redact(v)}` : `${k}=***`,
  );
  return parts.join('&');
}

/** One AuditEvent for an admin's view (or action) on personal data through the console's API. */
export function buildAdminAuditEvent(
  r: { method: string; path: string; query: Record<string, unknown>; status: number; auth?: AuthContext; ip?: string },
  recorded: Date,
  canonicalBase: string,
): AuditEvent {
  const read = r.method === 'GET';
  const caseId = CASE.exec(r.path)?.[1];
  // a resource opened in the browser, or a case page (`/admin/cases/<Encounter id>`)
  const browsed = BROWSED.exec(r.path) ?? (caseId ? ['', 'Encounter', caseId] : null);
  const query = auditQuery(r.query);
  const description = `admin ${r.method} /admin${r.path}${query ? `?${query}` : ''}`.slice(0, 1000);
  const clientId = r.auth?.clientId ?? 'unauthenticated';
  return {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110110', display: 'Patient Record' },
    subtype: [
      { system: 'http://hl7.org/fhir/restful-interaction', code: read ? (browsed ? 'read' : 'search-type') : 'update' },
    ],
    action: read ? 'R' : 'U',
    recorded: recorded.toISOString(),
    outcome: r.status < 400 ? '0' : r.status < 500 ? '4' : '8',
    ...(r.status >= 400 ? { outcomeDesc: `HTTP ${r.status}` } : {}),
    agent: [
      clientAgent({
        canonicalBase,
        clientId,
        display: clientId,
        type: { text: 'integration admin (admin console)' },
        ip: r.ip,
      }),
    ],
    source: { observer: { display: 'svu-gateway admin console' } },
    entity: [
      {
        ...(browsed ? { what: { reference: `${browsed[1]}/${browsed[2]}` } } : {}),
        description,
        query: Buffer.from(description, 'utf8').toString('base64'),
      },
    ],
  };
}

/** Mounted on `/admin` after the gate: every call of an API path that shows personal data is audited. */
export function adminAuditMiddleware(sink: AuditSink, clock: Clock, canonicalBase: string): RequestHandler {
  return (req, res, next) => {
    if (!isPersonalView(req.path)) {
      next();
      return;
    }
    const { method, path } = req;
    const query = req.query as Record<string, unknown>;
    res.once('finish', () => {
      try {
        sink.record(
          buildAdminAuditEvent(
            {
              method,
              path,
              query,
              status: res.statusCode,
              auth: res.locals.auth as AuthContext | undefined,
              ip: req.ip,
            },
            clock.now(),
            canonicalBase,
          ),
        );
      } catch {
        // an audit record must never break the response; the writer logs store failures
      }
    });
    next();
  };
}
