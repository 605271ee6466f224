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

/**
 * Patient references in a response body (JSON text); an unparsable or non-object body exposes none. `sent`: the
 * value the body is the `JSON.stringify` of, when the sender kept it (`sendJson`): read instead of parsing the text
 * again (the response Bundle of a transaction was stringified and parsed back for every request).
 */
export function exposedPatients(body: string, sent?: SentJson): string[] {
  let json: unknown;
  if (sent && sent.text === body) json = sent.value;
  else {
    try {
      json = JSON.parse(body);
    } catch {
      return [];
    }
  }
  if (!json || typeof json !== 'object') return [];
  const out = new Set<string>();
  patientsOf(json as Json, out);
  return [...out].sort();
}

/** A JSON response body and the value it is the `JSON.stringify` of (plain data: objects, arrays, strings, …). */
export interface SentJson {
  text: string;
  value: unknown;
}

/** Where `sendJson` keeps what it sent (in `res.locals`), for the audit. */
export const SENT_JSON = 'sentJson';
