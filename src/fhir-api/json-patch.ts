/**
 * `PATCH /fhir/<type>/<id>` with a JSON Patch (RFC 6902, `Content-Type: application/json-patch+json`), applied with
 * the `rfc6902` library (as Medplum's server does) to the version the store holds locked. A municipality answering
 * its Task sends only what it changes, so it cannot overwrite what the hospital or the gateway changed meanwhile:
 *   [{ "op": "test", "path": "/status", "value": "requested" }, { "op": "replace", "path": "/status", "value": "received" }]
 */
import type { Resource } from '@medplum/fhirtypes';
import { applyPatch, type Operation } from 'rfc6902';
import { z } from 'zod';
import type { Validator } from '../fhir/validator';
import { GatewayError } from '../platform/errors';
import { APPEND_ONLY_TYPES } from '../store/access-sql';

const pointer = z
  .string()
  .max(1000)
  .regex(/^(\/.*)?$/, 'a JSON Pointer ("" or starting with /)');
const op = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), path: pointer, value: z.unknown() }).strict(),
  z.object({ op: z.literal('replace'), path: pointer, value: z.unknown() }).strict(),
  z.object({ op: z.literal('test'), path: pointer, value: z.unknown() }).strict(),
  z.object({ op: z.literal('remove'), path: pointer }).strict(),
  z.object({ op: z.literal('move'), from: pointer, path: pointer }).strict(),
  z.object({ op: z.literal('copy'), from: pointer, path: pointer }).strict(),
]);
const patchBody = z.array(op).min(1).max(1000);

/** The operations of a JSON Patch body, or a 400 naming what is wrong. */
export function parseJsonPatch(body: unknown, contentType: string | undefined): Operation[] {
  if (!contentType || !/^application\/json-patch\+json\b/i.test(contentType))
    throw new GatewayError(
      'bad-request',
      `PATCH takes a JSON Patch (Content-Type: application/json-patch+json) or a FHIRPath Patch (a Parameters resource, application/fhir+json), not '${contentType ?? 'none'}'`,
    );
  const parsed = patchBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const [index, field] = issue?.path ?? [];
    const message =
      field === 'value'
        ? `operation ${String(index)} needs a value`
        : `at ${issue?.path.length ? `operation ${issue.path.join('.')}` : 'the body'}: ${issue?.message ?? 'an array of operations is expected'}`;
    throw new GatewayError('bad-request', `The JSON Patch is not valid: ${message}`);
  }
  return parsed.data;
}

/**
 * The operations of a Bundle entry's PATCH: FHIR carries a JSON Patch in a batch or transaction as a Binary resource
 * (`contentType` application/json-patch+json, the patch base64 in `data`).
 */
export function patchOfEntry(resource: Resource | undefined): Operation[] {
  if (resource?.resourceType !== 'Binary')
    throw new GatewayError(
      'bad-request',
      `A PATCH entry carries its JSON Patch as a Binary resource (contentType application/json-patch+json) or its FHIRPath Patch as a Parameters resource, not ${resource?.resourceType ?? 'nothing'}`,
    );
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(resource.data ?? '', 'base64').toString('utf8'));
  } catch {
    throw new GatewayError(
      'bad-request',
      'The Binary of a PATCH entry is not a JSON Patch: its data is not base64 JSON',
    );
  }
  return parseJsonPatch(body, resource.contentType);
}

/**
 * `resource` (a copy the caller may change) with the operations applied in order. A `test` that fails is 409 (the
 * resource is not in the state the patch expects); a path that does not exist is 422.
 */
export function applyJsonPatch<T extends Resource>(resource: T, ops: Operation[]): T {
  const { resourceType, id } = resource;
  const errors = applyPatch(resource, ops);
  errors.forEach((e, i) => {
    if (!e) return;
    const o = ops[i];
    if (e.name === 'TestError')
      throw new GatewayError(
        'conflict',
        `The JSON Patch test at '${o?.path ?? ''}' failed: ${resource.resourceType}/${resource.id ?? ''} is not as the patch expects (read it again)`,
      );
    throw new GatewayError(
      'invalid-resource',
      `The JSON Patch operation ${i} (${o?.op ?? '?'} '${o?.path ?? ''}') cannot be applied: ${e.message}`,
    );
  });
  assertSameResource({ resourceType, id }, resource);
  return resource;
}

/** 400 when a patch changed the resourceType or id (said before validation, which would list everything the other type lacks). */
export function assertSameResource(before: Pick<Resource, 'resourceType' | 'id'>, after: Resource): void {
  if (after.resourceType !== before.resourceType || after.id !== before.id)
    throw new GatewayError(
      'bad-request',
      `A patch may not change the resourceType or id of ${before.resourceType}/${before.id ?? ''}`,
    );
}

/** 405 for a type nobody changes (the audit trail), whichever way the patch comes. */
export function assertPatchable(type: string): void {
  if (APPEND_ONLY_TYPES.includes(type))
    throw new GatewayError('method-not-allowed', `${type} is append-only: nobody changes it (not admins either)`);
}

/** The change a JSON Patch makes to the version the store holds locked: applied, then validated. */
export function jsonPatchChange(ops: Operation[], validator: Validator): <T extends Resource>(current: T) => T {
  return validatedChange((current) => applyJsonPatch(current, ops), validator);
}

/** A patch's change (JSON Patch or FHIRPath Patch) followed by validation of its result. */
export function validatedChange(
  apply: <T extends Resource>(current: T) => T,
  validator: Validator,
): <T extends Resource>(current: T) => T {
  return (current) => {
    const next = apply(current);
    validator.validate(next);
    return next;
  };
}
