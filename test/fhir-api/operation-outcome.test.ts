import { describe, expect, it } from 'vitest';
import { errorResponse, ISSUE_CODES, statusText } from '../../src/fhir-api/operation-outcome';
import { ERROR_CODES, GatewayError, type ErrorCode } from '../../src/platform/errors';

describe('OperationOutcome mapping', () => {
  it('when any gateway error code is mapped, then the status comes from the shared table and issue 0 carries the message', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const { status, outcome } = errorResponse(
        new GatewayError(code, `msg ${code}`, [{ path: 'Task.status', message: 'bad' }]),
      );
      expect(status).toBe(ERROR_CODES[code]);
      expect(outcome.issue?.[0]).toMatchObject({ code: ISSUE_CODES[code], diagnostics: `msg ${code}` });
      expect(outcome.issue?.[1]).toMatchObject({ expression: ['Task.status'], diagnostics: 'bad' });
    }
  });

  it('when a body-parser, PostgreSQL or unknown error is mapped, then it gets 413/400, 409/503 or a detail-free 500', () => {
    expect(errorResponse({ type: 'entity.too.large', limit: 10 }).status).toBe(413);
    expect(errorResponse({ type: 'entity.parse.failed', message: 'Unexpected end' }).status).toBe(400);
    expect(errorResponse({ code: '40P01', message: 'deadlock detected' }).status).toBe(409);
    expect(errorResponse({ code: 'ECONNREFUSED' }).status).toBe(503);
    // a statement prepared before a migration changed its columns (ADR 032): renamed, so a retry succeeds
    expect(errorResponse({ code: '0A000', routine: 'RevalidateCachedQuery' }).status).toBe(503);
    expect(errorResponse({ code: '0A000', routine: 'other' }).status).toBe(500);
    const internal = errorResponse(new Error('secret stack detail'));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(internal.outcome)).not.toContain('secret stack detail');
    expect(statusText(412)).toBe('412 Precondition Failed');
  });
});
