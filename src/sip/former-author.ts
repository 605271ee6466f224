/**
 * The author of a SIP coordinates it (the meeting, who is invited, closing or revoking it) only while it is the
 * stay's named care contact, or the stay's hospital where the agreement lets the hospital create the plan. After a
 * re-routing (ADR 045) the unit the stay left is still the plan's author until the new named care contact takes the
 * plan over; from the re-routing on it acts only as a party: it writes and signs its own part and reads the plan,
 * while the author's acts are refused with the name of the unit that holds them now and the way to take the plan
 * over. Where the engine names no named care contact (none to take the plan over), the author keeps its rights.
 */
import type { CarePlan } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import { organisationLabel } from '../store/organisation-names.pg';
import type { PgRepository } from '../store/repository.pg';
import { directoryName } from './invitations';
import { orgRef } from './sip-plan';
import type { StayContext } from './stay-context';

/** Is `org` the plan's author, but no longer the stay's named care contact (nor its hospital)? */
export function isFormerAuthor(ctx: StayContext, plan: CarePlan, org: string): boolean {
  return org === orgRef(plan.author) && ctx.fvk !== undefined && org !== ctx.fvk && org !== ctx.hospital;
}

/** The 403 for an author act by a unit the stay left: names both units and the take-over. */
export async function formerAuthorRefusal(
  repo: PgRepository,
  ctx: StayContext,
  plan: CarePlan,
  act: string,
): Promise<GatewayError> {
  const named = async (ref: string) => (await directoryName(repo, ref)) ?? organisationLabel(undefined, ref);
  const author = await named(orgRef(plan.author) ?? '');
  const fvk = await named(ctx.fvk ?? '');
  const id = plan.id ?? '';
  return new GatewayError(
    'forbidden',
    `${author} is no longer the stay's named care contact; ${fvk} is. Only the named care contact ${act}: ${fvk} takes this SIP over with POST /fhir/CarePlan/${id}/$take-over (every part and signature is kept). Until then ${author} writes and signs only its own part.`,
  );
}
