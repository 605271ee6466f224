import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { hasScope, type AuthContext } from '../auth/auth-context';
import type { SearchParams } from '../store/repository.port';
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

/** 403 when an `_include` of the search names (or can only reach) a type the token may not read. */
export function assertIncludesReadable(auth: AuthContext, type: string, params: SearchParams): void {
  for (const v of list(params._include)) {
    const [src, param = '', target] = v.split(':');
    const def = src === type ? getParam(type, param) : undefined;
    if (!def) continue; // the store answers 400 for an unsupported include
    const targets = storedParam(def).targets;
    const only = target ?? (targets?.length === 1 ? targets[0] : undefined);
    if (only) requireScope(auth, only, 'r');
  }
}

/** The included resources the token may read, and an OperationOutcome entry naming the types left out. */
export function includedWithinScope(
  auth: AuthContext,
  included: Resource[],
): { kept: Resource[]; outcome?: OperationOutcome } {
  const left = new Map<string, number>();
  const kept = included.filter((r) => {
    if (hasScope(auth.scopes, r.resourceType, 'r')) return true;
    left.set(r.resourceType, (left.get(r.resourceType) ?? 0) + 1);
    return false;
  });
  if (left.size === 0) return { kept };
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: [...left].map(([t, n]) => ({
      severity: 'warning',
      code: 'suppressed',
      diagnostics: `${n} included ${t} resource(s) left out: your token has no scope to read ${t} (system/${t}.r)`,
    })),
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
