import type { Resource } from '@medplum/fhirtypes';
import { planAsGeneric, type Db } from '../store/db.port';
import type { AccessScope, FhirRepository } from '../store/repository.port';
import { isGatewayError } from '../platform/errors';
import { accessPredicate, holderColumns, SqlParams, type RecordHolder } from '../store/access-sql';
import { forScope } from '../store/resource-util';

/** How delivery obtains a repository (`createRepository` from src/store/repository.pg.ts in production). */
export type RepositoryFactory = (db: Db, scope?: AccessScope) => FhirRepository;

export const SYSTEM_SCOPE: AccessScope = { system: true };

/**
 * Reads a resource as `scope` would (tenant rules of the store); `undefined` when that scope may not read
 * it or it no longer exists. Other errors propagate (they are transient: retry).
 */
export async function readAs<T extends Resource>(
  repos: RepositoryFactory,
  db: Db,
  scope: AccessScope,
  resourceType: T['resourceType'],
  id: string,
  versionId?: string | null,
): Promise<T | undefined> {
  try {
    const repo = repos(db, scope);
    return versionId ? await repo.vread<T>(resourceType, id, versionId) : await repo.read<T>(resourceType, id);
  } catch (err) {
    if (isGatewayError(err) && ['not-found', 'gone', 'forbidden'].includes(err.code)) return undefined;
    throw err;
  }
}

/** Is the scope the gateway itself or an admin (no tenant filtering)? */
export function isUnrestricted(scope: AccessScope | undefined | null): boolean {
  return !!scope && (scope.system === true || scope.role === 'admin');
}

/** Resources of one type to read as one scope (`ids`), for `items` of the caller's. */
export interface FocusGroup<T = unknown> {
  scope: AccessScope;
  type: string;
  ids: Set<string>;
  items: T[];
}

/** Adds `item`, whose focus is `type`/`id` read as subscription `subscriptionId`'s `scope`, to its group. */
export function addToFocusGroup<T>(
  groups: Map<string, FocusGroup<T>>,
  subscriptionId: string,
  scope: AccessScope,
  type: string,
  id: string,
  item: T,
): void {
  const key = `${subscriptionId}|${type}`;
  let g = groups.get(key);
  if (!g) groups.set(key, (g = { scope, type, ids: new Set(), items: [] }));
  g.ids.add(id);
  g.items.push(item);
}

/**
 * The focus resources each group's subscriber may read now, for all groups in one statement: per group the
 * resources of the `_id` list that are not deleted and that pass the store's tenant rules (`accessPredicate`,
 * the same as a read as that scope; checked per row, by the Task's id, rather than as the set of every Task
 * the organisation owns), joined with UNION ALL, then `forScope` as the repository does.
 */
export async function readManyAs(db: Db, groups: FocusGroup[]): Promise<Map<string, Resource>[]> {
  const params = new SqlParams();
  const parts = groups.map((g, i) => {
    const where = [
      `r.resource_type = ${params.add(g.type)}`,
      `r.id = ANY(${planAsGeneric(params.add([...g.ids]), 'text[]')})`,
      'NOT r.deleted',
    ];
    const access = accessPredicate(g.scope, 'r', params, g.type, { perRow: true });
    if (access) where.push(access);
    return `SELECT ${i}::int AS g, r.id, r.content, ${holderColumns('r', g.type, g.scope, params)} FROM fhir_resource r WHERE ${where.join(' AND ')}`;
  });
  const { rows } = await db.query<{ g: number; id: string; content: string } & RecordHolder>(
    parts.join('\nUNION ALL\n'),
    params.values,
  );
  const out = groups.map(() => new Map<string, Resource>());
  for (const r of rows) out[r.g]!.set(r.id, forScope(JSON.parse(r.content) as Resource, groups[r.g]!.scope, r));
  return out;
}
