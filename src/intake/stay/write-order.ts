import { RULED_TASK_CODES, type RuledTaskCode } from '../../core/agreements/agreement.schema';
import { isDutyKey } from '../../core/engine/duties';
import type { SvuTaskCode, TaskSpec } from '../../core/engine/types';

/**
 * A code's place in the process (domain.md steps 1–11, the order the agreements list their rules in), for Tasks that
 * arose at the same moment: e.g. at a discharge the information transfer, then the discharge notice, then the request
 * to close the case.
 */
const rank = (code: SvuTaskCode): number => {
  const i = RULED_TASK_CODES.indexOf(code as RuledTaskCode);
  return i < 0 ? RULED_TASK_CODES.length : i;
};

/**
 * The specs in the order the facts behind them happened. A stay's Task writes are made in this order, and their
 * outbox rows, event numbers and notifications follow it, so a receiver gets an admission notice before the estimate
 * change that came in the same burst (peers.md bar 3: per stay and receiver, in the order the facts happened).
 *
 * Each spec stands at the moment it arose (`authoredOn`); a withdrawn one at its makulering's moment, just before it.
 * At the same moment: the process order of the codes, a hospital's duty (`ansvar:`) before the receiver's Task based
 * on it (so `basedOn` names the duty's id), a makulering right after what it withdraws; then the key, so the order
 * is always the same.
 */
export function inOrderOfEvents(specs: readonly TaskSpec[]): TaskSpec[] {
  const byKey = new Map(specs.map((s) => [s.key, s]));
  const withdrawnAt = new Map<string, number>();
  for (const s of specs)
    if (s.code === 'makulering' && s.focusKey) withdrawnAt.set(s.focusKey, Date.parse(s.authoredOn));
  const at = (s: TaskSpec): number => withdrawnAt.get(s.key) ?? Date.parse(s.authoredOn);
  // A makulering ranks right after the Task it withdraws.
  const place = (s: TaskSpec): number => {
    if (s.code !== 'makulering') return rank(s.code);
    const focus = s.focusKey === undefined ? undefined : byKey.get(s.focusKey);
    return (focus ? rank(focus.code) : RULED_TASK_CODES.length) + 0.5;
  };
  const isDuty = (s: TaskSpec): number => (isDutyKey(s.key) ? 0 : 1);
  // Each spec's sort keys made once, not in every comparison: parsing `authoredOn` in the comparator was ≈ 1.3 % of
  // the gateway's CPU in the ingest bench (2026-12-07).
  const keyed = specs.map((s) => ({ s, at: at(s), place: place(s), duty: isDuty(s) }));
  keyed.sort(
    (a, b) =>
      a.at - b.at || a.place - b.place || a.duty - b.duty || (a.s.key < b.s.key ? -1 : a.s.key > b.s.key ? 1 : 0),
  );
  return keyed.map((k) => k.s);
}
