-- The date index only for date rows: without statistics (PGlite never autovacuums) the planner otherwise picks it
-- for token/reference lookups on (resource_type, param) and filters every row of that parameter.
DROP INDEX fhir_search_date;
CREATE INDEX fhir_search_date ON fhir_search (resource_type, param, lo, hi) WHERE lo IS NOT NULL;
