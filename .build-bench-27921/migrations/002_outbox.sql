-- Transactional outbox: one row per resource change, written in the same transaction as the change by the
-- repository (and by intake/deadlines for their own events). The relay (src/delivery) is the only reader
-- that moves rows to BullMQ; `dispatched_at` marks rows handed over. Job id = 'ob-' || id.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  -- 'resource-changed' for repository writes; other kinds are free-form (e.g. 'deadline-step').
  kind text NOT NULL,
  resource_type text,
  resource_id text,
  version_id text,
  -- 'create' | 'update' | 'delete'
  action text,
  -- ordering key: the stay (Encounter id) a change belongs to, when known
  stay_key text,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;
