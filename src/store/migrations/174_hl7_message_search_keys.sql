-- The HL7 message browser's text searches (GET /admin/api/hl7/messages?visit=&pnr=) ran a regular expression on
-- every message's raw text (issue 17, docs/performance.md, 2026-12-07 afternoon). Each message now carries the keys
-- those searches match, in a GIN-indexed array:
--   'v:<value>'  for each repetition of PV1-19 (its text up to the first ^ or &) that a visit search can name
--                (letters, digits, . _ -, at most 40);
--   'p:<sha-256>' for each repetition of PID-3 whose text up to the first ^ or & is a personnummer of 12 digits,
--                with or without the hyphen (never with +): the hex SHA-256 of the 12 digits, so the index is no
--                readable copy of the personnummer (the raw text holds it; 12 digits are no secret to a brute force).
-- Every segment PV1 or PID counts (at the text's start or after a CR or LF), as the regular expression read them
-- (test/intake/message-filters.test.ts; searchKeys in src/intake/message-filters.ts is the same rule: the intake writes the keys with
-- the message in its batched INSERT). A row written without keys (NULL: any other writer, an older process in a
-- rolling upgrade) or whose text is changed without them (a resend stored again) gets them from hl7_search_keys
-- by the triggers below. The migration fills every existing message: one pass of the table (a new version of
-- every row) and the index built after (50 000 messages: see docs/performance.md).
-- The lines and repetitions are unnest()ed arrays, not regexp_split_to_table: PostgreSQL plans a set-returning
-- function for 1 000 rows, so the nested splits were costed above jit_above_cost and, where JIT is on, the body was
-- compiled on every call (2000 messages: 26 s, against 0.15 s; the gateway's connections turn JIT off, psql's do not).
-- (The migration runner splits scripts at a `;` that ends a line: inside a body no line ends with one.)
CREATE OR REPLACE FUNCTION hl7_search_keys(raw text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT coalesce(array_agg(DISTINCT k.key), '{}'::text[])
    FROM unnest(regexp_split_to_array(raw, '[\r\n]')) AS l(line)
    CROSS JOIN LATERAL (SELECT CASE WHEN starts_with(l.line, 'PV1|') THEN 'v' WHEN starts_with(l.line, 'PID|') THEN 'p' END AS kind) s
    CROSS JOIN LATERAL unnest(string_to_array(split_part(l.line, '|', CASE s.kind WHEN 'v' THEN 20 ELSE 4 END), '~')) AS r(rep)
    CROSS JOIN LATERAL (SELECT substring(r.rep FROM '^[^^&]*') AS token) t
    CROSS JOIN LATERAL (SELECT CASE
      WHEN s.kind = 'v' AND t.token ~ '^[A-Za-z0-9._-]{1,40}$' THEN 'v:' || t.token
      WHEN s.kind = 'p' AND t.token ~ '^[0-9]{8}-?[0-9]{4}$'
        THEN 'p:' || encode(sha256(convert_to(replace(t.token, '-', ''), 'UTF8')), 'hex')
      END AS key) k
   WHERE s.kind IS NOT NULL AND k.key IS NOT NULL
$fn$;

CREATE OR REPLACE FUNCTION hl7_message_search_keys() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN NEW.search_keys := hl7_search_keys(NEW.raw); RETURN NEW; END
$fn$;

ALTER TABLE hl7_message ADD COLUMN search_keys text[];
UPDATE hl7_message SET search_keys = hl7_search_keys(raw);
ALTER TABLE hl7_message ALTER COLUMN search_keys SET NOT NULL;
CREATE INDEX hl7_message_search_keys ON hl7_message USING gin (search_keys);

CREATE TRIGGER hl7_message_search_keys_insert BEFORE INSERT ON hl7_message
  FOR EACH ROW WHEN (NEW.search_keys IS NULL) EXECUTE FUNCTION hl7_message_search_keys();
CREATE TRIGGER hl7_message_search_keys_update BEFORE UPDATE OF raw, search_keys ON hl7_message
  FOR EACH ROW WHEN (NEW.search_keys IS NULL
    OR (NEW.raw IS DISTINCT FROM OLD.raw AND NEW.search_keys IS NOT DISTINCT FROM OLD.search_keys))
  EXECUTE FUNCTION hl7_message_search_keys();
