import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { hasScope, type AuthContext } from '../auth/auth-context';
import type { SearchParams } from '../store/repository.port';
import { chainTypes, linkedKey, linkedType } from '../store/search-conditions';
import { getParam, storedParam } from '../store/search-params';
import { requireScope } from './http-util';

/**
 * `_include` passes the same SMART scope check as a direct read (the store already applies the tenant rules
 * to included rows). An include whose target type is known (`Task:patient`, `Task:focus:CarePlan`) needs read
 * scope on that type up front (403 otherwise, as `GET Patient/<id>` would answer); an include that may reach
 * several types keeps only the types the token may read and says in an OperationOutcome entry what it left out.
 */

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * 403 when an `_include` of the search names (or can only reach) a type the token may not read, or a chained
 * parameter or `_has` searches a type the token may not search.
 */
export function assertIncludesReadable(auth: AuthContext, type: string, params: SearchParams): void {
  const includes = [
    ...list(params._include).map((v) => [v, false] as const),
    ...list(params['_include:iterate']).map((v) => [v, true] as const),
  ];
  for (const [v, iterate] of includes) {
    const [src = '', param = '', target] = v.split(':');
    const def = src === type || iterate ? getParam(src, param) : undefined;
    if (!def) continue; // the store answers 400 for an unsupported include
    // an :iterate include follows references inside resources of its source type: the token must read them itself
    if (iterate) requireScope(auth, src, 'r');
    const targets = storedParam(def).targets;
    const only = target ?? (targets?.length === 1 ? targets[0] : undefined);
    if (only) requireScope(auth, only, 'r');
  }
  // `_revinclude=Task:patient` reads Tasks: it needs read scope on its source type, as `GET Task/<id>` would
  for (const v of [...list(params._revinclude), ...list(params['_revinclude:iterate'])]) {
    const [src = '', param = ''] = v.split(':');
    if (getParam(src, param)) requireScope(auth, src, 'r');
  }
  // a chain (`Task?patient.identifier=…`) searches its target type, `_has:Task:encounter:status=…` searches Tasks:
  // each needs search scope there, as `GET Patient?identifier=…` would
  for (const key of Object.keys(params)) {
    const link = linkedKey(key);
    if (!link) continue;
    // every type a chain passes through is searched (`Task?encounter.subject:Patient.name=…`: Encounter, Patient)
    const others = link.kind === 'chain' ? chainTypes(type, link) : [linkedType(type, link)];
    for (const other of others) if (other) requireScope(auth, other, 's');
  }
}

/** The `meta.security` label a resource carries when contained resources were left out of it for this token. */
export const REDACTED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'REDACTED',
  display: 'redacted',
} as const;

/**
 * A resource as a token may see its contained resources: each contained resource passes the same per-type scope
 * check as a direct read (`GET Patient/<id>` needs `Patient.r`). One the token may not read is left out; the
 * references to it (`#id`) stay, and the resource carries the `REDACTED` security label so the client knows
 * something was withheld. Protected identity in contained Patients is cleaned by the store (`forScope`).
 */
export function containedWithinScope<T extends Resource>(auth: AuthContext, resource: T): T {
  const contained = (resource as { contained?: unknown }).contained;
  if (!Array.isArray(contained) || contained.length === 0) return resource;
  const kept = contained.filter(
    (c: unknown) =>
      typeof c === 'object' &&
      c !== null &&
      typeof (c as Resource).resourceType === 'string' &&
      hasScope(auth.scopes, (c as Resource).resourceType, 'r'),
  ) as Resource[];
  if (kept.length === contained.length) return resource;
  const copy = { ...resource } as T & { contained?: Resource[] };
  if (kept.length > 0) copy.contained = kept;
  else delete copy.contained;
  const security = (resource.meta?.security ?? []).filter((c) => c.code !== REDACTED.code);
  copy.meta = { ...resource.meta, security: [...security, { ...REDACTED }] };
  return copy;
}

/** `containedWithinScope` over every entry resource of a Bundle answer (search, history, batch; nested too). */
export function bundleWithinScope(auth: AuthContext, bundle: Bundle): Bundle {
  if (!bundle.entry) return bundle;
  return {
    ...bundle,
    entry: bundle.entry.map((e) => {
      const r = e.resource;
      if (!r) return e;
      return {
        ...e,
        resource: r.resourceType === 'Bundle' ? bundleWithinScope(auth, r) : containedWithinScope(auth, r),
      };
    }),
  };
}

/** The included resources the token may read, and an OperationOutcome entry naming the types left out. */
export function includedWithinScope(
  auth: AuthContext,
  included: Resource[],
  /** The store's notes on the answer (e.g. `_revinclude` past its cap), each an issue of the same outcome. */
  notes: string[] = [],
): { kept: Resource[]; outcome?: OperationOutcome } {
  const left = new Map<string, number>();
  const kept = included.filter((r) => {
    if (hasScope(auth.scopes, r.resourceType, 'r')) return true;
    left.set(r.resourceType, (left.get(r.resourceType) ?? 0) + 1);
    return false;
  });
  if (left.size === 0 && notes.length === 0) return { kept };
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: [
      ...[...left].map(([t, n]) => ({
        severity: 'warning' as const,
        code: 'suppressed' as const,
        diagnostics: `${n} included ${t} resource(s) left out: your token has no scope to read ${t} (system/${t}.r)`,
      })),
      ...notes.map((diagnostics) => ({ severity: 'warning' as const, code: 'too-costly' as const, diagnostics })),
    ],
  };
  return { kept, outcome };
}

/** The same for a searchset Bundle built by the store (a GET search entry of a batch or transaction). */
export function searchsetWithinScope(auth: AuthContext, bundle: Bundle): Bundle {
  const entries = bundle.entry ?? [];
  const included = entries.filter((e) => e.search?.mode === 'include' && e.resource).map((e) => e.resource!);
  const { kept, outcome } = includedWithinScope(auth, included);
  if (!outcome) return bundle;
  const keep = new Set(kept);
  const out: BundleEntry[] = entries.filter(
    (e) => e.search?.mode !== 'include' || (e.resource && keep.has(e.resource)),
  );
  out.push({ resource: outcome, search: { mode: 'outcome' } });
  return { ...bundle, entry: out };
}
