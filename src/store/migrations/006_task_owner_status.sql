-- A Task's (owner, status) key (search-params.ts, OWNER_STATUS): one index row per Task with both, system = the
-- owner's type, value = '<owner id>|<status>', as index-rows.ts writes it with each version from now on. The search
-- planner drives a Task search with an exact owner and status from it (docs/performance.md, "2026-12-06, night"),
-- so it must be complete: this writes it for every Task stored before, from the Task's own owner and status rows.
-- A Task an older process writes during a rolling upgrade loses its key (that version's index rows have none): run
-- `SELECT svu_task_owner_status_backfill();` once after the roll (safe at any time), or stop intake first.
CREATE FUNCTION svu_task_owner_status_backfill() RETURNS void LANGUAGE sql AS $$
  INSERT INTO fhir_search (resource_type, resource_id, param, system, value)
  SELECT o.resource_type, o.resource_id, 'owner+status', o.system, o.value || '|' || s.value
  FROM fhir_search o
  JOIN fhir_search s ON s.resource_type = o.resource_type AND s.resource_id = o.resource_id
    AND s.param = 'status' AND s.system IS NULL
  WHERE o.resource_type = 'Task' AND o.param = 'owner'
    AND NOT EXISTS (
      SELECT 1 FROM fhir_search k
      WHERE k.resource_type = 'Task' AND k.resource_id = o.resource_id AND k.param = 'owner+status'
        AND k.system IS NOT DISTINCT FROM o.system AND k.value = o.value || '|' || s.value)
$$;
SELECT svu_task_owner_status_backfill();
