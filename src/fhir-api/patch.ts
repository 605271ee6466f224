/**
 * The two patch formats the gateway takes, to one change of the version the store holds locked (then validated):
 * JSON Patch (`json-patch.ts`: `application/json-patch+json`, in a Bundle a Binary of that contentType) and FHIRPath
 * Patch (`fhirpath-patch.ts`: a Parameters resource, `application/fhir+json` or `application/json`, in a Bundle the
 * entry's resource itself).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Validator } from '../fhir/validator';
import { GatewayError } from '../platform/errors';
import type { EntryPatch } from '../store/repository.port';
import { applyFhirPathPatch, parseFhirPathPatch } from './fhirpath-patch';
import { jsonPatchChange, parseJsonPatch, patchOfEntry, validatedChange } from './json-patch';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The change of a FHIRPath Patch (a Parameters resource). */
export function fhirPathPatchChange(body: unknown, validator: Validator): EntryPatch {
  const ops = parseFhirPathPatch(body);
  return validatedChange((current) => applyFhirPathPatch(current, ops), validator);
}

/** The change of `PATCH /fhir/<type>/<id>`, by its Content-Type; a 400 naming both formats otherwise. */
export function requestPatchChange(body: unknown, contentType: string | undefined, validator: Validator): EntryPatch {
  const fhirJson = !!contentType && /^application\/(fhir\+)?json\s*(;|$)/i.test(contentType);
  if (!fhirJson) return jsonPatchChange(parseJsonPatch(body, contentType), validator);
  if (!isObject(body) || Array.isArray(body) || body.resourceType !== 'Parameters')
    throw new GatewayError(
      'bad-request',
      `PATCH with '${contentType}' takes a FHIRPath Patch (a Parameters resource), not ${
        Array.isArray(body)
          ? 'an array (a JSON Patch goes with Content-Type: application/json-patch+json)'
          : isObject(body) && typeof body.resourceType === 'string'
            ? `a ${body.resourceType}`
            : 'this body'
      }`,
    );
  return fhirPathPatchChange(body, validator);
}

/** The change of a Bundle's PATCH entry: its Parameters resource (FHIRPath Patch) or its Binary (JSON Patch). */
export function entryPatchChange(resource: Resource | undefined, validator: Validator): EntryPatch {
  if (resource?.resourceType === 'Parameters') return fhirPathPatchChange(resource, validator);
  return jsonPatchChange(patchOfEntry(resource), validator);
}
