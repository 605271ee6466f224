-- handleOutboxBatch() (src/delivery/outbox-consumer.ts) in one call: lock the ordering keys of an ordered
-- consumer (hash order), optionally mark the given rows dispatched (the relay handling a consumer inline), then
-- write the processed markers of the given rows and of the unprocessed earlier rows of the same keys, and
-- return the rows whose marker is new (the ones to handle), in id order. The lock keys are those of the one-row
-- path (hashtext('obc|<consumer>|<key>')). (No line of the body ends with a semicolon: see 042.)
CREATE OR REPLACE FUNCTION svu_outbox_claim(
  p_consumer text, p_ids bigint[], p_keys text[], p_ordered boolean, p_dispatch boolean)
RETURNS TABLE (o_id bigint, o_kind text, o_resource_type text, o_resource_id text, o_version_id text,
               o_action text, o_stay_key text, o_payload jsonb, o_created_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  IF p_ordered THEN PERFORM count(pg_advisory_xact_lock(l.h)) FROM
    (SELECT DISTINCT hashtext('obc|' || p_consumer || '|' || k) AS h FROM unnest(p_keys) AS k ORDER BY 1) l; END IF; IF p_dispatch THEN UPDATE outbox SET dispatched_at = now() WHERE id = ANY(p_ids) AND dispatched_at IS NULL; END IF; RETURN QUERY
  WITH earlier AS (
     SELECT o.id FROM outbox o
      WHERE p_ordered AND COALESCE(o.stay_key, o.resource_type || '/' || o.resource_id) = ANY(p_keys)
        AND o.id < (SELECT max(g) FROM unnest(p_ids) AS g)
        AND o.id > COALESCE((SELECT p.low_watermark FROM outbox_consumer_progress p WHERE p.consumer = p_consumer), 0)
        AND NOT EXISTS (SELECT 1 FROM outbox_processed x WHERE x.consumer = p_consumer AND x.outbox_id = o.id)),
   ins AS (
     INSERT INTO outbox_processed (consumer, outbox_id)
     SELECT p_consumer, a.id FROM (SELECT unnest(p_ids) AS id UNION SELECT e.id FROM earlier e) a ORDER BY a.id
     ON CONFLICT DO NOTHING RETURNING outbox_processed.outbox_id)
  SELECT o.id, o.kind, o.resource_type, o.resource_id, o.version_id, o.action, o.stay_key, o.payload, o.created_at
    FROM outbox o JOIN ins ON ins.outbox_id = o.id ORDER BY o.id; END
$fn$;
