-- The dashboard's stay summary (migrations 130, 150, 151) counted ready days from the last ready notice even when
-- the agreement's readiness gate held the notice back (Västmanland, 001 §3: the six criteria, OBX
-- `utskrivningsklar-kriterier`): the engine and the payment liability have no ready time until every criterion the
-- gate waits for is met, and then ready from the fact that met the last of them (src/core/engine/fold-stay.ts). The
-- summary now keeps, per criterion, when it was first reported met (criteria are never unmet again), and the
-- dashboard, which knows the agreement, counts a stay ready from the later of the notice and the last criterion its
-- gate waits for, and only when every one of them is met at or before the discharge. A region without a gate reads
-- the notice alone, as before. The physician's assessment is the notice itself: no column. Each column only moves
-- backward (LEAST), so intake keeps them from the new facts alone (src/intake/stay/fact-store.ts); the rebuild
-- below computes the same from every fact and corrects the rows already stored.
ALTER TABLE stay_summary ADD COLUMN written_information_at timestamptz, ADD COLUMN fvk_appointed_at timestamptz,
  ADD COLUMN information_transferred_at timestamptz, ADD COLUMN assistive_devices_at timestamptz,
  ADD COLUMN medication_list_at timestamptz;
CREATE OR REPLACE FUNCTION svu_rebuild_stay_summary() RETURNS void LANGUAGE sql AS $$
  INSERT INTO stay_summary (stay_id, discharged_at, discharge_cancelled_at, ready_at, withdrawn_at, municipality,
    municipality_at, admission_cancelled_at, died_at, written_information_at, fvk_appointed_at,
    information_transferred_at, assistive_devices_at, medication_list_at)
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
    min(at) FILTER (WHERE kind = 'died'),
    min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["written-information"]'),
    min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["fvk-appointed"]'),
    min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["information-transferred"]'),
    min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["assistive-devices"]'),
    min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["medication-list"]')
  FROM stay_fact
  WHERE kind IN ('discharged', 'discharge-cancelled', 'ready-for-discharge', 'ready-withdrawn', 'admitted',
    'patient-updated', 'admission-cancelled', 'died', 'readiness-criteria-met')
  GROUP BY stay_id
  ON CONFLICT (stay_id) DO UPDATE SET discharged_at = excluded.discharged_at,
    discharge_cancelled_at = excluded.discharge_cancelled_at, ready_at = excluded.ready_at,
    withdrawn_at = excluded.withdrawn_at, municipality = excluded.municipality, municipality_at = excluded.municipality_at,
    admission_cancelled_at = excluded.admission_cancelled_at, died_at = excluded.died_at,
    written_information_at = excluded.written_information_at, fvk_appointed_at = excluded.fvk_appointed_at,
    information_transferred_at = excluded.information_transferred_at,
    assistive_devices_at = excluded.assistive_devices_at, medication_list_at = excluded.medication_list_at
$$;
SELECT svu_rebuild_stay_summary();
