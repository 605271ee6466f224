/**
 * References from the engine's parties to FHIR. Adapters resolve Organizations (by kommunkod / HSA-id) and
 * pass a resolver; where a party is unknown, a logical reference by identifier stands in (FHIR R4
 * Reference.identifier), so a builder never needs I/O.
 */
import type { Organization, Reference, Task } from '@medplum/fhirtypes';
import type { Party, PartyPhrase, StayEvaluation } from '../core/engine/types';
import { municipalityLabel, municipalNurseLabel } from '../core/municipalities/municipalities';
import { IDENTIFIER_SYSTEM } from './constants';

/**
 * A literal reference to an Organization of the directory, `Organization/<id>` (the id as FHIR R4 allows it: 1–64 of
 * A–Z, a–z, 0–9, `-` and `.`). What a client names an organisation by, wherever the gateway checks one.
 */
export const ORGANIZATION_REFERENCE = /^Organization\/[A-Za-z0-9\-.]{1,64}$/;

/** The id of an `Organization/<id>` reference: what follows `Organization/`. */
export const organizationIdOf = (reference: string): string => reference.slice('Organization/'.length);

export type PartyResolver = (party: Party) => Reference<Organization> | undefined;

/**
 * A logical reference to the Organization that stands for a party; `municipalityName` (from the adapter's directory)
 * names a municipality or its home health care in the display; without it, SCB's name with the kommunkod
 * (`Stockholm (kommun 0180)`), or `Kommun 0180` for a code SCB does not list.
 */
export function partyLogicalReference(party: Party, municipalityName?: string): Reference<Organization> {
  switch (party.kind) {
    case 'municipality':
      return {
        type: 'Organization',
        identifier: { system: IDENTIFIER_SYSTEM.kommunkod, value: party.code },
        display: municipalityName ?? municipalityLabel(party.code, `Kommun ${party.code}`),
      };
    case 'municipal-nurse':
      return {
        type: 'Organization',
        identifier: { system: IDENTIFIER_SYSTEM.kommunkod, value: party.municipality },
        display: municipalNurseLabel(party.municipality, municipalityName),
      };
    case 'primary-care':
      return { type: 'Organization', identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: party.hsaId } };
    case 'hospital':
      return { type: 'Organization', identifier: { system: IDENTIFIER_SYSTEM.hsaId, value: party.hsaId } };
  }
}

/** The resolver's answer, or the logical reference when it has none. */
export function resolveParty(party: Party, resolver?: PartyResolver): Reference<Organization> {
  return resolver?.(party) ?? partyLogicalReference(party);
}

/**
 * An engine text with each phrase that stands for a party (`named`) replaced by the party's name (every text a person
 * reads names organisations, not references); without a name (an organisation the gateway does not know) the phrase
 * stays.
 */
export function withPartyNames(text: string, named: readonly PartyPhrase[], resolver?: PartyResolver): string {
  return named.reduce((out, { phrase, party }) => {
    const name = resolveParty(party, resolver).display;
    return name ? out.replace(phrase, () => name) : out;
  }, text);
}

/** The parties the evaluation's rejected facts' reasons stand for (to look up with the Tasks' parties). */
export const rejectionParties = (evaluation: StayEvaluation): Party[] =>
  evaluation.rejected.flatMap((r) => (r.named ?? []).map((n) => n.party));

/** The evaluation with the parties its rejected facts' reasons stand for named (`withPartyNames`). */
export function withRejectionNames(evaluation: StayEvaluation, resolver: PartyResolver): StayEvaluation {
  if (!evaluation.rejected.some((r) => r.named)) return evaluation;
  const rejected = evaluation.rejected.map(({ factId, reason, named }) => ({
    factId,
    reason: named ? withPartyNames(reason, named, resolver) : reason,
  }));
  return { ...evaluation, rejected };
}

/** Task.identifier value: `<stayId>|<key>`. */
export function taskKeyValue(stayId: string, key: string): string {
  return `${stayId}|${key}`;
}

/** A logical reference to another Task of the same stay, by its task key. */
export function taskLogicalReference(stayId: string, key: string): Reference<Task> {
  return { type: 'Task', identifier: { system: IDENTIFIER_SYSTEM.taskKey, value: taskKeyValue(stayId, key) } };
}

/** Is this reference (literal or logical) the given party? Useful when reconciling stored Tasks. */
export function referencesParty(ref: Reference | undefined, party: Party): boolean {
  const id = partyLogicalReference(party).identifier;
  return ref?.identifier?.system === id?.system && ref?.identifier?.value === id?.value;
}
