-- The dashboard's stay summary (migrations 130, 150, 151, 152) kept the LAST ready notice, where the engine and the
-- payment liability keep the FIRST one after the last withdrawal (src/core/engine/fold-stay.ts: a notice while one
-- is active or held back changes nothing), so a second notice without an avbrott in between moved the dashboard's
-- ready time forward and counted fewer ready days. And a notice the readiness gate held back (Västmanland, 001 §3)
-- is dropped by a discharge before its last criterion, also by a discharge that an A13 later cancels: the engine has
-- no ready time until a new notice after the A13, where the dashboard counted from the last criterion.
--
-- `ready_at` is now the first notice after the last withdrawal; `ready_discharged_at` the first discharge at or after
-- it (cancelled or not); `ready_again_at` the first notice after the first A13 that followed that discharge. The
-- dashboard, which knows the agreement's gate, counts a held notice that such a discharge dropped from the renewed
-- one (src/followup/dashboard/dashboard-data.pg.ts). `svu_ready_episode` computes the three from a stay's ready
-- notices, withdrawals, discharges and A13s; intake calls it for the stays a batch brings such a fact
-- (src/intake/stay/fact-store.ts), the rebuild below for every stay, and corrects the rows already stored.
ALTER TABLE stay_summary ADD COLUMN ready_discharged_at timestamptz, ADD COLUMN ready_again_at timestamptz;
CREATE FUNCTION svu_ready_episode(kinds text[], ats timestamptz[], OUT ready_at timestamptz,
  OUT ready_discharged_at timestamptz, OUT ready_again_at timestamptz) LANGUAGE sql IMMUTABLE AS $$
  WITH f AS (SELECT * FROM unnest(kinds, ats) AS f(kind, at)),
  -- At one instant a notice applies before a withdrawal, a discharge before its A13 (src/core/engine/sort-facts.ts).
  r1 AS (SELECT min(at) AS r1 FROM f WHERE kind = 'ready-for-discharge'
    AND at > COALESCE((SELECT max(at) FROM f WHERE kind = 'ready-withdrawn'), '-infinity')),
  d1 AS (SELECT min(at) AS d1 FROM f, r1 WHERE kind = 'discharged' AND at >= r1.r1),
  a1 AS (SELECT min(at) AS a1 FROM f, d1 WHERE kind = 'discharge-cancelled' AND at >= d1.d1)
  SELECT r1.r1, d1.d1, (SELECT min(at) FROM f WHERE kind = 'ready-for-discharge' AND at > a1.a1)
  FROM r1, d1, a1
$$;
CREATE OR REPLACE FUNCTION svu_rebuild_stay_summary() RETURNS void LANGUAGE sql AS $$
  INSERT INTO stay_summary (stay_id, discharged_at, discharge_cancelled_at, ready_at, ready_discharged_at,
    ready_again_at, withdrawn_at, municipality, municipality_at, admission_cancelled_at, died_at,
    written_information_at, fvk_appointed_at, information_transferred_at, assistive_devices_at, medication_list_at)
  SELECT g.stay_id, g.discharged_at, g.discharge_cancelled_at, e.ready_at, e.ready_discharged_at, e.ready_again_at,
    g.withdrawn_at, g.municipality, g.municipality_at, g.admission_cancelled_at, g.died_at, g.written_information_at,
    g.fvk_appointed_at, g.information_transferred_at, g.assistive_devices_at, g.medication_list_at
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
      (array_agg(COALESCE(body -> 'patient' ->> 'placingMunicipality', body -> 'patient' ->> 'municipality') ORDER BY at DESC)
        FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL))[1]
        AS municipality,
      max(at) FILTER (WHERE kind IN ('admitted', 'patient-updated') AND body -> 'patient' ->> 'municipality' IS NOT NULL)
        AS municipality_at,
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
    admission_cancelled_at = excluded.admission_cancelled_at, died_at = excluded.died_at,
    written_information_at = excluded.written_information_at, fvk_appointed_at = excluded.fvk_appointed_at,
    information_transferred_at = excluded.information_transferred_at,
    assistive_devices_at = excluded.assistive_devices_at, medication_list_at = excluded.medication_list_at
$$;
SELECT svu_rebuild_stay_summary();
