import type { Resource } from '@medplum/fhirtypes';
import { ownerRejectsAfterAnother as ownerRejects } from '../fhir/task';
import { GatewayError } from '../platform/errors';
import { assertMayChange, assertOwnerMayChange, writerOf, type RecordHolder } from './access-sql';
import { notFound } from './read-sql';
import type { AccessScope, ResourceChange, WriteOptions } from './repository.port';
import { forScope, parseVersion, sameContent } from './resource-util';
import type { CurrentRow, VersionWrite } from './write-sql';

/** A decided write (see `prepareWrite`); no `write` when nothing changed. */
export interface PreparedWrite<T extends Resource> {
  resource: T;
  created: boolean;
  write?: VersionWrite;
  change?: ResourceChange;
  /** Who holds the record as the answer to the writer is shaped (`forScope`), when it was written. */
  holder?: RecordHolder;
}

/** 412 unless `ifMatch` (when given) names the current version `cur` (the update, delete and patch check). */
export function assertIfMatch(
  type: string,
  id: string,
  cur: CurrentRow | undefined,
  ifMatch: string | undefined,
): void {
  if (ifMatch === undefined) return;
  if (!cur || cur.deleted || String(cur.version_id) !== parseVersion(ifMatch))
    throw new GatewayError(
      'version-conflict',
      `If-Match ${ifMatch} does not match ${type}/${id}, which is ${cur && !cur.deleted ? `at version ${cur.version_id}` : 'absent'}: read it again and retry`,
    );
}

/** `ownerRejectsAfterAnother` for a Task write by `scope`. */
function ownerRejectsAfterAnother(before: Resource, after: Resource, scope: AccessScope | undefined): boolean {
  if (before.resourceType !== 'Task' || after.resourceType !== 'Task') return false;
  return ownerRejects(before, after, writerOf(scope));
}

/**
 * Decides a write of `resource` with `id` over `cur` (the current row, if any) without touching the
 * database: not-found / If-Match checks, the no-change case, the new version. `PgRepository.commitPrepared`
 * writes it. `at.now` stamps `meta.lastUpdated`; `at.scope` shapes the returned resource for the caller.
 */
export function prepareWrite<T extends Resource>(
  resource: T,
  id: string,
  cur: CurrentRow | undefined,
  method: 'POST' | 'PUT',
  opts: WriteOptions,
  at: { now: Date; scope: AccessScope | undefined },
): PreparedWrite<T> {
  const type = resource.resourceType;
  if (cur && !cur.visible) throw notFound(type, id);
  // an update that would create, by a writer that may not create: answered as the update of a resource it cannot
  // read is, so whether the id is free or taken by another tenant's resource stays unknown to it
  if ((!cur || cur.deleted) && opts.mayCreate?.(type) === false) throw notFound(type, id);
  assertMayChange(type, !!cur, 'update');
  assertIfMatch(type, id, cur, opts.ifMatch);
  const before = cur && !cur.deleted && cur.content ? (JSON.parse(cur.content) as T) : undefined;
  if (before) assertOwnerMayChange(before, { ...resource, id }, at.scope);
  // the same content is no new version, but for a Task's owner's own rejection of one another rejected
  if (before && sameContent(before, { ...resource, id }) && !ownerRejectsAfterAnother(before, resource, at.scope))
    return { resource: forScope(before, at.scope, cur), created: false };
  const version = (cur?.version_id ?? 0) + 1;
  const lastUpdated = at.now.toISOString();
  const stored = { ...resource, id, meta: { ...resource.meta, versionId: String(version), lastUpdated } } as T;
  const action = before ? 'update' : 'create';
  // the writer's organisation holds the record from now on (write-sql adds it to writer_orgs)
  const holder = {
    ...cur,
    writer_orgs: [...(cur?.writer_orgs ?? []), ...(opts.authorOrganization ? [opts.authorOrganization] : [])],
  };
  return {
    resource: forScope(stored, at.scope, holder),
    holder,
    created: !before,
    write: {
      type,
      id,
      prevVersion: cur?.version_id ?? 0,
      version,
      lastUpdated,
      resource: stored,
      method,
      action,
      opts,
    },
    change: {
      action,
      resourceType: type,
      id,
      before,
      after: stored,
      author: opts.author,
      authorOrganization: opts.authorOrganization,
    },
  };
}

/** Writes prepared versions in one statement, then runs the hooks for each, in order, in the transaction. */
