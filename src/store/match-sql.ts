import type { Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { accessPredicate, holderColumns, SqlParams } from './access-sql';
import type { Db } from './db.port';
import type { AccessScope } from './repository.port';
import { assertSupportedType, forScope } from './resource-util';
import { isResultParameter, planSearch } from './search-sql';
import type { CurrentRow } from './write-sql';

/** Conditional matches for writes (`If-None-Exist`, conditional update, transaction Bundles): row-locked reads. */

function groupQuery(query: string): [string, string | string[]][] {
  const map = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(query.startsWith('?') ? query.slice(1) : query)) {
    map.set(k, [...(map.get(k) ?? []), v]);
  }
  return [...map.entries()].map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v]);
}

/**
 * The search plan of a conditional write's criteria (tenant rules per row: it finds one or two rows). Result
 * parameters (`_sort`, `_count`, `_include`, ...) do not change which resources match and are left out.
 */
function conditionalPlan(type: string, query: string, scope: AccessScope | undefined, params?: SqlParams) {
  const q = Object.fromEntries(groupQuery(query).filter(([k]) => !isResultParameter(k)));
  if (Object.keys(q).length === 0)
    throw new GatewayError(
      'bad-request',
      `A conditional ${type} write needs search criteria, e.g. identifier=system|value`,
    );
  return planSearch(type, q, scope, params, { perRow: true });
}

/**
 * The single current match of a conditional query, row-locked (undefined when none; 412 when several).
 * Call `lockQueries` first in the same transaction, so two concurrent conditional writes cannot both create.
 */
export async function matchConditional<T extends Resource>(
  tx: Db,
  scope: AccessScope | undefined,
  type: string,
  query: string,
): Promise<{ resource: T; row: CurrentRow } | undefined> {
  assertSupportedType(type);
  const plan = conditionalPlan(type, query, scope);
  const r = await tx.query<CurrentRow>(
    `SELECT r.version_id, r.deleted, r.content, ${holderColumns('r', type, scope, plan.params)}, true AS visible FROM fhir_resource r WHERE ${plan.where} LIMIT 2 FOR UPDATE OF r`,
    plan.params.values,
  );
  if (r.rows.length > 1)
    throw new GatewayError(
      'multiple-matches',
      `More than one ${type} matches '${query}': make the criteria specific (e.g. identifier=system|value)`,
    );
  const row = r.rows[0];
  if (!row?.content) return undefined;
  return { resource: forScope(JSON.parse(row.content) as T, scope, row), row };
}

/**
 * Current rows for several targets in one statement, each row-locked: a conditional query (up to 2 matches,
 * in the scope) or a type and id (with its visibility). Returns the rows per item, in item order.
 * Conditional items need `lockQueries` first in the same transaction.
 */
export async function matchTargets(
  tx: Db,
  scope: AccessScope | undefined,
  items: ({ type: string; query: string } | { type: string; id: string })[],
): Promise<(CurrentRow & { id: string })[][]> {
  if (items.length === 0) return [];
  const params = new SqlParams();
  const ctes = items.map((it, k) => {
    assertSupportedType(it.type);
    if ('query' in it) {
      const plan = conditionalPlan(it.type, it.query, scope, params);
      return `m${k} AS (SELECT ${k} AS k, r.id, r.version_id, r.deleted, r.content, ${holderColumns('r', it.type, scope, params)}, true AS visible FROM fhir_resource r WHERE ${plan.where} LIMIT 2 FOR UPDATE OF r)`;
    }
    const t = params.add(it.type);
    const i = params.add(it.id);
    const visible = accessPredicate(scope, 'r', params, it.type, { perRow: true }) ?? 'true';
    return `m${k} AS (SELECT ${k} AS k, r.id, r.version_id, r.deleted, r.content, ${holderColumns('r', it.type, scope, params)}, ${visible} AS visible FROM fhir_resource r WHERE r.resource_type = ${t} AND r.id = ${i} FOR UPDATE OF r)`;
  });
  const r = await tx.query<CurrentRow & { id: string; k: number }>(
    `WITH ${ctes.join(', ')} ${items.map((_, k) => `SELECT * FROM m${k}`).join(' UNION ALL ')}`,
    params.values,
  );
  const out: (CurrentRow & { id: string })[][] = items.map(() => []);
  for (const row of r.rows) out[row.k]?.push(row);
  return out;
}
