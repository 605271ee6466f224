-- A tenant's search checks, in its set form, which of its Tasks are cancelled SIP invitations (access-sql.ts,
-- withdrawnInvitationsSql): the ids of the Tasks carrying a SIP invitation identifier, each looked up for its
-- `status = cancelled` row. Through fhir_search_value that set was read from every Task's identifier rows, or from
-- every cancelled Task of the region (routing changes and withdrawals: all history); this index holds the invitation
-- identifier rows alone, so the set costs as many entries as there are SIP invitations (issue 17,
-- docs/performance.md, "2026-12-07, afternoon"). Its condition is the statement's, system as a constant (the
-- identifier system of src/fhir/constants.ts, IDENTIFIER_SYSTEM.sipInvitation). Only such rows are written to it.
CREATE INDEX IF NOT EXISTS fhir_search_sip_invitation ON fhir_search (resource_id)
  WHERE resource_type = 'Task' AND param = 'identifier' AND system = 'https://svu-gateway.dev/fhir/sid/sip-invitation';
