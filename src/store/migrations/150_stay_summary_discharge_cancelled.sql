-- The dashboard's stay summary (migration 130) kept the last discharge even when a later cancellation of the
-- discharge (HL7 A13, an Encounter taken back from finished) undid it: the stay stayed discharged on the dashboard
-- while the engine, the indicators and the payment liability had it in hospital again. The summary now keeps the
-- last cancellation too, and `discharged_at` is the discharge in force: the last discharge when it is later than
-- the last cancellation (at the same instant the cancellation applies after the discharge, as in the engine's
-- order of facts), else NULL. Intake keeps both columns from the new facts alone (src/intake/stay/fact-store.ts);
-- the rebuild below computes the same from every fact and corrects the rows already stored.
ALTER TABLE stay_summary ADD COLUMN discharge_cancelled_at timestamptz;
CREATE OR REPLACE FUNCTION svu_rebuild_stay_summary() RETURNS void LANGUAGE sql AS $$
  INSERT INTO stay_summary (stay_id, discharged_at, discharge_cancelled_at, ready_at, withdrawn_at, municipality, municipality_at)
  SELECT stay_id,
    CASE WHEN max(at) FILTER (WHERE kind = 'discharge-cancelled') IS NULL
      OR max(at) FILTER (WHERE kind = 'discharged') > max(at) FILTER (WHERE kind = 'discharge-cancelled')
      THEN max(at) FILTER (WHERE kind = 'discharged') END,
    max(at) FILTER (WHERE kind = 'discharge-cancelled'),
    max(at) FILTER (WHERE kind = 'ready-for-discharge'),
    max(at) FILTER (WHERE kind = 'ready-withdrawn'),
    (array_agg(COALESCE(body -> 'patient' ->> 'placingMunicipality', body -> 'patient' ->> 'municipality') ORDER BY at DESC)
      FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL))[1],
    max(at) FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL)
  FROM stay_fact
  WHERE kind IN ('discharged', 'discharge-cancelled', 'ready-for-discharge', 'ready-withdrawn', 'admitted', 'patient-updated')
  GROUP BY stay_id
  ON CONFLICT (stay_id) DO UPDATE SET discharged_at = excluded.discharged_at,
    discharge_cancelled_at = excluded.discharge_cancelled_at, ready_at = excluded.ready_at,
    withdrawn_at = excluded.withdrawn_at, municipality = excluded.municipality, municipality_at = excluded.municipality_at
$$;
SELECT svu_rebuild_stay_summary();
