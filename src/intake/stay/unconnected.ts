/**
 * Open Tasks whose owner no Organization in the directory stands for (a patient registered in a municipality outside
 * the region, a vårdcentral the region has not connected): the gateway stores them, but no client can ever read
 * them, so the hospital must tell that party another way. Said as a stay warning, so it reaches the ACK's outcome,
 * `/admin/hl7`, the log, the Encounter's engine-issue extension and a FHIR write's OperationOutcome like the
 * engine's own (nothing held back in silence).
 */
import { partyKey, partyLabel } from '../../core/engine/parties';
import type { Party, TaskSpec } from '../../core/engine/types';
import type { PartyResolver } from '../../fhir/references';

/** The start of every such warning (`warningCode` maps it to `recipient-not-connected`). */
export const NOT_CONNECTED = 'recipient not connected';

/** One warning per requested-but-unreachable owner, naming what it would have received. */
export function unconnectedOwners(specs: readonly TaskSpec[], party: PartyResolver): string[] {
  const byOwner = new Map<string, { owner: Party; codes: Set<string> }>();
  for (const spec of specs) {
    if (spec.status !== 'requested' || spec.owner.kind === 'hospital') continue;
    if (party(spec.owner)?.reference) continue;
    const key = partyKey(spec.owner);
    const entry = byOwner.get(key) ?? { owner: spec.owner, codes: new Set<string>() };
    entry.codes.add(spec.code);
    byOwner.set(key, entry);
  }
  return [...byOwner.values()].map(
    (e) =>
      `${NOT_CONNECTED}: ${partyLabel(e.owner)} is not in the gateway's directory, so nobody can receive its ${[...e.codes].join(', ')}; tell it another way`,
  );
}

const WARNING = new RegExp(
  `^${NOT_CONNECTED}: (.+) is not in the gateway's directory, so nobody can receive its (.+); tell`,
);

/**
 * The party and the Task codes of a warning `unconnectedOwners` wrote (read back from an Encounter's engine-issue
 * extension, which keeps only the text), or undefined for another text.
 */
export function readUnconnected(text: string): { party: string; codes: string[] } | undefined {
  const m = WARNING.exec(text);
  return m ? { party: m[1] ?? '', codes: (m[2] ?? '').split(', ') } : undefined;
}
