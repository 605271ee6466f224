import type { Express, Response } from 'express';
import type { Bundle, Task } from '@medplum/fhirtypes';
import { hasScope, type AuthContext } from '../auth/auth-context';
import type { AccessScope, FhirRepository } from '../store/repository.port';
import type { Db } from '../store/db.port';
import type { Clock } from '../platform/clock';
import { GatewayError } from '../platform/errors';
import { ORGANIZATION_REFERENCE } from '../fhir/references';
import { addDaysToDate, deadlinesOverHolidays, holidayPeriods, localDate, parseDuration } from '../core/calendar';
import { deviationList } from '../followup/deviations/deviation-list.pg';
import { addOffset, stockholmMidnight } from './ladder';
import { dueBetween, dueSoon, type DueItem } from './deadline-views.pg';
import { organisationNames } from '../store/organisation-names.pg';

export interface DeadlineRoutesOptions {
  db: Db;
  clock: Clock;
  /** A run of at least this many non-working days is a major holiday (the agreement's `holidays.majorHolidayMinDays`). */
  majorHolidayMinDays?(): number;
  /** Repository in the caller's scope, for `GET /fhir/Task/$due-soon` (not mounted without it). */
  repo?: (db: Db, scope: AccessScope) => FhirRepository;
}

function authOf(res: Response): AuthContext {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw new GatewayError('unauthenticated', 'a bearer token is required');
  return auth;
}

export function requireAdmin(res: Response): AuthContext {
  const auth = authOf(res);
  if (!auth.admin) throw new GatewayError('forbidden', 'integration admin rights are required');
  return auth;
}

/**
 * The region's open Tasks due within `within`, read in one query (the console's "all organisations"), per owning
 * organisation, each named (sorted by name; Tasks without an owner the gateway knows last, `organization: null`).
 */
async function regionDueSoon(o: DeadlineRoutesOptions, within: string) {
  const now = o.clock.now();
  const until = addOffset(now, within);
  const [due, names] = await Promise.all([dueSoon(o.db, undefined, now, until, REGION_LIMIT), organisationNames(o.db)]);
  const groups = new Map<string | null, (DueItem & { ownerName?: string })[]>();
  for (const i of due) {
    const list = groups.get(i.owner) ?? [];
    list.push(i.owner ? { ...i, ownerName: names(i.owner) } : i);
    groups.set(i.owner, list);
  }
  const organisations = [...groups]
    .map(([organization, items]) => ({
      organization,
      name: organization ? names(organization) : null,
      total: items.length,
      items,
    }))
    .sort((a, b) => (a.name === null ? 1 : b.name === null ? -1 : a.name.localeCompare(b.name, 'sv')));
  return {
    now: now.toISOString(),
    until: until.toISOString(),
    total: due.length,
    // the list stops at REGION_LIMIT Tasks: the rest fall due later than the last one shown
    truncated: due.length === REGION_LIMIT,
    organisations,
  };
}

function one(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new GatewayError('bad-request', `${name} must be given once`);
  return v;
}

/** The `within` query parameter of the due-soon views: an ISO 8601 duration, PT24H when absent (400 otherwise). */
function withinOf(v: unknown): string {
  const within = one(v, 'within') ?? 'PT24H';
  try {
    parseDuration(within);
  } catch {
    throw new GatewayError('bad-request', `within must be an ISO 8601 duration such as PT24H, not ${within}`);
  }
  return within;
}

/** How many Tasks the region's due-soon list holds at most (its answer says when more fell due). */
const REGION_LIMIT = 5000;

/**
 * Deadline views under `/admin/api`: the due-soon list of one organisation (also open to that organisation's
 * own client) or, for an integration admin, of the whole region in one read, and the deviations per party, kind of
 * obligation and month. Runs after the auth middleware.
 */
export function mountDeadlineRoutes(app: Express, o: DeadlineRoutesOptions): void {
  app.get('/admin/api/deadlines/due-soon', async (req, res) => {
    const auth = authOf(res);
    const organization = one(req.query.organization, 'organization');
    if (organization === undefined) {
      if (!auth.admin)
        throw new GatewayError(
          'forbidden',
          "the region's due-soon list is for integration admins: a client asks for its own organisation's with organization=Organization/<id>",
        );
      res.json(await regionDueSoon(o, withinOf(req.query.within)));
      return;
    }
    if (!ORGANIZATION_REFERENCE.test(organization)) {
      throw new GatewayError('bad-request', 'organization must be Organization/<id>');
    }
    if (!auth.admin && auth.access.organization !== organization) {
      throw new GatewayError('forbidden', 'a client may only see the due-soon list of its own organisation');
    }
    const within = withinOf(req.query.within);
    const now = o.clock.now();
    const until = addOffset(now, within);
    const names = await organisationNames(o.db);
    // what a person reads names the organisation, beside the reference a client follows
    const items = (await dueSoon(o.db, organization, now, until)).map((i) =>
      i.owner ? { ...i, ownerName: names(i.owner) } : i,
    );
    res.json({
      organization,
      name: names(organization),
      now: now.toISOString(),
      until: until.toISOString(),
      total: items.length,
      items,
    });
  });

  // The same list for an organisation's own client (the /admin tree is for integration admins only): a
  // searchset Bundle of its open Tasks due within `within`, read in the caller's scope.
  const scoped = o.repo;
  if (scoped) {
    app.get('/fhir/Task/$due-soon', async (req, res) => {
      const auth = authOf(res);
      if (!hasScope(auth.scopes, 'Task', 's')) throw new GatewayError('forbidden', 'scope system/Task.s is required');
      const owner = auth.admin
        ? (one(req.query.organization, 'organization') ?? auth.access.organization)
        : auth.access.organization;
      if (!owner) throw new GatewayError('bad-request', 'organization=Organization/<id> is required');
      const within = withinOf(req.query.within);
      const now = o.clock.now();
      const items = await dueSoon(o.db, owner, now, addOffset(now, within), 500);
      const ids = items.map((i) => i.task.slice('Task/'.length));
      const found =
        ids.length === 0
          ? []
          : (await scoped(o.db, auth.access).search<Task>('Task', { _id: ids.join(','), _count: '500' })).resources;
      const byId = new Map(found.map((t) => [t.id, t]));
      const bundle: Bundle<Task> = {
        resourceType: 'Bundle',
        type: 'searchset',
        total: found.length,
        entry: ids.flatMap((id) => {
          const t = byId.get(id);
          return t ? [{ fullUrl: `Task/${id}`, resource: t, search: { mode: 'match' as const } }] : [];
        }),
      };
      res.type('application/fhir+json').send(JSON.stringify(bundle));
    });
  }

  // The region's deviations of a month (src/core/indicators/deviations.ts: fired by the ladder or reported by a
  // party, each once, in the local month it occurred), per responsible party, named, and per kind. A party's own
  // list is `GET /fhir/$followup-deviations` (src/followup/deviations/own-deviations.routes.ts).
  app.get('/admin/api/deviations', async (req, res) => {
    requireAdmin(res);
    const month = one(req.query.month, 'month');
    if (!month || !/^\d{4}-(0[1-9]|1[0-2])$/.test(month))
      throw new GatewayError('bad-request', 'month=YYYY-MM is required');
    res.json(await deviationList(o.db, month));
  });

  app.get('/admin/api/deadlines/holidays', async (req, res) => {
    requireAdmin(res);
    const now = o.clock.now();
    const from = one(req.query.from, 'from') ?? localDate(now.getTime());
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from)) throw new GatewayError('bad-request', 'from must be a date YYYY-MM-DD');
    const days = Number(one(req.query.days, 'days') ?? 120);
    if (!Number.isInteger(days) || days < 1 || days > 400) {
      throw new GatewayError('bad-request', 'days must be an integer 1–400');
    }
    const minDays = o.majorHolidayMinDays?.() ?? 3;
    // The next major holiday starting on or after `from` (the report the agreements ask for, 001 §5).
    const next = holidayPeriods(from, addDaysToDate(from, days), minDays).find((p) => p.end >= from);
    if (!next) {
      res.json({ from, days, period: null, total: 0, items: [] });
      return;
    }
    const [y1, m1, d1] = next.start.split('-').map(Number);
    const end = addDaysToDate(next.end, 1);
    const [y2, m2, d2] = end.split('-').map(Number);
    const items = await dueBetween(
      o.db,
      stockholmMidnight(y1 ?? 0, m1 ?? 1, d1 ?? 1),
      stockholmMidnight(y2 ?? 0, m2 ?? 1, d2 ?? 1),
      now,
    );
    const [report] = deadlinesOverHolidays(
      items.map((i) => ({ ...i, key: i.task, due: i.deadline })),
      next.start,
      next.days,
      minDays,
    );
    const due = (report?.due ?? []).map(({ key: _key, due: _due, ...item }) => item);
    const byOwner: Record<string, number> = {};
    for (const i of due) byOwner[i.owner ?? 'unknown'] = (byOwner[i.owner ?? 'unknown'] ?? 0) + 1;
    res.json({ from, days, period: next, total: due.length, byOwner, items: due });
  });
}
