import type { Response } from 'express';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { ERROR_CODES, isGatewayError, type ErrorCode } from '../platform/errors';
import { log } from '../platform/logger';

/**
 * HTTP edge of the error currency: GatewayError codes (src/platform/errors.ts) → status + OperationOutcome.
 * Used by the shell for its own answers (401, 404, 413, 503, the final error handler).
 */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'deleted'
  | 'conflict'
  | 'too-costly'
  | 'processing'
  | 'business-rule'
  | 'throttled'
  | 'exception'
  | 'transient'
  | 'not-supported';

const ISSUE_BY_CODE: Record<ErrorCode, IssueCode> = {
  'bad-request': 'invalid',
  'invalid-personnummer': 'invalid',
  'unknown-event': 'invalid',
  'bad-hl7-structure': 'structure',
  unauthenticated: 'login',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  gone: 'deleted',
  conflict: 'conflict',
  'version-conflict': 'conflict',
  'multiple-matches': 'conflict',
  'too-large': 'too-costly',
  'invalid-resource': 'processing',
  'unknown-ward': 'business-rule',
  'unknown-organization': 'business-rule',
  'rule-violation': 'business-rule',
  'stale-fact': 'business-rule',
  'rate-limited': 'throttled',
  'agreement-missing': 'exception',
  internal: 'exception',
  unavailable: 'transient',
};

export function operationOutcome(
  code: IssueCode,
  diagnostics: string,
  issues: { path?: string; message: string }[] = [],
  severity: 'error' | 'fatal' = 'error',
): OperationOutcome {
  const extra = issues.map((i) => ({
    severity,
    code,
    diagnostics: i.message,
    ...(i.path ? { expression: [i.path] } : {}),
  }));
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }, ...extra] };
}

export function sendOutcome(res: Response, status: number, code: IssueCode, diagnostics: string): void {
  res
    .status(status)
    .type('application/fhir+json')
    .send(JSON.stringify(operationOutcome(code, diagnostics)));
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** Any thrown value → status + OperationOutcome. Unknown errors are logged and answered without details. */
export function toOutcome(err: unknown): { status: number; body: OperationOutcome } {
  if (isGatewayError(err)) {
    return { status: err.status, body: operationOutcome(ISSUE_BY_CODE[err.code], err.message, err.issues) };
  }
  const bp = err as BodyParserError;
  if (bp?.type === 'entity.too.large') {
    return {
      status: 413,
      body: operationOutcome(
        'too-costly',
        `Request body is larger than the limit of ${bp.limit} bytes (MAX_BODY_BYTES)`,
      ),
    };
  }
  if (bp?.type === 'entity.parse.failed') {
    return { status: 400, body: operationOutcome('structure', 'Request body is not valid JSON') };
  }
  if (bp?.type === 'encoding.unsupported' || bp?.type === 'charset.unsupported') {
    return { status: 415, body: operationOutcome('not-supported', 'Unsupported body encoding or charset') };
  }
  // @medplum/core's OperationOutcomeError carries a ready outcome
  const oo = (err as { outcome?: OperationOutcome })?.outcome;
  if (oo?.resourceType === 'OperationOutcome') {
    const status = statusFromOutcome(oo);
    return { status, body: oo };
  }
  if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500) {
    return { status: bp.status, body: operationOutcome('invalid', (err as Error).message ?? 'Bad request') };
  }
  log.error('unhandled error', {
    error: err instanceof Error ? err.message : String(err),
    stack: (err as Error)?.stack,
  });
  return { status: 500, body: operationOutcome('exception', 'Internal error; see the gateway log for the request id') };
}

function statusFromOutcome(oo: OperationOutcome): number {
  const code = oo.issue?.[0]?.code;
  const byIssue: Record<string, number> = {
    'not-found': 404,
    deleted: 410,
    forbidden: 403,
    login: 401,
    conflict: 409,
    'too-costly': 413,
    throttled: 429,
    transient: 503,
    exception: 500,
    processing: 422,
    'business-rule': 422,
  };
  return (code && byIssue[code]) ?? 400;
}

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}
