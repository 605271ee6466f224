import type { Resource } from '@medplum/fhirtypes';
import { protectIdentity } from '../fhir/protected-identity';
import { GatewayError } from '../platform/errors';
import { parseReference } from './index-rows';
import type { RecordHolder } from './access-sql';
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

/** Deep equality of JSON values, a key whose value is undefined counting as absent (as `stableStringify` does). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      // JSON turns undefined array members into null.
      if (!sameJson(a[i] === undefined ? null : a[i], b[i] === undefined ? null : b[i])) return false;
    }
    return true;
  }
  return sameFields(a as Record<string, unknown>, b as Record<string, unknown>, undefined);
}

function sameFields(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  skip: ReadonlySet<string> | undefined,
): boolean {
  let n = 0;
  for (const k of Object.keys(a)) {
    if (a[k] === undefined || skip?.has(k)) continue;
    n++;
    if (!(k in b) || !sameJson(a[k], b[k])) return false;
  }
  for (const k of Object.keys(b)) if (b[k] !== undefined && !skip?.has(k)) n--;
  return n === 0;
}

const SERVER_META = new Set(['versionId', 'lastUpdated']);
const META = new Set(['meta']);

/** As `contentKey`: a meta with nothing but server-set fields counts as absent (a key with undefined does not). */
const emptyMeta = (m: unknown): boolean =>
  m === undefined || m === null || (typeof m === 'object' && Object.keys(m).every((k) => SERVER_META.has(k)));

/**
 * Whether two resources have the same content for "did anything change?" (`contentKey(a) === contentKey(b)`,
 * without building the strings): equal but for the server-set meta fields.
 */
export function sameContent(a: Resource, b: Resource): boolean {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  if (!sameFields(ra, rb, META)) return false;
  const ea = emptyMeta(ra.meta);
  const eb = emptyMeta(rb.meta);
  if (ea || eb) return ea === eb;
  if (typeof ra.meta !== 'object' || typeof rb.meta !== 'object' || ra.meta === null || rb.meta === null) return false;
  return sameFields(ra.meta as Record<string, unknown>, rb.meta as Record<string, unknown>, SERVER_META);
}

/**
 * Whether `scope` sees a protected identity in full: the gateway itself, an admin with the explicit right
 * (`protectedIdentity`), and the hospital that holds the record (its organisation wrote the resource:
 * `writerOrgs`). Everyone else is a recipient.
 */
export function seesProtectedIdentity(
  scope: AccessScope | undefined,
  writerOrgs: readonly string[] | null | undefined,
): boolean {
  if (!scope || scope.system === true) return true;
  if (scope.role === 'admin') return scope.protectedIdentity === true;
  return scope.role === 'hospital' && !!scope.organization && (writerOrgs ?? []).includes(scope.organization);
}

/**
 * The resource as `scope` may see it; every read path of the store (read, vread, search and `_include`,
 * history, conditional matches, Bundle entries, the answers to writes) and delivery goes through here:
 * the Subscription secret only for the gateway itself, and a protected identity only for those
 * `seesProtectedIdentity` names (`holder`: who wrote the resource, from its row: see `holderColumns`).
 */
export function forScope<T extends Resource>(r: T, scope: AccessScope | undefined, holder?: RecordHolder): T {
  if (!scope || scope.system === true) return r;
  const seen = seesProtectedIdentity(scope, holder?.writer_orgs)
    ? r
    : protectIdentity(r, holder?.holder_name ?? undefined);
  return withoutSecret(seen);
}

/** The Subscription secret's extension, if the resource carries one. */
export function secretOf(r: Resource): { url: string } | undefined {
  if (r.resourceType !== 'Subscription') return undefined;
  const ext = (r as { extension?: { url?: string }[] }).extension;
  return ext?.find((e): e is { url: string } => e.url === SUBSCRIPTION_SECRET_URL);
}

/** Removes the Subscription secret. */
export function withoutSecret<T extends Resource>(r: T): T {
  if (!secretOf(r)) return r;
  const ext = (r as { extension?: { url?: string }[] }).extension ?? [];
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
