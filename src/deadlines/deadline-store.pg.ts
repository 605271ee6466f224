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
  /**
   * When a completed Task says the duty was met (`executionPeriod.end`: a hospital's duty at its message's send time):
   * preferred over when the gateway stored the completion.
   */
  metAt?: string;
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

/** Inserts or refreshes the projection row of a Task. */
export async function upsertTaskRow(db: Db, row: TaskRow): Promise<void> {
  await upsertTaskRows(db, [row]);
}

/** `upsertTaskRow` for many Tasks in one statement (each Task at most once). */
export async function upsertTaskRows(db: Db, rows: readonly TaskRow[]): Promise<void> {
  if (rows.length === 0) return;
  // completed_at: when the Task says the duty was met, else the first stored version with status `completed`
  // (history, else the current version); once known it never changes (history is only added to). An open Task met
  // nothing yet, though completed (a duty closed by a status alone, `dutyClosedByStatusAlone`).
  await db.query(
    `INSERT INTO deadline_task (task_id, code, owner, requester, encounter, agreement, deadline, status, open,
       business_status, version_id, first_code, authored_on, focus, reason_code, group_identifier, completed_at,
       updated_at)
     SELECT t.task_id, t.code, t.owner, t.requester, t.encounter, t.agreement, t.deadline, t.status, t.open,
       t.business_status, t.version_id, t.first_code, t.authored_on, t.focus, t.reason_code, t.group_identifier,
       CASE WHEN NOT t.open THEN COALESCE(
         t.met_at,
         (SELECT MIN(h.last_updated) FROM fhir_resource_history h
           WHERE h.resource_type = 'Task' AND h.id = t.task_id AND h.content::jsonb ->> 'status' = 'completed'),
         t.completed_now_at) END, now()
     FROM jsonb_to_recordset($1::jsonb) AS t(task_id text, code text, owner text, requester text, encounter text,
       agreement text, deadline timestamptz, status text, open boolean, business_status text, version_id text,
       first_code text, authored_on text, focus text, reason_code text, group_identifier text,
       completed_now_at timestamptz, met_at timestamptz)
     ON CONFLICT (task_id) DO UPDATE SET code = excluded.code, owner = excluded.owner, requester = excluded.requester,
       encounter = excluded.encounter, agreement = excluded.agreement, deadline = excluded.deadline,
       status = excluded.status, open = excluded.open, business_status = excluded.business_status,
       version_id = excluded.version_id, first_code = excluded.first_code, authored_on = excluded.authored_on,
       focus = excluded.focus, reason_code = excluded.reason_code, group_identifier = excluded.group_identifier,
       completed_at = COALESCE(deadline_task.completed_at, excluded.completed_at), updated_at = now()`,
    [
      JSON.stringify(
        rows.map((row) => ({
          task_id: row.taskId,
          code: row.code ?? null,
          owner: row.owner ?? null,
          requester: row.requester ?? null,
          encounter: row.encounter ?? null,
          agreement: row.agreement ?? null,
          deadline: row.deadline?.toISOString() ?? null,
          status: row.status,
          open: row.open,
          business_status: row.businessStatus ?? null,
          version_id: row.versionId ?? null,
          first_code: row.firstCode ?? null,
          authored_on: row.authoredOn ?? null,
          focus: row.focus ?? null,
          reason_code: row.reasonCode ?? null,
          group_identifier: row.groupIdentifier ?? null,
          completed_now_at: row.completedNowAt ?? null,
          met_at: row.metAt ?? null,
        })),
      ),
    ],
  );
}

/** Serialises work on one Task: creates its deadline row where missing and locks it (PGlite: one connection anyway). */
export async function lockTask(db: Db, taskId: string): Promise<void> {
  await lockTasksWithRows(db, [taskId], [taskId]);
}

/**
 * Locks the deadline rows of `taskIds` that exist, in id order (so two callers cannot deadlock), after creating
 * those of `create` (Tasks with a deadline the worker may not know yet); returns each locked row's `version_id`
 * (the Task version it was last brought in line with). Tasks of neither kind are left alone.
 */
export async function lockTasksWithRows(
  db: Db,
  taskIds: readonly string[],
  create: readonly string[],
): Promise<Map<string, string | null>> {
  if (create.length > 0) {
    await db.query(
      `INSERT INTO deadline_task (task_id, status, open) SELECT unnest($1::text[]), 'unknown', false
       ON CONFLICT (task_id) DO NOTHING`,
      [[...new Set(create)].sort()],
    );
  }
  const r = await db.query<{ task_id: string; version_id: string | null }>(
    'SELECT task_id, version_id FROM deadline_task WHERE task_id = ANY($1::text[]) ORDER BY task_id FOR UPDATE',
    [[...taskIds]],
  );
  return new Map(r.rows.map((x) => [x.task_id, x.version_id]));
}

export async function stepsOf(db: Db, taskId: string): Promise<StepRow[]> {
  return (await stepsOfTasks(db, [taskId])).get(taskId) ?? [];
}

/** The steps of each Task (in ladder order), in one statement. */
async function stepsOfTasks(db: Db, taskIds: readonly string[]): Promise<Map<string, StepRow[]>> {
  const r = await db.query<RawStep>(
    `SELECT ${STEP_COLS} FROM deadline_step WHERE task_id = ANY($1::text[]) ORDER BY task_id, seq`,
    [[...taskIds]],
  );
  const steps = new Map<string, StepRow[]>();
  for (const row of r.rows) {
    const s = toStep(row);
    const list = steps.get(s.taskId);
    if (list) list.push(s);
    else steps.set(s.taskId, [s]);
  }
  return steps;
}

export async function getStep(db: Db, taskId: string, stepId: string, forUpdate = false): Promise<StepRow | undefined> {
  const r = await db.query<RawStep>(
    `SELECT ${STEP_COLS} FROM deadline_step WHERE task_id = $1 AND step_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [taskId, stepId],
  );
  return r.rows[0] ? toStep(r.rows[0]) : undefined;
}

/**
 * Brings the steps of open Tasks (each at most once) in line with their plans: new steps are inserted, unfired
 * steps move to their new due time, unfired steps no longer planned are cancelled; fired steps are history and
 * never change. One read of their steps, one upsert, one cancel. Returns the timers to arm and to disarm.
 */
export async function applyPlans(
  db: Db,
  plans: readonly { taskId: string; plan: readonly PlannedStep[] }[],
  now: Date,
): Promise<{ arm: PendingStep[]; disarm: PendingStep[] }> {
  const arm: PendingStep[] = [];
  const disarm: PendingStep[] = [];
  if (plans.length === 0) return { arm, disarm };
  const before = await stepsOfTasks(
    db,
    plans.map((p) => p.taskId),
  );
  const upserts: (PlannedStep & { taskId: string })[] = [];
  const dropped: PendingStep[] = [];
  for (const { taskId, plan } of plans) {
    const steps = before.get(taskId) ?? [];
    const byId = new Map(steps.map((s) => [s.stepId, s]));
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
      if (!unchanged) {
        if (old && !old.cancelledAt) disarm.push({ taskId, stepId: old.stepId, dueAt: old.dueAt });
        upserts.push({ ...p, taskId });
      }
      arm.push({ taskId, stepId: p.stepId, dueAt: p.dueAt });
    }
    for (const s of steps) {
      if (planned.has(s.stepId) || s.firedAt || s.cancelledAt) continue;
      dropped.push({ taskId, stepId: s.stepId, dueAt: s.dueAt });
    }
  }
  if (upserts.length > 0) {
    await db.query(
      `INSERT INTO deadline_step (task_id, step_id, kind, recipient, seq, due_at)
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS t(task_id text, step_id text, kind text, recipient text, seq integer, due_at timestamptz)
       ON CONFLICT (task_id, step_id) DO UPDATE SET kind = excluded.kind, recipient = excluded.recipient,
         seq = excluded.seq, due_at = excluded.due_at, cancelled_at = NULL, outcome = NULL
       WHERE deadline_step.fired_at IS NULL`,
      [
        JSON.stringify(
          upserts.map((p) => ({
            task_id: p.taskId,
            step_id: p.stepId,
            kind: p.kind,
            recipient: p.recipient,
            seq: p.seq,
            due_at: p.dueAt.toISOString(),
          })),
        ),
      ],
    );
  }
  await cancelSteps(db, dropped, now, 'not-in-ladder');
  disarm.push(...dropped);
  return { arm, disarm };
}

/** Cancels steps that have not fired, all for one reason, in one statement. */
async function cancelSteps(db: Db, steps: readonly PendingStep[], now: Date, reason: string): Promise<void> {
  if (steps.length === 0) return;
  await db.query(
    `UPDATE deadline_step s SET cancelled_at = $3, outcome = $4
     FROM unnest($1::text[], $2::text[]) AS u(task_id, step_id)
     WHERE s.task_id = u.task_id AND s.step_id = u.step_id AND s.fired_at IS NULL AND s.cancelled_at IS NULL`,
    [steps.map((d) => d.taskId), steps.map((d) => d.stepId), now.toISOString(), JSON.stringify({ reason })],
  );
}

/** Cancels every step of the Tasks that has not fired (a Task closed or lost its deadline), each with its reason. */
export async function cancelOpenStepsOf(
  db: Db,
  tasks: readonly { taskId: string; reason: string }[],
  now: Date,
): Promise<PendingStep[]> {
  if (tasks.length === 0) return [];
  const r = await db.query<RawStep>(
    `UPDATE deadline_step s SET cancelled_at = $3, outcome = jsonb_build_object('reason', u.reason)
     FROM unnest($1::text[], $2::text[]) AS u(task_id, reason)
     WHERE s.task_id = u.task_id AND s.fired_at IS NULL AND s.cancelled_at IS NULL
     RETURNING ${STEP_COLS.split(', ')
       .map((c) => `s.${c}`)
       .join(', ')}`,
    [tasks.map((t) => t.taskId), tasks.map((t) => t.reason), now.toISOString()],
  );
  return r.rows.map(toStep);
}

/** Marks one step superseded (a later step is already due, so the earlier notice would only be noise). */
export async function supersedeStep(db: Db, s: PendingStep, now: Date): Promise<void> {
  await cancelSteps(db, [s], now, 'superseded');
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
