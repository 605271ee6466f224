import type { Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { accessPredicate, isUnrestricted, SqlParams, TASK_TARGET_PARAMS, TASK_TARGET_TYPES } from './access-sql';
import type { Db } from './db.port';
import { namedIndexRows } from './index-rows';
import type { AccessScope } from './repository.port';

/** A decided write as far as `assertTargetsReadable` needs it (`PreparedWrite`): the version to store and the one it replaces. */
export interface TargetWrite {
  write?: { resource?: Resource };
  change?: { before?: Resource };
}

/**
 * The references through which a write opens a Patient or Encounter (search parameters, as the index rows hold them):
 * a Task's (`accessPredicate` shows its targets to its owner, a hospital: also its requester), and an Encounter's
 * patient, since the gateway derives the stay's Tasks from it, requested by the hospital that wrote the stay.
 */
const OPENING: Readonly<Record<string, readonly string[]>> = { Task: TASK_TARGET_PARAMS, Encounter: ['subject'] };

/** `Type/id` of each Patient or Encounter `resource` opens (`OPENING`). */
function targetsOf(resource: Resource | undefined): string[] {
  const params = resource ? OPENING[resource.resourceType] : undefined;
  if (!resource || !params) return [];
  const rows = namedIndexRows(resource, params);
  const out: string[] = [];
  rows.system.forEach((type, i) => {
    const id = rows.value[i];
    if (type && id && TASK_TARGET_TYPES.includes(type)) out.push(`${type}/${id}`);
  });
  return out;
}

/**
 * A Task a tenant owns (a hospital: or requested) opens the Patient and Encounter it points to (`accessPredicate`),
 * and a stay a hospital writes gets Tasks it requests, so a tenant may write a Task, or an Encounter, pointing only to
 * a Patient or Encounter it reads already: else it would open another tenant's stay by creating a Task of its own (a
 * create, or an update that creates), by pointing its Task elsewhere, or by writing a stay of another hospital's
 * patient. Checked for the targets a write adds (those of the version it replaces were checked when written), against
 * what the writer reads before the write, plus what the same write stores (a transaction's Patient beside its
 * Encounter). 422 naming the first one it may not point to, worded as a read of it would be ("not known (or not
 * visible to you)"), so the refusal tells nothing of whether it exists. The gateway and admins are not limited.
 */
export async function assertTargetsReadable(
  tx: Db,
  scope: AccessScope | undefined,
  writes: readonly TargetWrite[],
): Promise<void> {
  if (isUnrestricted(scope)) return;
  const written = new Set(writes.flatMap((w) => (w.write?.resource ? [refOf(w.write.resource)] : [])));
  const added = new Set<string>();
  for (const w of writes) {
    const before = new Set(targetsOf(w.change?.before));
    for (const t of targetsOf(w.write?.resource)) if (!before.has(t) && !written.has(t)) added.add(t);
  }
  for (const type of TASK_TARGET_TYPES) {
    const ids = [...added].filter((t) => t.startsWith(`${type}/`)).map((t) => t.slice(type.length + 1));
    if (ids.length === 0) continue;
    const params = new SqlParams();
    const t = params.add(type);
    const i = params.add(ids);
    const access = accessPredicate(scope, 'r', params, type, { perRow: true });
    const r = await tx.query<{ id: string }>(
      `SELECT r.id FROM fhir_resource r WHERE r.resource_type = ${t} AND r.id = ANY(${i}::text[])${access ? ` AND ${access}` : ''}`,
      params.values,
    );
    const readable = new Set(r.rows.map((row) => row.id));
    const hidden = ids.find((id) => !readable.has(id));
    if (hidden !== undefined) {
      throw new GatewayError(
        'rule-violation',
        `${article(writerOf(writes, `${type}/${hidden}`))} may point only to a Patient or Encounter you may read: ${type}/${hidden} is not known (or not visible to you)`,
      );
    }
  }
}

const refOf = (r: Resource): string => `${r.resourceType}/${r.id ?? ''}`;

/** The type of the first write that points to `target` (for the refusal's text). */
function writerOf(writes: readonly TargetWrite[], target: string): string {
  const w = writes.find((x) => targetsOf(x.write?.resource).includes(target));
  return w?.write?.resource?.resourceType ?? 'write';
}

const article = (type: string): string => (/^[AEIOU]/.test(type) ? `An ${type}` : `A ${type}`);
