-- Cheaper search index writes and lookups (docs/store.md, "Performance"):
-- 1. Alias parameters (Task `patient`/`for`, Encounter/CarePlan `patient`, AuditEvent `patient`) are searched
--    through the rows of the parameter they alias (search-params.ts, `indexAs`): their own rows go.
DELETE FROM fhir_search
WHERE (resource_type = 'Task' AND param IN ('patient', 'for'))
   OR (resource_type IN ('Encounter', 'CarePlan') AND param = 'patient')
   OR (resource_type = 'AuditEvent' AND param = 'patient');
-- 2. Identifiers, codes and references compare byte-wise ("C"): no locale-aware comparison in every index step,
--    and `LIKE 'prefix%'` (string search) can use the index.
ALTER TABLE fhir_search
  ALTER COLUMN resource_type TYPE text COLLATE "C",
  ALTER COLUMN resource_id TYPE text COLLATE "C",
  ALTER COLUMN param TYPE text COLLATE "C",
  ALTER COLUMN system TYPE text COLLATE "C",
  ALTER COLUMN value TYPE text COLLATE "C";
ALTER TABLE fhir_resource
  ALTER COLUMN resource_type TYPE text COLLATE "C",
  ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE fhir_resource_history
  ALTER COLUMN resource_type TYPE text COLLATE "C",
  ALTER COLUMN id TYPE text COLLATE "C";
-- 3. Large resources (over about 2 kB) are compressed with lz4 where the server has it (much cheaper than pglz).
DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN EXECUTE 'ALTER TABLE fhir_resource ALTER COLUMN content SET COMPRESSION lz4'; EXECUTE 'ALTER TABLE fhir_resource_history ALTER COLUMN content SET COMPRESSION lz4'; END IF; END $$;
