import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext } from '../../src/auth/auth-context';
import { mountDeadlineRoutes } from '../../src/deadlines/deadlines.routes';
import { ManualClock } from '../../src/platform/clock';
import { isGatewayError } from '../../src/platform/errors';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import { openTestDb } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { createOrgs, createTask, HOUR, startService, systemRepo, waitFor, type Harness } from './harness';

const ADMIN: AuthContext = { clientId: 'admin', scopes: ['system/*.*'], access: { system: true }, admin: true };

describe('deadline views', () => {
  let db: ClosableDb;
  let clock: ManualClock;
  let h: Harness;
  let orgs: Awaited<ReturnType<typeof createOrgs>>;
  let app: express.Express;
  let who: AuthContext | undefined = ADMIN;

  beforeAll(async () => {
    db = await openTestDb('pglite');
    clock = new ManualClock('2026-12-21T10:00:00Z'); // the week before Christmas
    const repo = systemRepo(db, clock);
    orgs = await createOrgs(repo);
    h = await startService(db, clock, testRedisUrl(), uniquePrefix());
    const deadlines = [2, 20, 30, 24 * 4 + 2, 24 * 5]; // hours from now: 12-21 12:00 … 12-26 10:00
    for (const hours of deadlines) {
      const t = await createTask(repo, {
        owner: orgs.municipality,
        requester: orgs.hospital,
        authoredOn: clock.now(),
        deadline: new Date(clock.now().getTime() + hours * HOUR),
        code: hours === 30 ? 'kallelse-sip' : 'inskrivningsmeddelande',
      });
      await h.service.syncTask(t.id!);
    }
    const other = await createTask(repo, {
      owner: orgs.hospital,
      requester: orgs.municipality,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + HOUR),
    });
    await h.service.syncTask(other.id!);
    app = express();
    app.use((_req, res, next) => {
      res.locals.auth = who;
      next();
    });
    mountDeadlineRoutes(app, { db, clock, repo: (d, scope) => createRepository(d, scope, undefined, { clock }) });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(isGatewayError(err) ? err.status : 500).json({ error: (err as Error).message });
    });
  });
  afterAll(async () => {
    await h.close();
    await db.close();
  });

  it('when an admin asks for the due-soon list of an organisation, then it lists its open Tasks due within the window', async () => {
    who = ADMIN;
    const r = await request(app)
      .get('/admin/api/deadlines/due-soon')
      .query({ organization: orgs.municipality, within: 'PT24H' });
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: { deadline: string }) => i.deadline)).toEqual([
      '2026-12-21T12:00:00.000Z',
      '2026-12-22T06:00:00.000Z',
    ]);
    expect(r.body.items.every((i: { owner: string }) => i.owner === orgs.municipality)).toBe(true);
    // what a person reads names the organisation
    expect(r.body.name).toBe('Hemtjänst Västerås');
    expect(r.body.items.map((i: { ownerName: string }) => i.ownerName)).toEqual([
      'Hemtjänst Västerås',
      'Hemtjänst Västerås',
    ]);
  });

  it('when an admin asks for the due-soon list without an organisation, then one read gives the region’s, per organisation by name', async () => {
    who = ADMIN;
    const r = await request(app).get('/admin/api/deadlines/due-soon').query({ within: 'PT24H' });
    expect(r.status).toBe(200);
    const groups = r.body.organisations as { organization: string; name: string; items: { deadline: string }[] }[];
    expect(groups.map((g) => [g.organization, g.name, g.items.map((i) => i.deadline)])).toEqual([
      [orgs.municipality, 'Hemtjänst Västerås', ['2026-12-21T12:00:00.000Z', '2026-12-22T06:00:00.000Z']],
      [orgs.hospital, 'Västmanlands sjukhus', ['2026-12-21T11:00:00.000Z']],
    ]);
    expect(r.body.total).toBe(3);
    expect(r.body.truncated).toBe(false);
    expect((await request(app).get('/admin/api/deadlines/due-soon').query({ within: 'soon' })).status).toBe(400);
  });

  it("when an organisation's own client asks for its due-soon list, then it gets it, and another organisation's is forbidden", async () => {
    who = {
      clientId: 'kommun',
      scopes: ['system/Task.rs'],
      access: { organization: orgs.municipality, role: 'municipality' },
      admin: false,
    };
    const own = await request(app).get('/admin/api/deadlines/due-soon').query({ organization: orgs.municipality });
    expect(own.status).toBe(200);
    const other = await request(app).get('/admin/api/deadlines/due-soon').query({ organization: orgs.hospital });
    expect(other.status).toBe(403);
    // the region's list (no organisation named) is the admin's only: no other tenant's deadline reaches a client
    const region = await request(app).get('/admin/api/deadlines/due-soon').query({ within: 'P30D' });
    expect(region.status).toBe(403);
    expect(JSON.stringify(region.body)).not.toContain(orgs.hospital);
    const deviations = await request(app).get('/admin/api/deviations').query({ month: '2026-12' });
    expect(deviations.status).toBe(403);
    who = undefined;
    expect((await request(app).get('/admin/api/deviations').query({ month: '2026-12' })).status).toBe(401);
    who = ADMIN;
  });

  it("when a municipality's client asks Task/$due-soon, then it gets a Bundle of its own Tasks due within the window", async () => {
    who = {
      clientId: 'kommun',
      scopes: ['system/Task.rs'],
      access: { organization: orgs.municipality, role: 'municipality', clientId: 'kommun' },
      admin: false,
    };
    const r = await request(app).get('/fhir/Task/$due-soon').query({ within: 'PT36H' });
    expect(r.status).toBe(200);
    expect(r.body.resourceType).toBe('Bundle');
    expect(
      r.body.entry.map(
        (e: { resource: { restriction: { period: { end: string } } } }) => e.resource.restriction.period.end,
      ),
    ).toEqual(['2026-12-21T12:00:00.000Z', '2026-12-22T06:00:00.000Z', '2026-12-22T16:00:00.000Z']);
    who = { ...who, scopes: ['system/Patient.rs'] };
    expect((await request(app).get('/fhir/Task/$due-soon')).status).toBe(403);
    who = ADMIN;
  });

  it('when asked what falls due over the next major holiday, then the Christmas deadlines are listed', async () => {
    const r = await request(app).get('/admin/api/deadlines/holidays').query({ from: '2026-12-21' });
    expect(r.status).toBe(200);
    expect(r.body.period.start).toBe('2026-12-24');
    expect(r.body.items.map((i: { deadline: string }) => i.deadline)).toEqual([
      '2026-12-25T12:00:00.000Z',
      '2026-12-26T10:00:00.000Z',
    ]);
    expect(r.body.byOwner[orgs.municipality]).toBe(2);
  });

  it('when deadlines are missed, then the deviations are counted per party, kind of obligation and month', async () => {
    clock.set('2027-01-10T12:00:00Z'); // every ladder has run to its end
    await waitFor(
      async () =>
        Number(
          (
            await db.query<{ n: string }>(
              `SELECT count(*) AS n FROM deadline_step WHERE kind = 'deviation' AND fired_at IS NOT NULL`,
            )
          ).rows[0]!.n,
        ) === 6,
      8000,
      'six deviations',
    );
    // Fired in January (the clock jumped), they occurred when their steps were due: 72 h after December's deadlines.
    const r = await request(app).get('/admin/api/deviations').query({ month: '2026-12' });
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(6);
    const mun = r.body.parties.find((p: { party: string }) => p.party === orgs.municipality);
    expect(mun.byCode).toEqual({ inskrivningsmeddelande: 4, 'kallelse-sip': 1 });
    expect(mun.name).toBe('Hemtjänst Västerås');
    expect(r.body.parties.find((p: { party: string }) => p.party === orgs.hospital).total).toBe(1);
    expect((await request(app).get('/admin/api/deviations').query({ month: '2027-01' })).body.total).toBe(0);
    expect((await request(app).get('/admin/api/deviations').query({ month: '2027-13' })).status).toBe(400);
  });
  it('when a Task in the window says its duty is met (an acknowledged SIP invitation stays received), then it is not listed', async () => {
    who = ADMIN;
    const repo = systemRepo(db, clock);
    const t = await createTask(repo, {
      owner: orgs.municipality,
      requester: orgs.hospital,
      authoredOn: clock.now(),
      deadline: new Date(clock.now().getTime() + 3 * HOUR),
      code: 'kallelse-sip',
    });
    await h.service.syncTask(t.id!);
    const listed = async () =>
      (
        await request(app)
          .get('/admin/api/deadlines/due-soon')
          .query({ organization: orgs.municipality, within: 'PT24H' })
      ).body.items.map((i: { task: string }) => i.task) as string[];
    expect(await listed()).toContain(`Task/${t.id}`);
    const acknowledged = await repo.update({
      ...t,
      status: 'received',
      executionPeriod: { end: clock.now().toISOString() },
    });
    await h.service.syncTask(acknowledged.id!);
    expect(await listed()).not.toContain(`Task/${t.id}`);
  });
});
