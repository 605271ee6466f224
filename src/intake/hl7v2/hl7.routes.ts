import express, { Router } from 'express';
import { hasScope, type AuthContext } from '../../auth/auth-context';
import { operationOutcome } from '../../http/errors';
import type { Hl7Processor } from './process-message';

export const HL7_CONTENT_TYPES = ['x-application/hl7-v2+er7', 'application/hl7-v2', 'application/hl7-v2+er7'];

/**
 * `POST /hl7v2`: the same message body as over MLLP (`Content-Type: x-application/hl7-v2+er7`); the answer is
 * the ACK (200, same content type) sent after the commit. The shell puts bearer auth on `/hl7v2`; the client
 * needs a scope that lets it write Encounters (e.g. `system/Encounter.cu`).
 */
export function hl7Routes(process: Hl7Processor, maxBytes: number): Router {
  const r = Router();
  r.post('/hl7v2', express.text({ type: HL7_CONTENT_TYPES, limit: maxBytes }), async (req, res) => {
    const auth = res.locals.auth as AuthContext | undefined;
    if (!auth) {
      res
        .status(401)
        .type('application/fhir+json')
        .send(JSON.stringify(operationOutcome('login', 'An access token is required')));
      return;
    }
    if (!hasScope(auth.scopes, 'Encounter', 'c') && !hasScope(auth.scopes, 'Encounter', 'u')) {
      res
        .status(403)
        .type('application/fhir+json')
        .send(
          JSON.stringify(
            operationOutcome(
              'forbidden',
              'HL7 v2 intake needs a scope that writes Encounters, e.g. system/Encounter.cu',
            ),
          ),
        );
      return;
    }
    if (typeof req.body !== 'string' || req.body.length === 0) {
      res
        .status(415)
        .type('application/fhir+json')
        .send(
          JSON.stringify(
            operationOutcome('not-supported', `Send the message with Content-Type: ${HL7_CONTENT_TYPES[0]}`),
          ),
        );
      return;
    }
    // A hospital client sends only for its own organization; admins (and the gateway) may send for any.
    const tenant = auth.access.role === 'hospital' ? auth.access.organization : undefined;
    const outcome = await process(req.body, {
      channel: 'http',
      remote: auth.clientId,
      ...(tenant ? { organization: tenant } : {}),
    });
    res
      .status(200)
      .type(HL7_CONTENT_TYPES[0] ?? 'text/plain')
      .send(outcome.ack);
  });
  return r;
}
