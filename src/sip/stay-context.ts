/**
 * What the collaboration rules need to know about a stay, read inside the writing transaction with the gateway's
 * own view: the Encounter, its hospital (serviceProvider), the engine's evaluation of its facts, and which
 * Organization is the named care contact (FVK) the engine asks to invite to the SIP.
 */
import type { Encounter, Patient, Reference } from '@medplum/fhirtypes';
import type { Agreement } from '../core/agreements/agreement.schema';
import { evaluateStay } from '../core/engine/evaluate';
import { partyKey } from '../core/engine/parties';
import type { StayEvaluation } from '../core/engine/types';
import type { StayFact } from '../core/stay/facts';
import { resolveParty } from '../fhir/references';
import { storeAndLoadFacts } from '../intake/stay/fact-store';
import { applyStayFacts, type StayApplierDeps } from '../intake/stay/apply-stay';
import { lockStays } from '../intake/stay/stay-rows.pg';
import { GatewayError } from '../platform/errors';
import type { Db } from '../store/db.port';
import type { PgRepository } from '../store/repository.pg';
import { orgRef } from './sip-plan';

export interface StayContext {
  stayId: string;
  encounter: Encounter;
  /** `Organization/<id>` of the hospital (Encounter.serviceProvider), if it names one. */
  hospital?: string;
  evaluation: StayEvaluation;
  /** The agreement the stay was evaluated under (its SIP settings: who creates the plan, the invitation deadline). */
  agreement: Agreement;
  /** `Organization/<id>` of the named care contact the engine asks to invite, when it can be resolved. */
  fvk?: string;
  /** The party key of that named care contact (an invitation it sends counts for it: `sip-invitation-sent.by`). */
  fvkKey?: string;
}

/** The stay id of an `Encounter/<id>` reference (422 when the reference is of another form). */
export function stayIdOf(ref: Reference | undefined, what: string): string {
  const m = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/.exec(ref?.reference ?? '');
  if (!m?.[1]) throw new GatewayError('rule-violation', `${what}.encounter must reference the stay as Encounter/<id>`);
  return m[1];
}

/** The answer for a stay that does not exist, or that the caller may not read: the same, so neither is told apart. */
export function stayUnknown(stayId: string): GatewayError {
  return new GatewayError('rule-violation', `The stay Encounter/${stayId} is not known (or not visible to you)`);
}

export async function loadStayContext(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  stayId: string,
): Promise<StayContext> {
  let encounter: Encounter;
  try {
    encounter = await repo.read<Encounter>('Encounter', stayId);
  } catch {
    throw stayUnknown(stayId);
  }
  await lockStays(tx, [stayId]);
  const { all } = await storeAndLoadFacts(tx, stayId, [], 'fhir');
  const agreement = await deps.agreement();
  const evaluation = evaluateStay(all, agreement);
  const ctx: StayContext = { stayId, encounter, evaluation, agreement };
  const hospital = orgRef(encounter.serviceProvider);
  if (hospital) ctx.hospital = hospital;
  // The named care contact now, where the stay has that duty: after a re-routing the Tasks of the unit it left stay
  // beside the new unit's, so the duty's owner alone does not tell which one it is.
  const duty = evaluation.tasks.find((t) => t.code === 'kallelse-sip' || t.code === 'utse-fast-vardkontakt');
  const owner = duty ? (evaluation.state.fvk ?? duty.owner) : undefined;
  if (owner) {
    const resolver = await deps.orgs.resolver(repo, [owner], deps.clock.now().getTime());
    const fvk = orgRef(resolveParty(owner, resolver));
    if (fvk) ctx.fvk = fvk;
    ctx.fvkKey = partyKey(owner);
  }
  return ctx;
}

/** Adds one fact to the stay (the engine re-evaluates and the stay's Tasks follow), in the caller's transaction. */
export async function addStayFact(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  ctx: StayContext,
  fact: StayFact,
): Promise<void> {
  await applyStayFacts(tx, repo, deps, {
    stayId: ctx.stayId,
    facts: [fact],
    source: 'fhir',
    patient: { ...(ctx.encounter.subject as Reference<Patient> | undefined) },
    encounter: { reference: `Encounter/${ctx.stayId}` },
    ...(ctx.hospital ? { authorOrganization: ctx.hospital } : {}),
  });
}
