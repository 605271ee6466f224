import type { Encounter, Organization, Task } from '@medplum/fhirtypes';
import type { Db } from '../../store/db.port';

/** A stay as the deviation report needs it: its Encounter, its parties and its Tasks. */
export interface StayParties {
  encounter: Encounter;
  /** `Organization/<id>` of every party: the hospital (serviceProvider) and every owner or requester of its Tasks. */
  parties: Set<string>;
  tasks: Map<string, Task>;
  names: Map<string, string>;
}

/** Reads the stay (undefined when there is no such Encounter). */
export async function loadStayParties(db: Db, encounterId: string): Promise<StayParties | undefined> {
  const enc = await db.query<{ content: string }>(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Encounter' AND id = $1 AND NOT deleted`,
    [encounterId],
  );
  const row = enc.rows[0];
  if (!row) return undefined;
  const encounter = JSON.parse(row.content) as Encounter;
  const t = await db.query<{ content: string }>(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Task' AND NOT deleted AND id IN (
       SELECT resource_id FROM fhir_search WHERE resource_type = 'Task' AND param = 'encounter' AND value IN ($1, $2))`,
    [encounterId, `Encounter/${encounterId}`],
  );
  const tasks = new Map<string, Task>();
  const parties = new Set<string>();
  if (encounter.serviceProvider?.reference) parties.add(encounter.serviceProvider.reference);
  for (const r of t.rows) {
    const task = JSON.parse(r.content) as Task;
    tasks.set(task.id ?? '', task);
    for (const ref of [task.owner?.reference, task.requester?.reference]) {
      if (ref?.startsWith('Organization/')) parties.add(ref);
    }
  }
  const o = await db.query<{ content: string }>(
    `SELECT content FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted AND id = ANY($1::text[])`,
    [[...parties].map((p) => p.replace(/^Organization\//, ''))],
  );
  const names = new Map<string, string>();
  for (const r of o.rows) {
    const org = JSON.parse(r.content) as Organization;
    if (org.id && org.name) names.set(`Organization/${org.id}`, org.name);
  }
  return { encounter, parties, tasks, names };
}
