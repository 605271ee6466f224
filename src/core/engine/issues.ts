import type { StayFact } from '../stay/facts';
import type { StayEvaluation } from './types';

/** One engine warning or rejected fact, in a form fit for a log line and a metric label (no personal data). */
export interface EngineIssue {
  /** Bounded: a known warning code, `other-warning`, or `fact-rejected`. */
  code: string;
  /** The rejected fact's kind (rejected facts only). */
  factKind?: string;
}

const WARNING_CODES: readonly (readonly [RegExp, string])[] = [
  [/^consent refused/, 'consent-refused'],
  [/^no municipality of registration/, 'no-municipality'],
  [/^no listed primary-care unit/, 'no-primary-care'],
  [/^no unit to appoint a named care contact/, 'no-fvk-unit'],
  [/^no estimated discharge date/, 'no-estimated-discharge'],
  [/^admission cancelled before any admission/, 'cancel-before-admission'],
  [/^no admission known/, 'no-admission'],
  [/^recipient not connected/, 'recipient-not-connected'],
];

export function warningCode(text: string): string {
  return WARNING_CODES.find(([re]) => re.test(text))?.[1] ?? 'other-warning';
}

/**
 * The issues an apply must report: every current warning of the stay, and each rejected fact among the facts
 * this apply brought (`newFacts`), so a rejection is reported once, by the message that carried it.
 */
export function engineIssues(
  evaluation: StayEvaluation,
  newFacts: readonly Pick<StayFact, 'id' | 'kind'>[],
): EngineIssue[] {
  const kinds = new Map(newFacts.map((f) => [f.id, f.kind]));
  const out: EngineIssue[] = (evaluation.warnings ?? []).map((w) => ({ code: warningCode(w) }));
  for (const r of evaluation.rejected) {
    const factKind = kinds.get(r.factId);
    if (factKind !== undefined) out.push({ code: 'fact-rejected', factKind });
  }
  return out;
}
