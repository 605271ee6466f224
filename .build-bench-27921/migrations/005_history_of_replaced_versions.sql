-- The history table keeps replaced versions only; the current version lives once, in fhir_resource (which now
-- records how it was written). A write moves the version it replaces into the history in the same statement
-- (write-sql.ts); vread and _history read both tables (read-sql.ts, history-sql.ts). Before, every version was
-- written twice (current row and history row).
ALTER TABLE fhir_resource ADD COLUMN method text NOT NULL DEFAULT 'PUT';
UPDATE fhir_resource r SET method = h.method
FROM fhir_resource_history h
WHERE h.resource_type = r.resource_type AND h.id = r.id AND h.version_id = r.version_id;
DELETE FROM fhir_resource_history h
USING fhir_resource r
WHERE h.resource_type = r.resource_type AND h.id = r.id AND h.version_id = r.version_id;
ALTER TABLE fhir_resource ALTER COLUMN method DROP DEFAULT;
