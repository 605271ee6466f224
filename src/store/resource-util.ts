import type { Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { parseReference } from './index-rows';
import type { AccessScope } from './repository.port';
import { isSupportedType } from './search-params';

/** The Subscription extension carrying the HMAC secret; only the gateway itself (system scope) reads it. */
export const SUBSCRIPTION_SECRET_URL = 'https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret';

export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/** JSON with object keys sorted, so two equal resources serialise the same whatever their key order. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`).join(',')}}`;
}

/** The content of a resource for "did anything change?": without the server-set meta fields. */
export function contentKey(r: Resource): string {
  const meta = r.meta ? { ...r.meta } : undefined;
  if (meta) {
    delete meta.versionId;
    delete meta.lastUpdated;
  }
  const copy: Record<string, unknown> = { ...r, meta: meta && Object.keys(meta).length > 0 ? meta : undefined };
  return stableStringify(copy);
}

/** Removes the Subscription secret for every scope but the gateway's own. */
export function forScope<T extends Resource>(r: T, scope: AccessScope | undefined): T {
  if (r.resourceType !== 'Subscription' || !scope || scope.system === true) return r;
  const ext = (r as { extension?: { url?: string }[] }).extension;
  if (!ext?.some((e) => e.url === SUBSCRIPTION_SECRET_URL)) return r;
  const kept = ext.filter((e) => e.url !== SUBSCRIPTION_SECRET_URL);
  const copy = { ...r } as T & { extension?: unknown[] };
  if (kept.length > 0) copy.extension = kept;
  else delete copy.extension;
  return copy;
}

/** The ordering key of a change: the stay (Encounter id) it belongs to, when known. */
export function stayKeyOf(r: Resource | undefined, resourceType: string, id: string): string | null {
  if (resourceType === 'Encounter') return id;
  if (!r || (resourceType !== 'Task' && resourceType !== 'CarePlan')) return null;
  const ref = (r as { encounter?: { reference?: string } }).encounter?.reference;
  const parsed = ref ? parseReference(ref) : undefined;
  return parsed && parsed[0] === 'Encounter' ? parsed[1] : null;
}

export function assertSupportedType(resourceType: string): void {
  if (!isSupportedType(resourceType))
    throw new GatewayError(
      'not-found',
      `Resource type '${resourceType}' is not supported by this server (see GET /fhir/metadata)`,
    );
}

export function assertResource(resource: unknown): asserts resource is Resource {
  const rt = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (!resource || typeof resource !== 'object' || typeof rt !== 'string')
    throw new GatewayError('bad-request', 'The body is not a FHIR resource: resourceType is missing');
  assertSupportedType(rt);
}

export function assertId(id: string | undefined): asserts id is string {
  if (!id || !ID_PATTERN.test(id))
    throw new GatewayError('bad-request', `'${id ?? ''}' is not a valid resource id (1–64 of A–Z a–z 0–9 - .)`);
}

/** `W/"3"`, `"3"` or `3` → `3`. */
export function parseVersion(ifMatch: string): string {
  const m = /^(?:W\/)?"?([^"]*)"?$/.exec(ifMatch.trim());
  return m?.[1] ?? ifMatch;
}
