import type { RequestHandler } from 'express';
import { operationOutcome } from '../http/errors';
import type { AuthContext } from './auth-context';
import { InvalidToken, type AuthService } from './token.service';

function refuse(res: Parameters<RequestHandler>[1], error: string | undefined, description: string): void {
  const challenge = error
    ? `Bearer realm="svu-gateway", error="${error}", error_description="${description.replace(/"/g, "'")}"`
    : 'Bearer realm="svu-gateway"';
  res.setHeader('WWW-Authenticate', challenge);
  res
    .status(401)
    .type('application/fhir+json')
    .send(JSON.stringify(operationOutcome('login', description)));
}

/**
 * Requires `Authorization: Bearer <token>` issued by this gateway; sets `res.locals.auth: AuthContext`.
 * `except` lets one request through unauthenticated (`GET /fhir/metadata`).
 */
export function bearerAuth(
  auth: AuthService,
  opts: {
    except?: (method: string, path: string) => boolean;
    /** Also accept the token from this cookie (browser pages such as Bull Board under /admin). */
    cookie?: string;
  } = {},
): RequestHandler {
  return async (req, res, next) => {
    if (opts.except?.(req.method, req.path)) {
      next();
      return;
    }
    let header = req.get('authorization');
    if (!header && opts.cookie) {
      const c = cookieValue(req.get('cookie'), opts.cookie);
      if (c) header = `Bearer ${c}`;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m?.[1]) {
      refuse(
        res,
        header ? 'invalid_request' : undefined,
        'An access token is required: Authorization: Bearer <token> from POST /auth/token',
      );
      return;
    }
    try {
      const ctx: AuthContext = await auth.verifyAccessToken(m[1]);
      res.locals.auth = ctx;
      next();
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      refuse(res, 'invalid_token', err.message);
    }
  };
}

/** After `bearerAuth`: only clients with admin rights pass (403 OperationOutcome otherwise). */
export const requireAdmin: RequestHandler = (_req, res, next) => {
  const ctx = res.locals.auth as AuthContext | undefined;
  if (ctx?.admin) {
    next();
    return;
  }
  res
    .status(403)
    .type('application/fhir+json')
    .send(JSON.stringify(operationOutcome('forbidden', 'Admin rights are required for /admin')));
};

/** The value of cookie `name` in a `Cookie` header, decoded. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}
