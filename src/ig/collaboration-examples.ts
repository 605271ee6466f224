/**
 * Examples of every resource the collaboration flow writes (issue 14), built by the code that writes them, so the
 * guide cannot drift from the gateway: the engine (`evaluateStay`) decides the Tasks from a stay's facts and
 * `buildTask` writes them; the party client's builders (`src/cli/party-resources.ts`) make the SIP draft, the
 * answers and the comment; the SIP operations' builders make each party's part and the signatures; the plan's
 * status is the one the signatures call for (`derivedStatus`), and a rejection is read back by the gateway's own
 * rejection hook (`rejectionFact`) before it becomes the hospital's Task. The organisations are the demo region's
 * (`src/demo/vastmanland.json`), resolved by identifier as the gateway resolves parties.
 */
import { readFileSync } from 'node:fs';
import type {
  CarePlan,
  Communication,
  Encounter,
  Organization,
  Patient,
  Provenance,
  Reference,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import type { Agreement } from '../core/agreements/agreement.schema';
import { isDutyKey } from '../core/engine/duties';
import { evaluateStay } from '../core/engine/evaluate';
import type { StayEvaluation, SvuTaskCode } from '../core/engine/types';
import type { StayFact } from '../core/stay/facts';
import { TASK_STATUS_REASON_INFO } from '../fhir/codes';
import { ACT_CODE_SYSTEM, CODE_SYSTEM } from '../fhir/constants';
import { partyLogicalReference, type PartyResolver } from '../fhir/references';
import { buildTask, type TaskRefs } from '../fhir/task';
import { rejectionFact } from '../intake/fhir/rejection-hook';
import { commentResource, sipDraft, taskAnswer } from '../cli/party-resources';
import { invitationTask } from '../sip/invitations';
import { triageCategory } from '../sip/sip-hooks';
import type { StayContext } from '../sip/stay-context';
import { ownPart, provenance } from '../sip/sip-operations';
import { derivedStatus, partDigest, planDigest, signatureState } from '../sip/sip-plan';
import { writtenPlanTask } from '../sip/written-plan';
import { projectDir } from '../platform/project-dir';
import type { Example } from './examples';

/** The agreement the collaboration examples are evaluated under (the demo region's). */
export const EXAMPLE_AGREEMENT = 'vastmanland';

const HOSPITAL_HSA = 'SE2321000172-DEMO0001';
const VC_HSA = 'SE2321000172-DEMO0101';
const PATIENT: Reference<Patient> = { reference: 'Patient/example-patient' };

interface DemoRegion {
  organizations: Organization[];
}

/** Parties to the demo region's Organizations by identifier (the gateway looks them up the same way). */
function demoResolver(): { resolve: PartyResolver; ref: (id: string) => Reference<Organization> } {
  const file = projectDir('src/demo/vastmanland.json', import.meta.url);
  const orgs = (JSON.parse(readFileSync(file, 'utf8')) as DemoRegion).organizations;
  const ref = (id: string): Reference<Organization> => {
    const o = orgs.find((x) => x.id === id);
    if (!o) throw new Error(`the demo region has no Organization/${id}`);
    return { reference: `Organization/${id}`, ...(o.name ? { display: o.name } : {}) };
  };
  const resolve: PartyResolver = (p) => {
    const want = partyLogicalReference(p).identifier;
    const o = orgs.find((x) => x.identifier?.some((i) => i.system === want?.system && i.value === want?.value));
    return o?.id ? { ...ref(o.id), ...(want ? { identifier: want } : {}) } : undefined;
  };
  return { resolve, ref };
}

/** The resource with its id right after resourceType (as the server returns it). */
function withId<T extends Resource>(id: string, r: T): T {
  const { resourceType, ...rest } = r;
  return { resourceType, id, ...rest } as T;
}

type Distribute<T> = T extends StayFact ? Omit<T, 'id' | 'stayId' | 'at'> : never;
let n = 0;
const fact = (stayId: string, at: string, body: Distribute<StayFact>): StayFact => ({
  id: `example-${String(++n)}-${body.kind}`,
  stayId,
  at,
  ...body,
});

/** The facts of a stay: admitted with social services and municipal home health care needed, SIP needed. */
function admissionFacts(stayId: string, municipality: string): StayFact[] {
  const adm = '2026-01-15T10:30:00+01:00';
  return [
    fact(stayId, adm, {
      kind: 'admitted',
      hospital: HOSPITAL_HSA,
      ward: 'AVD-1',
      care: 'somatic',
      patient: { municipality, primaryCareUnit: VC_HSA },
    }),
    fact(stayId, adm, { kind: 'needs-assessed', needs: ['socialtjanst', 'kommunal-hsl'], sipNeeded: true }),
    fact(stayId, adm, { kind: 'estimated-discharge-set', date: '2026-01-22' }),
  ];
}

function taskOf(e: StayEvaluation, code: SvuTaskCode, owner?: string): string {
  // The receiver's own Task, not the hospital's duty to send it (`ansvar:` keys).
  const spec = e.tasks.find((t) => t.code === code && !isDutyKey(t.key) && (!owner || t.key.includes(owner)));
  if (!spec) throw new Error(`the engine derived no ${code} Task (${e.tasks.map((t) => t.key).join(', ')})`);
  return spec.key;
}

export function collaborationExamples(agreement: Agreement): Example[] {
  n = 0;
  const { resolve, ref } = demoResolver();
  const hospital = ref('vastmanlands-sjukhus-vasteras');
  const vasteras = ref('kommun-1980');
  const skultuna = ref('vc-skultuna');

  // A Västerås stay: admitted, ready, the vårdcentral (the named care contact) invites, the meeting is held.
  const stayId = 'example-stay';
  const encounterRef: Reference<Encounter> = { reference: `Encounter/${stayId}` };
  const refs: TaskRefs = { stayId, patient: PATIENT, encounter: encounterRef, party: resolve };
  const facts = [
    ...admissionFacts(stayId, '1980'),
    // The readiness criteria the agreement asks for, then the ready notice.
    fact(stayId, '2026-01-20T08:30:00+01:00', {
      kind: 'readiness-criteria-met',
      criteria: agreement.readiness.criteria,
    }),
    fact(stayId, '2026-01-20T09:00:00+01:00', { kind: 'ready-for-discharge' }),
    fact(stayId, '2026-01-20T11:00:00+01:00', { kind: 'sip-invitation-sent' }),
  ];
  const atAdmission = evaluateStay(facts.slice(0, 3), agreement);
  const task = (e: StayEvaluation, key: string, now: string, id: string, on: TaskRefs = refs): Task => {
    const spec = e.tasks.find((t) => t.key === key);
    if (!spec) throw new Error(`no Task ${key}`);
    return withId(id, buildTask(spec, on, { now }));
  };

  // 003 step 1: the municipality answers the admission notice (not known here? current services, housing, ADL).
  const notice = task(
    atAdmission,
    taskOf(atAdmission, 'inskrivningsmeddelande', 'municipality:1980'),
    '2026-01-15T11:00:00+01:00',
    'example-admission-answered',
  );
  const answered: Task = {
    ...notice,
    status: 'received',
    output: [
      taskAnswer('ej-kand', 'false'),
      taskAnswer('aktuella-insatser', 'Hemtjänst (SoL) två besök per dag; trygghetslarm'),
      taskAnswer('boende', 'Lägenhet på andra våningen med hiss'),
      taskAnswer('adl', 'Klarar förflyttning med rollator; behöver hjälp med dusch'),
    ],
  };

  // 003 step 4: the municipality says when the patient can come home, on its ready notice.
  const ready = evaluateStay(facts.slice(0, 5), agreement);
  const readyNotice = task(
    ready,
    taskOf(ready, 'utskrivningsklar', 'municipality:1980'),
    '2026-01-20T10:00:00+01:00',
    'example-ready-answered',
  );
  const canComeHome: Task = {
    ...readyNotice,
    status: 'received',
    output: [taskAnswer('kan-komma-hem', '2026-01-21T14:00:00+01:00')],
  };

  // The vårdcentral appoints the named care contact and says who it is (2 kap. 5 § SFS 2017:612).
  const fvkDuty = task(
    atAdmission,
    taskOf(atAdmission, 'utse-fast-vardkontakt'),
    '2026-01-15T11:00:00+01:00',
    'example-fvk-appointed',
  );
  const fvkAppointed: Task = {
    ...fvkDuty,
    status: 'completed',
    output: [taskAnswer('fast-vardkontakt', 'Eva Lund, distriktssköterska, Skultuna vårdcentral, 021-44 55 60')],
  };

  // The SIP: created by the vårdcentral with the municipality invited; the triage added as the gateway adds it.
  const draft = sipDraft({
    author: skultuna.reference ?? '',
    invited: [vasteras.reference ?? ''],
    encounter: encounterRef.reference ?? '',
    subject: PATIENT,
    meetingAt: '2026-01-21T13:00:00+01:00',
    place: 'home',
  });
  const invited = evaluateStay(facts, agreement);
  const ctx: StayContext = {
    stayId,
    encounter: { resourceType: 'Encounter', status: 'in-progress', class: { system: ACT_CODE_SYSTEM, code: 'IMP' } },
    evaluation: invited,
    agreement,
  };
  const created: CarePlan = {
    ...withId('example-sip', draft),
    meta: { ...draft.meta, versionId: '1' },
    category: [...(draft.category ?? []), triageCategory(ctx)],
  };
  const invitation = withId(
    'example-sip-invitation',
    invitationTask(created, vasteras, skultuna, '2026-01-20T11:00:00+01:00', agreement),
  );

  // Each party writes its own part ($sign with description and contact) and signs; the hospital approves.
  const withParts: CarePlan = {
    ...created,
    meta: { ...created.meta, versionId: '3' },
    activity: [
      ownPart(vasteras, {
        description: 'Hemtjänst tre besök per dag, trygghetslarm',
        contact: 'Anna Berg, 021-10 20 30',
      }),
      ownPart(skultuna, {
        description: 'Distriktssköterska följer upp såret varje vecka',
        contact: 'Omar Ali, 021-40 50 60',
      }),
    ],
  };
  const signedAt = (h: number) => `2026-01-21T${String(h).padStart(2, '0')}:30:00+01:00`;
  const signatures: Provenance[] = [
    withId(
      'example-sip-signature',
      provenance(withParts, vasteras, 'signering', partDigest(withParts, vasteras.reference ?? ''), signedAt(14)),
    ),
    withId(
      'example-sip-signature-vc',
      provenance(withParts, skultuna, 'signering', partDigest(withParts, skultuna.reference ?? ''), signedAt(15)),
    ),
    withId('example-sip-approval', provenance(withParts, hospital, 'godkannande', planDigest(withParts), signedAt(16))),
  ];
  const status = derivedStatus(withParts, signatureState(withParts, signatures));
  if (status !== 'active')
    throw new Error(`the example SIP is ${status ?? '?'}, not active: a signature does not hold`);
  const plan: CarePlan = { ...withParts, status, meta: { ...withParts.meta, versionId: '4' } };

  // The meeting is held ($meeting-held): the written plan within 3 days, the follow-up one month later.
  const meetingAt = '2026-01-21T13:00:00+01:00';
  const held = evaluateStay([...facts, fact(stayId, meetingAt, { kind: 'sip-meeting-held' })], agreement);
  const followUp = task(held, taskOf(held, 'sip-uppfoljning'), '2026-01-21T17:00:00+01:00', 'example-sip-follow-up');
  const writtenPlan = withId(
    'example-sip-written-plan',
    writtenPlanTask(plan, skultuna, new Date(Date.parse(meetingAt)).toISOString()),
  );

  // A comment from the municipality to the vårdcentral about the homecoming, as the gateway stores and delivers it:
  // its organisations named from the directory (src/communication/comment-names.ts)
  const sent = withId(
    'example-comment',
    commentResource({
      sender: vasteras.reference ?? '',
      recipient: skultuna.reference ?? '',
      encounter: encounterRef.reference ?? '',
      subject: PATIENT,
      category: 'hemkomst',
      text: 'Hemtjänsten kan ta emot patienten från klockan 14. Behövs rollator hemma?',
      sent: '2026-01-20T15:10:00+01:00',
    }),
  );
  const comment: Communication = { ...sent, sender: vasteras, recipient: [skultuna] };

  // Another stay: Sala is notified but the patient is not registered there; Sala rejects, the hospital must correct.
  const other = 'example-stay-sala';
  const otherRefs: TaskRefs = {
    stayId: other,
    patient: PATIENT,
    encounter: { reference: `Encounter/${other}` },
    party: resolve,
  };
  const salaFacts = admissionFacts(other, '1981');
  const salaEval = evaluateStay(salaFacts, agreement);
  const salaNotice = task(
    salaEval,
    taskOf(salaEval, 'inskrivningsmeddelande', 'municipality:1981'),
    '2026-01-15T11:00:00+01:00',
    'example-rejected',
    otherRefs,
  );
  const rejected: Task = {
    ...salaNotice,
    status: 'rejected',
    statusReason: {
      coding: [
        {
          system: CODE_SYSTEM.taskStatusReason,
          code: 'ej-folkbokford',
          display: TASK_STATUS_REASON_INFO['ej-folkbokford'],
        },
      ],
    },
  };
  // Sala's own write: only the owner's rejection re-routes the stay
  const rejection = rejectionFact(salaNotice, rejected, salaNotice.owner?.reference, '2', '2026-01-15T13:00:00+01:00');
  if (!rejection) throw new Error('the gateway does not read the example rejection as one');
  const afterRejection = evaluateStay([...salaFacts, rejection], agreement);
  const correct = task(
    afterRejection,
    taskOf(afterRejection, 'korrigera-mottagare'),
    '2026-01-15T13:00:01+01:00',
    'example-correct-routing',
    otherRefs,
  );

  return [
    {
      id: 'task-answers',
      title: 'The municipality answers the admission notice (SvuTask, Task.output)',
      description:
        'Seed 003 step 1: the receiver acknowledges (status received) and answers with Task.output, each a code of svu-task-output with the value type the code asks for: ej-kand (boolean), aktuella-insatser, boende, adl (string). The answers reach the hospital through its own Subscription. npm run party -- answer <taskId> ej-kand=false …',
      resource: answered,
    },
    {
      id: 'task-answer-can-come-home',
      title: 'The municipality says when the patient can come home (SvuTask, Task.output)',
      description: 'Seed 003 step 4: kan-komma-hem (dateTime) on the municipality’s ready-for-discharge notice.',
      resource: canComeHome,
    },
    {
      id: 'task-fvk-appointed',
      title: 'The vårdcentral names the named care contact it appointed (SvuTask utse-fast-vardkontakt, Task.output)',
      description:
        'Law 2 kap. 5 § and seed 001 §3 (criterion 3): the outpatient unit that got the admission notice appoints the named care contact and completes its Task with fast-vardkontakt (string: name, title, telephone), so the hospital (through its Subscription) and every party (in the case overview) know whom to call. npm run party -- answer <taskId> fast-vardkontakt="…", then complete <taskId>.',
      resource: fvkAppointed,
    },
    {
      id: 'careplan-sip',
      title: 'The SIP, signed by every party and approved by the hospital (SvuCarePlan)',
      description:
        'Created (POST /fhir/CarePlan, draft) by the named care contact’s organisation as author, the invited parties as contributors, the meeting time and place as extensions; the gateway adds the colour triage (guidance, never binding). Each party writes only its own part (an activity with itself as first performer and its contact as second) with $sign; the hospital approves with $approve. Nobody sets active: the gateway does once every part’s signature and the approval hold (here computed from the three Provenances below). A changed part withdraws its signature. That the meeting was held is recorded with $meeting-held, a fact of the stay, not a change of the plan: it gives the two Tasks below.',
      resource: plan,
    },
    {
      id: 'task-sip-invitation',
      title: 'Invitation to the SIP meeting, for an invited party (SvuTask kallelse-sip)',
      description:
        'Written by the gateway for each invited party when the plan is created: owned by that party, requested by the author, the plan as focus; acknowledge without delay (status received).',
      resource: invitation,
    },
    {
      id: 'provenance-signature',
      title: 'A party’s signature of its part (SvuProvenance, signering)',
      description:
        'Written by $sign: the signed CarePlan version as target, the party as agent and signer, and the digest of its part as signature data, so a later change of the part withdraws the signature.',
      resource: signatures[0] as Provenance,
    },
    {
      id: 'provenance-signature-vc',
      title: 'The named care contact signs its own part too (SvuProvenance, signering)',
      description: 'The author of the plan is a party like the others: it writes and signs its part with $sign.',
      resource: signatures[1] as Provenance,
    },
    {
      id: 'provenance-approval',
      title: 'The hospital’s approval of the plan (SvuProvenance, godkannande)',
      description: 'Written by $approve: the digest of every part, the parties and the meeting.',
      resource: signatures[2] as Provenance,
    },
    {
      id: 'communication-comment',
      title: 'A comment between the parties of a stay (SvuCommunication)',
      description:
        'Sent by the writer’s own organisation to named organisations, about a stay it is a party of, with a category (kontakt-onskas, hemkomst, hjalpmedel, ovrigt). Delivered like Tasks; the recipient acknowledges it (status completed, received). npm run party -- comment …',
      resource: comment,
    },
    {
      id: 'task-rejected',
      title: 'A receiver rejects a notice: not registered here (SvuTask, statusReason)',
      description:
        'Set by the owner: status rejected and statusReason ej-folkbokford (svu-task-status-reason; a vårdcentral the patient is not listed at gives ej-listad). The gateway re-routes the stay and gives the hospital the Task below, which names the unit and the code and says what to correct.',
      resource: rejected,
    },
    {
      id: 'task-correct-routing',
      title: 'The hospital’s Task after a rejection (SvuTask korrigera-mottagare)',
      description:
        'Owned by the hospital, requested by the unit that rejected; completed when a later message routes the stay to another unit.',
      resource: correct,
    },
    {
      id: 'task-sip-written-plan',
      title: 'Send the written plan to the person within 3 days (SvuTask sip-skriftlig-plan)',
      description: 'Written by the gateway when the meeting is recorded as held; owned by the plan’s author.',
      resource: writtenPlan,
    },
    {
      id: 'task-sip-follow-up',
      title: 'Follow-up of the SIP one month after the meeting (SvuTask sip-uppfoljning)',
      description:
        'Derived by the engine from the meeting held (seed 003 step 6), owned by the named care contact, the deadline from the agreement.',
      resource: followUp,
    },
  ];
}
