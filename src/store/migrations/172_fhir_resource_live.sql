-- `_total=accurate` counts every match (read-sql.ts, countAll): the ids found in the search index, each checked
-- in fhir_resource to be current and not deleted. Through the primary key that is one heap visit per match (140 000
-- requested Tasks on the 10 000-stay store: 1.5–2 s for an admin). The live rows' (type, id) in an index of their own
-- make the check index-only, and the count a hash join of two index scans: 0.5–0.6 s (issue 17, docs/performance.md,
-- "2026-12-07, afternoon"). One more index entry per version written (the primary key's is never a HOT update:
-- `last_updated` is indexed too); 13 MB for 200 000 resources. Built under a lock that holds writes back meanwhile
-- (≈ a read of fhir_resource: a second for 200 000 resources).
CREATE INDEX IF NOT EXISTS fhir_resource_live ON fhir_resource (resource_type, id) WHERE NOT deleted;
