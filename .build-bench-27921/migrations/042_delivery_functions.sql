-- The two set-based steps of delivery that need locks first, each as one call (one round trip instead of a
-- transaction of three or four): a PL/pgSQL function takes the locks in one statement and then runs the work in
-- the next, which (VOLATILE, READ COMMITTED) sees everything committed before the locks were granted.
-- (The migration runner splits scripts at a `;` that ends a line: inside a body no line ends with one.)
-- Lock keys are those of src/subscriptions/events.pg.ts (lockKey): hashtext('sev|<subscription>|<order key>'),
-- taken in hash order.

-- completeDelivered(): closes delivered events, logs the attempts, clears the subscriptions' failure state
-- and releases each chain's next waiting event (returned).
CREATE OR REPLACE FUNCTION svu_complete_delivered(
  p_sub text[], p_num bigint[], p_key text[], p_endpoint text[], p_attempt int[], p_http int[], p_duration int[])
RETURNS TABLE (o_sub text, o_num bigint, o_gen int) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM count(pg_advisory_xact_lock(l.h)) FROM
    (SELECT DISTINCT hashtext('sev|' || k.s || '|' || k.o) AS h FROM unnest(p_sub, p_key) AS k(s, o) ORDER BY 1) l; RETURN QUERY
  WITH input AS (
     SELECT * FROM unnest(p_sub, p_num, p_key, p_endpoint, p_attempt, p_http, p_duration)
       AS t(subscription_id, event_number, order_key, endpoint, attempt, http_status, duration_ms)),
   done AS (
     UPDATE subscription_event e SET status = 'delivered', delivered_at = now(), last_error = NULL
       FROM input i WHERE e.subscription_id = i.subscription_id AND e.event_number = i.event_number
     RETURNING 1),
   att AS (
     INSERT INTO delivery_attempt (subscription_id, event_number, kind, endpoint, attempt, status, http_status,
         error, duration_ms)
     SELECT i.subscription_id, i.event_number, 'event', i.endpoint, i.attempt, 'delivered', i.http_status, NULL,
            i.duration_ms
       FROM input i),
   reg AS (
     UPDATE subscription_registry SET consecutive_failures = 0, last_sent_at = now(), last_error = NULL
      WHERE id IN (SELECT r.id FROM subscription_registry r
                    WHERE r.id IN (SELECT i.subscription_id FROM input i)
                      AND (r.consecutive_failures <> 0 OR r.last_error IS NOT NULL OR r.last_sent_at IS NULL
                           OR r.last_sent_at < now() - interval '1 second')
                    ORDER BY r.id FOR UPDATE)),
   chains AS (SELECT DISTINCT i.subscription_id, i.order_key FROM input i),
   nxt AS (
     SELECT DISTINCT ON (e.subscription_id, e.order_key) e.subscription_id, e.event_number, e.status
       FROM subscription_event e
       JOIN chains c ON c.subscription_id = e.subscription_id AND c.order_key = e.order_key
      WHERE e.status IN ('waiting', 'queued', 'dead')
        AND NOT EXISTS (SELECT 1 FROM input i WHERE i.subscription_id = e.subscription_id
                           AND i.event_number = e.event_number)
      ORDER BY e.subscription_id, e.order_key, e.event_number)
  UPDATE subscription_event e SET status = 'queued' FROM nxt
   WHERE e.subscription_id = nxt.subscription_id AND e.event_number = nxt.event_number AND nxt.status = 'waiting'
  RETURNING e.subscription_id, e.event_number, e.generation; END
$fn$;

-- recordEvents(): numbers and records new events (in the order given: outbox order) after locking their chains
-- and then their subscriptions' registry rows in id order; an event whose chain has an undelivered earlier
-- event (stored, or earlier in this call) waits, the others are queued (claimed for p_claim_ms when > 0) and
-- returned.
CREATE OR REPLACE FUNCTION svu_record_events(
  p_sub text[], p_key text[], p_outbox bigint[], p_topic text[], p_type text[], p_id text[], p_version text[],
  p_action text[], p_committed timestamptz[], p_claim_ms int)
RETURNS TABLE (o_sub text, o_num bigint, o_gen int) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM count(pg_advisory_xact_lock(l.h)) FROM
    (SELECT DISTINCT hashtext('sev|' || k.s || '|' || k.o) AS h FROM unnest(p_sub, p_key) AS k(s, o) ORDER BY 1) l; PERFORM 1 FROM subscription_registry r WHERE r.id = ANY(p_sub) ORDER BY r.id FOR UPDATE; RETURN QUERY
  WITH input AS (
     SELECT * FROM unnest(p_sub, p_key, p_outbox, p_topic, p_type, p_id, p_version, p_action, p_committed)
       WITH ORDINALITY AS t(subscription_id, order_key, outbox_id, topic, focus_type, focus_id, focus_version,
                            action, committed_at, ord)),
   counts AS (SELECT i.subscription_id, count(*) AS n FROM input i GROUP BY i.subscription_id),
   c AS (
     UPDATE subscription_registry r SET events_since_start = r.events_since_start + counts.n
       FROM counts WHERE r.id = counts.subscription_id
     RETURNING r.id, r.events_since_start - counts.n AS base),
   numbered AS (
     SELECT i.*, c.base + row_number() OVER (PARTITION BY i.subscription_id ORDER BY i.ord) AS event_number,
            row_number() OVER (PARTITION BY i.subscription_id, i.order_key ORDER BY i.ord) AS pos
       FROM input i JOIN c ON c.id = i.subscription_id),
   st AS (
     SELECT n.*, CASE WHEN n.pos > 1 OR EXISTS (SELECT 1 FROM subscription_event e
                   WHERE e.subscription_id = n.subscription_id AND e.order_key = n.order_key
                     AND e.status IN ('waiting', 'queued', 'dead')) THEN 'waiting' ELSE 'queued' END AS status
       FROM numbered n),
   ins AS (
     INSERT INTO subscription_event (subscription_id, event_number, outbox_id, order_key, topic, focus_type,
        focus_id, focus_version, action, status, committed_at, claimed_until)
     SELECT n.subscription_id, n.event_number, n.outbox_id, n.order_key, n.topic, n.focus_type, n.focus_id,
            n.focus_version, n.action, n.status, n.committed_at,
            CASE WHEN p_claim_ms > 0 AND n.status = 'queued' THEN now() + p_claim_ms * interval '1 millisecond' END
       FROM st n ORDER BY n.ord
     ON CONFLICT (subscription_id, outbox_id) DO NOTHING
     RETURNING subscription_event.subscription_id, subscription_event.event_number, subscription_event.generation,
               subscription_event.status)
  SELECT ins.subscription_id, ins.event_number, ins.generation FROM ins WHERE ins.status = 'queued'
   ORDER BY ins.event_number; END
$fn$;
