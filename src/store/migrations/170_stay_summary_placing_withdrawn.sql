-- The dashboard's stay summary (migrations 130–155) took the stay's municipality from its latest admission or patient
-- fact that named a municipality of registration, as COALESCE(placing municipality, municipality) of that fact alone.
-- The engine (src/core/engine/fold-stay.ts) keeps each routing value until a fact gives it again: a later A08 or
-- Patient change that repeats the municipality of registration without the placing municipality does not end the
-- placement, so the summary moved the stay to the municipality of registration where the engine, and the payment
-- liability (docs/liability.md: the payer is the placing municipality when there is one), kept the placing one. And a
-- placing municipality can now be withdrawn (`placingMunicipality: null` in the fact: HL7 OBX `placerande-kommun`
-- `""`, a FHIR Encounter version without the extension), which must read as none.
--
-- The summary now keeps the two apart: `registered_municipality` from the latest fact naming a municipality of
-- registration (at `municipality_at`, as before), `placing_municipality` from the latest fact that gives the placing
-- municipality at all (a JSON null: withdrawn, NULL here; at `placing_at`), and `municipality` =
-- COALESCE(placing_municipality, registered_municipality), the municipality the engine routes to and the payer.
-- Intake keeps the columns (src/intake/stay/fact-store.ts), the rebuild below makes them again for every stay.
ALTER TABLE stay_summary ADD COLUMN registered_municipality text, ADD COLUMN placing_municipality text,
  ADD COLUMN placing_at timestamptz;
CREATE OR REPLACE FUNCTION svu_rebuild_stay_summary() RETURNS void LANGUAGE sql AS $$
  INSERT INTO stay_summary (stay_id, discharged_at, discharge_cancelled_at, ready_at, ready_discharged_at,
    ready_again_at, withdrawn_at, municipality, municipality_at, registered_municipality, placing_municipality,
    placing_at, admission_cancelled_at, died_at, written_information_at, fvk_appointed_at,
    information_transferred_at, assistive_devices_at, medication_list_at)
  SELECT g.stay_id, g.discharged_at, g.discharge_cancelled_at, e.ready_at, e.ready_discharged_at, e.ready_again_at,
    g.withdrawn_at, COALESCE(g.placing_municipality, g.registered_municipality), g.municipality_at,
    g.registered_municipality, g.placing_municipality, g.placing_at, g.admission_cancelled_at, g.died_at,
    g.written_information_at, g.fvk_appointed_at, g.information_transferred_at, g.assistive_devices_at,
    g.medication_list_at
  FROM (
    SELECT stay_id,
      CASE WHEN max(at) FILTER (WHERE kind = 'discharge-cancelled') IS NULL
        OR max(at) FILTER (WHERE kind = 'discharged') > max(at) FILTER (WHERE kind = 'discharge-cancelled')
        THEN max(at) FILTER (WHERE kind = 'discharged') END AS discharged_at,
      max(at) FILTER (WHERE kind = 'discharge-cancelled') AS discharge_cancelled_at,
      array_agg(kind) FILTER (WHERE kind IN ('ready-for-discharge', 'ready-withdrawn', 'discharged',
        'discharge-cancelled')) AS kinds,
      array_agg(at) FILTER (WHERE kind IN ('ready-for-discharge', 'ready-withdrawn', 'discharged',
        'discharge-cancelled')) AS ats,
      max(at) FILTER (WHERE kind = 'ready-withdrawn') AS withdrawn_at,
      (array_agg(body -> 'patient' ->> 'municipality' ORDER BY at DESC)
        FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL))[1]
        AS registered_municipality,
      max(at) FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL)
        AS municipality_at,
      (array_agg(body -> 'patient' ->> 'placingMunicipality' ORDER BY at DESC)
        FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ? 'placingMunicipality'))[1]
        AS placing_municipality,
      max(at) FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ? 'placingMunicipality')
        AS placing_at,
      min(at) FILTER (WHERE kind = 'admission-cancelled') AS admission_cancelled_at,
      min(at) FILTER (WHERE kind = 'died') AS died_at,
      min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["written-information"]')
        AS written_information_at,
      min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["fvk-appointed"]')
        AS fvk_appointed_at,
      min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["information-transferred"]')
        AS information_transferred_at,
      min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["assistive-devices"]')
        AS assistive_devices_at,
      min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["medication-list"]')
        AS medication_list_at
    FROM stay_fact
    WHERE kind IN ('discharged', 'discharge-cancelled', 'ready-for-discharge', 'ready-withdrawn', 'admitted',
      'patient-updated', 'admission-cancelled', 'died', 'readiness-criteria-met')
    GROUP BY stay_id
  ) g CROSS JOIN LATERAL svu_ready_episode(g.kinds, g.ats) e
  ON CONFLICT (stay_id) DO UPDATE SET discharged_at = excluded.discharged_at,
    discharge_cancelled_at = excluded.discharge_cancelled_at, ready_at = excluded.ready_at,
    ready_discharged_at = excluded.ready_discharged_at, ready_again_at = excluded.ready_again_at,
    withdrawn_at = excluded.withdrawn_at, municipality = excluded.municipality, municipality_at = excluded.municipality_at,
    registered_municipality = excluded.registered_municipality, placing_municipality = excluded.placing_municipality,
    placing_at = excluded.placing_at,
    admission_cancelled_at = excluded.admission_cancelled_at, died_at = excluded.died_at,
    written_information_at = excluded.written_information_at, fvk_appointed_at = excluded.fvk_appointed_at,
    information_transferred_at = excluded.information_transferred_at,
    assistive_devices_at = excluded.assistive_devices_at, medication_list_at = excluded.medication_list_at
$$;
SELECT svu_rebuild_stay_summary();
