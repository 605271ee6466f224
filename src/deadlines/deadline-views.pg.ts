import type { Db } from '../store/db.port';

export interface DueItem {
  task: string;
  code: string | null;
  owner: string | null;
  encounter: string | null;
  deadline: string;
  status: string;
  businessStatus: string | null;
  /** `overdue` when the deadline has passed, else `due-soon`. */
  state: 'due-soon' | 'overdue';
}

interface RawDue {
  task_id: string;
  code: string | null;
  owner: string | null;
  encounter: string | null;
  deadline: Date | string;
  status: string;
  business_status: string | null;
}

function toDue(r: RawDue, now: Date): DueItem {
  const deadline = new Date(r.deadline);
  return {
    task: `Task/${r.task_id}`,
    code: r.code,
    owner: r.owner,
    encounter: r.encounter,
    deadline: deadline.toISOString(),
    status: r.status,
    businessStatus: r.business_status,
    state: deadline.getTime() <= now.getTime() ? 'overdue' : 'due-soon',
  };
}

/**
 * Open Tasks of `owner` (of every owner, the region's, when undefined) whose deadline falls before `until` (already
 * overdue ones included), earliest first.
 */
export async function dueSoon(
  db: Db,
  owner: string | undefined,
  now: Date,
  until: Date,
  limit = 1000,
): Promise<DueItem[]> {
  // one owner's Tasks from the (owner, deadline) index, the region's from every open row
  const params: unknown[] = [until.toISOString(), limit];
  const ofOwner = owner === undefined ? '' : `owner = $${params.push(owner)} AND `;
  const r = await db.query<RawDue>(
    `SELECT task_id, code, owner, encounter, deadline, status, business_status FROM deadline_task
     WHERE open AND ${ofOwner}deadline IS NOT NULL AND deadline <= $1 ORDER BY deadline, task_id LIMIT $2`,
    params,
  );
  return r.rows.map((x) => toDue(x, now));
}

/** Open Tasks (any owner) with a deadline in [from, to), earliest first. */
export async function dueBetween(db: Db, from: Date, to: Date, now: Date, limit = 5000): Promise<DueItem[]> {
  const r = await db.query<RawDue>(
    `SELECT task_id, code, owner, encounter, deadline, status, business_status FROM deadline_task
     WHERE open AND deadline >= $1 AND deadline < $2 ORDER BY deadline, task_id LIMIT $3`,
    [from.toISOString(), to.toISOString(), limit],
  );
  return r.rows.map((x) => toDue(x, now));
}
