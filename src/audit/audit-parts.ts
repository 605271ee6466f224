/**
 * The parts every AuditEvent the gateway writes shares: the requesting client as an agent (named by its client id),
 * the tenant organisation it acts for, and the gateway as the source. Pure.
 */
import type { AuditEvent, AuditEventAgent } from '@medplum/fhirtypes';

/** DICOM's codes (AuditEvent type, subtype and agent type). */
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/** The DICOM agent type of a client application. */
export const APPLICATION_AGENT: AuditEventAgent['type'] = {
  coding: [{ system: DCM, code: '110150', display: 'Application' }],
};

/**
 * The requesting agent: a client named by its client id (`<canonicalBase>/sid/client-id`), with the caller's
 * address when known.
 */
export function clientAgent(a: {
  canonicalBase: string;
  clientId: string;
  display: string;
  type?: AuditEventAgent['type'];
  ip?: string | undefined;
}): AuditEventAgent {
  return {
    ...(a.type ? { type: a.type } : {}),
    who: { identifier: { system: `${a.canonicalBase}/sid/client-id`, value: a.clientId }, display: a.display },
    requestor: true,
    ...(a.ip ? { network: { address: a.ip, type: '2' as const } } : {}),
  };
}

/** The tenant organisation the requesting client acts for (`Organization/<id>`), by name when known. */
export function tenantAgent(organization: string, name?: string): AuditEventAgent {
  return {
    type: { text: 'tenant organization' },
    who: { reference: organization, ...(name ? { display: name } : {}) },
    requestor: false,
  };
}

/** The gateway as the event's source (an application server), with the request's id as its site when known. */
export function gatewaySource(requestId: string | undefined, observer = 'svu-gateway'): AuditEvent['source'] {
  return {
    ...(requestId ? { site: `request-id:${requestId}` } : {}),
    observer: { display: observer },
    type: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
        code: '4',
        display: 'Application Server',
      },
    ],
  };
}
