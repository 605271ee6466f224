/**
 * The case overview of one stay (what the COSMIC LINK user sees as "ärendeöversikt"): where the stay stands on
 * "utskrivningsklar" (a notice the readiness gate holds back, and what for), each party's obligations with status,
 * deadline and when the owner acknowledged, the SIP's state and signatures, and the comments. Only a
 * party of the stay (one that may read its Encounter under the tenant rules) gets it; the comments are those the
 * caller may read (sent by or to it). Tasks appear as summaries (what, whose, where it stands), never as the
 * resources themselves, and no patient details are part of it.
 */
import type { CarePlan, Communication, Encounter, Provenance, Reference, Task } from '@medplum/fhirtypes';
import type { AccessScope } from '../store/repository.port';
import type { Db } from '../store/db.port';
import { createRepository, type PgRepository } from '../store/repository.pg';
import { orgName } from '../sip/invitations';
import { planParties, signatureState } from '../sip/sip-plan';
import { readSipMeeting } from '../fhir/careplan';
import { isDutyKey } from '../core/engine/duties';
import { readTaskKey } from '../fhir/task';
import { engineIssuesOf, stayIssueTexts } from '../fhir/encounter-extensions';
import type { StayEvaluation } from '../core/engine/types';
import { OrganizationCache } from '../intake/stay/party-resolver';
import { IDENTIFIER_SYSTEM } from '../fhir/constants';
import { rejectionParties, withRejectionNames } from '../fhir/references';
import { unconnectedOwners } from '../intake/stay/unconnected';
import { issueView, type IssueView } from './issue-texts';
import type { Agreement } from '../core/agreements/agreement.schema';
import { evaluateStay } from '../core/engine/evaluate';
import { criterionOf } from '../core/triage/readiness';
import { storedFacts } from '../followup/stays/stay-folds.pg';

export interface TaskSummary {
  id: string;
  code: string;
  title: string;
  owner: string;
  /** The other party the task concerns (its requester, when not the owner): whom a hospital's notice goes to. */
  counterpart?: string;
  status: string;
  businessStatus?: string;
  deadline?: string;
  /** When the owner acknowledged the Task (a receiver's; a hospital's own duty is not acknowledged, it is done). */
  acknowledgedAt?: string;
  /** When the hospital met its duty (sent the message): the Task's `executionPeriod.end`. */
  doneAt?: string;
  answers: { code: string; value: string }[];
}

/** A readiness criterion (seed 001 §3) by the code a sender reports it with and its text. */
export interface CriterionView {
  code: string;
  text: string;
}

/**
 * Where the stay stands on "utskrivningsklar": when the ready notice went out, or since when the agreement's readiness
 * gate holds it back and which criteria it waits for (nothing held back in silence), and the criteria reported.
 */
export interface ReadinessView {
  readyAt?: string;
  heldBackSince?: string;
  met: CriterionView[];
  /** The criteria the agreement's gate requires that are not met yet (none without a gate). */
  missing: CriterionView[];
}

export interface CaseOverview {
  encounter: {
    id: string;
    /** The hospital's own number for the stay (its first identifier, PV1-19 for an HL7 stay): what its staff know. */
    visitNumber?: string;
    status: string;
    admittedAt?: string;
    dischargedAt?: string;
    hospital?: string;
  };
  readiness: ReadinessView;
  /**
   * What the gateway could not do for the stay, as the engine and the intake said it (the Encounter's `engine-issue`
   * extensions: a party nobody can receive, no municipality to notify, a fact held back): nothing parked in silence.
   * Each in Swedish with the gateway's technical text beside it; for a stay a FHIR client writes too (`issuesOf`).
   */
  issues: IssueView[];
  parties: { organization: string; name: string; tasks: TaskSummary[] }[];
  sip?: {
    id: string;
    status: string;
    author: string;
    signatures: { party: string; name: string; signedAt?: string; withdrawn: boolean }[];
    approvedAt?: string;
    /** The meeting as invited (time, place as written: `home`, `ward` or free text) and when it was held. */
    meeting: { at?: string; place?: string; heldAt?: string };
  };
  comments: {
    id: string;
    category?: string;
    from: string;
    to: string[];
    sent?: string;
    text: string;
    acknowledgedAt?: string;
    status: string;
  }[];
}

const ACK = new Set(['received', 'accepted', 'rejected', 'in-progress', 'completed']);

/** A hospital's duty to send a message (its task key is a duty key, src/core/engine/duties.ts). */
const isHospitalDuty = (t: Task): boolean => isDutyKey(readTaskKey(t)?.key ?? '');

/** A Reference's display when it is a name: Tasks written before 2026-12-06 could carry the bare reference as display. */
const nameOf = (r: Reference | undefined): string | undefined =>
  r?.display && !r.display.startsWith('Organization/') ? r.display : undefined;

async function acknowledgedAt(sys: PgRepository, t: Task): Promise<string | undefined> {
  if (!ACK.has(t.status)) return undefined;
  const versions = await sys.history('Task', t.id ?? '');
  let at: string | undefined;
  for (const v of versions) if (ACK.has((v.resource as Task | undefined)?.status ?? '')) at = v.lastUpdated;
  return at;
}

function answerValue(o: NonNullable<Task['output']>[number]): string {
  if (o.valueString !== undefined) return o.valueString;
  if (o.valueDateTime !== undefined) return o.valueDateTime;
  if (o.valueBoolean !== undefined) return o.valueBoolean ? 'ja' : 'nej';
  return '';
}

/** The readiness of the stay from the engine's evaluation of its stored facts. */
function readinessOf({ state }: StayEvaluation): ReadinessView {
  const out: ReadinessView = {
    met: state.criteriaMet.map(criterionOf),
    missing: state.missingCriteria.map(criterionOf),
  };
  if (state.readyAt) out.readyAt = state.readyAt;
  if (state.readyHeldBackAt) out.heldBackSince = state.readyHeldBackAt;
  return out;
}

/**
 * What the gateway could not do for the stay: the Encounter's `engine-issue` extensions (an HL7 stay's, with the
 * intake's own), and the engine's warnings and rejected facts now, with the parties nobody can receive looked up in
 * the directory as the apply does, so a stay a FHIR client writes (whose Encounter carries no extension) says them too.
 */
async function issuesOf(
  sys: PgRepository,
  orgs: OrganizationCache,
  enc: Encounter,
  evaluation: StayEvaluation,
): Promise<IssueView[]> {
  const parties = [...evaluation.tasks.map((t) => t.owner), ...rejectionParties(evaluation)];
  const party = await orgs.resolver(sys, parties, 0);
  const now = {
    ...withRejectionNames(evaluation, party),
    warnings: [...(evaluation.warnings ?? []), ...unconnectedOwners(evaluation.tasks, party)],
  };
  return [...new Set([...engineIssuesOf(enc), ...stayIssueTexts(now)])].map(issueView);
}

/** The overview of stay `id` for `scope`; the stay's Encounter read under the scope first (404 when not a party). */
export async function caseOverview(
  db: Db,
  sys: PgRepository,
  scope: AccessScope,
  id: string,
  agreement: Agreement,
): Promise<CaseOverview> {
  const mine = createRepository(db, scope);
  const enc = await mine.read<Encounter>('Encounter', id);
  const names = new Map<string, string>();
  // An organisation by its directory name; one the directory does not name is said to be unknown, with its reference.
  const name = async (ref: string | undefined) => {
    if (!ref) return '';
    if (!names.has(ref)) {
      names.set(ref, ref.startsWith('Organization/') ? await orgName(sys, ref) : ref);
    }
    return names.get(ref) ?? ref;
  };
  const orgs = new OrganizationCache();
  const evaluation = evaluateStay((await storedFacts(db, [id])).get(id) ?? [], agreement);
  const out: CaseOverview = {
    encounter: { id, status: enc.status },
    readiness: readinessOf(evaluation),
    issues: await issuesOf(sys, orgs, enc, evaluation),
    parties: [],
    comments: [],
  };
  const visitNumber = enc.identifier?.find((i) => i.value)?.value;
  if (visitNumber) out.encounter.visitNumber = visitNumber;
  if (enc.period?.start) out.encounter.admittedAt = enc.period.start;
  if (enc.period?.end) out.encounter.dischargedAt = enc.period.end;
  // the hospital by its directory name; a FHIR client's Encounter may name it by HSA-id only (a logical reference)
  const sp = enc.serviceProvider;
  const hsa = sp?.identifier?.value;
  const byHsa =
    !sp?.reference && hsa
      ? await orgs.lookup(sys, sp.identifier?.system ?? IDENTIFIER_SYSTEM.hsaId, hsa, 0)
      : undefined;
  const hospital = sp?.reference
    ? await name(sp.reference)
    : (byHsa?.display ?? sp?.display ?? (hsa ? `enhet ${hsa}` : undefined));
  if (hospital) out.encounter.hospital = hospital;

  const tasks = await sys.search<Task>('Task', { encounter: `Encounter/${id}`, _count: '200' });
  const byOwner = new Map<string, TaskSummary[]>();
  for (const t of tasks.resources) {
    const owner = t.owner?.reference ?? t.owner?.display ?? '';
    const s: TaskSummary = {
      id: t.id ?? '',
      code: t.code?.coding?.[0]?.code ?? '',
      title: t.code?.text ?? t.code?.coding?.[0]?.display ?? '',
      owner: nameOf(t.owner) ?? (await name(t.owner?.reference)),
      status: t.status,
      answers: (t.output ?? []).map((o) => ({ code: o.type.coding?.[0]?.code ?? '', value: answerValue(o) })),
    };
    const requester = t.requester?.reference;
    if (requester !== t.owner?.reference) {
      // a name, never a reference: an Organization's is looked up when the Task has no display
      const who = nameOf(t.requester) ?? (requester?.startsWith('Organization/') ? await name(requester) : undefined);
      if (who) s.counterpart = who;
    }
    const bs = t.businessStatus?.coding?.[0]?.code;
    if (bs) s.businessStatus = bs;
    if (t.restriction?.period?.end) s.deadline = t.restriction.period.end;
    if (isHospitalDuty(t)) {
      if (t.executionPeriod?.end) s.doneAt = t.executionPeriod.end;
    } else {
      const ack = await acknowledgedAt(sys, t);
      if (ack) s.acknowledgedAt = ack;
    }
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), s]);
  }
  // the party's directory name: its Tasks' owner displays may differ (a municipality's home health care stand-in)
  for (const [org, list] of byOwner)
    out.parties.push({
      organization: org,
      name: org.startsWith('Organization/') ? await name(org) : (list[0]?.owner ?? org),
      tasks: list,
    });

  const plans = await mine.search<CarePlan>('CarePlan', { encounter: `Encounter/${id}`, _count: '10' });
  const plan = plans.resources.find((p) => p.status !== 'entered-in-error');
  if (plan?.id) {
    const prov = await sys.search<Provenance>('Provenance', { target: `CarePlan/${plan.id}`, _count: '200' });
    const state = signatureState(plan, prov.resources);
    const invited = readSipMeeting(plan);
    const meeting: NonNullable<CaseOverview['sip']>['meeting'] = {};
    if (invited.start) meeting.at = invited.start;
    if (invited.place) meeting.place = invited.place;
    if (evaluation.state.sipMeetingAt) meeting.heldAt = evaluation.state.sipMeetingAt;
    out.sip = {
      id: plan.id,
      status: plan.status,
      author: await name(plan.author?.reference),
      signatures: [],
      meeting,
    };
    for (const p of planParties(plan)) {
      const sig: NonNullable<CaseOverview['sip']>['signatures'][number] = {
        party: p,
        name: await name(p),
        withdrawn: state.withdrawn.includes(p),
      };
      const at = state.signed.get(p);
      if (at) sig.signedAt = at;
      out.sip.signatures.push(sig);
    }
    if (state.approvedAt) out.sip.approvedAt = state.approvedAt;
  }

  const notes = await mine.search<Communication>('Communication', { encounter: `Encounter/${id}`, _count: '200' });
  for (const n of notes.resources) {
    const row: CaseOverview['comments'][number] = {
      id: n.id ?? '',
      from: await name(n.sender?.reference),
      to: await Promise.all((n.recipient ?? []).map((r) => name(r.reference))),
      text: (n.payload ?? []).map((p) => p.contentString ?? '').join('\n'),
      status: n.status,
    };
    const cat = n.category?.[0]?.coding?.[0]?.code;
    if (cat) row.category = cat;
    if (n.sent) row.sent = n.sent;
    if (n.received) row.acknowledgedAt = n.received;
    out.comments.push(row);
  }
  return out;
}
