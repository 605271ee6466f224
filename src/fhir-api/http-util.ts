import type { Request, Response } from 'express';
import type { Resource } from '@medplum/fhirtypes';
import type { AuthContext, Interaction } from '../auth/auth-context';
import { hasScope } from '../auth/auth-context';
import { blocksValidation, checkShape, DEFAULT_SHAPE_LIMITS, type ShapeLimits } from '../fhir/shape-check';
import { GatewayError } from '../platform/errors';
import type { SearchParams, WriteOptions } from '../store/repository.port';
import { clientKeyed, collectParams } from '../store/search-sql';
import { noteIssues, outcome } from './operation-outcome';
import { writeNotes, type WriteNote } from '../platform/write-notes';
import { SENT_JSON, type SentJson } from '../audit/exposed-patients';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

const INTERACTION_NAMES: Record<Interaction, string> = {
  c: 'create',
  r: 'read',
  u: 'update',
  d: 'delete',
  s: 'search',
};

/** The caller set by the auth middleware; 401 when absent. */
export function authOf(res: Response): AuthContext {
  const auth = (res.locals as { auth?: AuthContext }).auth;
  if (!auth) throw new GatewayError('unauthenticated', 'A bearer token is required (POST /auth/token to obtain one)');
  return auth;
}

/** 403 unless one of the caller's SMART scopes allows `interaction` on `type`. */
export function requireScope(auth: AuthContext, type: string, interaction: Interaction): void {
  if (!hasScope(auth.scopes, type, interaction))
    throw new GatewayError(
      'forbidden',
      `Your token has no scope for ${INTERACTION_NAMES[interaction]} on ${type}: ask for system/${type}.${interaction} (or a wider scope)`,
    );
}

/** The options of a client's write: who wrote it, and what its token lets it create (an update that creates too). */
export function writeOptions(auth: AuthContext): WriteOptions {
  return {
    author: auth.clientId,
    ...(auth.access.organization ? { authorOrganization: auth.access.organization } : {}),
    mayCreate: (type) => hasScope(auth.scopes, type, 'c'),
  };
}

/** Query parameters from the raw URL, repeated names as arrays (no `qs` nesting). */
export function queryParams(req: Request): SearchParams {
  const q = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  return toParams(new URLSearchParams(q));
}

export function toParams(usp: URLSearchParams, into: Record<string, string[]> = clientKeyed()): SearchParams {
  const out: SearchParams = clientKeyed();
  for (const [k, v] of Object.entries(collectParams(usp, into))) out[k] = v.length === 1 ? v[0] : v;
  return out;
}

export function rawQuery(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
}

/** The JSON body as a resource of `expectedType` (400/415 otherwise). */
export function bodyResource(
  req: Request,
  expectedType?: string,
  limits: ShapeLimits = DEFAULT_SHAPE_LIMITS,
): Resource {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    const ct = req.headers['content-type'];
    if (ct && !/json/i.test(ct))
      throw new GatewayError(
        'unsupported-media-type',
        `Content-Type '${ct}' is not supported: this server reads FHIR JSON only (application/fhir+json)`,
      );
    throw new GatewayError(
      'bad-request',
      'The request needs a JSON resource body (Content-Type: application/fhir+json)',
    );
  }
  const rt = (body as { resourceType?: unknown }).resourceType;
  if (typeof rt !== 'string') throw new GatewayError('bad-request', 'The body has no resourceType');
  if (expectedType && rt !== expectedType)
    throw new GatewayError('bad-request', `The body is a ${rt} but the URL names ${expectedType}`);
  // Before anything reads the body: wrong JSON types (422) and oversized values (413), naming the path
  // (unknown properties alone are left to the validator, which reports them with the other issues).
  const shape = checkShape(body, limits);
  const first = shape[0];
  if (first && blocksValidation(shape)) {
    const limit = shape.some((s) => s.kind === 'limit');
    throw new GatewayError(
      limit ? 'too-large' : 'invalid-resource',
      `${rt} is not valid: ${first.path}: ${first.message}${shape.length > 1 ? ` (and ${shape.length - 1} more)` : ''}`,
      shape.map((s) => ({ path: s.path, message: s.message })),
    );
  }
  return body as Resource;
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

export function preferReturn(req: Request): PreferReturn {
  const m = /return=(minimal|representation|OperationOutcome)/i.exec(String(req.headers.prefer ?? ''));
  const v = m?.[1]?.toLowerCase();
  if (v === 'minimal') return 'minimal';
  if (v === 'operationoutcome') return 'OperationOutcome';
  return 'representation';
}

/** `Prefer: handling=lenient`: the client asks that unknown search parameters be ignored (and said so) rather than refused. */
export function preferLenient(req: Request): boolean {
  return /handling\s*=\s*lenient/i.test(String(req.headers.prefer ?? ''));
}

export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', FHIR_JSON);
  const text = JSON.stringify(body);
  // The audit names the exposed patients from the value instead of parsing the text back (src/audit).
  const sent: SentJson = { text, value: body };
  res.locals[SENT_JSON] = sent;
  res.send(text);
}

/** Headers of one resource version (ETag, Last-Modified, and Location when asked). */
export function versionHeaders(res: Response, resource: Resource, baseUrl: string, location: boolean): void {
  const v = resource.meta?.versionId;
  if (v) res.setHeader('ETag', `W/"${v}"`);
  if (resource.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  if (location)
    res.setHeader('Location', `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}/_history/${v ?? ''}`);
}

/**
 * A `Warning: 199 svu-gateway "<code>"` header per note the request's writes left (ADR 024); the bounded code only,
 * as header values must be ASCII (the text goes in an OperationOutcome where the answer has one). Returns the notes.
 */
export function sendWriteNoteHeaders(res: Response): readonly WriteNote[] {
  const notes = writeNotes();
  for (const n of notes) res.append('Warning', `199 svu-gateway "${n.code.replace(/[^\w.-]/g, '')}"`);
  return notes;
}

/** Answers a write the way `Prefer: return=` asks. */
export function sendWritten(req: Request, res: Response, status: number, resource: Resource, baseUrl: string): void {
  versionHeaders(res, resource, baseUrl, status === 201 || req.method !== 'GET');
  const prefer = preferReturn(req);
  // Warnings the write's hooks left (ADR 024): OperationOutcome issues, and a Warning header whatever is returned.
  const notes = sendWriteNoteHeaders(res);
  if (prefer === 'minimal') {
    res.status(status).end();
    return;
  }
  if (prefer === 'OperationOutcome') {
    const what = `${resource.resourceType}/${resource.id ?? ''} version ${resource.meta?.versionId ?? ''}`;
    const oo = outcome('information', 'informational', `${status === 201 ? 'Created' : 'Stored'} ${what}`);
    oo.issue.push(...noteIssues(notes));
    sendJson(res, status, oo);
    return;
  }
  sendJson(res, status, resource);
}

/** Formats a client may name that this server does not answer in (`_format` values and media types). */
const NOT_SPOKEN = /^(xml|ttl|turtle|(application|text)\/(fhir\+)?(xml|turtle))$/i;

/**
 * 406 when the request asks for an answer only in XML or RDF (`_format=xml`, `Accept: application/fhir+xml`): this
 * server answers in FHIR JSON, and a client asking for XML would otherwise get JSON it does not expect. An Accept
 * header that also takes JSON or anything (`*\/*`, a browser's) is answered in JSON as before.
 */
export function assertJsonAnswerAcceptable(req: Request): void {
  const format = req.query._format;
  const formats = (Array.isArray(format) ? format : [format]).filter((f): f is string => typeof f === 'string');
  const asked = formats.find((f) => NOT_SPOKEN.test(f.split(';')[0]?.trim() ?? ''));
  const accept = req.headers.accept;
  const ranges = (accept ?? '')
    .split(',')
    .map((r) => r.split(';')[0]?.trim() ?? '')
    .filter((r) => r !== '');
  const onlyUnspoken = ranges.length > 0 && ranges.every((r) => NOT_SPOKEN.test(r));
  if (asked === undefined && (formats.length > 0 || !onlyUnspoken)) return;
  throw new GatewayError(
    'not-acceptable',
    `This server answers in FHIR JSON only, not ${asked ?? accept}: ask with _format=json or Accept: application/fhir+json`,
  );
}
