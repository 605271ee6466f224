/**
 * What one HL7 message produced (contract: nothing held back in silence): the engine's warnings about it, the
 * Encounter version it left, and the Tasks created, changed or cancelled. Stored on the `hl7_message` row and
 * returned by `GET /admin/api/hl7/messages` as `outcome`.
 */
import type { StayEvaluation } from '../../core/engine/types';
import type { TaskPlan } from '../stay/reconcile-tasks';

export interface OutcomeWarning {
  code: string;
  text: string;
  path?: string;
}

export interface MessageOutcome {
  warnings: OutcomeWarning[];
  encounter?: { id: string; version: string };
  tasks: { created: string[]; changed: string[]; cancelled: string[] };
}

export const emptyOutcome = (): MessageOutcome => ({
  warnings: [],
  tasks: { created: [], changed: [], cancelled: [] },
});

/**
 * The engine's answer about the facts of one message: each rejected fact (a ready notice held back until the
 * criteria hold, a fact after death, …) and, once per stay, the engine's warnings (no municipality to notify,
 * consent refused, no estimated discharge date).
 */
export function engineWarnings(evaluation: StayEvaluation, factIds: ReadonlySet<string>): OutcomeWarning[] {
  const out: OutcomeWarning[] = [];
  for (const r of evaluation.rejected) {
    if (factIds.has(r.factId))
      out.push({ code: 'fact-not-applied', text: `${r.factId.split('#')[1] ?? ''}: ${r.reason}` });
  }
  for (const w of evaluation.warnings ?? []) out.push({ code: 'engine-warning', text: w });
  return out;
}

/** The Task ids a plan writes, by what happened to each (`Task/<id>`). */
export function taskChanges(plan: TaskPlan): MessageOutcome['tasks'] {
  const tasks: MessageOutcome['tasks'] = { created: [], changed: [], cancelled: [] };
  for (const w of plan.writes) {
    const ref = `Task/${w.task.id ?? ''}`;
    if (!w.replaces) tasks.created.push(ref);
    else if (w.task.status === 'cancelled' && w.replaces.status !== 'cancelled') tasks.cancelled.push(ref);
    else tasks.changed.push(ref);
  }
  return tasks;
}
