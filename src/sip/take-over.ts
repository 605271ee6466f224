/**
 * The named care contact's unit takes over the stay's SIP after a re-routing (`POST /fhir/CarePlan/<id>/$take-over`,
 * ADR 045). The plan stays the stay's one plan (the patient's shared plan: the parties' parts and signatures are
 * kept); only its author, the unit that calls to it and coordinates it, changes to the unit that is the named care
 * contact now. The unit the stay left is no longer a party (it loses read access by the CarePlan rules: author,
 * invited parties, the stay's hospital); its own part leaves the current version and is quoted in the plan's note, so
 * nothing it wrote is lost (the earlier versions and its signature keep it too). The new unit's call is recorded
 * (the stay fact `sip-invitation-sent` by it, which meets its invitation duty when the plan invites anyone), and both
 * units, the invited parties and the hospital are told by name in a comment (Communication) from the new unit. The
 * take-over is a Provenance too (activity `overtagande`), beside the parties' signatures.
 */
import type { CarePlan, Communication, Encounter, Organization, Provenance, Reference } from '@medplum/fhirtypes';
import type { AuthContext } from '../auth/auth-context';
import { SIP_PROVENANCE_INFO } from '../fhir/codes';
import { CODE_SYSTEM, PROFILE } from '../fhir/constants';
import { swedishMinute } from '../http/time-format';
import { GatewayError } from '../platform/errors';
import type { Db } from '../store/db.port';
import { createRepository } from '../store/repository.pg';
import type { WriteOptions } from '../store/repository.port';
import { orgName, orgReference, SWEDISH_TIME, syncInvitations } from './invitations';
import { invitationSentFact, type SipDeps } from './sip-hooks';
import { settle } from './sip-operations';
import { invitedParties, orgRef, partTexts, partyOfActivity } from './sip-plan';
import { addStayFact, loadStayContext, stayIdOf } from './stay-context';

// as the write rules: a plan on hold is still the stay's open plan (one per stay), so it can be taken over too
const OPEN = new Set(['draft', 'active', 'on-hold']);

/** The Swedish texts of a take-over: the plan's note and the comment to the parties. */
export function takeOverTexts(
  newName: string,
  oldName: string,
  at: string,
  oldPart: readonly string[],
  reason: string | undefined,
): { note: string; comment: string } {
  const when = `${swedishMinute(at) ?? at} ${SWEDISH_TIME}`;
  const why = reason?.trim() ? ` Skäl: ${reason.trim()}.` : '';
  const head = `${newName} är fast vårdkontakt för patienten och har ${when} tagit över SIP:en från ${oldName}, som inte längre är fast vårdkontakt.${why}`;
  const kept = oldPart.length > 0 ? ` ${oldName}s del av planen före övertagandet: ${oldPart.join(' / ')}` : '';
  return {
    note: `${head}${kept}`,
    comment: `${head} Kallelsen gäller som förut, nu från ${newName}; kontakta ${newName} om SIP:en.`,
  };
}

/**
 * The take-over as a Provenance (SvuProvenance, activity `overtagande`): the plan version the new unit wrote as
 * target, the new unit as the first agent and the unit it took the plan over from as the second, each with its role
 * in words; the reason, when given. No signature: nothing is signed (the parts' signatures hold as they were).
 */
export function takeOverProvenance(
  plan: CarePlan,
  by: Reference<Organization>,
  from: Reference<Organization>,
  at: string,
  reason: string | undefined,
): Provenance {
  return {
    resourceType: 'Provenance',
    meta: { profile: [PROFILE.provenance] },
    target: [{ reference: `CarePlan/${plan.id ?? ''}/_history/${plan.meta?.versionId ?? ''}` }],
    recorded: at,
    activity: {
      coding: [{ system: CODE_SYSTEM.sipSignature, code: 'overtagande', display: SIP_PROVENANCE_INFO.overtagande }],
    },
    agent: [
      { role: [{ text: 'Fast vårdkontakt som tog över SIP:en' }], who: by },
      { role: [{ text: 'Tidigare fast vårdkontakt som SIP:en togs över från' }], who: from },
    ],
    ...(reason?.trim() ? { reason: [{ text: reason.trim() }] } : {}),
  };
}

function writeAs(auth: AuthContext): WriteOptions {
  return {
    author: auth.clientId,
    ...(auth.access.organization ? { authorOrganization: auth.access.organization } : {}),
  };
}

/**
 * Reads the plan for a caller that may not be one of its parties yet: a plan of a stay the caller cannot read is
 * answered as unknown (404), the same as a plan that does not exist; but a party that reads the plan (its author
 * before the take-over) and no longer the stay, which left it, is told so (403), naming nobody the stay went to.
 */
async function readPlanOfVisibleStay(deps: SipDeps, tx: Db, auth: AuthContext, id: string): Promise<CarePlan> {
  const unknown = new GatewayError('not-found', `CarePlan/${id} is not known (or not visible to you)`);
  let plan: CarePlan;
  try {
    plan = await deps.repository(tx).readForUpdate<CarePlan>('CarePlan', id);
  } catch {
    throw unknown;
  }
  const caller = createRepository(tx, auth.access);
  try {
    await caller.read<Encounter>('Encounter', stayIdOf(plan.encounter, 'CarePlan'));
  } catch {
    const party = await caller.read<CarePlan>('CarePlan', id).then(
      () => true,
      () => false,
    );
    if (!party) throw unknown;
    throw new GatewayError(
      'forbidden',
      `The stay of CarePlan/${id} has left your organisation (it was re-routed away from you): only the stay's named care contact takes its SIP over. You still sign your own part until then.`,
    );
  }
  return plan;
}

export async function takeOverPlan(deps: SipDeps, db: Db, auth: AuthContext, id: string, reason?: string) {
  return db.transaction(async (tx) => {
    const org = auth.access.organization;
    if (!org) throw new GatewayError('forbidden', 'The client is not bound to an Organization');
    const plan = await readPlanOfVisibleStay(deps, tx, auth, id);
    const repo = deps.repository(tx);
    const ctx = await loadStayContext(tx, repo, deps.stay, stayIdOf(plan.encounter, 'CarePlan'));
    const fvkName = ctx.fvk ? await orgName(repo, ctx.fvk) : undefined;
    if (org !== ctx.fvk)
      throw new GatewayError(
        'forbidden',
        `Only the stay's named care contact${fvkName ? `, ${fvkName},` : ' (none yet)'} takes its SIP over`,
      );
    const previous = orgRef(plan.author);
    if (previous === org) return plan; // taken over already (or its own): nothing changes
    if (!OPEN.has(plan.status))
      throw new GatewayError('rule-violation', `The SIP is ${plan.status}: create a new one for the stay instead`);
    if (!previous || previous === ctx.hospital)
      throw new GatewayError(
        'rule-violation',
        'This SIP was created by the hospital, not by an earlier named care contact: the hospital invites you to it',
      );
    const now = deps.stay.clock.now().toISOString();
    const [newRef, oldName] = [await orgReference(repo, org), await orgName(repo, previous)];
    const newName = newRef.display ?? (await orgName(repo, org));
    const oldPart = partTexts(plan, previous);
    const texts = takeOverTexts(newName, oldName, now, oldPart, reason);
    const next: CarePlan = {
      ...plan,
      author: newRef,
      // the author first among the parties, as a plan is created; the unit the stay left is no longer one
      contributor: [newRef, ...(plan.contributor ?? []).filter((c) => ![org, previous].includes(orgRef(c) ?? ''))],
      activity: (plan.activity ?? []).filter((a) => partyOfActivity(a) !== previous),
      note: [...(plan.note ?? []), { authorReference: newRef, time: now, text: texts.note }],
    };
    if (next.activity?.length === 0) delete next.activity;
    const written = await settle(deps, tx, await repo.update<CarePlan>(next, writeAs(auth)), writeAs(auth));
    await syncInvitations(repo, written, now, writeAs(auth), ctx.agreement);
    const recorded = takeOverProvenance(written, newRef, await orgReference(repo, previous), now, reason);
    deps.validator.validate(recorded, PROFILE.provenance);
    await repo.create(recorded, writeAs(auth));
    // The new unit now calls to the plan (its invitations stand, in its name): that meets its own invitation duty.
    if (invitedParties(written).length > 0)
      await addStayFact(tx, repo, deps.stay, ctx, invitationSentFact(ctx, written.id ?? '', now));
    const told = [previous, ...invitedParties(written), ...(ctx.hospital ? [ctx.hospital] : [])];
    const comment: Communication = {
      resourceType: 'Communication',
      meta: { profile: [PROFILE.communication] },
      status: 'in-progress',
      category: [{ coding: [{ system: CODE_SYSTEM.communicationCategory, code: 'ovrigt' }] }],
      ...(plan.subject ? { subject: plan.subject } : {}),
      encounter: { reference: `Encounter/${ctx.stayId}` },
      about: [{ reference: `CarePlan/${id}` }],
      sent: now,
      sender: newRef,
      recipient: await Promise.all([...new Set(told)].map((r) => orgReference(repo, r))),
      payload: [{ contentString: texts.comment }],
    };
    deps.validator.validate(comment, PROFILE.communication);
    await repo.create(comment, writeAs(auth));
    return written;
  });
}
