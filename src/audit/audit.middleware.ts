import type { RequestHandler } from 'express';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../platform/clock';
import { buildAuditEvent } from './audit-event';
import type { AuditSink } from './audit-writer';

/**
 * Mounted on `/fhir` before the bearer check, so refused calls (401, 403, 404) are audited too: when the response
 * has finished, one AuditEvent per request goes to the sink. `GET /fhir/metadata` is not audited.
 */
export function auditMiddleware(sink: AuditSink, clock: Clock, canonicalBase: string): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' && req.path === '/metadata') {
      next();
      return;
    }
    const method = req.method;
    const path = req.path;
    const query = req.query as Record<string, unknown>;
    res.once('finish', () => {
      try {
        sink.record(
          buildAuditEvent(
            {
              method,
              path,
              query,
              status: res.statusCode,
              auth: res.locals.auth as AuthContext | undefined,
              ip: req.ip,
              requestId: res.locals.requestId as string | undefined,
              recorded: clock.now(),
              location: res.getHeader('location')?.toString(),
              refused: res.locals.auditRefused as string | undefined,
            },
            canonicalBase,
          ),
        );
      } catch {
        // building an audit record must never break the response path; the writer logs store failures
      }
    });
    next();
  };
}
