/**
 * The rules of a SIP CarePlan written through the FHIR API (POST, PUT, transaction Bundles alike), run inside the
 * write's transaction so a refused write leaves nothing behind:
 * - created by the named care contact's organisation (or the stay's hospital where the agreement's
 *   `sipPlan.createdBy` says so), as author, for an open stay that
 *   needs a SIP (none where the needs assessment says a well-functioning SIP exists), one open plan per stay;
 * - creating or inviting makes a `kallelse-sip` Task per invited party and the stay fact `sip-invitation-sent`,
 *   which meets the named care contact's own invitation duty;
 * - the colour triage (seed 002) is added from the stay's needs when the author gave none: guidance, never binding;
 * - a party changes only its own part; the author also the meeting and the invited parties, while it is the named
 *   care contact (a unit the stay left acts as a party until the new one takes the plan over, ADR 045); a party
 *   removed from the plan takes its part with it, quoted in the plan's note (src/sip/removed-party.ts); nobody sets
 *   draft or active, which follow the signatures (a changed part withdraws its signature, and an active plan turns
 *   draft).
 */
import type { CarePlan, Provenance, Task } from '@medplum/fhirtypes';
import type { Agreement } from '../core/agreements/agreement.schema';
import type { StayFact } from '../core/stay/facts';
import { triageColour } from '../core/triage';
import { SIP_TRIAGE_INFO } from '../fhir/codes';
import { CODE_SYSTEM, PROFILE } from '../fhir/constants';
import type { Validator } from '../fhir/validator';
import type { StayApplierDeps } from '../intake/stay/apply-stay';
import { GatewayError } from '../platform/errors';
import type { Db } from '../store/db.port';
import { createRepository, type PgRepository } from '../store/repository.pg';
import type { AccessScope, RepositoryHooks, ResourceChange } from '../store/repository.port';
import { isUnrestricted, writerOf } from '../store/access-sql';
import { organisationLabel } from '../store/organisation-names.pg';
import { formerAuthorRefusal, isFormerAuthor } from './former-author';
import { directoryName, invitationAcknowledged, syncInvitations } from './invitations';
import { removedParties, takeOutRemovedParts, withoutParts } from './removed-party';
import { changesOutsidePart, derivedStatus, invitedParties, orgRef, planParties, signatureState } from './sip-plan';
import { addStayFact, loadStayContext, stayIdOf, stayUnknown, type StayContext } from './stay-context';

/** Who may create a SIP and invite to it under the agreement (`sipPlan.createdBy`; the law's FVK when unset). */
export function sipCreators(agreement: Agreement): readonly ('fvk' | 'hospital')[] {
  return agreement.sipPlan?.createdBy ?? ['fvk'];
}

/** Author stamped on the gateway's own follow-up writes of a plan (triage, status), which the hook skips. */
export const SIP_AUTHOR = 'svu-gateway:sip';

export interface SipDeps {
  stay: StayApplierDeps;
  validator: Validator;
  /** The gateway's repository bound to the transaction (system scope, no hooks). */
  repository: (tx: Db) => PgRepository;
}

const OPEN = new Set(['draft', 'active', 'on-hold']);
/** What the author (the named care contact) may change besides its own part: the meeting, who is invited, notes. */
const AUTHOR_FIELDS = ['extension', 'contributor', 'period', 'note', 'title', 'description', 'category', 'status'];

/** The colour triage of the stay's planning answers (seed 002 "Färg som stöd för FVK"), as a CarePlan category. */
export function triageCategory(ctx: StayContext): NonNullable<CarePlan['category']>[number] {
  const s = ctx.evaluation.state;
  const services = s.needs.filter((n) => n !== 'ingen');
  const advice = triageColour({
    needs: s.needs,
    change: s.sipNeeded ? 'new-or-changed' : 'unchanged',
    extensive: services.length >= 2,
  });
  return {
    coding: [{ system: CODE_SYSTEM.sipTriage, code: advice.colour, display: SIP_TRIAGE_INFO[advice.colour] }],
    text: `Vägledning, inte bindande: ${advice.advice}`,
  };
}

/** Who may create the stay's SIP, by the organisations' names (`unknown organisation (Organization/x)` without one). */
async function sipCreatorText(repo: PgRepository, ctx: StayContext, may: readonly string[]): Promise<string> {
  const named = async (ref: string) => (await directoryName(repo, ref)) ?? organisationLabel(undefined, ref);
  const fvk = ctx.fvk ? `the named care contact, ${await named(ctx.fvk)},` : 'the named care contact (none yet)';
  return may.includes('hospital') && ctx.hospital
    ? `Only ${fvk} or the hospital, ${await named(ctx.hospital)},`
    : `Only ${fvk}`;
}

export const hasTriage = (plan: CarePlan): boolean =>
  (plan.category ?? []).some((c) => c.coding?.some((x) => x.system === CODE_SYSTEM.sipTriage));

async function onCreate(tx: Db, deps: SipDeps, change: ResourceChange, scope: AccessScope | undefined) {
  const plan = change.after as CarePlan;
  deps.validator.validate(plan, PROFILE.carePlan);
  const repo = deps.repository(tx);
  const stayId = stayIdOf(plan.encounter, 'CarePlan');
  // a stay the caller may not read answers as one that does not exist: a SIP must not tell which stays there are
  if (!isUnrestricted(scope)) {
    try {
      await createRepository(tx, scope).read('Encounter', stayId);
    } catch {
      throw stayUnknown(stayId);
    }
  }
  const ctx = await loadStayContext(tx, repo, deps.stay, stayId);
  if (['cancelled', 'entered-in-error'].includes(ctx.encounter.status))
    throw new GatewayError('rule-violation', `The stay is ${ctx.encounter.status}: it needs no SIP`);
  if (plan.subject?.reference !== ctx.encounter.subject?.reference)
    throw new GatewayError('rule-violation', 'CarePlan.subject must be the patient of the stay (Encounter.subject)');
  if (plan.status !== 'draft')
    throw new GatewayError(
      'rule-violation',
      'A SIP starts as draft; it turns active when all have signed and approved',
    );
  const author = orgRef(plan.author);
  if (!author) throw new GatewayError('rule-violation', 'CarePlan.author must reference an Organization/<id>');
  if (!isUnrestricted(scope)) {
    if (scope?.organization !== author)
      throw new GatewayError('forbidden', 'The author of a SIP is the organisation that creates it (your own)');
    const may = sipCreators(ctx.agreement);
    const isFvk = author === ctx.fvk && may.includes('fvk');
    const isHospital = author === ctx.hospital && may.includes('hospital');
    if (!isFvk && !isHospital)
      throw new GatewayError(
        'forbidden',
        `${await sipCreatorText(repo, ctx, may)} may create this stay's SIP and invite to it (${ctx.agreement.name}${may.includes('hospital') ? '' : '; not the hospital'})`,
      );
  }
  const s = ctx.evaluation.state;
  if (!s.sipNeeded && !s.compulsoryOutpatientCare)
    throw new GatewayError(
      'rule-violation',
      'The stay needs no new SIP (a well-functioning SIP exists or the category needs none): no invitation is sent',
    );
  const others = await repo.search<CarePlan>('CarePlan', { encounter: `Encounter/${ctx.stayId}`, _count: '10' });
  const open = others.resources.find((p) => p.id !== plan.id && OPEN.has(p.status));
  if (open) throw await openPlanConflict(repo, ctx, open, author);
  if (invitedParties(plan).length !== (plan.contributor ?? []).filter((c) => orgRef(c) !== author).length)
    throw new GatewayError('rule-violation', 'Every invited party (CarePlan.contributor) must be an Organization/<id>');
  let written = plan;
  if (!hasTriage(plan))
    written = await repo.update<CarePlan>(
      { ...plan, category: [...(plan.category ?? []), triageCategory(ctx)] },
      { author: SIP_AUTHOR, ...(change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}) },
    );
  await invite(tx, deps, ctx, written, change, writerOf(scope));
}

/**
 * The answer to a second plan for a stay: one open plan per stay. The named care contact that finds the plan of a unit
 * the stay left (a re-routing) is told, by name, how to take it over (ADR 045) instead of meeting a dead end.
 */
async function openPlanConflict(
  repo: PgRepository,
  ctx: StayContext,
  open: CarePlan,
  author: string,
): Promise<GatewayError> {
  const holder = orgRef(open.author);
  if (author === ctx.fvk && holder && holder !== author && holder !== ctx.hospital) {
    const name = (await directoryName(repo, holder)) ?? organisationLabel(undefined, holder);
    return new GatewayError(
      'conflict',
      `The stay already has an open SIP (CarePlan/${open.id ?? ''}) by ${name}, which is no longer the named care contact: take it over with POST /fhir/CarePlan/${open.id ?? ''}/$take-over (its parts and signatures are kept)`,
    );
  }
  return new GatewayError('conflict', 'The stay already has an open SIP: update that one');
}

/**
 * Sends the plan's invitations (a `kallelse-sip` Task per invited party) and, when the named care contact sent them
 * (or the hospital, where it may create the plan), the stay fact that meets its invitation duty: it counts for the
 * unit that is the named care contact now (a unit the stay has left may no longer change who its plan invites,
 * ADR 045; an invitation written by anyone else is never the named care contact's). `writer`: the writing
 * organisation (none for the gateway's own, unrestricted writes).
 */
async function invite(
  tx: Db,
  deps: SipDeps,
  ctx: StayContext,
  plan: CarePlan,
  change: ResourceChange,
  writer: string | undefined,
) {
  const now = deps.stay.clock.now().toISOString();
  const write = {
    author: change.author ?? SIP_AUTHOR,
    ...(change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}),
  };
  const tasks = await syncInvitations(deps.repository(tx), plan, now, write, ctx.agreement);
  if (tasks.length === 0 || invitedParties(plan).length === 0) return;
  if (writer !== undefined && writer !== ctx.fvk && writer !== ctx.hospital) return;
  await addStayFact(tx, deps.repository(tx), deps.stay, ctx, invitationSentFact(ctx, plan.id ?? '', now));
}

/**
 * The stay fact that the named care contact now sent the plan's invitation: it counts for that unit, not for one the
 * stay is re-routed to later. One per plan and unit (the id names both), so a unit that takes the plan over after a
 * re-routing (`$take-over`) has its own invitation recorded beside the earlier unit's.
 */
export function invitationSentFact(ctx: StayContext, planId: string, at: string): StayFact {
  return {
    id: `fhir:CarePlan/${planId}#sip-invitation-sent${ctx.fvkKey ? `@${ctx.fvkKey}` : ''}`,
    stayId: ctx.stayId,
    at,
    kind: 'sip-invitation-sent',
    ...(ctx.fvkKey ? { by: ctx.fvkKey } : {}),
  };
}

async function onUpdate(tx: Db, deps: SipDeps, change: ResourceChange, scope: AccessScope | undefined) {
  const before = change.before as CarePlan;
  const after = change.after as CarePlan;
  const repo = deps.repository(tx);
  if (stayIdOf(after.encounter, 'CarePlan') !== stayIdOf(before.encounter, 'CarePlan'))
    throw new GatewayError('forbidden', 'The stay of a SIP cannot change');
  const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(after.encounter, 'CarePlan'));
  if (!isUnrestricted(scope)) {
    const writer = scope?.organization ?? '';
    const author = orgRef(before.author);
    if (!planParties(before).includes(writer))
      throw new GatewayError('forbidden', 'Only the parties of a SIP write it; the hospital approves it with $approve');
    // The unit the stay left is still the author until the plan is taken over, but acts only as a party (ADR 045).
    const former = isFormerAuthor(ctx, before, writer);
    const allowed = writer === author && !former ? AUTHOR_FIELDS : [];
    // The author who removes a party may take its part out with it (the gateway does so anyway, below).
    const gone = allowed.length > 0 ? removedParties(before, after) : [];
    const outside = changesOutsidePart(withoutParts(before, gone), withoutParts(after, gone), writer).filter(
      (k) => !allowed.includes(k),
    );
    if (former && outside.some((k) => AUTHOR_FIELDS.includes(k)))
      throw await formerAuthorRefusal(
        repo,
        ctx,
        before,
        'changes the meeting, the invited parties or the status of the SIP, or revokes it',
      );
    if (outside.length > 0)
      throw new GatewayError(
        'forbidden',
        `A party writes only its own part of the SIP; also changed: ${outside.join(', ')}`,
      );
    if (after.status !== before.status && !['completed', 'revoked'].includes(after.status))
      throw new GatewayError(
        'rule-violation',
        'draft and active follow the signatures: sign with $sign, approve with $approve',
      );
  }
  const provenances = await repo.search<Provenance>('Provenance', {
    target: `CarePlan/${after.id ?? ''}`,
    _count: '200',
  });
  // A party no longer in the plan takes its part with it, quoted in the note (as on $take-over, ADR 045).
  const now = deps.stay.clock.now().toISOString();
  const taken = await takeOutRemovedParts(repo, before, after, writerOf(scope), now);
  let plan = taken ?? after;
  const status = derivedStatus(plan, signatureState(plan, provenances.resources));
  if (taken || status !== after.status)
    plan = await repo.update<CarePlan>(
      { ...plan, status },
      { author: SIP_AUTHOR, ...(change.authorOrganization ? { authorOrganization: change.authorOrganization } : {}) },
    );
  const added = invitedParties(plan).some((p) => !invitedParties(before).includes(p));
  const removed = invitedParties(before).some((p) => !invitedParties(plan).includes(p));
  if (added || removed) await invite(tx, deps, ctx, plan, change, writerOf(scope));
}

export function sipHooks(deps: SipDeps): RepositoryHooks {
  return {
    async afterWrite(tx, change, scope) {
      if (change.resourceType === 'Task' && change.before && change.after) {
        const met = invitationAcknowledged(
          change.before as Task,
          change.after as Task,
          deps.stay.clock.now().toISOString(),
        );
        if (met) await deps.repository(tx).update<Task>(met, { author: SIP_AUTHOR });
        return;
      }
      if (change.resourceType !== 'CarePlan' || change.author === SIP_AUTHOR || !change.after) return;
      if (change.action === 'create' || !change.before) await onCreate(tx, deps, change, scope);
      else await onUpdate(tx, deps, change, scope);
    },
  };
}
