import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { ERROR_CODES, GatewayError, isGatewayError, type ErrorCode } from '../platform/errors';
import { isStalePlan } from '../store/db.port';
import type { WriteNote } from '../platform/write-notes';

type IssueCode = OperationOutcomeIssue['code'];

/** FHIR `issue.code` for each gateway error code (status comes from `ERROR_CODES`). */
export const ISSUE_CODES: Record<ErrorCode, IssueCode> = {
  'bad-request': 'invalid',
  'invalid-personnummer': 'value',
  'unknown-event': 'code-invalid',
  'bad-hl7-structure': 'structure',
  unauthenticated: 'login',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  'method-not-allowed': 'not-supported',
  'not-acceptable': 'not-supported',
  gone: 'deleted',
  conflict: 'conflict',
  'version-conflict': 'conflict',
  'multiple-matches': 'multiple-matches',
  'duplicate-control-id': 'duplicate',
  'too-large': 'too-long',
  'unsupported-media-type': 'not-supported',
  'invalid-resource': 'invalid',
  'unknown-ward': 'business-rule',
  'unknown-organization': 'business-rule',
  'rule-violation': 'business-rule',
  'stale-fact': 'business-rule',
  'rate-limited': 'throttled',
  'agreement-missing': 'exception',
  internal: 'exception',
  unavailable: 'transient',
};

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** `412 Precondition Failed` (for Bundle entry `response.status`). */
export function statusText(status: number): string {
  return `${status}${REASONS[status] ? ` ${REASONS[status]}` : ''}`;
}

/**
 * The OperationOutcome of a gateway error: the message as the first issue, then one issue per detail. A detail that
 * only repeats the message (one problem, with where it is) lends its place to the first issue instead of repeating.
 */
export function toOperationOutcome(err: GatewayError): OperationOutcome {
  const code = ISSUE_CODES[err.code];
  const severity = err.status >= 500 ? 'fatal' : 'error';
  const first: OperationOutcomeIssue = { severity, code, diagnostics: err.message, details: { text: err.code } };
  const issue: OperationOutcomeIssue[] = [first];
  for (const i of err.issues) {
    if (i.message === err.message && !first.expression) {
      if (i.path) first.expression = [i.path];
      continue;
    }
    issue.push({ severity: 'error', code, diagnostics: i.message, ...(i.path ? { expression: [i.path] } : {}) });
  }
  return { resourceType: 'OperationOutcome', issue };
}

/** A simple OperationOutcome (informational answers, e.g. `Prefer: return=OperationOutcome`). */
export function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: IssueCode,
  diagnostics: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

/** Any thrown value → a GatewayError (body-parser errors get their proper status; the rest is internal). */
export function asGatewayError(e: unknown): GatewayError {
  if (isGatewayError(e)) return e;
  const typed = e as { type?: string; status?: number; message?: string; limit?: number } | null;
  if (typed?.type === 'entity.too.large')
    return new GatewayError('too-large', `The request body exceeds the limit of ${typed.limit ?? '?'} bytes`);
  if (typed?.type === 'entity.parse.failed')
    return new GatewayError('bad-request', `The body is not valid JSON: ${typed.message ?? 'parse error'}`);
  // the router's parameter decoder (a URL that slipped past the URL check) and other client errors it marks
  if (e instanceof URIError || (typed?.status === 400 && typeof typed.type !== 'string'))
    return new GatewayError('bad-request', `The request URL cannot be read: ${typed?.message ?? 'bad encoding'}`);
  if (typed?.type === 'encoding.unsupported' || typed?.type === 'charset.unsupported')
    return new GatewayError('bad-request', typed.message ?? 'Unsupported body encoding');
  // PostgreSQL: a deadlock, serialization failure or duplicate key between concurrent writers → retryable 409;
  // the database unreachable or refusing connections → 503
  const pgCode = (e as { code?: unknown } | null)?.code;
  if (pgCode === '40P01' || pgCode === '40001' || pgCode === '23505')
    return new GatewayError('conflict', 'The request collided with a concurrent change of the same data: retry it');
  // A statement prepared before a migration changed its result columns (ADR 032): renamed, so a retry succeeds.
  if (isStalePlan(e)) return new GatewayError('unavailable', 'The database was upgraded during the request: retry it');
  if (pgCode === 'ECONNREFUSED' || pgCode === '57P01' || pgCode === '57P03' || pgCode === '53300')
    return new GatewayError('unavailable', 'The database is not reachable right now: retry later');
  return new GatewayError('internal', 'The server failed to handle the request; it has been logged');
}

/** Status and OperationOutcome for any error. */
export function errorResponse(e: unknown): { status: number; outcome: OperationOutcome; error: GatewayError } {
  const error = asGatewayError(e);
  return { status: ERROR_CODES[error.code], outcome: toOperationOutcome(error), error };
}

/** A write's notes (ADR 024) as OperationOutcome warnings: `<code>: <text>`. */
export function noteIssues(notes: readonly WriteNote[]): OperationOutcomeIssue[] {
  return notes.map((n) => ({ severity: 'warning', code: 'informational', diagnostics: `${n.code}: ${n.text}` }));
}
