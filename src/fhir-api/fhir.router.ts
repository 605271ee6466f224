import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { DEFAULT_SHAPE_LIMITS, type ShapeLimits } from '../fhir/shape-check';
import type { Validator } from '../fhir/validator';
import { hasControl, urlGuard } from '../http/url-guard';
import { GatewayError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { Db } from '../store/db.port';
import { createRepository, type PgRepository } from '../store/repository.pg';
import type { RepositoryHooks } from '../store/repository.port';
import { isSupportedType } from '../store/search-params';
import { historyBundle, historySubset, mergeBundleResponse, screenBundle, searchBundle } from './bundles';
import { capabilityStatement } from './capability-statement';
import { historyPaging } from '../store/history-sql';
import { assertPatchable } from './json-patch';
import { requestPatchChange } from './patch';
import { applySubset, subsetAnswer, subsetOf } from '../fhir/subset';
import { assertIncludesReadable, bundleWithinScope, containedWithinScope, includedWithinScope } from './include-scope';
import {
  assertJsonAnswerAcceptable,
  authOf,
  bodyResource,
  preferLenient,
  preferReturn,
  queryParams,
  rawQuery,
  requireScope,
  sendJson,
  sendWritten,
  sendWriteNoteHeaders,
  toParams,
  versionHeaders,
  writeOptions,
} from './http-util';
import { clientKeyed, unknownSearchParameters } from '../store/search-sql';
import { errorResponse } from './operation-outcome';
import { withWriteNotes } from '../platform/write-notes';

export interface FhirRouterDeps {
  db: Db;
  validator: Validator;
  hooks?: RepositoryHooks;
  /** Public FHIR base, e.g. `http://localhost:8080/fhir` (links, Location headers, fullUrls). */
  baseUrl: string;
  logger: Logger;
  maxBodyBytes: number;
  /** Size limits of a body's values (`shape-check.ts`); default DEFAULT_SHAPE_LIMITS. */
  limits?: ShapeLimits;
  /** OAuth token endpoint advertised in the CapabilityStatement (default: `<base without /fhir>/auth/token`). */
  tokenUrl?: string;
}

const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json'];

/**
 * The FHIR R4 REST API (mounted at `/fhir` after the auth middleware, which sets `res.locals.auth`).
 * Operation routes (`$name`) of other capabilities must be mounted before this router: here an unknown
 * operation is a 404 OperationOutcome.
 */
export function createFhirRouter(deps: FhirRouterDeps): express.Router {
  const { baseUrl: rawBase, validator, logger } = deps;
  const baseUrl = rawBase.replace(/\/$/, '');
  const limits = deps.limits ?? DEFAULT_SHAPE_LIMITS;
  const router = express.Router();
  router.use(urlGuard);
  // Warnings the writes' hooks leave (intake's engine warnings) reach the write's answer (sendWritten).
  router.use((_req, _res, next) => withWriteNotes(next));
  router.use(express.json({ limit: deps.maxBodyBytes, type: JSON_TYPES, strict: true }));
  router.use((req, _res, next) => {
    assertJsonAnswerAcceptable(req);
    next();
  });

  const repoFor = (res: Response): PgRepository =>
    createRepository(deps.db, authOf(res).access, deps.hooks) as PgRepository;

  /** The resource type of a path, 404 when the server does not support it (or it is an operation). */
  const typeOf = (req: Request): string => {
    const type = String(req.params.type);
    if (type.startsWith('$'))
      throw new GatewayError('not-found', `Operation ${type} is not supported by this server (see GET /fhir/metadata)`);
    if (!isSupportedType(type))
      throw new GatewayError('not-found', `Resource type '${type}' is not supported (see GET /fhir/metadata)`);
    return type;
  };
  const idOf = (req: Request): string => {
    const id = String(req.params.id);
    if (id.startsWith('$'))
      throw new GatewayError('not-found', `Operation ${id} is not supported on ${String(req.params.type)}`);
    return checkedId(id, 'id');
  };

  router.get('/metadata', (_req, res) =>
    sendJson(res, 200, capabilityStatement(baseUrl, deps.tokenUrl ? { tokenUrl: deps.tokenUrl } : {})),
  );

  router.post('/', async (req, res) => {
    const auth = authOf(res);
    const body = bodyResource(req, 'Bundle', limits) as Bundle;
    if (body.type !== 'batch' && body.type !== 'transaction')
      throw new GatewayError(
        'bad-request',
        `POST /fhir takes a Bundle of type batch or transaction, not '${body.type ?? ''}'`,
      );
    const total = body.entry?.length ?? 0;
    const { toRun, refused, runIndex, patches } = screenBundle(body, auth, validator);
    const out = await repoFor(res).processBundle(toRun, writeOptions(auth), patches);
    const notes = sendWriteNoteHeaders(res);
    const minimal = preferReturn(req) === 'minimal';
    sendJson(res, 200, mergeBundleResponse(auth, out, total, refused, runIndex, baseUrl, minimal, toRun, notes));
  });

  router.get('/', () => {
    throw new GatewayError(
      'bad-request',
      'Searching across all types is not supported: search one type, e.g. GET /fhir/Task?owner=...',
    );
  });

  const search = async (req: Request, res: Response, asked: ReturnType<typeof queryParams>) => {
    const type = typeOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 's');
    // Strict by default (an unknown parameter is a 400); `Prefer: handling=lenient` leaves unknown ones out, and the
    // answer says which (and its self link shows what was searched)
    const ignored = preferLenient(req) ? unknownSearchParameters(type, asked) : [];
    const params = clientKeyed<string | string[]>();
    for (const [k, v] of Object.entries(asked)) if (v !== undefined && !ignored.includes(k)) params[k] = v;
    assertIncludesReadable(auth, type, params);
    const subset = subsetOf(type, params);
    const found = await repoFor(res).search(type as Resource['resourceType'], params);
    const r = subset ? { ...found, resources: found.resources.map((x) => applySubset(x, subset)) } : found;
    const { kept, outcome: left } = includedWithinScope(auth, r.included, r.notes);
    const outcome = withIgnored(left, type, ignored);
    const self = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : v ? [v] : []) self.append(k, x);
    sendJson(
      res,
      200,
      bundleWithinScope(auth, searchBundle(baseUrl, type, self.toString(), { ...r, included: kept }, outcome)),
    );
  };

  router.get('/:type', (req, res) => search(req, res, queryParams(req)));
  // The form is read as text and parsed like the query string (URLSearchParams): every name the client sends,
  // `__proto__` too, reaches the search and is refused there when it is no search parameter.
  const formText = express.text({ type: 'application/x-www-form-urlencoded', limit: deps.maxBodyBytes });
  router.post('/:type/_search', formText, (req, res) => {
    const into = clientKeyed<string[]>();
    toParams(new URLSearchParams(rawQuery(req)), into);
    const form = typeof req.body === 'string' ? new URLSearchParams(req.body) : new URLSearchParams();
    for (const [k, v] of form) {
      if (hasControl(k) || hasControl(v))
        throw new GatewayError('bad-request', `The form parameter '${k.slice(0, 80)}' holds a control character`);
      (into[k] ??= []).push(v);
    }
    return search(req, res, toParams(new URLSearchParams(), into));
  });

  router.get('/:type/_history', async (req, res) => {
    const type = typeOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 's');
    const search = queryParams(req);
    const subset = historySubset(type, search);
    const entries = await repoFor(res).history(type, undefined, search);
    const page = { search, ...historyPaging(search) };
    const bundle = historyBundle(baseUrl, `${type}/_history`, entries, page);
    sendJson(res, 200, subsetAnswer(bundleWithinScope(auth, bundle), subset));
  });

  router.post('/:type', async (req, res) => {
    const type = typeOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'c');
    const resource = bodyResource(req, type, limits);
    validator.validate(resource);
    const repo = repoFor(res);
    const ifNoneExist = req.headers['if-none-exist'];
    if (typeof ifNoneExist === 'string' && ifNoneExist.length > 0) {
      const r = await repo.conditionalCreate(resource, ifNoneExist.replace(/^[A-Za-z]+\?/, ''), writeOptions(auth));
      sendWritten(req, res, r.created ? 201 : 200, r.resource, baseUrl);
      return;
    }
    sendWritten(req, res, 201, await repo.create(resource, writeOptions(auth)), baseUrl);
  });

  router.put('/:type', async (req, res) => {
    const type = typeOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'u');
    const query = rawQuery(req);
    if (!query)
      throw new GatewayError(
        'bad-request',
        `PUT /${type} needs search criteria (conditional update), e.g. ?identifier=system|value, or use PUT /${type}/<id>`,
      );
    const resource = bodyResource(req, type, limits);
    validator.validate(resource);
    const r = await repoFor(res).conditionalUpdate(resource, query, { ...writeOptions(auth), ...ifMatch(req) });
    sendWritten(req, res, r.created ? 201 : 200, r.resource, baseUrl);
  });

  router.delete('/:type', async (req, res) => {
    const type = typeOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'd');
    const query = rawQuery(req);
    if (!query)
      throw new GatewayError(
        'bad-request',
        `DELETE /${type} needs search criteria (conditional delete), or use DELETE /${type}/<id>`,
      );
    const repo = repoFor(res);
    const found = await repo.search(type as Resource['resourceType'], { ...queryParams(req), _count: '2' });
    if (found.resources.length > 1)
      throw new GatewayError('multiple-matches', `More than one ${type} matches '${query}'`);
    const target = found.resources[0];
    if (!target) throw new GatewayError('not-found', `No ${type} matches '${query}'`);
    await repo.delete(type, target.id ?? '', writeOptions(auth));
    res.status(204).end();
  });

  router.get('/:type/:id', async (req, res) => {
    const type = typeOf(req);
    const id = idOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'r');
    const subset = subsetOf(type, queryParams(req));
    const resource = await repoFor(res).read(type as Resource['resourceType'], id);
    versionHeaders(res, resource, baseUrl, false);
    if (notModified(req, res)) return;
    sendJson(res, 200, subsetAnswer(containedWithinScope(auth, resource), subset));
  });

  router.put('/:type/:id', async (req, res) => {
    const type = typeOf(req);
    const id = idOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'u');
    const body = bodyResource(req, type, limits);
    if (body.id !== undefined && body.id !== id)
      throw new GatewayError('bad-request', `The body's id '${body.id}' differs from the id '${id}' in the URL`);
    const resource = { ...body, id };
    validator.validate(resource);
    const r = await repoFor(res).put(resource, { ...writeOptions(auth), ...ifMatch(req) });
    sendWritten(req, res, r.created ? 201 : 200, r.resource, baseUrl);
  });

  router.delete('/:type/:id', async (req, res) => {
    const type = typeOf(req);
    const id = idOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'd');
    await repoFor(res).delete(type, id, { ...writeOptions(auth), ...ifMatch(req) });
    res.status(204).end();
  });

  router.get('/:type/:id/_history', async (req, res) => {
    const type = typeOf(req);
    const id = idOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'r');
    const search = queryParams(req);
    const subset = historySubset(type, search);
    const entries = await repoFor(res).history(type, id, search);
    const page = { search, ...historyPaging(search) };
    const bundle = historyBundle(baseUrl, `${type}/${id}/_history`, entries, page);
    sendJson(res, 200, subsetAnswer(bundleWithinScope(auth, bundle), subset));
  });

  router.get('/:type/:id/_history/:vid', async (req, res) => {
    const type = typeOf(req);
    const id = idOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'r');
    const subset = subsetOf(type, queryParams(req));
    const resource = await repoFor(res).vread(
      type as Resource['resourceType'],
      id,
      checkedId(String(req.params.vid), 'version id'),
    );
    versionHeaders(res, resource, baseUrl, false);
    if (notModified(req, res)) return;
    sendJson(res, 200, subsetAnswer(containedWithinScope(auth, resource), subset));
  });

  router.patch('/:type/:id', async (req, res) => {
    const type = typeOf(req);
    assertPatchable(type);
    const id = idOf(req);
    const auth = authOf(res);
    requireScope(auth, type, 'u');
    const change = requestPatchChange(req.body, req.headers['content-type'], validator);
    const resource = await repoFor(res).patch(type as Resource['resourceType'], id, change, {
      ...writeOptions(auth),
      ...ifMatch(req),
    });
    sendWritten(req, res, 200, resource, baseUrl);
  });

  const unknown: RequestHandler = (req) => {
    const op = req.path.split('/').find((s) => s.startsWith('$'));
    throw new GatewayError(
      'not-found',
      op
        ? `Operation ${op} is not supported by this server`
        : `No FHIR interaction at ${req.method} ${req.baseUrl}${req.path}`,
    );
  };
  router.use(unknown);

  const onError: ErrorRequestHandler = (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, outcome, error } = errorResponse(err);
    // the audit record of a refusal names the refused elements (paths only: never values)
    const refused = error.issues.flatMap((i) => (i.path ? [i.path] : []));
    if (status === 403 && refused.length > 0) res.locals.auditRefused = refused.join(', ');
    if (error.code === 'internal') {
      const e = err instanceof Error ? err : new Error(String(err));
      logger.error('FHIR request failed', { method: req.method, path: req.path, error: e.message, stack: e.stack });
    }
    sendJson(res, status, outcome);
  };
  router.use(onError);
  return router;
}

/** FHIR R4 id syntax (also for version ids): 400 naming the part, before it reaches a query. */
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;
function checkedId(id: string, what: string): string {
  if (!FHIR_ID.test(id))
    throw new GatewayError(
      'bad-request',
      `The ${what} '${id.length > 80 ? `${id.slice(0, 80)}…` : id}' is not a FHIR id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')`,
    );
  return id;
}

function ifMatch(req: Request): { ifMatch?: string } {
  const v = req.headers['if-match'];
  return typeof v === 'string' && v.length > 0 ? { ifMatch: v } : {};
}

/**
 * A conditional read (`If-None-Match: W/"<version>"` or `If-Modified-Since`) of a version the client already has:
 * 304 with the ETag and Last-Modified already set, no body (express's `req.fresh`, weak ETags compared as equal).
 */
function notModified(req: Request, res: Response): boolean {
  if (!req.fresh) return false;
  res.status(304).end();
  return true;
}

/** The answer's outcome with a warning for each search parameter `Prefer: handling=lenient` left out. */
function withIgnored(
  outcome: OperationOutcome | undefined,
  type: string,
  ignored: string[],
): OperationOutcome | undefined {
  if (ignored.length === 0) return outcome;
  return {
    resourceType: 'OperationOutcome',
    issue: [
      ...(outcome?.issue ?? []),
      ...ignored.map((k) => ({
        severity: 'warning' as const,
        code: 'not-supported' as const,
        diagnostics: `Search parameter '${k.slice(0, 80)}' is not supported for ${type}: ignored (Prefer: handling=lenient)`,
      })),
    ],
  };
}
