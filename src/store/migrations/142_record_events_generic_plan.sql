-- svu_record_events (migration 140) runs its main statement with a generic plan on PostgreSQL. With the default
-- plan cache mode PostgreSQL planned that CTE again on every call (a custom plan for the arrays given, which it
-- judged cheaper than the generic one), and planning cost more than the work: in the notify bench the call took
-- 2.4 ms, the statements inside it 0.7 ms; with a generic plan the call takes 1.0 ms (pg_stat_statements,
-- 2026-12-04). svu_claim_and_record (migration 141) calls it and gains the same, on the notification's path.
-- A generic plan is made from the statistics of its first call and made again when autovacuum analyzes a table it
-- reads (subscription_event starts empty, so its first plan scans it; the next analyze brings the index). PGlite
-- runs no autovacuum: there a generic plan would keep scanning a table that grows, so PGlite keeps custom plans.
DO $do$ BEGIN IF version() NOT LIKE '%PGlite%' THEN ALTER FUNCTION svu_record_events(text[], text[], bigint[], text[], text[], text[], text[], text[], timestamptz[], int) SET plan_cache_mode = force_generic_plan; END IF; END $do$;
