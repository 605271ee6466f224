/**
 * The project's profiles, extensions and code systems as data; `generate.ts` turns them into FHIR JSON.
 * URLs come from src/fhir/constants.ts and codes from src/fhir/codes.ts, so builders and profiles agree.
 */
import type { CodeSystemConcept, ElementDefinition } from '@medplum/fhirtypes';
import { SVU_TASK_CODES } from '../../src/core/engine/types';
import {
  CARE_KIND_INFO,
  NEED_INFO,
  PATIENT_CATEGORY_INFO,
  COMMUNICATION_CATEGORY_INFO,
  SIP_PROVENANCE_INFO,
  SIP_TRIAGE_INFO,
  SVU_TASK_CODE_INFO,
  TASK_OUTPUT_INFO,
  TASK_BUSINESS_STATUS_INFO,
  TASK_STATUS_REASON_INFO,
} from '../../src/fhir/codes';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE, VALUE_SET } from '../../src/fhir/constants';

/** A constraint on one element (`path` = element id), or an extension slice when `extension` is set. */
export type ElementChange = Partial<Omit<ElementDefinition, 'path'>> & {
  path: string;
  /** Extension slice: the extension's canonical URL; `sliceName` names the slice. */
  extensionUrl?: string;
};

export interface ProfileDef {
  id: string;
  url: string;
  type: string;
  title: string;
  description: string;
  changes: ElementChange[];
}

export interface ExtensionDef {
  id: string;
  url: string;
  name: string;
  title: string;
  description: string;
  context: string[];
  valueTypes: string[];
  binding?: string;
}

export interface CodeSystemDef {
  id: string;
  url: string;
  valueSet: string;
  name: string;
  title: string;
  description: string;
  concepts: CodeSystemConcept[];
}

const idOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

const ext = (
  url: string,
  name: string,
  title: string,
  description: string,
  context: string[],
  valueTypes: string[],
  binding?: string,
): ExtensionDef => ({ id: idOf(url), url, name, title, description, context, valueTypes, binding });

export const extensions: ExtensionDef[] = [
  ext(
    EXTENSION.estimatedDischargeDate,
    'EstimatedDischargeDate',
    'Beräknad tidpunkt för utskrivning',
    'The estimated discharge date or time (SFS 2017:612 2 kap. 3–4 §), set at the first ward round.',
    ['Encounter'],
    ['dateTime', 'date'],
  ),
  ext(
    EXTENSION.readyForDischarge,
    'ReadyForDischarge',
    'Utskrivningsklar',
    'When the patient was assessed ready for discharge and the notice was sent; starts the payment clock.',
    ['Encounter'],
    ['dateTime'],
  ),
  ext(
    EXTENSION.needs,
    'DischargeNeeds',
    'Behov efter utskrivning',
    'A need after discharge (repeat for several): social services, municipal health care, region outpatient care, none.',
    ['Encounter'],
    ['Coding'],
    VALUE_SET.needs,
  ),
  ext(
    EXTENSION.patientCategory,
    'PatientCategory',
    'Patientkategori A–E',
    'Patient category (Region Gävleborg, A–E) deciding which steps apply.',
    ['Encounter'],
    ['Coding'],
    VALUE_SET.patientCategory,
  ),
  ext(
    EXTENSION.agreement,
    'Agreement',
    'Överenskommelse',
    'Id of the regional agreement (file in agreements/) whose rules apply to the stay.',
    ['Encounter', 'Task'],
    ['string'],
  ),
  ext(
    EXTENSION.careKind,
    'CareKind',
    'Somatisk eller psykiatrisk vård',
    'Whether the inpatient care is somatic or psychiatric.',
    ['Encounter'],
    ['Coding'],
    VALUE_SET.careKind,
  ),
  ext(
    EXTENSION.sipNeeded,
    'SipNeeded',
    'SIP behövs',
    'A coordinated individual plan (SIP) is needed: new or changed needs and no well-functioning SIP exists.',
    ['Encounter'],
    ['boolean'],
  ),
  ext(
    EXTENSION.outpatientServicesUnavailable,
    'OutpatientServicesUnavailable',
    'Öppenvårdens insatser saknas',
    'SFS 2017:612 5 kap. 5 §: the patient cannot leave because region outpatient services are unavailable or unclear.',
    ['Encounter'],
    ['boolean'],
  ),
  ext(
    EXTENSION.readinessCriteria,
    'ReadinessCriteria',
    'Kriterier för utskrivningsklar',
    'Readiness criteria that now hold (seed 001 §3): lakarbedomning, skriftlig-information, fast-vardkontakt, informationsoverforing, hjalpmedel, lakemedelslista. Repeatable; a criterion once reported stays met.',
    ['Encounter'],
    ['code'],
  ),
  ext(
    EXTENSION.consent,
    'Consent',
    'Samtycke',
    'Consent to the admission notification: ja, nej, or menprovning (harm assessment made).',
    ['Encounter'],
    ['code'],
  ),
  ext(
    EXTENSION.compulsoryOutpatientCare,
    'CompulsoryOutpatientCare',
    'Öppen psykiatrisk tvångsvård',
    'LPT 7 a §: compulsory outpatient psychiatric care is planned; a coordinated plan is needed before discharge.',
    ['Encounter'],
    ['boolean'],
  ),
  ext(
    EXTENSION.outpatientUnit,
    'OutpatientUnit',
    'Öppenvårdsenhet',
    'HSA-id of a psychiatric or specialist outpatient unit that is the region-funded outpatient unit besides (or instead of) the listed vårdcentral.',
    ['Encounter'],
    ['string'],
  ),
  ext(
    EXTENSION.placingMunicipality,
    'PlacingMunicipality',
    'Placerande kommun',
    'Kommunkod of the municipality that placed the person in housing elsewhere (SFS 2017:612 5 kap. 2 §).',
    ['Encounter'],
    ['string'],
  ),
  ext(
    EXTENSION.engineIssue,
    'EngineIssue',
    'Engine issue',
    'Set by the gateway on the stays it builds from HL7: each warning of the engine about the stay and each fact it holds back or ignores (e.g. a ready notice before the criteria hold), as text; replaced on every apply (ADR 024).',
    ['Encounter'],
    ['string'],
  ),
  ext(
    EXTENSION.homeHealthCare,
    'HomeHealthCare',
    'Hemsjukvård',
    'The patient already has municipal home health care (hemsjukvård); where the agreement says so (Gävleborg, seed 002) the responsible municipal nurse is the named care contact.',
    ['Encounter'],
    ['boolean'],
  ),
  ext(EXTENSION.meetingTime, 'SipMeetingTime', 'SIP-möte, tid', 'Time of the SIP meeting.', ['CarePlan'], ['dateTime']),
  ext(
    EXTENSION.meetingPlace,
    'SipMeetingPlace',
    'SIP-möte, plats',
    'Place of the SIP meeting (usually the home; the ward when a safe discharge needs it).',
    ['CarePlan'],
    ['string'],
  ),
  ext(
    EXTENSION.deadlineRule,
    'DeadlineRule',
    'Regel för tidsfrist',
    'Which agreement rule set Task.restriction.period.end, and its source document and section.',
    ['Task'],
    ['string'],
  ),
  ext(
    EXTENSION.subscriptionSecret,
    'SubscriptionSecret',
    'Subscription HMAC secret',
    'Shared secret for the X-Signature HMAC-SHA256 header of rest-hook notifications. Write-only: never returned on read.',
    ['Subscription'],
    ['string'],
  ),
];

const slice = (path: string, url: string, sliceName: string, short: string, max = '1', min = 0): ElementChange => ({
  path,
  extensionUrl: url,
  sliceName,
  short,
  min,
  max,
});

const inv = (key: string, human: string, expression: string) => ({
  key,
  severity: 'error' as const,
  human,
  expression,
});

export const profiles: ProfileDef[] = [
  {
    id: 'SvuTask',
    url: PROFILE.task,
    type: 'Task',
    title: 'SVU Task (notification or obligation)',
    description:
      'One Task per notification or obligation of coordinated discharge: code from the svu-task CodeSystem, the owner who must act, the deadline in restriction.period.end, a business status and a stable task key.',
    changes: [
      {
        path: 'Task',
        constraint: [
          inv(
            'svu-task-1',
            'Task.code has a coding from the svu-task CodeSystem',
            `code.coding.where(system = '${CODE_SYSTEM.task}').exists()`,
          ),
          inv(
            'svu-task-2',
            'a makulering (cancellation) Task names what it cancels in focus',
            `code.coding.where(system = '${CODE_SYSTEM.task}' and code = 'makulering').exists() implies focus.exists()`,
          ),
          inv(
            'svu-task-3',
            'a receiver\'s answer (Task.output) is typed with a code from the svu-task-output CodeSystem',
            `output.all(type.coding.where(system = '${CODE_SYSTEM.taskOutput}').exists())`,
          ),
        ],
      },
      slice('Task.extension', EXTENSION.deadlineRule, 'deadlineRule', 'Agreement rule behind the deadline'),
      slice('Task.extension', EXTENSION.agreement, 'agreement', 'Agreement that applies'),
      {
        path: 'Task.identifier',
        min: 1,
        short: `Task key: system ${IDENTIFIER_SYSTEM.taskKey}, value <stayId>|<key>`,
        mustSupport: true,
      },
      { path: 'Task.status', mustSupport: true },
      {
        path: 'Task.businessStatus',
        mustSupport: true,
        binding: { strength: 'extensible', valueSet: VALUE_SET.taskBusinessStatus },
      },
      { path: 'Task.intent', fixedCode: 'order' },
      {
        path: 'Task.code',
        min: 1,
        mustSupport: true,
        binding: { strength: 'required', valueSet: VALUE_SET.task },
      },
      { path: 'Task.focus', mustSupport: true },
      { path: 'Task.for', min: 1, mustSupport: true },
      { path: 'Task.encounter', min: 1, mustSupport: true },
      { path: 'Task.authoredOn', min: 1, mustSupport: true },
      { path: 'Task.requester', min: 1, mustSupport: true },
      { path: 'Task.owner', min: 1, mustSupport: true },
      { path: 'Task.restriction.period', short: 'period.end = the deadline from the agreement', mustSupport: true },
    ],
  },
  {
    id: 'SvuEncounter',
    url: PROFILE.encounter,
    type: 'Encounter',
    title: 'SVU Encounter (inpatient stay)',
    description:
      'One Encounter per inpatient stay (class IMP) with the coordinated-discharge extensions: estimated discharge date, ready-for-discharge time, needs and category, agreement, care kind.',
    changes: [
      {
        path: 'Encounter',
        constraint: [inv('svu-enc-1', 'an inpatient stay has class IMP', "class.code = 'IMP'")],
      },
      slice('Encounter.extension', EXTENSION.estimatedDischargeDate, 'estimatedDischargeDate', 'Estimated discharge'),
      slice('Encounter.extension', EXTENSION.readyForDischarge, 'readyForDischarge', 'Ready for discharge at'),
      slice('Encounter.extension', EXTENSION.needs, 'needs', 'Needs after discharge', '*'),
      slice('Encounter.extension', EXTENSION.patientCategory, 'patientCategory', 'Category A–E'),
      slice('Encounter.extension', EXTENSION.agreement, 'agreement', 'Agreement that applies'),
      slice('Encounter.extension', EXTENSION.careKind, 'careKind', 'Somatic or psychiatric'),
      slice('Encounter.extension', EXTENSION.sipNeeded, 'sipNeeded', 'A SIP is needed'),
      slice(
        'Encounter.extension',
        EXTENSION.outpatientServicesUnavailable,
        'outpatientServicesUnavailable',
        '5 kap. 5 §: outpatient services unavailable',
      ),
      slice('Encounter.extension', EXTENSION.readinessCriteria, 'readinessCriteria', 'Readiness criteria met', '*'),
      slice('Encounter.extension', EXTENSION.consent, 'consent', 'Consent to notify'),
      slice('Encounter.extension', EXTENSION.compulsoryOutpatientCare, 'compulsoryOutpatientCare', 'LPT 7 a §'),
      slice('Encounter.extension', EXTENSION.outpatientUnit, 'outpatientUnit', 'Region outpatient unit (HSA-id)'),
      slice('Encounter.extension', EXTENSION.placingMunicipality, 'placingMunicipality', 'Placing municipality'),
      slice('Encounter.extension', EXTENSION.engineIssue, 'engineIssue', 'What the engine parks or warns about', '*'),
      slice('Encounter.extension', EXTENSION.homeHealthCare, 'homeHealthCare', 'Municipal home health care'),
      { path: 'Encounter.identifier', mustSupport: true, short: 'Identifier from the EHR, unique per sending system' },
      { path: 'Encounter.status', mustSupport: true },
      { path: 'Encounter.class', mustSupport: true },
      { path: 'Encounter.subject', min: 1, mustSupport: true },
      { path: 'Encounter.period', mustSupport: true },
      { path: 'Encounter.location', mustSupport: true },
      { path: 'Encounter.serviceProvider', mustSupport: true },
    ],
  },
  {
    id: 'SvuCarePlan',
    url: PROFILE.carePlan,
    type: 'CarePlan',
    title: 'SVU CarePlan (samordnad individuell plan, SIP)',
    description:
      'The coordinated individual plan: author = the named care contact, each party a contributor and the performer of its activity, colour triage as a category, meeting time and place.',
    changes: [
      {
        path: 'CarePlan',
        constraint: [
          inv(
            'svu-cp-1',
            'a SIP CarePlan carries the sip category',
            `category.coding.where(system = '${CODE_SYSTEM.carePlanCategory}' and code = 'sip').exists()`,
          ),
          inv('svu-cp-2', 'every activity names its performer', 'activity.all(detail.performer.exists())'),
        ],
      },
      slice('CarePlan.extension', EXTENSION.meetingTime, 'meetingTime', 'SIP meeting time'),
      slice('CarePlan.extension', EXTENSION.meetingPlace, 'meetingPlace', 'SIP meeting place'),
      { path: 'CarePlan.status', mustSupport: true },
      { path: 'CarePlan.intent', fixedCode: 'plan' },
      { path: 'CarePlan.category', min: 1, mustSupport: true },
      { path: 'CarePlan.subject', mustSupport: true },
      { path: 'CarePlan.encounter', min: 1, mustSupport: true },
      { path: 'CarePlan.author', min: 1, mustSupport: true, short: 'The named care contact (fast vårdkontakt)' },
      { path: 'CarePlan.contributor', mustSupport: true },
      { path: 'CarePlan.activity', mustSupport: true },
      { path: 'CarePlan.activity.detail', mustSupport: true },
    ],
  },
  {
    id: 'SvuCommunication',
    url: PROFILE.communication,
    type: 'Communication',
    title: 'SVU Communication (kommentar mellan parterna)',
    description:
      'A comment between the parties of a stay: sender, recipients and the stay (encounter) are required, the category says what it is about; the recipient acknowledges it by setting status completed and received.',
    changes: [
      {
        path: 'Communication',
        constraint: [
          inv(
            'svu-com-1',
            'a comment has a category from the svu-communication-category CodeSystem',
            `category.coding.where(system = '${CODE_SYSTEM.communicationCategory}').exists()`,
          ),
          inv('svu-com-2', 'a comment carries text', 'payload.content.exists()'),
        ],
      },
      { path: 'Communication.status', mustSupport: true },
      { path: 'Communication.category', min: 1, mustSupport: true },
      { path: 'Communication.subject', mustSupport: true },
      { path: 'Communication.encounter', min: 1, mustSupport: true },
      { path: 'Communication.sent', mustSupport: true },
      { path: 'Communication.received', mustSupport: true, short: 'When the recipient acknowledged it' },
      { path: 'Communication.recipient', min: 1, mustSupport: true },
      { path: 'Communication.sender', min: 1, mustSupport: true },
      { path: 'Communication.payload', min: 1, mustSupport: true },
    ],
  },
  {
    id: 'SvuProvenance',
    url: PROFILE.provenance,
    type: 'Provenance',
    title: 'SVU Provenance (signering, godkännande eller övertagande av SIP)',
    description:
      'A party\'s signature of its part of a SIP, or the hospital\'s approval: the signed CarePlan version as target, who, when, and a digest of what was signed. Or the named care contact\'s take-over of the plan: the version it wrote as target, the new unit as the first agent and the unit it took the plan over from as the second, without a signature.',
    changes: [
      {
        path: 'Provenance',
        constraint: [
          inv(
            'svu-prov-1',
            'the activity is a signature or an approval from the svu-sip-signature CodeSystem',
            `activity.coding.where(system = '${CODE_SYSTEM.sipSignature}').exists()`,
          ),
          inv('svu-prov-2', 'the target is a CarePlan version', "target.all(reference.contains('/_history/'))"),
          inv(
            'svu-prov-3',
            'a signature or an approval has its signature and one agent; a take-over has two agents: the unit that took the plan over, then the unit it took it over from',
            `(activity.coding.where(system = '${CODE_SYSTEM.sipSignature}' and code = 'overtagande').exists() and agent.count() = 2) or (signature.exists() and agent.count() = 1)`,
          ),
        ],
      },
      { path: 'Provenance.target', max: '1', mustSupport: true },
      { path: 'Provenance.activity', min: 1, mustSupport: true },
      { path: 'Provenance.agent', max: '2', mustSupport: true },
      { path: 'Provenance.signature', max: '1', mustSupport: true },
    ],
  },
  {
    id: 'SvuSubscription',
    url: PROFILE.subscription,
    type: 'Subscription',
    title: 'SVU Subscription (rest-hook with HMAC secret)',
    description:
      'R4 Subscription for municipalities and primary care: a rest-hook needs an endpoint; the HMAC secret is given in the subscription-secret extension and never returned on read.',
    changes: [
      {
        path: 'Subscription',
        constraint: [
          inv(
            'svu-sub-1',
            'a rest-hook Subscription has an endpoint',
            "channel.type != 'rest-hook' or channel.endpoint.exists()",
          ),
        ],
      },
      slice('Subscription.extension', EXTENSION.subscriptionSecret, 'secret', 'HMAC secret (write-only)'),
    ],
  },
];

const concepts = (table: Record<string, string>): CodeSystemConcept[] =>
  Object.entries(table).map(([code, display]) => ({ code, display }));

export const codeSystems: CodeSystemDef[] = [
  {
    id: 'svu-task',
    url: CODE_SYSTEM.task,
    valueSet: VALUE_SET.task,
    name: 'SvuTaskCode',
    title: 'Samverkan vid utskrivning: meddelanden och åtaganden',
    description: 'Notifications and obligations of coordinated discharge (SFS 2017:612), used in Task.code.',
    concepts: SVU_TASK_CODES.map((code) => ({
      code,
      display: SVU_TASK_CODE_INFO[code].display,
      definition: SVU_TASK_CODE_INFO[code].definition,
    })),
  },
  {
    id: 'svu-task-business-status',
    url: CODE_SYSTEM.taskBusinessStatus,
    valueSet: VALUE_SET.taskBusinessStatus,
    name: 'SvuTaskBusinessStatus',
    title: 'Task deadline status',
    description: 'Where a Task stands against its deadline.',
    concepts: concepts(TASK_BUSINESS_STATUS_INFO),
  },
  {
    id: 'svu-task-status-reason',
    url: CODE_SYSTEM.taskStatusReason,
    valueSet: `${CODE_SYSTEM.taskStatusReason.replace('/CodeSystem/', '/ValueSet/')}`,
    name: 'SvuTaskStatusReason',
    title: 'Why a receiver rejected a Task',
    description:
      'Task.statusReason of a rejected Task: the patient is not the receiver’s (ej-folkbokford: a municipality’s, the patient is not registered there; ej-listad: a vårdcentral’s, the patient is not listed there). Either re-routes the stay and comes back to the hospital as a Task to correct the routing.',
    concepts: concepts(TASK_STATUS_REASON_INFO),
  },
  {
    id: 'svu-patient-category',
    url: CODE_SYSTEM.patientCategory,
    valueSet: VALUE_SET.patientCategory,
    name: 'SvuPatientCategory',
    title: 'Patientkategori A–E (Region Gävleborg)',
    description: 'Patient categories deciding which coordinated-discharge steps apply.',
    concepts: concepts(PATIENT_CATEGORY_INFO),
  },
  {
    id: 'svu-need',
    url: CODE_SYSTEM.needs,
    valueSet: VALUE_SET.needs,
    name: 'SvuNeed',
    title: 'Behov efter utskrivning',
    description: 'Needs after discharge.',
    concepts: concepts(NEED_INFO),
  },
  {
    id: 'svu-care-kind',
    url: CODE_SYSTEM.careKind,
    valueSet: VALUE_SET.careKind,
    name: 'SvuCareKind',
    title: 'Somatisk eller psykiatrisk vård',
    description: 'Kind of inpatient care.',
    concepts: concepts(CARE_KIND_INFO),
  },
  {
    id: 'svu-sip-triage',
    url: CODE_SYSTEM.sipTriage,
    valueSet: VALUE_SET.sipTriage,
    name: 'SvuSipTriage',
    title: 'Färgtriage av planeringsunderlaget (Region Gävleborg)',
    description: 'Colour triage of the planning answers; guidance for the named care contact, never binding.',
    concepts: concepts(SIP_TRIAGE_INFO),
  },
  {
    id: 'svu-careplan-category',
    url: CODE_SYSTEM.carePlanCategory,
    valueSet: `${CODE_SYSTEM.carePlanCategory.replace('/CodeSystem/', '/ValueSet/')}`,
    name: 'SvuCarePlanCategory',
    title: 'CarePlan category',
    description: 'Kinds of plan the gateway carries.',
    concepts: [{ code: 'sip', display: 'Samordnad individuell plan' }],
  },
  {
    id: 'svu-task-output',
    url: CODE_SYSTEM.taskOutput,
    valueSet: VALUE_SET.taskOutput,
    name: 'SvuTaskOutput',
    title: 'Mottagarens svar på ett meddelande',
    description:
      'Types of the structured answers a receiver gives on its Task (Task.output): not known here, current services, housing, ADL (003 step 1), and when the patient can come home (003 step 4).',
    concepts: Object.entries(TASK_OUTPUT_INFO).map(([code, i]) => ({
      code,
      display: i.display,
      definition: `Task.output.value[x] of type ${i.value}`,
    })),
  },
  {
    id: 'svu-communication-category',
    url: CODE_SYSTEM.communicationCategory,
    valueSet: VALUE_SET.communicationCategory,
    name: 'SvuCommunicationCategory',
    title: 'Kommentarer mellan parterna',
    description: 'What a comment between the parties of a stay is about (Communication.category).',
    concepts: concepts(COMMUNICATION_CATEGORY_INFO),
  },
  {
    id: 'svu-sip-signature',
    url: CODE_SYSTEM.sipSignature,
    valueSet: VALUE_SET.sipSignature,
    name: 'SvuSipSignature',
    title: 'Signering, godkännande och övertagande av SIP',
    description:
      'Provenance.activity of a SIP: a party signed its part, the hospital approved the plan, or the named care contact took the plan over from the unit the stay left (ADR 045).',
    concepts: concepts(SIP_PROVENANCE_INFO),
  },
];
