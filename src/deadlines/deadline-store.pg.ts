import type { Db } from '../store/db.port';
import type { PlannedStep, StepKind, StepRecipient } from './ladder';

/** A step that still waits to fire: what a timer job is armed for. */
export interface PendingStep {
  taskId: string;
  stepId: string;
  dueAt: Date;
}

export interface StepRow extends PendingStep {
  kind: StepKind;
  recipient: StepRecipient;
  seq: number;
  firedAt?: Date;
  cancelledAt?: Date;
  outcome?: Record<string, unknown>;
}

export interface TaskRow {
  taskId: string;
  code?: string;
  owner?: string;
  requester?: string;
  encounter?: string;
  agreement?: string;
  deadline?: Date;
  status: string;
  open: boolean;
  businessStatus?: string;
  versionId?: string;
  /** What the follow-up indicators read (migration 110): the first code as written, authoredOn, focus id, … */
  firstCode?: string;
  authoredOn?: string;
  focus?: string;
  reasonCode?: string;
  groupIdentifier?: string;
  /** The Task's lastUpdated when it is `completed` now (the first completion is kept, or found in the history). */
  completedNowAt?: string;
}

interface RawStep {
  task_id: string;
  step_id: string;
  kind: string;
  recipient: string;
  seq: number;
  due_at: Date | string;
  fired_at: Date | string | null;
  cancelled_at: Date | string | null;
  outcome: Record<string, unknown> | null;
}

const d = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

function toStep(r: RawStep): StepRow {
  return {
    taskId: r.task_id,
    stepId: r.step_id,
    kind: r.kind as StepKind,
    recipient: r.recipient as StepRecipient,
    seq: r.seq,
    dueAt: d(r.due_at),
    firedAt: r.fired_at == null ? undefined : d(r.fired_at),
    cancelledAt: r.cancelled_at == null ? undefined : d(r.cancelled_at),
    outcome: r.outcome ?? undefined,
  };
}

const STEP_COLS = 'task_id, step_id, kind, recipient, seq, due_at, fired_at, cancelled_at, outcome';

/** Inserts or refreshes the projection row of a Task; returns the previous row (for change detection). */
export async function upsertTaskRow(db: Db, row: TaskRow): Promise<void> {
  // completed_at: the first stored version with status `completed` (history, else the current version); once
  // known it never changes (history is only added to), so the history is read only while it is unknown.
  await db.query(
    `INSERT INTO deadline_task (task_id, code, owner, requester, encounter, agreement, deadline, status, open,
       business_status, version_id, first_code, authored_on, focus, reason_code, group_identifier, completed_at,
       updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16, COALESCE(
       (SELECT MIN(h.last_updated) FROM fhir_resource_history h
         WHERE h.resource_type = 'Task' AND h.id = $1 AND h.content::jsonb ->> 'status' = 'completed'),
       $17::timestamptz), now())
     ON CONFLICT (task_id) DO UPDATE SET code = excluded.code, owner = excluded.owner, requester = excluded.requester,
       encounter = excluded.encounter, agreement = excluded.agreement, deadline = excluded.deadline,
       status = excluded.status, open = excluded.open, business_status = excluded.business_status,
       version_id = excluded.version_id, first_code = excluded.first_code, authored_on = excluded.authored_on,
       focus = excluded.focus, reason_code = excluded.reason_code, group_identifier = excluded.group_identifier,
       completed_at = COALESCE(deadline_task.completed_at, excluded.completed_at), updated_at = now()`,
    [
      row.taskId,
      row.code ?? null,
      row.owner ?? null,
      row.requester ?? null,
      row.encounter ?? null,
      row.agreement ?? null,
      row.deadline?.toISOString() ?? null,
      row.status,
      row.open,
      row.businessStatus ?? null,
      row.versionId ?? null,
      row.firstCode ?? null,
      row.authoredOn ?? null,
      row.focus ?? null,
      row.reasonCode ?? null,
      row.groupIdentifier ?? null,
      row.completedNowAt ?? null,
    ],
  );
}

/** Serialises work on one Task (PostgreSQL row lock; PGlite has one connection anyway). */
export async function lockTask(db: Db, taskId: string): Promise<void> {
  await db.query(
    `INSERT INTO deadline_task (task_id, status, open) VALUES ($1, 'unknown', false) ON CONFLICT (task_id) DO NOTHING`,
    [taskId],
  );
  await db.query('SELECT task_id FROM deadline_task WHERE task_id = $1 FOR UPDATE', [taskId]);
}

export async function stepsOf(db: Db, taskId: string): Promise<StepRow[]> {
  const r = await db.query<RawStep>(`SELECT ${STEP_COLS} FROM deadline_step WHERE task_id = $1 ORDER BY seq`, [taskId]);
  return r.rows.map(toStep);
}

export async function getStep(db: Db, taskId: string, stepId: string, forUpdate = false): Promise<StepRow | undefined> {
  const r = await db.query<RawStep>(
    `SELECT ${STEP_COLS} FROM deadline_step WHERE task_id = $1 AND step_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [taskId, stepId],
  );
  return r.rows[0] ? toStep(r.rows[0]) : undefined;
}

/**
 * Brings the steps of an open Task in line with `plan`: new steps are inserted, unfired steps move to their
 * new due time, unfired steps no longer planned are cancelled; fired steps are history and never change.
 * Returns the timers to arm and to disarm.
 */
export async function applyPlan(
  db: Db,
  taskId: string,
  plan: readonly PlannedStep[],
  now: Date,
): Promise<{ arm: PendingStep[]; disarm: PendingStep[] }> {
  const before = await stepsOf(db, taskId);
  const byId = new Map(before.map((s) => [s.stepId, s]));
  const arm: PendingStep[] = [];
  const disarm: PendingStep[] = [];
  const planned = new Set<string>();
  for (const p of plan) {
    planned.add(p.stepId);
    const old = byId.get(p.stepId);
    if (old?.firedAt) continue;
    // A superseded step stays skipped, unless its time moved (then it is a new notice).
    if (old?.cancelledAt && old.outcome?.reason === 'superseded' && old.dueAt.getTime() === p.dueAt.getTime()) {
      continue;
    }
    const unchanged = old && !old.cancelledAt && old.dueAt.getTime() === p.dueAt.getTime();
    if (unchanged) {
      arm.push({ taskId, stepId: p.stepId, dueAt: p.dueAt });
      continue;
    }
    if (old && !old.cancelledAt) disarm.push({ taskId, stepId: old.stepId, dueAt: old.dueAt });
    await db.query(
      `INSERT INTO deadline_step (task_id, step_id, kind, recipient, seq, due_at)
       VALUES ($1,$2,$3,$4,$5,$6)
       ON CONFLICT (task_id, step_id) DO UPDATE SET kind = excluded.kind, recipient = excluded.recipient,
         seq = excluded.seq, due_at = excluded.due_at, cancelled_at = NULL, outcome = NULL
       WHERE deadline_step.fired_at IS NULL`,
      [taskId, p.stepId, p.kind, p.recipient, p.seq, p.dueAt.toISOString()],
    );
    arm.push({ taskId, stepId: p.stepId, dueAt: p.dueAt });
  }
  for (const s of before) {
    if (planned.has(s.stepId) || s.firedAt || s.cancelledAt) continue;
    await cancelStep(db, s, now, 'not-in-ladder');
    disarm.push({ taskId, stepId: s.stepId, dueAt: s.dueAt });
  }
  return { arm, disarm };
}

async function cancelStep(db: Db, s: PendingStep, now: Date, reason: string): Promise<void> {
  await db.query(
    `UPDATE deadline_step SET cancelled_at = $3, outcome = $4
     WHERE task_id = $1 AND step_id = $2 AND fired_at IS NULL AND cancelled_at IS NULL`,
    [s.taskId, s.stepId, now.toISOString(), JSON.stringify({ reason })],
  );
}

/** Cancels every step of a Task that has not fired (the Task closed or lost its deadline). */
export async function cancelOpenSteps(db: Db, taskId: string, now: Date, reason: string): Promise<PendingStep[]> {
  const r = await db.query<RawStep>(
    `UPDATE deadline_step SET cancelled_at = $2, outcome = $3
     WHERE task_id = $1 AND fired_at IS NULL AND cancelled_at IS NULL RETURNING ${STEP_COLS}`,
    [taskId, now.toISOString(), JSON.stringify({ reason })],
  );
  return r.rows.map(toStep);
}

/** Marks one step superseded (a later step is already due, so the earlier notice would only be noise). */
export async function supersedeStep(db: Db, s: PendingStep, now: Date): Promise<void> {
  await cancelStep(db, s, now, 'superseded');
}

/**
 * Claims a step for firing: succeeds for exactly one caller, only while the step is unfired, uncancelled, still
 * due at `dueAt` and due by `now`. Run it in the transaction that writes the step's effects.
 */
export async function claimStep(db: Db, s: PendingStep, now: Date): Promise<boolean> {
  const r = await db.query(
    `UPDATE deadline_step SET fired_at = $4, recorded_at = clock_timestamp()
     WHERE task_id = $1 AND step_id = $2 AND due_at = $3 AND due_at <= $4 AND fired_at IS NULL AND cancelled_at IS NULL`,
    [s.taskId, s.stepId, s.dueAt.toISOString(), now.toISOString()],
  );
  return r.rowCount === 1;
}

export async function recordOutcome(db: Db, s: PendingStep, outcome: Record<string, unknown>): Promise<void> {
  await db.query('UPDATE deadline_step SET outcome = $3 WHERE task_id = $1 AND step_id = $2', [
    s.taskId,
    s.stepId,
    JSON.stringify(outcome),
  ]);
}

/** Pending steps in key order after `after` (keyset pages for the reconciler). */
export async function pendingPage(
  db: Db,
  after: { taskId: string; stepId: string } | undefined,
  limit: number,
  dueBy?: Date,
): Promise<PendingStep[]> {
  const params: unknown[] = [after?.taskId ?? '', after?.stepId ?? '', limit];
  let extra = '';
  if (dueBy) {
    params.push(dueBy.toISOString());
    extra = ' AND due_at <= $4';
  }
  const r = await db.query<RawStep>(
    `SELECT ${STEP_COLS} FROM deadline_step
     WHERE fired_at IS NULL AND cancelled_at IS NULL AND (task_id, step_id) > ($1, $2)${extra}
     ORDER BY task_id, step_id LIMIT $3`,
    params,
  );
  return r.rows.map(toStep);
}
