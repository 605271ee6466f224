/** An OAuth 2.0 error answer of the token endpoint (RFC 6749 §5.2): JSON `{error, error_description}`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    /** The client tried HTTP Basic: a 401 must then carry `WWW-Authenticate: Basic`. */
    readonly usedBasic = false,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
  get status(): number {
    return this.error === 'invalid_client' ? 401 : 400;
  }
}
