/**
 * SMART scopes: parsing v1 (`system/Task.read`) and v2 (`system/Task.rs`) resource scopes, and narrowing a
 * requested set to what a client is allowed (granted = requested ∩ allowed), always answered in v2 form.
 */
const ORDER = ['c', 'r', 'u', 'd', 's'] as const;
type Perm = (typeof ORDER)[number];

const V1: Record<string, Perm[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': [...ORDER] };

export interface ResourceScope {
  context: 'system' | 'user' | 'patient';
  resourceType: string;
  perms: Set<Perm>;
}

/** Parses one resource scope; undefined for anything else (openid, launch, malformed, query-qualified). */
export function parseScope(scope: string): ResourceScope | undefined {
  const m = /^(system|user|patient)\/([A-Z][A-Za-z]*|\*)\.([a-z*]+)$/.exec(scope);
  if (!m) return undefined;
  const [, context, resourceType, p] = m as unknown as [string, ResourceScope['context'], string, string];
  let perms: Perm[];
  if (V1[p]) perms = V1[p];
  else {
    // v2: letters in the order c r u d s, each at most once
    if (!/^c?r?u?d?s?$/.test(p) || p.length === 0) return undefined;
    perms = [...p] as Perm[];
  }
  return { context, resourceType, perms: new Set(perms) };
}

export function formatScope(s: ResourceScope): string {
  return `${s.context}/${s.resourceType}.${ORDER.filter((p) => s.perms.has(p)).join('')}`;
}

/**
 * The scopes to grant: each requested scope narrowed to the permissions some allowed scope of the same context
 * covers (a wildcard type on either side matches). A requested `system/*.rs` with only `system/Task.cruds`
 * allowed yields `system/Task.rs`. Unknown or unparseable scopes are dropped. Result is de-duplicated.
 */
export function narrowScopes(requested: readonly string[], allowed: readonly string[]): string[] {
  const allowedParsed = allowed.map(parseScope).filter((s): s is ResourceScope => s !== undefined);
  const out = new Map<string, ResourceScope>();
  const add = (s: ResourceScope) => {
    if (s.perms.size === 0) return;
    const key = `${s.context}/${s.resourceType}`;
    const prev = out.get(key);
    if (prev) for (const p of s.perms) prev.perms.add(p);
    else out.set(key, { ...s, perms: new Set(s.perms) });
  };
  for (const raw of requested) {
    const req = parseScope(raw);
    if (!req) continue;
    for (const a of allowedParsed) {
      if (a.context !== req.context) continue;
      const perms = new Set([...req.perms].filter((p) => a.perms.has(p)));
      if (req.resourceType === a.resourceType || a.resourceType === '*') {
        add({ context: req.context, resourceType: req.resourceType, perms });
      } else if (req.resourceType === '*') {
        add({ context: req.context, resourceType: a.resourceType, perms });
      }
    }
  }
  // A specific type fully covered by a wildcard grant of the same context is redundant.
  for (const [key, s] of out) {
    const wild = out.get(`${s.context}/*`);
    if (s.resourceType !== '*' && wild && [...s.perms].every((p) => wild.perms.has(p))) out.delete(key);
  }
  return [...out.values()].map(formatScope);
}
