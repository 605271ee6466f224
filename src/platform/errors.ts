/**
 * The one error currency inside the gateway. Each edge maps `code` to its own form: HTTP to a status and an
 * OperationOutcome (`src/http/errors.ts`), MLLP to AE/AR with ERR, workers to retry vs UnrecoverableError.
 */
export const ERROR_CODES = {
  // 400
  'bad-request': 400,
  'invalid-personnummer': 400,
  'unknown-event': 400,
  'bad-hl7-structure': 400,
  // 401 / 403
  unauthenticated: 401,
  forbidden: 403,
  // 404 / 405 / 406 / 410
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  gone: 410,
  // 409 / 412
  conflict: 409,
  'version-conflict': 412,
  'multiple-matches': 412,
  'duplicate-control-id': 409,
  // 413 / 415 / 422 / 429
  'too-large': 413,
  'unsupported-media-type': 415,
  'invalid-resource': 422,
  'unknown-ward': 422,
  'unknown-organization': 422,
  'rule-violation': 422,
  'stale-fact': 422,
  'rate-limited': 429,
  // 500 / 503
  'agreement-missing': 500,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorIssue {
  /** FHIRPath-style location, e.g. `Encounter.status` or `PID-3`. */
  path?: string;
  message: string;
}

export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: ErrorIssue[] = [],
  ) {
    super(message);
    this.name = 'GatewayError';
  }
  get status(): number {
    return ERROR_CODES[this.code];
  }
}

/**
 * A write that lost a race: another transaction changed a resource this one writes between its read and its write
 * (the store's compare-and-set), not a client's If-Match. Running the whole work again reads afresh and succeeds
 * unless it keeps losing (see `PgRepository.inTx`).
 */
export class LostRaceError extends GatewayError {
  constructor(message: string) {
    super('version-conflict', message);
    this.name = 'LostRaceError';
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}

/**
 * Runs `attempt` again when it lost a compare-and-set (`version-conflict`: someone wrote the same resource between
 * its read and its write), up to `times` runs in all; each run must read afresh. Any other error, or the last
 * conflict, is thrown.
 */
export async function retryOnVersionConflict<T>(attempt: () => Promise<T>, times = 3): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await attempt();
    } catch (err) {
      if (run >= times || !isGatewayError(err) || err.code !== 'version-conflict') throw err;
    }
  }
}
