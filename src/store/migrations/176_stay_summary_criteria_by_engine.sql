-- A re-routing drops readiness criteria 3 and 4 (001 §3) after they were met: one that changes the unit of the named
-- care contact drops criterion 3 ("Fast vårdkontakt har utsetts i den landstingsfinansierade öppna vården") until the
-- new unit's contact is reported appointed; one to a unit that has not had the information transfer drops criterion 4
-- ("till de enheter som har fått ett inskrivningsmeddelande") until the hospital reports the transfer again. The
-- summary kept the first report's times, so the dashboard counted a stay whose ready notice waited for either as ready
-- from the notice (or ready at all when it never came), earlier than the engine, the indicators and the liability.
-- The engine says since when each criterion has been met for the stay's ready time (`StayState.fvkAppointedAt`,
-- `StayState.informationTransferredAt`); the apply writes both for a stay whose criterion 3 or 4 a re-routing dropped,
-- or whose transfer was reported for some units (src/intake/stay/apply-facts.ts, migration 175), and marks the row
-- (`criteria_by_engine`). The rebuild keeps the engine's times of a marked row: which stays had a criterion dropped is
-- the engine's to say, not SQL's. The rows of stays with a report for some units are marked here (their criterion 3
-- time is the first report's, the engine's unless a re-routing dropped it); the stays re-routed after a report get
-- the engine's times from the one-off re-applies at the next start (src/intake/stay/information-transferred-backfill.ts).
-- IF NOT EXISTS: a development store that ran this migration's two unreleased drafts has the column already.
ALTER TABLE stay_summary ADD COLUMN IF NOT EXISTS criteria_by_engine boolean NOT NULL DEFAULT false;
UPDATE stay_summary s SET criteria_by_engine = true
  WHERE EXISTS (SELECT 1 FROM stay_fact f WHERE f.stay_id = s.stay_id AND f.kind = 'readiness-criteria-met'
    AND f.body ? 'to');
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
      min(at) FILTER (WHERE kind = 'readiness-criteria-met' AND body -> 'criteria' @> '["information-transferred"]'
        AND NOT body ? 'to') AS information_transferred_at,
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
    written_information_at = excluded.written_information_at,
    fvk_appointed_at = CASE WHEN stay_summary.criteria_by_engine
      THEN stay_summary.fvk_appointed_at ELSE excluded.fvk_appointed_at END,
    information_transferred_at = CASE WHEN stay_summary.criteria_by_engine
      THEN stay_summary.information_transferred_at ELSE excluded.information_transferred_at END,
    assistive_devices_at = excluded.assistive_devices_at, medication_list_at = excluded.medication_list_at
$$;
