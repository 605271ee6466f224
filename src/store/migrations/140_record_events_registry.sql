-- svu_record_events (migration 042) also returns, with each queued event, its outbox row and its subscription's
-- registry row as the call left it (status, event counter, last change), so that the process that recorded the
-- event can deliver it at once without reading the event and the registry again (src/subscriptions/matcher.ts).
-- The locks, numbering and insert are unchanged. (A function's result columns cannot be changed in place.)
DROP FUNCTION svu_record_events(text[], text[], bigint[], text[], text[], text[], text[], text[], timestamptz[], int);

CREATE FUNCTION svu_record_events(
  p_sub text[], p_key text[], p_outbox bigint[], p_topic text[], p_type text[], p_id text[], p_version text[],
  p_action text[], p_committed timestamptz[], p_claim_ms int)
RETURNS TABLE (o_sub text, o_num bigint, o_gen int, o_outbox bigint, o_status text, o_since bigint,
               o_updated timestamptz) LANGUAGE plpgsql VOLATILE AS $fn$
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
     RETURNING r.id, r.events_since_start - counts.n AS base, r.events_since_start AS since, r.status,
               r.updated_at),
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
               subscription_event.status, subscription_event.outbox_id)
  SELECT ins.subscription_id, ins.event_number, ins.generation, ins.outbox_id, c.status, c.since, c.updated_at
    FROM ins JOIN c ON c.id = ins.subscription_id WHERE ins.status = 'queued'
   ORDER BY ins.event_number; END
$fn$;
