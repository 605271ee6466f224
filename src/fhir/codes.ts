/**
 * Displays and definitions of the project's own codes, and the R4 required-binding status codes the gateway
 * depends on (medplum's validator checks structure, not required bindings). The CodeSystem resources in
 * `profiles/` are generated from these tables (`profiles/src/generate.ts`), so the two never drift.
 */
import { SVU_TASK_CODES, type SvuTaskCode } from '../core/engine/types';
import type { PatientCategory } from '../core/stay/facts';
import type {
  CommunicationCategory,
  SipProvenanceActivity,
  SipSignatureKind,
  SipTriageColour,
  TaskBusinessStatus,
  TaskOutputCode,
} from './constants';

export const SVU_TASK_CODE_INFO: Record<SvuTaskCode, { display: string; definition: string }> = {
  inskrivningsmeddelande: {
    display: 'Inskrivningsmeddelande',
    definition:
      'Admission notification to the municipality and region-funded outpatient care (SFS 2017:612 2 kap. 1-2 §).',
  },
  utskrivningsklar: {
    display: 'Utskrivningsklar',
    definition: 'Notice that the patient is ready for discharge; starts the payment clock.',
  },
  utskrivningsmeddelande: {
    display: 'Utskrivningsmeddelande',
    definition: 'Discharge notification, sent the same day as the discharge.',
  },
  'beraknad-utskrivning-andrad': {
    display: 'Beräknad tidpunkt för utskrivning ändrad',
    definition: 'The estimated discharge time changed (2 kap. 4 §); sent to all notified parties.',
  },
  'utse-fast-vardkontakt': {
    display: 'Utse fast vårdkontakt',
    definition: 'Appoint a named care contact (fast vårdkontakt) in region-funded outpatient care (2 kap. 5 §).',
  },
  'kallelse-sip': {
    display: 'Kallelse till samordnad individuell planering',
    definition: 'Invitation to coordinated individual planning (SIP) sent by the named care contact.',
  },
  informationsoverforing: {
    display: 'Informationsöverföring',
    definition: 'Discharge summary and medication list available to the receiving units.',
  },
  'sip-uppfoljning': {
    display: 'Uppföljning av SIP',
    definition: 'Follow-up of the coordinated individual plan.',
  },
  'avsluta-arende': { display: 'Avsluta ärende', definition: 'Close the case after discharge.' },
  'sip-skriftlig-plan': {
    display: 'Skicka SIP till personen',
    definition:
      'After the SIP meeting the named care contact sends the written plan to the person (003 step 5: "Skicka SIP till patient"), within 3 days.',
  },
  avvikelse: {
    display: 'Avvikelse',
    definition: 'A deviation: a responsibility in the agreement was not met.',
  },
  makulering: {
    display: 'Makulering',
    definition: 'Cancellation of a message or obligation sent earlier (Task.focus names it).',
  },
  'korrigera-mottagare': {
    display: 'Korrigera mottagare',
    definition:
      'The hospital corrects the routing of a stay a receiver rejected (e.g. not registered here): completed when a later message routes the stay to another unit.',
  },
};

/**
 * Codes of `svu-task-status-reason`: why a receiver rejected a Task (contract "Obligations"), each saying the patient
 * is not the receiver's: a municipality's (not registered there) and a vårdcentral's (not listed there, HL7 PD1-3 /
 * Patient.generalPractitioner). Either re-routes the stay whoever sends it; the hospital's Task to correct the routing
 * gives the code as sent and the advice of the rejecting party's role (`rejectionTasks`).
 */
export const TASK_STATUS_REASON_INFO = {
  'ej-folkbokford': 'Patienten är inte folkbokförd i kommunen (ej folkbokförd här)',
  'ej-listad': 'Patienten är inte listad på vårdcentralen (ej listad här)',
} as const;
export type TaskStatusReason = keyof typeof TASK_STATUS_REASON_INFO;

/** The codes of `svu-task-status-reason` as a person reads them: `ej-folkbokford: Patienten är inte folkbokförd …; …`. */
export const TASK_STATUS_REASONS_TEXT = Object.entries(TASK_STATUS_REASON_INFO)
  .map(([code, text]) => `${code}: ${text}`)
  .join('; ');

export const TASK_BUSINESS_STATUS_INFO: Record<TaskBusinessStatus, string> = {
  'on-time': 'I tid',
  'due-soon': 'Tidsfristen närmar sig',
  overdue: 'Tidsfristen har passerat',
  escalated: 'Eskalerad till verksamhetschef',
};

export const PATIENT_CATEGORY_INFO: Record<PatientCategory, string> = {
  A: 'No services after discharge',
  B: 'Region-funded outpatient care only',
  C: 'Social services only',
  D: 'Municipal home health care only',
  'B+C': 'Region outpatient care and social services',
  'C+D': 'Social services and municipal home health care',
  E: 'Social services including municipal health care (e.g. special housing)',
};

export const NEED_INFO = {
  socialtjanst: 'Socialtjänst',
  'kommunal-hsl': 'Kommunal hälso- och sjukvård',
  oppenvard: 'Regionfinansierad öppen vård',
  ingen: 'Inga insatser',
} as const;

export const CARE_KIND_INFO = { somatic: 'Somatisk vård', psychiatric: 'Psykiatrisk vård' } as const;

export const SIP_TRIAGE_INFO: Record<SipTriageColour, string> = {
  blue: 'Blå: endast socialtjänst, ingen SIP',
  green: 'Grön: oförändrade insatser, SIP efter hemgång',
  yellow: 'Gul: nya/ändrade insatser, SIP nära hemgång',
  red: 'Röd: omfattande nya insatser, SIP direkt vid hemgång eller på avdelningen',
};

/**
 * The receivers' answers (seed 003 step 1: "Ej känd", or ADL, housing and current services; step 4: homecoming) and
 * the named care contact the outpatient unit appointed (`utse-fast-vardkontakt`).
 */
export const TASK_OUTPUT_INFO: Record<TaskOutputCode, { display: string; value: 'boolean' | 'string' | 'dateTime' }> = {
  'ej-kand': { display: 'Ej känd: personen har inga insatser här sedan tidigare', value: 'boolean' },
  'aktuella-insatser': { display: 'Aktuella insatser (SoL, HSL, LSS)', value: 'string' },
  boende: { display: 'Boendeform och tillgänglighet', value: 'string' },
  adl: { display: 'ADL- och kommunikativ status', value: 'string' },
  'kan-komma-hem': { display: 'Patienten kan komma hem från', value: 'dateTime' },
  // the unit that appoints the named care contact says who it is (2 kap. 5 § SFS 2017:612; seed 001 §3 criterion 3)
  'fast-vardkontakt': { display: 'Utsedd fast vårdkontakt: namn, befattning och telefon', value: 'string' },
};

export const COMMUNICATION_CATEGORY_INFO: Record<CommunicationCategory, string> = {
  'kontakt-onskas': 'Kontakt önskas',
  hemkomst: 'Tid för hemkomst',
  hjalpmedel: 'Hjälpmedel',
  ovrigt: 'Övrigt',
};

export const SIP_SIGNATURE_INFO: Record<SipSignatureKind, string> = {
  signering: 'Parten har signerat sin del av SIP',
  godkannande: 'Sjukhuset har godkänt SIP',
};

/** Every SIP Provenance activity (the CodeSystem svu-sip-signature): the signatures and the take-over. */
export const SIP_PROVENANCE_INFO: Record<SipProvenanceActivity, string> = {
  ...SIP_SIGNATURE_INFO,
  overtagande: 'Fast vårdkontakt har tagit över SIP',
};

/** R4 required bindings the gateway relies on (FHIR R4 4.0.1 value sets). */
export const R4_STATUS = {
  Encounter: [
    'planned',
    'arrived',
    'triaged',
    'in-progress',
    'onleave',
    'finished',
    'cancelled',
    'entered-in-error',
    'unknown',
  ],
  Task: [
    'draft',
    'requested',
    'received',
    'accepted',
    'rejected',
    'ready',
    'cancelled',
    'in-progress',
    'on-hold',
    'failed',
    'completed',
    'entered-in-error',
  ],
  CarePlan: ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'],
  Subscription: ['requested', 'active', 'error', 'off'],
} as const satisfies Record<string, readonly string[]>;

/**
 * The Task statuses after which nothing more is asked of its owner: its deadline steps end, and intake never changes
 * such a Task again (a rejection stays as answered).
 */
export const CLOSED_TASK_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'cancelled',
  'rejected',
  'failed',
  'entered-in-error',
]);

/** The other Task statuses: the Task still asks something of its owner. */
export const OPEN_TASK_STATUSES: readonly string[] = R4_STATUS.Task.filter((s) => !CLOSED_TASK_STATUSES.has(s));

export const R4_TASK_INTENT = [
  'unknown',
  'proposal',
  'plan',
  'order',
  'original-order',
  'reflex-order',
  'filler-order',
  'instance-order',
  'option',
] as const;
export const R4_CAREPLAN_INTENT = ['proposal', 'plan', 'order', 'option'] as const;
export const R4_SUBSCRIPTION_CHANNEL = ['rest-hook', 'websocket', 'email', 'sms', 'message'] as const;

export function isSvuTaskCode(code: string | undefined): code is SvuTaskCode {
  return (SVU_TASK_CODES as readonly string[]).includes(code ?? '');
}
