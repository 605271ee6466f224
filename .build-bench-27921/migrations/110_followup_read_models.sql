-- Read models for the follow-up (indicators and payment liability over many months; src/followup/stays), kept off
-- the admission path: nothing here is written when a fact or a Task is stored.

-- The engine's fold of a stay's facts under an agreement, filled lazily by the follow-up reads. `agreement` is the
-- agreement's id with a hash of its content and of the fold's version; `facts` is the fingerprint of the stay's
-- facts when it was folded (their count and the last created_at: facts are only ever added). A row whose
-- fingerprint no longer matches is folded again; the engine stays the only place the rules live.
CREATE TABLE stay_fold (
  agreement text NOT NULL,
  stay_id text NOT NULL,
  facts text NOT NULL,
  body text NOT NULL,
  folded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agreement, stay_id)
);

-- What the indicators read of a Task, maintained by the deadline worker with the rest of its projection row
-- (src/deadlines/task-sync.ts): the first code as written, when it was first stored `completed` (the first
-- version with that status, from the history), authoredOn, focus, the first reason code and groupIdentifier.
ALTER TABLE deadline_task
  ADD COLUMN first_code text,
  ADD COLUMN completed_at timestamptz,
  ADD COLUMN authored_on text,
  ADD COLUMN focus text,
  ADD COLUMN reason_code text,
  ADD COLUMN group_identifier text;
CREATE INDEX deadline_task_encounter ON deadline_task (encounter);

-- Backfill the rows the worker has already written, from the stored Tasks.
UPDATE deadline_task d SET
  first_code = t.c -> 'code' -> 'coding' -> 0 ->> 'code',
  authored_on = t.c ->> 'authoredOn',
  focus = regexp_replace(t.c -> 'focus' ->> 'reference', '^Task/', ''),
  reason_code = t.c -> 'reasonCode' -> 'coding' -> 0 ->> 'code',
  group_identifier = t.c -> 'groupIdentifier' ->> 'value',
  completed_at = COALESCE(
    (SELECT MIN(h.last_updated) FROM fhir_resource_history h
      WHERE h.resource_type = 'Task' AND h.id = d.task_id AND h.content::jsonb ->> 'status' = 'completed'),
    CASE WHEN t.c ->> 'status' = 'completed' THEN t.last_updated END)
FROM (SELECT id, last_updated, content::jsonb AS c FROM fhir_resource WHERE resource_type = 'Task' AND NOT deleted) t
WHERE t.id = d.task_id;
