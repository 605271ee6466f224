import type { AccessScope } from '../store/repository.port';

/** SMART v2 interactions: create, read, update, delete, search. */
export type Interaction = 'c' | 'r' | 'u' | 'd' | 's';

/**
 * The authenticated caller of a request, set on `res.locals.auth` by the auth middleware (src/auth).
 * `scopes` are SMART v2 scopes such as `system/Task.rs`, `system/*.cruds`, or v1 forms `system/Task.read`.
 */
export interface AuthContext {
  clientId: string;
  scopes: string[];
  access: AccessScope;
  /** Integration admin rights (`/admin`, DLQ replay). */
  admin: boolean;
}

const V1: Record<string, Interaction[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };

/** Does one of `scopes` allow `interaction` on `resourceType`? (`system/` and `user/` contexts both count.) */
export function hasScope(scopes: readonly string[], resourceType: string, interaction: Interaction): boolean {
  for (const s of scopes) {
    const m = /^(?:system|user)\/([A-Za-z*]+)\.([a-z*]+)(?:\?.*)?$/.exec(s);
    if (!m) continue;
    const [, type, perms] = m;
    if (type !== '*' && type !== resourceType) continue;
    const allowed = V1[perms ?? ''] ?? [...(perms ?? '')];
    if (allowed.includes(interaction)) return true;
  }
  return false;
}
