import type { Resource } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { accessPredicate, holderColumns, patientVersionVisible, SqlParams, type RecordHolder } from './access-sql';
import type { Db } from './db.port';
import { dateRange } from './index-rows';
import type { AccessScope, HistoryEntry, SearchParams } from './repository.port';

export const DEFAULT_HISTORY_COUNT = 100;
/** `_elements` and `_summary` cut each version in the API (src/fhir/subset.ts). */
const HISTORY_PARAMS = new Set(['_count', '_offset', '_since', '_elements', '_summary', '_format', '_pretty']);
const MAX_HISTORY_COUNT = 1000;
const MAX_OFFSET = 2_147_483_647;

/**
 * The page a history request asks for: `_count` versions (default 100, at most 1000) after skipping `_offset`. A
 * full page gets a `next` link (the API's), so a client catching up on more versions than a page reads them all.
 */
export function historyPaging(search: SearchParams): { count: number; offset: number } {
  const int = (name: string, dflt: number, max: number): number => {
    const text = first(search[name]);
    if (text === undefined) return dflt;
    if (!/^\d{1,10}$/.test(text))
      throw new GatewayError('bad-request', `${name} must be a non-negative integer, not '${text.slice(0, 40)}'`);
    return Math.min(Number(text), max);
  };
  return { count: int('_count', DEFAULT_HISTORY_COUNT, MAX_HISTORY_COUNT), offset: int('_offset', 0, MAX_OFFSET) };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Versions of one resource, or of every resource of a type, newest first, as `scope` may see them. */
export async function readHistory(
  db: Db,
  scope: AccessScope | undefined,
  type: string,
  id: string | undefined,
  search: SearchParams,
): Promise<(HistoryEntry & { holder: RecordHolder })[]> {
  for (const k of Object.keys(search))
    if (!HISTORY_PARAMS.has(k))
      throw new GatewayError(
        'bad-request',
        `History does not support the parameter '${k}' (use _count, _since, _elements, _summary)`,
      );
  const params = new SqlParams();
  const conds = [`h.resource_type = ${params.add(type)}`];
  if (id !== undefined) conds.push(`h.id = ${params.add(id)}`);
  const since = first(search._since);
  if (since !== undefined) {
    const range = dateRange(since);
    if (!range)
      throw new GatewayError('bad-request', `_since must be an instant such as 2026-01-31T10:00:00Z, not '${since}'`);
    conds.push(`h.last_updated >= ${params.add(range[0])}::timestamptz`);
  }
  const access = accessPredicate(scope, 'r', params, type);
  if (access) conds.push(access);
  const version = patientVersionVisible(scope, 'r', 'h.author_org', 'h.version_id = r.version_id', params, type);
  if (version) conds.push(version);
  const { count, offset } = historyPaging(search);
  const r = await db.query<{
    id: string;
    version_id: number;
    last_updated: Date | string;
    method: string;
    content: string | null;
    writer_orgs: string[];
    holder_name?: string | null;
  }>(
    // replaced versions from the history, the current one from fhir_resource
    `SELECT h.id, h.version_id, h.last_updated, h.method, h.content, ${holderColumns('r', type, scope, params)}
     FROM (SELECT resource_type, id, version_id, last_updated, method, content, author_org FROM fhir_resource_history
           UNION ALL
           SELECT resource_type, id, version_id, last_updated, method, content, author_org FROM fhir_resource) h
     JOIN fhir_resource r ON r.resource_type = h.resource_type AND r.id = h.id
     WHERE ${conds.join(' AND ')} ORDER BY h.last_updated DESC, h.id DESC, h.version_id DESC LIMIT ${count} OFFSET ${offset}`,
    params.values,
  );
  return r.rows.map((row) => {
    const entry: HistoryEntry & { holder: RecordHolder } = {
      resourceType: type,
      id: row.id,
      versionId: String(row.version_id),
      lastUpdated: new Date(row.last_updated).toISOString(),
      method: row.method as HistoryEntry['method'],
      // who holds the record (for the protected-identity rule of forScope)
      holder: row,
    };
    if (row.content) entry.resource = JSON.parse(row.content) as Resource;
    return entry;
  });
}
