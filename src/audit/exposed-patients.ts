/**
 * Which patients a FHIR response exposed (for log review, *loggranskning*): every Patient in it and every
 * Patient a resource in it points to (`subject`, `patient`, `for`, `beneficiary`), Bundle entries and
 * `_include`d resources included. Pure; ids only (never a name or a personnummer).
 */
const PATIENT_REF = /^Patient\/([A-Za-z0-9.-]{1,64})$/;
const REF_FIELDS = ['subject', 'patient', 'for', 'beneficiary'] as const;

type Json = Record<string, unknown>;

function patientsOf(resource: Json, out: Set<string>): void {
  if (resource.resourceType === 'Patient' && typeof resource.id === 'string') out.add(`Patient/${resource.id}`);
  for (const f of REF_FIELDS) {
    const ref = (resource[f] as { reference?: unknown } | undefined)?.reference;
    if (typeof ref === 'string' && PATIENT_REF.test(ref)) out.add(ref);
  }
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    for (const e of resource.entry as { resource?: Json }[]) if (e.resource) patientsOf(e.resource, out);
  }
}

/** Patient references in a response body (JSON text); an unparsable or non-object body exposes none. */
export function exposedPatients(body: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return [];
  }
  return exposedPatientsOf(json);
}

/** `exposedPatients` of the value a JSON body was made from (as it was when serialised). */
export function exposedPatientsOf(json: unknown): string[] {
  if (!json || typeof json !== 'object') return [];
  const out = new Set<string>();
  patientsOf(json as Json, out);
  return [...out].sort();
}

/** Where `sendJson` leaves the text it sent and the value it serialised (`res.locals`). */
export const SENT_JSON = 'sentJson';

/** What `sendJson` sent: the text and the value it was made from. */
export interface SentJson {
  text: string;
  value: unknown;
}
