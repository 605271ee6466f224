/**
 * The SIP operations (contract, "The coordinated individual plan"): a party writes and signs its own part
 * (`$sign`), the stay's hospital approves the plan (`$approve`), the named care contact records that the meeting was
 * held (`$meeting-held`). Each signature and approval is a Provenance naming who, which CarePlan version and when,
 * with a digest of what was signed; the plan's status follows (`active` when all signed and the hospital approved).
 */
import type { CarePlan, CarePlanActivity, Organization, Provenance, Reference } from '@medplum/fhirtypes';
import type { AuthContext } from '../auth/auth-context';
import { SIP_SIGNATURE_INFO } from '../fhir/codes';
import { CODE_SYSTEM, PROFILE, type SipSignatureKind } from '../fhir/constants';
import { GatewayError } from '../platform/errors';
import type { Db } from '../store/db.port';
import { createRepository } from '../store/repository.pg';
import type { WriteOptions } from '../store/repository.port';
import { formerAuthorRefusal, isFormerAuthor } from './former-author';
import { acknowledgedBySigning, orgReference } from './invitations';
import type { SipDeps } from './sip-hooks';
import { derivedStatus, orgRef, partDigest, partOf, planDigest, planParties, signatureState } from './sip-plan';
import { ensureWrittenPlanTask } from './written-plan';
import { addStayFact, loadStayContext, stayIdOf } from './stay-context';

export interface SignInput {
  /** The party's services in plain Swedish (replaces its part when given). */
  description?: string;
  /** Who to contact at the party (name, phone), shown on the printed plan. */
  contact?: string;
}

const OPEN = new Set(['draft', 'active']);

function callerOrg(auth: AuthContext): string {
  const org = auth.access.organization;
  if (!org) throw new GatewayError('forbidden', 'The client is not bound to an Organization');
  return org;
}

function writeAs(auth: AuthContext): WriteOptions {
  return {
    author: auth.clientId,
    ...(auth.access.organization ? { authorOrganization: auth.access.organization } : {}),
  };
}

/** The party's part as one activity: itself as performer, its contact as a second (display-only) performer. */
export function ownPart(party: Reference<Organization>, input: SignInput): CarePlanActivity {
  const performer: NonNullable<NonNullable<CarePlanActivity['detail']>['performer']> = [party];
  if (input.contact) performer.push({ type: 'Practitioner', display: input.contact });
  return { detail: { status: 'scheduled', description: input.description ?? '', performer } };
}

export function provenance(
  plan: CarePlan,
  who: Reference<Organization>,
  kind: SipSignatureKind,
  digest: string,
  now: string,
): Provenance {
  return {
    resourceType: 'Provenance',
    meta: { profile: [PROFILE.provenance] },
    target: [{ reference: `CarePlan/${plan.id ?? ''}/_history/${plan.meta?.versionId ?? ''}` }],
    recorded: now,
    activity: { coding: [{ system: CODE_SYSTEM.sipSignature, code: kind, display: SIP_SIGNATURE_INFO[kind] }] },
    agent: [{ who }],
    signature: [
      {
        type: [
          kind === 'signering'
            ? {
                system: 'urn:iso-astm:E1762-95:2013',
                code: '1.2.840.10065.1.12.1.5',
                display: 'Verification Signature',
              }
            : { system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.6', display: 'Validation Signature' },
        ],
        when: now,
        who,
        sigFormat: 'application/x-svu-sha256-digest',
        data: digest,
      },
    ],
  };
}

/** Sets the status the signatures call for, writing a new version only when it changes. */
export async function settle(deps: SipDeps, tx: Db, plan: CarePlan, write: WriteOptions): Promise<CarePlan> {
  const repo = deps.repository(tx);
  const found = await repo.search<Provenance>('Provenance', { target: `CarePlan/${plan.id ?? ''}`, _count: '200' });
  const status = derivedStatus(plan, signatureState(plan, found.resources));
  return status === plan.status ? plan : repo.update<CarePlan>({ ...plan, status }, write);
}

/**
 * Reads the plan as the caller may see it (404 otherwise), locked until the transaction ends, and checks it is
 * still open. The lock makes two parties signing at once take turns: each writes its part on top of the other's.
 */
async function readOpen(tx: Db, auth: AuthContext, id: string): Promise<CarePlan> {
  const plan = await createRepository(tx, auth.access).readForUpdate<CarePlan>('CarePlan', id);
  if (!OPEN.has(plan.status))
    throw new GatewayError('rule-violation', `The SIP is ${plan.status}: it can no longer be signed`);
  return plan;
}

export async function signPlan(deps: SipDeps, db: Db, auth: AuthContext, id: string, input: SignInput) {
  return db.transaction(async (tx) => {
    let plan = await readOpen(tx, auth, id);
    const org = callerOrg(auth);
    if (!planParties(plan).includes(org))
      throw new GatewayError('forbidden', 'Only a party invited to the SIP signs a part of it');
    const repo = deps.repository(tx);
    const who = await orgReference(repo, org);
    if (input.description !== undefined || input.contact !== undefined) {
      if (!input.description?.trim())
        throw new GatewayError('rule-violation', 'description (the party’s services, in plain Swedish) is required');
      const others = (plan.activity ?? []).filter((a) => orgRef(a.detail?.performer?.[0]) !== org);
      const next = { ...plan, activity: [...others, ownPart(who, input)] };
      if (JSON.stringify(partOf(next, org)) !== JSON.stringify(partOf(plan, org)))
        plan = await repo.update<CarePlan>(next, writeAs(auth));
    }
    if (partOf(plan, org).length === 0)
      throw new GatewayError('rule-violation', 'Write your part first: $sign with description and contact');
    const now = deps.stay.clock.now().toISOString();
    const signed = await repo.create(provenance(plan, who, 'signering', partDigest(plan, org), now), writeAs(auth));
    await acknowledgedBySigning(repo, plan, org, now, writeAs(auth));
    return { plan: await settle(deps, tx, plan, writeAs(auth)), provenance: signed };
  });
}

export async function approvePlan(deps: SipDeps, db: Db, auth: AuthContext, id: string) {
  return db.transaction(async (tx) => {
    const plan = await readOpen(tx, auth, id);
    const org = callerOrg(auth);
    const repo = deps.repository(tx);
    const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(plan.encounter, 'CarePlan'));
    if (org !== ctx.hospital) throw new GatewayError('forbidden', 'Only the hospital of the stay approves its SIP');
    const now = deps.stay.clock.now().toISOString();
    const who = await orgReference(repo, org);
    const approved = await repo.create(provenance(plan, who, 'godkannande', planDigest(plan), now), writeAs(auth));
    return { plan: await settle(deps, tx, plan, writeAs(auth)), provenance: approved };
  });
}

/** The meeting was held (003 step 5): the stay fact starts the one-month follow-up (step 6). */
export async function meetingHeld(deps: SipDeps, db: Db, auth: AuthContext, id: string, at?: string) {
  return db.transaction(async (tx) => {
    const plan = await createRepository(tx, auth.access).readForUpdate<CarePlan>('CarePlan', id);
    const org = callerOrg(auth);
    const repo = deps.repository(tx);
    const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(plan.encounter, 'CarePlan'));
    if (org !== orgRef(plan.author) && org !== ctx.hospital)
      throw new GatewayError('forbidden', 'The named care contact who holds the meeting records it');
    if (isFormerAuthor(ctx, plan, org))
      throw await formerAuthorRefusal(repo, ctx, plan, 'holds the SIP meeting and records it');
    const now = deps.stay.clock.now();
    const when = at ?? now.toISOString();
    const t = Date.parse(when);
    if (Number.isNaN(t) || t > now.getTime() + 60_000)
      throw new GatewayError('bad-request', 'date must be the time the meeting was held (ISO 8601, not in the future)');
    await addStayFact(tx, repo, deps.stay, ctx, {
      id: `fhir:CarePlan/${id}#sip-meeting-held@${when}`,
      stayId: ctx.stayId,
      at: when,
      kind: 'sip-meeting-held',
    });
    await ensureWrittenPlanTask(repo, plan, new Date(t).toISOString(), writeAs(auth));
    return repo.read<CarePlan>('CarePlan', id);
  });
}
