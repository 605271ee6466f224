-- Delivery (040–059): outbox consumer progress, subscription registry, per-subscription event log,
-- delivery attempts and the dead-letter queue. The truth is here; BullMQ jobs only carry ids.

-- Ordering key of an outbox row: the stay when known, else the resource.
CREATE INDEX outbox_order_key ON outbox ((COALESCE(stay_key, resource_type || '/' || resource_id)), id);
CREATE INDEX outbox_dispatched ON outbox (dispatched_at, id);

-- One row per (consumer, outbox row) once the consumer has handled it; the reconciler re-enqueues what is
-- dispatched but not here. `outbox_consumer_progress.low_watermark`: every id <= it is processed.
CREATE TABLE outbox_processed (
  consumer text NOT NULL,
  outbox_id bigint NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, outbox_id)
);
CREATE TABLE outbox_consumer_progress (
  consumer text PRIMARY KEY,
  low_watermark bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Mirror of the Subscription resources the gateway delivers for (kept by the matcher and the write hook),
-- with the subscriber's access scope (for the re-check at delivery time) and the durable event counter.
CREATE TABLE subscription_registry (
  id text PRIMARY KEY,
  status text NOT NULL,
  resource jsonb NOT NULL,
  scope jsonb,
  events_since_start bigint NOT NULL DEFAULT 0,
  consecutive_failures int NOT NULL DEFAULT 0,
  last_error text,
  heartbeat_seconds int,
  last_sent_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The notification log: one row per (subscription, event number). `order_key` orders delivery per stay.
-- status: waiting (behind an earlier event of its key) | queued (a job exists or must) | delivered |
-- skipped (the subscriber may no longer read the focus) | dead (in the dead-letter queue).
CREATE TABLE subscription_event (
  subscription_id text NOT NULL,
  event_number bigint NOT NULL,
  outbox_id bigint,
  order_key text NOT NULL,
  topic text,
  focus_type text NOT NULL,
  focus_id text NOT NULL,
  focus_version text,
  action text,
  status text NOT NULL,
  generation int NOT NULL DEFAULT 0,
  attempts int NOT NULL DEFAULT 0,
  committed_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  last_error text,
  PRIMARY KEY (subscription_id, event_number),
  UNIQUE (subscription_id, outbox_id)
);
CREATE INDEX subscription_event_key ON subscription_event (subscription_id, order_key, event_number);
CREATE INDEX subscription_event_open ON subscription_event (status, created_at) WHERE status IN ('waiting', 'queued');

-- Every attempt, searchable by endpoint and status.
CREATE TABLE delivery_attempt (
  id bigserial PRIMARY KEY,
  subscription_id text NOT NULL,
  event_number bigint,
  kind text NOT NULL,
  endpoint text NOT NULL,
  attempt int NOT NULL,
  status text NOT NULL,
  http_status int,
  error text,
  duration_ms int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempt_endpoint ON delivery_attempt (endpoint, id);
CREATE INDEX delivery_attempt_status ON delivery_attempt (status, id);

CREATE TABLE dead_letter (
  id bigserial PRIMARY KEY,
  subscription_id text NOT NULL,
  event_number bigint NOT NULL,
  endpoint text NOT NULL,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz,
  discarded_at timestamptz
);
CREATE INDEX dead_letter_open ON dead_letter (id) WHERE replayed_at IS NULL AND discarded_at IS NULL;

-- One relay at a time across processes (keeps id order), held as a short lease, not a transaction, so no
-- database connection waits on Redis.
CREATE TABLE outbox_relay_lease (
  id int PRIMARY KEY,
  holder text NOT NULL,
  until timestamptz NOT NULL
);
INSERT INTO outbox_relay_lease (id, holder, until) VALUES (1, '', now());
