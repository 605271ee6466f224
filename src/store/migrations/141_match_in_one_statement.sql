-- The relay's inline matcher in one statement (src/subscriptions/matcher.ts, `inline`): claims the outbox rows for
-- the consumer (svu_outbox_claim, migration 043: markers, dispatched) and records the events already matched for
-- the rows it claimed (svu_record_events, migration 140), as one autocommitted statement instead of a transaction
-- of four round trips. The locks are taken in the same order as in that transaction (the rows' ordering keys, then
-- the event chains and registry rows). When the claim also brings earlier unprocessed rows of the same keys, which
-- were not matched, it raises SQLSTATE SV001 and nothing is kept: the caller then takes the transaction.
CREATE FUNCTION svu_claim_and_record(
  p_consumer text, p_ids bigint[], p_keys text[], p_ordered boolean, p_dispatch boolean,
  p_sub text[], p_key text[], p_outbox bigint[], p_topic text[], p_type text[], p_id text[], p_version text[],
  p_action text[], p_committed timestamptz[], p_claim_ms int)
RETURNS TABLE (o_sub text, o_num bigint, o_gen int, o_outbox bigint, o_status text, o_since bigint,
               o_updated timestamptz) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE got bigint[]; BEGIN
  SELECT array_agg(c.o_id) INTO got FROM svu_outbox_claim(p_consumer, p_ids, p_keys, p_ordered, p_dispatch) c; IF EXISTS (SELECT 1 FROM unnest(got) g WHERE NOT (g = ANY(p_ids))) THEN RAISE EXCEPTION 'svu_claim_and_record: earlier rows of the same keys are unprocessed' USING ERRCODE = 'SV001'; END IF; RETURN QUERY
  SELECT r.* FROM (
     SELECT array_agg(t.s ORDER BY t.ord) AS s, array_agg(t.k ORDER BY t.ord) AS k, array_agg(t.ob ORDER BY t.ord) AS ob,
            array_agg(t.tp ORDER BY t.ord) AS tp, array_agg(t.ty ORDER BY t.ord) AS ty,
            array_agg(t.id ORDER BY t.ord) AS id, array_agg(t.v ORDER BY t.ord) AS v,
            array_agg(t.a ORDER BY t.ord) AS a, array_agg(t.c ORDER BY t.ord) AS c
       FROM unnest(p_sub, p_key, p_outbox, p_topic, p_type, p_id, p_version, p_action, p_committed)
              WITH ORDINALITY AS t(s, k, ob, tp, ty, id, v, a, c, ord)
      WHERE t.ob = ANY(got)) f,
   LATERAL svu_record_events(f.s, f.k, f.ob, f.tp, f.ty, f.id, f.v, f.a, f.c, p_claim_ms) r; END
$fn$;
