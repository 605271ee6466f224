-- ADR 043: the resource write statement checks itself. It writes a version only over the version it was decided
-- on (WHERE version_id = new - 1); when another transaction wrote first, fewer rows are written than asked, and this
-- raises SQLSTATE SVU01 (turned into a 409 version-conflict by writeVersions) instead of the gateway reading the
-- count. So the statement needs no answer and can travel with the transaction's next statement.
-- (The body keeps its statements on one line: the migration runner splits a file at a semicolon that ends a line.)
CREATE OR REPLACE FUNCTION svu_all_written(written int, wanted int) RETURNS int LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN IF written IS DISTINCT FROM wanted THEN RAISE EXCEPTION 'version conflict: % of % versions written', written, wanted USING ERRCODE = 'SVU01'; END IF; RETURN written; END
$fn$;
