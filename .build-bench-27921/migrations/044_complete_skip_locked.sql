-- svu_complete_delivered() (042) again, with one change: the subscriptions' registry rows whose failure state it
-- clears are locked SKIP LOCKED. A completion holds its chains' locks; waiting there for a registry row that
-- another transaction holds (a new event being recorded, a failure being counted) closed a cycle with that
-- transaction waiting for one of the chains: a deadlock whose victim was a completion, i.e. a notification already
-- sent whose job then failed and sent it again (two worker processes, issue 12 item 10). Skipping a locked row
-- only leaves its reset to the next delivery (the holder is changing the same counters).
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
                    ORDER BY r.id FOR UPDATE SKIP LOCKED)),
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
