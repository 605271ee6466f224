/** OperationOutcome from the gateway's errors (the HTTP edge maps status codes; this maps content). */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { ErrorCode, ErrorIssue } from '../platform/errors';

type IssueType = OperationOutcomeIssue['code'];

/** FHIR issue type per gateway error code. */
export const ISSUE_TYPE: Record<ErrorCode, IssueType> = {
  'bad-request': 'invalid',
  'invalid-personnummer': 'value',
  'unknown-event': 'code-invalid',
  'bad-hl7-structure': 'structure',
  unauthenticated: 'login',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  gone: 'deleted',
  conflict: 'conflict',
  'version-conflict': 'conflict',
  'multiple-matches': 'multiple-matches',
  'too-large': 'too-costly',
  'invalid-resource': 'invariant',
  'unknown-ward': 'not-found',
  'unknown-organization': 'not-found',
  'rule-violation': 'business-rule',
  'stale-fact': 'business-rule',
  'rate-limited': 'throttled',
  'agreement-missing': 'exception',
  internal: 'exception',
  unavailable: 'transient',
};

export interface OutcomeInput {
  code: ErrorCode;
  message: string;
  issues?: ErrorIssue[];
  severity?: 'fatal' | 'error' | 'warning' | 'information';
}

/**
 * One issue per detailed issue (with its path as `expression`), or a single issue with the message when
 * there are none. `diagnostics` always says what to fix; never a stack trace.
 */
export function buildOperationOutcome(input: OutcomeInput): OperationOutcome {
  const severity = input.severity ?? 'error';
  const type = ISSUE_TYPE[input.code];
  const issues: OperationOutcomeIssue[] =
    input.issues && input.issues.length > 0
      ? input.issues.map((i) => ({
          severity,
          code: type,
          diagnostics: i.message,
          details: { text: input.message },
          ...(i.path ? { expression: [i.path] } : {}),
        }))
      : [{ severity, code: type, diagnostics: input.message }];
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** An informational OperationOutcome (e.g. "all OK" for $validate). */
export function okOutcome(message = 'All OK'): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: message }],
  };
}
