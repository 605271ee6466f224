-- Deadlines (src/deadlines): the truth about every Task deadline and its escalation ladder lives here;
-- BullMQ delayed jobs only wake workers (docs/adr/020-deadline-truth-in-postgres.md).

-- One row per Task the deadline worker has seen: a projection of the fields the ladder and the views need,
-- maintained from outbox events (Task create/update/delete).
CREATE TABLE deadline_task (
  task_id text PRIMARY KEY,
  code text,
  -- 'Organization/<id>' references
  owner text,
  requester text,
  encounter text,
  agreement text,
  -- Task.restriction.period.end
  deadline timestamptz,
  status text NOT NULL,
  -- false once the Task is completed, cancelled, rejected, failed, entered-in-error or deleted
  open boolean NOT NULL,
  business_status text,
  version_id text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deadline_task_owner_open ON deadline_task (owner, deadline) WHERE open;

-- One row per (Task, ladder step). Firing = UPDATE ... SET fired_at WHERE fired_at IS NULL AND cancelled_at IS NULL,
-- in the same transaction as the step's effects: a step fires at most once, whatever the number of workers.
CREATE TABLE deadline_step (
  task_id text NOT NULL,
  step_id text NOT NULL,
  -- 'reminder' | 'overdue' | 'escalation' | 'deviation'
  kind text NOT NULL,
  -- 'owner' | 'owner-head' | 'both-principals'
  recipient text NOT NULL,
  -- order of the step in its ladder
  seq integer NOT NULL,
  due_at timestamptz NOT NULL,
  fired_at timestamptz,
  -- set when the Task closed (or the step was superseded) before the step fired
  cancelled_at timestamptz,
  -- what firing wrote (resource references) or why it was cancelled
  outcome jsonb,
  -- wall-clock time the row was claimed (for lag measurements with a manual clock)
  recorded_at timestamptz,
  PRIMARY KEY (task_id, step_id)
);
CREATE INDEX deadline_step_pending ON deadline_step (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX deadline_step_fired_kind ON deadline_step (kind, fired_at) WHERE fired_at IS NOT NULL;
