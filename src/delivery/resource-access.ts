import type { Resource } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { AccessScope, FhirRepository } from '../store/repository.port';
import { isGatewayError } from '../platform/errors';

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
