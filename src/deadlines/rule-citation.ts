import type { Task } from '@medplum/fhirtypes';
import type { Agreement } from '../core/agreements/agreement.schema';
import { EXTENSION } from '../fhir/constants';

/**
 * The rule behind a Task's deadline as a person reads it in a reminder note or a deviation: the source document's
 * title and section (`Överenskommelse om samverkan vid utskrivning, Västmanland, avsnitt 5.2.1`), not the gateway's
 * rule id and seed file name. The Task's `deadline-rule` extension keeps the machine form
 * `<agreement>/<rule> (<document> <section>)` (src/fhir/task.ts); a document the agreement does not list under
 * `sources` (the law, `SFS 2017:612`) is named as written. Undefined when the Task has no such extension; the
 * machine form as it is when it cannot be read.
 */
export function citeDeadlineRule(task: Task, agreement: Agreement | undefined): string | undefined {
  const rule = task.extension?.find((e) => e.url === EXTENSION.deadlineRule)?.valueString;
  if (!rule) return undefined;
  const m = /\((.*)\)$/.exec(rule);
  if (!m) return rule;
  const inner = (m[1] ?? '').trim();
  const listed = agreement?.sources.find((s) => inner === s.document || inner.startsWith(`${s.document} `));
  // the law's number has a space (`SFS 2017:612 2 kap. 5 §`); a seed document's name is one word
  const document = listed?.document ?? /^SFS \d{4}:\d+/.exec(inner)?.[0] ?? inner.split(/\s/)[0] ?? '';
  const name = listed?.title ?? document;
  const section = inner.slice(document.length).trim();
  if (!section) return name;
  // a numbered section reads `avsnitt 5.2.1`; a named one (`Steg 3, Kommun`, `2 kap. 5 §`) as written
  return /^\d+(\.\d+)*$/.test(section) ? `${name}, avsnitt ${section}` : `${name}, ${section}`;
}
