import { Router, type Request, type Response, type NextFunction } from 'express';
import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { AuthContext } from '../auth/auth-context';
import { hasScope } from '../auth/auth-context';
import { GatewayError } from '../platform/errors';
import { readAs, type RepositoryFactory } from '../delivery/resource-access';
import { listEvents } from './events.pg';
import { historyBundle, statusParameters, type NotificationEvent } from './notification';
import { getRegistryEntry } from './registry.pg';
import { parseSubscription, type PayloadContent } from './subscription-model';

export interface SubscriptionRoutesDeps {
  db: Db;
  repos: RepositoryFactory;
  canonicalBase: string;
  fhirBase: string;
}

const MAX_EVENTS = 1000;

/**
 * `GET /fhir/Subscription/:id/$status` and `GET /fhir/Subscription/:id/$events` (Subscriptions Backport IG):
 * a consumer that was down reads its event counter, then fetches what it missed by event number. The caller
 * must be able to read the Subscription (the store's tenant rules), and every event's focus is re-read as the
 * caller, so $events never shows more than a search would.
 */
export function subscriptionRoutes(d: SubscriptionRoutesDeps): Router {
  const r = Router();
  const wrap =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch(next);
    };

  async function load(req: Request, res: Response) {
    const auth = res.locals.auth as AuthContext | undefined;
    if (!auth) throw new GatewayError('unauthenticated', 'A bearer token is required');
    if (!hasScope(auth.scopes, 'Subscription', 'r'))
      throw new GatewayError('forbidden', 'Scope system/Subscription.r is required');
    const id = String(req.params.id);
    const entry = await getRegistryEntry(d.db, id);
    // The caller may read it under the store's rules, or it is the recorded subscriber's tenant.
    const sameTenant = !!entry?.scope?.organization && entry.scope.organization === auth.access.organization;
    const readable = sameTenant || !!(await readAs<Subscription>(d.repos, d.db, auth.access, 'Subscription', id));
    if (!readable || !entry) throw new GatewayError('not-found', `Subscription/${id} is not known`);
    return { auth, entry, spec: parseSubscription(entry.resource, d.canonicalBase) };
  }

  const send = (res: Response, body: Bundle) =>
    res.status(200).type('application/fhir+json').send(JSON.stringify(body));

  r.get(
    '/fhir/Subscription/:id/$status',
    wrap(async (req, res) => {
      const { entry, spec } = await load(req, res);
      const status = statusParameters({
        spec,
        fhirBase: d.fhirBase,
        type: 'query-status',
        status: entry.status,
        eventsSinceStart: entry.eventsSinceStart,
        events: [],
        now: new Date(),
      });
      if (entry.lastError) status.parameter?.push({ name: 'error', valueCodeableConcept: { text: entry.lastError } });
      send(res, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 1,
        entry: [{ fullUrl: `urn:uuid:${status.id}`, resource: status, search: { mode: 'match' } }],
      });
    }),
  );

  r.get(
    '/fhir/Subscription/:id/$events',
    wrap(async (req, res) => {
      const { auth, entry, spec } = await load(req, res);
      const num = (v: unknown, dflt: number): number => {
        if (v === undefined || v === '') return dflt;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0)
          throw new GatewayError('bad-request', `${JSON.stringify(v)} is not an event number`);
        return n;
      };
      const until = num(req.query.eventsUntilNumber, entry.eventsSinceStart);
      const since = num(req.query.eventsSinceNumber, Math.max(1, until - MAX_EVENTS + 1));
      const content = (req.query.content as PayloadContent | undefined) ?? spec.payload;
      if (!['empty', 'id-only', 'full-resource'].includes(content)) {
        throw new GatewayError('bad-request', 'content must be empty, id-only or full-resource');
      }
      const events: NotificationEvent[] = [];
      for (const e of await listEvents(d.db, entry.id, since, until, MAX_EVENTS)) {
        let resource: Resource | undefined;
        if (e.action !== 'delete') {
          const type = e.focusType as Resource['resourceType'];
          const now = await readAs(d.repos, d.db, auth.access, type, e.focusId);
          if (!now) continue; // the caller may not read it (any more)
          // the same scope check as a direct read: without read scope on the focus type, the event is id-only
          if (hasScope(auth.scopes, type, 'r'))
            resource = (await readAs(d.repos, d.db, auth.access, type, e.focusId, e.focusVersion)) ?? now;
        }
        events.push({
          eventNumber: e.eventNumber,
          timestamp: e.committedAt,
          focusType: e.focusType,
          focusId: e.focusId,
          action: e.action,
          resource,
        });
      }
      send(
        res,
        historyBundle({
          spec: { ...spec, payload: content },
          fhirBase: d.fhirBase,
          type: 'query-event',
          status: entry.status,
          eventsSinceStart: entry.eventsSinceStart,
          events,
          now: new Date(),
        }),
      );
    }),
  );
  return r;
}
