/**
 * A party the plan no longer has takes its part with it. The author removes a party from `CarePlan.contributor`, for
 * instance when the stay moves to another municipality and the named care contact invites the new one instead of the
 * old; the party's activities then leave the current version, as the part of the unit the stay left does on
 * `$take-over` (ADR 045): they are quoted in the plan's note, which names the organisations, and the earlier versions
 * and the party's signature Provenance keep them. The removed party itself reads nothing of the plan from then on
 * but its own signature (the store's CarePlan rule, ADR 047). The other parties' signatures hold (their parts'
 * digests do not change); the hospital's approval is withdrawn (the parties and the parts are in what it approved)
 * and is given again with `$approve`.
 */
import type { CarePlan } from '@medplum/fhirtypes';
import { swedishMinute } from '../http/time-format';
import type { PgRepository } from '../store/repository.pg';
import { orgName, orgReference, SWEDISH_TIME } from './invitations';
import { partOf, partTexts, partyOfActivity, planParties } from './sip-plan';

/** The parties of `before` that `after` no longer has. */
export function removedParties(before: CarePlan, after: CarePlan): string[] {
  const now = planParties(after);
  return planParties(before).filter((p) => !now.includes(p));
}

/** The plan without the activities of `parties` (no `activity` when none is left). */
export function withoutParts(plan: CarePlan, parties: readonly string[]): CarePlan {
  const activity = (plan.activity ?? []).filter((a) => !parties.includes(partyOfActivity(a) ?? ''));
  const next: CarePlan = { ...plan, activity };
  if (activity.length === 0) delete next.activity;
  return next;
}

/** The note that says, by the organisations' names, that a party left the plan, when, by whom and what its part was. */
export function removedPartyNote(
  partyName: string,
  byName: string | undefined,
  at: string,
  part: readonly string[],
): string {
  const when = `${swedishMinute(at) ?? at} ${SWEDISH_TIME}`;
  const head = byName
    ? `${byName} tog ${when} bort ${partyName} som part i SIP:en.`
    : `${partyName} är sedan ${when} inte längre part i SIP:en.`;
  return part.length > 0 ? `${head} ${partyName}s del av planen före borttagandet: ${part.join(' / ')}` : head;
}

/**
 * `after` with the parts of the parties it no longer has taken out and quoted in its note, each as it was in
 * `before`; undefined when no removed party had a part. `writer`: the removing organisation (none for the gateway's
 * own writes).
 */
export async function takeOutRemovedParts(
  repo: PgRepository,
  before: CarePlan,
  after: CarePlan,
  writer: string | undefined,
  at: string,
): Promise<CarePlan | undefined> {
  const gone = removedParties(before, after).filter((p) => partOf(before, p).length + partOf(after, p).length > 0);
  if (gone.length === 0) return undefined;
  const by = writer ? await orgReference(repo, writer) : undefined;
  const byName = writer ? (by?.display ?? (await orgName(repo, writer))) : undefined;
  const notes: NonNullable<CarePlan['note']> = [];
  for (const party of gone)
    notes.push({
      ...(by ? { authorReference: by } : {}),
      time: at,
      text: removedPartyNote(await orgName(repo, party), byName, at, partTexts(before, party)),
    });
  return { ...withoutParts(after, gone), note: [...(after.note ?? []), ...notes] };
}
