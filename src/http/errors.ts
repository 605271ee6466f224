import type { Response } from 'express';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isGatewayError } from '../platform/errors';
import { log, type Logger } from '../platform/logger';
import { errorResponse } from '../fhir-api/operation-outcome';

/**
 * HTTP edge of the error currency. The code → status/OperationOutcome table lives in
 * src/fhir-api/operation-outcome.ts (shared with the FHIR router); this file adds the shell's own answers.
 */
export type IssueCode = OperationOutcomeIssue['code'];

export function operationOutcome(
  code: IssueCode,
  diagnostics: string,
  issues: { path?: string; message: string }[] = [],
): OperationOutcome {
  const extra = issues.map((i) => ({
    severity: 'error' as const,
    code,
    diagnostics: i.message,
    ...(i.path ? { expression: [i.path] } : {}),
  }));
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }, ...extra] };
}

export function sendOutcome(res: Response, status: number, code: IssueCode, diagnostics: string): void {
  res
    .status(status)
    .type('application/fhir+json')
    .send(JSON.stringify(operationOutcome(code, diagnostics)));
}

const STATUS_BY_ISSUE: Partial<Record<IssueCode, number>> = {
  'not-found': 404,
  deleted: 410,
  forbidden: 403,
  login: 401,
  conflict: 409,
  'too-long': 413,
  'too-costly': 413,
  throttled: 429,
  transient: 503,
  exception: 500,
  processing: 422,
  'business-rule': 422,
};

/** Any thrown value → status + OperationOutcome. Unexpected errors are logged and answered without details. */
export function toOutcome(err: unknown, logger: Logger = log): { status: number; body: OperationOutcome } {
  // @medplum/core's OperationOutcomeError carries a ready outcome
  const oo = (err as { outcome?: OperationOutcome } | null)?.outcome;
  if (!isGatewayError(err) && oo?.resourceType === 'OperationOutcome') {
    const code = oo.issue?.[0]?.code;
    return { status: (code && STATUS_BY_ISSUE[code]) ?? 400, body: oo };
  }
  const { status, outcome, error } = errorResponse(err);
  if (error.code === 'internal' && !isGatewayError(err)) {
    const e = err instanceof Error ? err : new Error(String(err));
    logger.error('unhandled error', { error: e.message, stack: e.stack });
  }
  return { status, body: outcome };
}
