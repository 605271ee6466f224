/**
 * Facts about one inpatient stay, as the engine sees them. Every intake path (HL7 v2 ADT, FHIR push,
 * REST updates) turns what it receives into these; the engine (`src/core/engine`) derives the stay's
 * state and the Tasks that must exist from the set of facts, whatever order they arrived in.
 *
 * No names, no addresses: the engine needs none. The patient is referred to by the stay id and the
 * municipality/unit codes that decide who must act.
 */

/** Needs after discharge (contract: OBX `behov`). */
export type Need = 'socialtjanst' | 'kommunal-hsl' | 'oppenvard' | 'ingen';

export type CareKind = 'somatic' | 'psychiatric';

/** Consent to send the admission notification (contract: OBX `samtycke`); `menprovning` = harm assessment made. */
export type Consent = 'ja' | 'nej' | 'menprovning';

/** Patient categories of Gävleborg (seed 002). */
export type PatientCategory = 'A' | 'B' | 'C' | 'D' | 'B+C' | 'C+D' | 'E';

/** The six ready-for-discharge criteria of Västmanland (seed 001 §3), in the agreement's order. */
export type ReadinessCriterion =
  | 'physician-assessed'
  | 'written-information'
  | 'fvk-appointed'
  | 'information-transferred'
  | 'assistive-devices'
  | 'medication-list';

/** Who the patient is, for routing only. */
export interface PatientRouting {
  /** Municipality of registration (folkbokföring), four-digit kommunkod, e.g. `1980` Västerås. */
  municipality?: string;
  /**
   * A municipality that placed the person in housing elsewhere (responsible instead, seed 003 / law 5 kap. 2 §).
   * `null`: the hospital withdrew the one it reported (HL7 OBX `placerande-kommun` `""`, a FHIR Encounter version
   * without the extension its previous version had), so the municipality of registration is responsible again;
   * absent: no change.
   */
  placingMunicipality?: string | null;
  /** HSA-id of the listed primary-care unit (vårdcentral), PD1-3. */
  primaryCareUnit?: string;
  /**
   * HSA-id of a psychiatric or specialist outpatient unit that is the patient's region-funded outpatient unit
   * (contract OBX `oppenvardsenhet`): notified besides the listed vårdcentral, and the FVK when there is none.
   * `null`: the hospital withdrew the one it reported (HL7 OBX `oppenvardsenhet` `""`, a FHIR Encounter version
   * without the extension its previous version had), so the listed vårdcentral alone is told and is the FVK; absent:
   * no change.
   */
  outpatientUnit?: string | null;
  /** The patient already has municipal home health care (Gävleborg: the municipal nurse is the FVK). */
  homeHealthCare?: boolean;
}

interface FactBase {
  /** Unique per fact and source (e.g. `hl7:<sender>:<MSH-10>` or `fhir:Encounter/<id>/_history/<v>#ready`). Repeats are ignored. */
  id: string;
  /** The stay (Encounter) this fact is about. */
  stayId: string;
  /** When it happened in the world (ISO 8601 with offset). Facts are ordered by this, then by `id`. */
  at: string;
  /**
   * When the hospital sent the message carrying it (HL7 MSH-7, FHIR the Encounter update): the time the hospital
   * met a duty this fact meets, so a late message is a late duty. Defaults to `at`.
   */
  sentAt?: string;
  /**
   * The order the gateway recorded the fact in (set by the fact store when it first stores the fact; absent on facts
   * stored before it did, which count as recorded first). Facts of one kind at the same instant apply in this order.
   */
  recorded?: number;
}

export type StayFact = FactBase &
  (
    | {
        kind: 'admitted';
        /** HSA-id of the hospital (care provider) that admitted. */
        hospital: string;
        ward?: string;
        care: CareKind;
        patient: PatientRouting;
      }
    | { kind: 'patient-updated'; patient: PatientRouting }
    | {
        kind: 'needs-assessed';
        needs: Need[];
        consent?: Consent;
        /** A SIP is needed (new or changed needs and no well-functioning SIP exists). */
        sipNeeded?: boolean;
        /** Set where the arrival talk decided the category explicitly. */
        category?: PatientCategory;
      }
    | { kind: 'estimated-discharge-set'; /** `YYYY-MM-DD` or a full date-time */ date: string }
    | {
        kind: 'readiness-criteria-met';
        criteria: ReadinessCriterion[];
        /**
         * The units the information transfer (`information-transferred`) was reported for, by party key (the
         * recipient's `municipality:1980`, `primary-care:<HSA id>`): the hospital completed its duty towards that unit
         * over FHIR. Absent: every unit that is a recipient at the fact's time (the HL7 and Encounter criterion, which
         * names no unit, and every fact stored before units were recorded, 2026-12-07).
         */
        to?: string[];
      }
    | { kind: 'ready-for-discharge' }
    /** Avbrott i utskrivningsklar: the patient's condition changed; stops the payment clock and SIP deadline. */
    | { kind: 'ready-withdrawn' }
    | { kind: 'discharged'; compulsoryOutpatientCare?: boolean }
    | { kind: 'admission-cancelled' }
    | { kind: 'discharge-cancelled' }
    | { kind: 'leave-started' }
    | { kind: 'leave-ended' }
    | { kind: 'transferred'; ward?: string; hospital?: string; care?: CareKind }
    | { kind: 'died' }
    /** Öppen psykiatrisk tvångsvård decided/planned (LPT 7 a §): a coordinated plan is needed before discharge. */
    | { kind: 'compulsory-outpatient-care'; planned: boolean }
    /** Law 5 kap. 5 §: the patient cannot leave because region outpatient services are missing or unclear. */
    | { kind: 'outpatient-services-unavailable'; unavailable: boolean }
    /** The SIP (SVPL) meeting was held; starts the follow-up deadline (003 step 6). Added by the engine. */
    | { kind: 'sip-meeting-held' }
    /**
     * The named care contact sent the SIP invitation (a SIP CarePlan was created with invited parties). `by`: the
     * party key (`primary-care:<HSA id>`, `municipal-nurse:<code>`) of the unit that was the named care contact when
     * it was sent; without it, the unit that was the named care contact at the fact's time.
     */
    | { kind: 'sip-invitation-sent'; by?: string }
    /** A receiver rejected the stay (Task `rejected` with a coded reason, e.g. `ej-folkbokford`); `party` is its key. */
    | { kind: 'receiver-rejected'; party: string; reason: string }
  );

export type StayFactKind = StayFact['kind'];
