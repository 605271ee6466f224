-- fhir_search_value holds only the rows that have a value (issue 17, docs/performance.md, "2026-12-07, evening").
-- A date row (lo/hi) has value NULL and is found through fhir_search_date; its entry here was never read, since
-- every statement that reads this index compares value with a strict operator (=, = ANY, LIKE, >=, <), which
-- implies value IS NOT NULL, or says so (the `:missing` and `_sort` statements, search-sql.ts and
-- search-conditions.ts). A date row then costs two B-tree entries instead of three.
-- The migrations run in one transaction, so the index cannot be built CONCURRENTLY: writes to fhir_search wait
-- while it is built (one pass of the table and a sort of its rows with a value; see the section for the time).
CREATE INDEX fhir_search_value_present ON fhir_search (resource_type, param, value) WHERE value IS NOT NULL;
DROP INDEX fhir_search_value;
ALTER INDEX fhir_search_value_present RENAME TO fhir_search_value;
