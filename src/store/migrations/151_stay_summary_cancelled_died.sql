-- The dashboard's stay summary (migrations 130, 150) counted a stay whose admission was cancelled (HL7 A11: the stay
-- never happened) and a discharge that a death replaced (a death reported at or before it: the patient left hospital
-- by dying), while the engine, the indicators and the payment liability count neither. The summary now keeps the
-- first cancellation of the admission and the first death (the first of each ends the stay in the engine), and the
-- dashboard counts a stay as discharged at `discharged_at` (the discharge in force after A13, migration 150) only
-- when its admission was never cancelled and no death came at or before that discharge (a death after it is outside
-- the stay: the engine ignores it). Both columns only move backward (LEAST), so intake keeps them from the new facts
-- alone (src/intake/stay/fact-store.ts); the rebuild below computes the same from every fact and corrects the rows
-- already stored. One order the summary cannot tell apart: a discharge, a death after it (ignored), the discharge
-- cancelled and given again after the death; the engine keeps the later discharge, the dashboard counts none.
ALTER TABLE stay_summary ADD COLUMN admission_cancelled_at timestamptz, ADD COLUMN died_at timestamptz;
CREATE OR REPLACE FUNCTION svu_rebuild_stay_summary() RETURNS void LANGUAGE sql AS $$
  INSERT INTO stay_summary (stay_id, discharged_at, discharge_cancelled_at, ready_at, withdrawn_at, municipality,
    municipality_at, admission_cancelled_at, died_at)
  SELECT stay_id,
    CASE WHEN max(at) FILTER (WHERE kind = 'discharge-cancelled') IS NULL
      OR max(at) FILTER (WHERE kind = 'discharged') > max(at) FILTER (WHERE kind = 'discharge-cancelled')
      THEN max(at) FILTER (WHERE kind = 'discharged') END,
    max(at) FILTER (WHERE kind = 'discharge-cancelled'),
    max(at) FILTER (WHERE kind = 'ready-for-discharge'),
    max(at) FILTER (WHERE kind = 'ready-withdrawn'),
    (array_agg(COALESCE(body -> 'patient' ->> 'placingMunicipality', body -> 'patient' ->> 'municipality') ORDER BY at DESC)
      FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL))[1],
    max(at) FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL),
    min(at) FILTER (WHERE kind = 'admission-cancelled'),
    min(at) FILTER (WHERE kind = 'died')
  FROM stay_fact
  WHERE kind IN ('discharged', 'discharge-cancelled', 'ready-for-discharge', 'ready-withdrawn', 'admitted',
    'patient-updated', 'admission-cancelled', 'died')
  GROUP BY stay_id
  ON CONFLICT (stay_id) DO UPDATE SET discharged_at = excluded.discharged_at,
    discharge_cancelled_at = excluded.discharge_cancelled_at, ready_at = excluded.ready_at,
    withdrawn_at = excluded.withdrawn_at, municipality = excluded.municipality, municipality_at = excluded.municipality_at,
    admission_cancelled_at = excluded.admission_cancelled_at, died_at = excluded.died_at
$$;
SELECT svu_rebuild_stay_summary();
