-- What an applied HL7 message produced (engine warnings, Encounter id and version, Tasks created/changed/
-- cancelled), as JSON: GET /admin/api/hl7/messages returns it as `outcome`. NULL until applied.
ALTER TABLE hl7_message ADD COLUMN outcome jsonb;
