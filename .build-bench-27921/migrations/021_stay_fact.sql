-- Every fact about a stay, from HL7 v2 and FHIR push alike. The engine is re-run over all facts of the stay
-- on each arrival, so late and out-of-order facts end in the right state. fact_id is unique: repeats are no-ops.
CREATE TABLE stay_fact (
  fact_id text PRIMARY KEY,
  stay_id text NOT NULL,
  kind text NOT NULL,
  at timestamptz NOT NULL,
  body jsonb NOT NULL,
  -- 'hl7' | 'fhir'
  source text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stay_fact_stay ON stay_fact (stay_id, at);
