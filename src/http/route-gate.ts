import type { Request, RequestHandler, Router } from 'express';

/**
 * Root-mounted routers entered only for the paths they can match. The capabilities mount their routers at the
 * root (`app.use(router)`), so without this every request walks each of them: a `POST /fhir` passed through about
 * 60 routes of the admin console, follow-up, delivery and intake routers, each router ending with a `setImmediate`
 * when nothing in it matched (2026-12-07, docs/performance.md). A gate computes, once, the literal start of every
 * path in a router (up to its first parameter, wildcard or group; `\$` is a literal `$`) and hands a request to the
 * router only when its path starts with one of them, compared without case as the router does. A router with a
 * RegExp path or middleware at its root is left ungated. Routers run no handler for an error coming from outside
 * (they take three arguments), so the gate changes nothing there either.
 */

/** What the gate reads of express's router and its layers (router 2.x). */
interface LayerLike {
  rawPath?: unknown;
  route?: unknown;
  handle: { stack?: LayerLike[] };
}

/** The literal start of a path-to-regexp 8 pattern: up to the first parameter, wildcard, optional group or group. */
export function literalStart(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\') {
      out += path[++i] ?? '';
      continue;
    }
    if (c === ':' || c === '*' || c === '{' || c === '(') break;
    out += c;
  }
  return out;
}

/** The lower-cased literal starts of every path a router's layers match under `base`; undefined when unbounded. */
function prefixesOf(stack: readonly LayerLike[], base: string): string[] | undefined {
  const out: string[] = [];
  for (const layer of stack) {
    const paths = Array.isArray(layer.rawPath) ? (layer.rawPath as unknown[]) : [layer.rawPath];
    for (const p of paths) {
      if (typeof p !== 'string') return undefined;
      const start = base + literalStart(p);
      const inner = !layer.route ? layer.handle.stack : undefined;
      const found = inner ? prefixesOf(inner, start.replace(/\/+$/, '')) : [start];
      if (!found) return undefined;
      for (const f of found) {
        if (f.replace(/\/+$/, '') === '') return undefined;
        out.push(f.toLowerCase());
      }
    }
  }
  return out;
}

/** The request's path in lower case, made once for the gates a request passes in a row (keyed by its URL). */
let lastUrl: string | undefined;
let lastLower = '';
function lowerPath(req: Request): string {
  if (req.url !== lastUrl) {
    lastUrl = req.url;
    lastLower = req.path.toLowerCase();
  }
  return lastLower;
}

/** `router` entered only for requests whose path starts with one of its paths' literal starts (see above). */
export function gatedRouter(router: Router): RequestHandler {
  const prefixes = prefixesOf((router as unknown as LayerLike['handle']).stack ?? [], '');
  if (!prefixes) return router;
  return (req, res, next) => {
    if (prefixes.some((p) => lowerPath(req).startsWith(p))) router(req, res, next);
    else next();
  };
}

/** Gates each router mounted at the root of `app` (`app.use(router)`), in place; returns how many. */
export function gateRootRouters(app: { router: Router }): number {
  let gated = 0;
  for (const layer of (app.router as unknown as { stack: LayerLike[] }).stack) {
    const handle = layer.handle;
    if (layer.route || layer.rawPath !== '/' || !Array.isArray(handle.stack)) continue;
    const gate = gatedRouter(handle as unknown as Router);
    if (gate === (handle as unknown)) continue;
    layer.handle = gate as unknown as LayerLike['handle'];
    gated++;
  }
  return gated;
}
