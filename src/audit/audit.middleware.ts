import type { RequestHandler } from 'express';
import type { AuthContext } from '../auth/auth-context';
import type { Clock } from '../platform/clock';
import { buildAuditEvent } from './audit-event';
import { exposedPatients, exposedPatientsOf, SENT_JSON, type SentJson } from './exposed-patients';

/** Bodies larger than this are not scanned for patients (the AuditEvent then names none; never blocks). */
const MAX_SCANNED_BODY = 8 * 1024 * 1024;
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
    // Keep the body the handler sends (FHIR JSON as one string) to name the patients it exposed. When the text is
    // the one `sendJson` just made, the patients are read from its value there and then (what the text holds)
    // instead of parsing the text back: a JSON.parse of every answer, ≈ 1 % of the API's CPU per Bundle.
    let body: string | undefined;
    let patients: string[] | undefined;
    const send = res.send.bind(res);
    res.send = (chunk?: unknown) => {
      if (typeof chunk === 'string' && chunk.length <= MAX_SCANNED_BODY) {
        body = chunk;
        const sent = res.locals[SENT_JSON] as SentJson | undefined;
        patients = sent?.text === chunk ? exposedPatientsOf(sent.value) : undefined;
      } else if (Buffer.isBuffer(chunk) && chunk.length <= MAX_SCANNED_BODY) body = chunk.toString('utf8');
      return send(chunk);
    };
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
              patients: res.statusCode < 400 && body ? (patients ?? exposedPatients(body)) : [],
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
