/**
 * One definition of a deviation read by its three views: the deviation list (`/admin/api/deviations`), the
 * dashboard's deviations per month and the `deviations` indicator. A deviation is a deviation step of the deadline
 * ladder that fired or a deviation a party reported, each counted once (however many copies), against the party
 * responsible, in the local month it occurred — whatever the stay: here one stay is still in hospital and the other
 * was discharged the month before. A party's own view holds the deviations it has a copy of: its own deviation list
 * (`/fhir/$followup-deviations`, a municipality's or a hospital's client) and its own dashboard count the same.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import type { Encounter, Organization, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import type { AuthContext } from '../../src/auth/auth-context';
import { mountDeadlineRoutes } from '../../src/deadlines/deadlines.routes';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM } from '../../src/fhir/constants';
import { dashboardData } from '../../src/followup/dashboard/dashboard-data.pg';
import { deviationTasks } from '../../src/followup/deviations/deviation-report';
import { ownDeviationRoutes } from '../../src/followup/deviations/own-deviations.routes';
import { indicatorsOfMonth } from '../../src/followup/indicators/indicator-months.pg';
import { loadIndicatorRows } from '../../src/followup/indicators/indicator-rows.pg';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import type { StayFact } from '../../src/core/stay/facts';
import { ManualClock } from '../../src/platform/clock';
import { isGatewayError } from '../../src/platform/errors';
import type { ClosableDb } from '../../src/store/db.port';
import { startService, systemRepo, waitFor, type Harness } from '../deadlines/harness';
import { openTestDb, testDatabases } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';

/** The agreement the dashboard reads under (Västmanland's, with its readiness gate). */
const VASTMANLAND = getAgreement(await loadAgreements(), 'vastmanland');

const ADMIN: AuthContext = { clientId: 'admin', scopes: ['system/*.*'], access: { system: true }, admin: true };
const NOW = '2026-12-05T12:00:00Z';

describe.each(testDatabases())(
  'deviations: one definition for the list, the dashboard and the indicators on %s',
  (kind) => {
    let db: ClosableDb;
    let h: Harness;
    let app: express.Express;
    let who: AuthContext = ADMIN;
    const org: Record<'vasteras' | 'sala' | 'hospital', string> = { vasteras: '', sala: '', hospital: '' };

    beforeAll(async () => {
      db = await openTestDb(kind);
      const clock = new ManualClock('2026-10-01T08:00:00Z');
      const repo = systemRepo(db, clock);
      const named = async (name: string, system: string, value: string) =>
        `Organization/${(await repo.create<Organization>({ resourceType: 'Organization', name, identifier: [{ system, value }] })).id}`;
      org.vasteras = await named('Västerås stad', IDENTIFIER_SYSTEM.kommunkod, '1980');
      org.sala = await named('Sala kommun', IDENTIFIER_SYSTEM.kommunkod, '1981');
      org.hospital = await named('Västmanlands sjukhus', IDENTIFIER_SYSTEM.hsaId, 'SE2321000172-DEV1');
      const stay = async (status: Encounter['status']) =>
        (
          await repo.create<Encounter>({
            resourceType: 'Encounter',
            status,
            class: { code: 'IMP' },
            serviceProvider: { reference: org.hospital },
          })
        ).id ?? '';
      // In hospital since October; discharged in October.
      const inHospital = await stay('in-progress');
      const discharged = await stay('finished');
      const fact = (stayId: string, n: number, f: Record<string, unknown>) =>
        ({ id: `${stayId}#${n}`, stayId, ...f }) as StayFact;
      const patient = { municipality: '1980' };
      await storeAndLoadFactsOfStays(
        db,
        [],
        [
          fact(inHospital, 1, {
            kind: 'admitted',
            at: '2026-10-01T08:00:00Z',
            hospital: 'H',
            care: 'somatic',
            patient,
          }),
          fact(discharged, 1, {
            kind: 'admitted',
            at: '2026-10-01T08:00:00Z',
            hospital: 'H',
            care: 'somatic',
            patient,
          }),
          fact(discharged, 2, { kind: 'discharged', at: '2026-10-20T08:00:00Z' }),
        ],
        'hl7',
      );
      h = await startService(db, clock, testRedisUrl(), uniquePrefix());
      const task = async (stayId: string, owner: string, requester: string, code: string, deadline: string) => {
        const t = await repo.create<Task>({
          resourceType: 'Task',
          status: 'requested',
          intent: 'order',
          code: { coding: [{ system: CODE_SYSTEM.task, code }] },
          encounter: { reference: `Encounter/${stayId}` },
          owner: { reference: owner },
          requester: { reference: requester },
          authoredOn: clock.now().toISOString(),
          restriction: { period: { end: deadline } },
        });
        await h.service.syncTask(t.id ?? '');
      };
      // The ladder's deviation step fires 72 h after the deadline: 5 and 13 November, and 00:30 on 1 December local
      // time (23:30 UTC on 30 November).
      await task(inHospital, org.vasteras, org.hospital, 'inskrivningsmeddelande', '2026-11-02T10:00:00Z');
      await task(discharged, org.hospital, org.sala, 'kallelse-sip', '2026-11-10T10:00:00Z');
      await task(inHospital, org.vasteras, org.hospital, 'inskrivningsmeddelande', '2026-11-27T23:30:00Z');
      // Västerås reports a serious deviation against the hospital on 20 November (one copy per party).
      clock.set('2026-11-20T09:00:00Z');
      const parties = new Set([org.hospital, org.vasteras]);
      for (const t of deviationTasks(
        {
          responsible: org.hospital,
          kind: 'informationsoverforing',
          severity: 'allvarlig',
          description: 'Epikrisen saknades.',
        },
        {
          reportId: 'r-1',
          reporter: org.vasteras,
          encounter: `Encounter/${inHospital}`,
          parties,
          name: (o) => o,
          now: clock.now(),
        },
      ))
        await repo.create<Task>(t, { authorOrganization: t.owner?.reference });
      clock.set(NOW);
      await waitFor(
        async () =>
          Number(
            (
              await db.query<{ n: string }>(
                `SELECT count(*) AS n FROM deadline_step WHERE kind = 'deviation' AND fired_at IS NOT NULL`,
              )
            ).rows[0]?.n,
          ) === 3,
        15_000,
        'three deviation steps fired',
      );
      app = express();
      app.use((_req, res, next) => {
        res.locals.auth = who;
        next();
      });
      mountDeadlineRoutes(app, { db, clock });
      app.use(ownDeviationRoutes({ db }));
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        res.status(isGatewayError(err) ? err.status : 500).json({ error: (err as Error).message });
      });
    }, 60_000);
    afterAll(async () => {
      await h?.close();
      await db?.close();
    });

    it('when the month’s deviations are listed, then the fired steps and the report each count once, parties named', async () => {
      who = ADMIN;
      const nov = (await request(app).get('/admin/api/deviations').query({ month: '2026-11' })).body;
      expect(nov.total).toBe(3);
      expect(nov.bySource).toEqual({ deadline: 2, report: 1 });
      const parties = Object.fromEntries(nov.parties.map((p: { party: string }) => [p.party, p])) as Record<
        string,
        unknown
      >;
      expect(parties[org.hospital]).toEqual({
        party: org.hospital,
        name: 'Västmanlands sjukhus',
        total: 2,
        byCode: { 'kallelse-sip': 1, informationsoverforing: 1 },
      });
      expect(parties[org.vasteras]).toEqual({
        party: org.vasteras,
        name: 'Västerås stad',
        total: 1,
        byCode: { inskrivningsmeddelande: 1 },
      });
      // The step that fired at 00:30 on 1 December, local time, is December's.
      const dec = (await request(app).get('/admin/api/deviations').query({ month: '2026-12' })).body;
      expect(dec.total).toBe(1);
      expect(dec.parties.map((p: { name: string }) => p.name)).toEqual(['Västerås stad']);
      who = {
        clientId: 'kommun',
        scopes: ['system/Task.rs'],
        access: { organization: org.vasteras, role: 'municipality' },
        admin: false,
      };
      expect((await request(app).get('/admin/api/deviations').query({ month: '2026-11' })).status).toBe(403);
      who = ADMIN;
    });

    const party = (organization: string | undefined, role: 'municipality' | 'hospital', scopes = ['system/Task.rs']) =>
      ({
        clientId: `${role}-client`,
        scopes,
        access: { ...(organization ? { organization } : {}), role },
        admin: false,
      }) as AuthContext;
    const own = async (month: string, organization?: string) =>
      request(app)
        .get('/fhir/$followup-deviations')
        .query({ month, ...(organization ? { organization } : {}) });
    /** [kind, responsible party's name] of each deviation in the list. */
    const listed = (body: { deviations: { kind: string; name: string }[] }) =>
      body.deviations.map((d) => [d.kind, d.name]);

    it('when a party reads its own deviation list, then it gets exactly those it holds a copy of, parties named', async () => {
      who = party(org.vasteras, 'municipality');
      const vasteras = await own('2026-11');
      expect(vasteras.status).toBe(200);
      expect(vasteras.body.view).toEqual({ party: org.vasteras, name: 'Västerås stad' });
      expect(listed(vasteras.body)).toEqual([
        ['inskrivningsmeddelande', 'Västerås stad'],
        ['informationsoverforing', 'Västmanlands sjukhus'],
      ]);
      expect(vasteras.body.parties.map((p: { name: string; total: number }) => [p.name, p.total])).toEqual(
        expect.arrayContaining([
          ['Västerås stad', 1],
          ['Västmanlands sjukhus', 1],
        ]),
      );
      expect(JSON.stringify(vasteras.body)).not.toContain('holders');
      expect(listed((await own('2026-12')).body)).toEqual([['inskrivningsmeddelande', 'Västerås stad']]);

      // Sala holds a copy of the missed SIP invitation only: never Västerås's deviations.
      who = party(org.sala, 'municipality');
      const sala = await own('2026-11');
      expect(sala.body.view).toEqual({ party: org.sala, name: 'Sala kommun' });
      expect(listed(sala.body)).toEqual([['kallelse-sip', 'Västmanlands sjukhus']]);
      expect(sala.body.parties.map((p: { party: string }) => p.party)).not.toContain(org.vasteras);
      expect((await own('2026-12')).body.total).toBe(0);

      // The hospital (a party of both stays) holds a copy of each.
      who = party(org.hospital, 'hospital');
      const hospital = await own('2026-11');
      expect(hospital.body.view).toEqual({ party: org.hospital, name: 'Västmanlands sjukhus' });
      expect(listed(hospital.body)).toEqual([
        ['inskrivningsmeddelande', 'Västerås stad'],
        ['kallelse-sip', 'Västmanlands sjukhus'],
        ['informationsoverforing', 'Västmanlands sjukhus'],
      ]);

      // The same as each party's own dashboard counts.
      for (const [o, code] of [
        [org.vasteras, '1980'],
        [org.sala, '1981'],
      ] as const) {
        who = party(o, 'municipality');
        const totals = [(await own('2026-11')).body.total, (await own('2026-12')).body.total];
        expect(totals).toEqual(
          (await dashboardData(db, VASTMANLAND, '2026-12', 2, { municipality: code, owners: [o] })).deviations,
        );
      }
      who = ADMIN;
    });

    it('when a party asks for another party’s list, or has no Task search right or no Organization, then 403; the region sees all', async () => {
      who = party(org.sala, 'municipality');
      const other = await own('2026-11', org.vasteras);
      expect(other.status).toBe(403);
      expect(other.body.error).toBe(
        'Sala kommun sees only the deviations it holds a copy of, not those of Västerås stad',
      );
      expect((await own('2026-11', org.sala)).body.total).toBe(1);
      expect((await own('2026-13')).status).toBe(400);
      who = party(org.sala, 'municipality', ['system/Patient.rs']);
      expect((await own('2026-11')).status).toBe(403);
      who = party(undefined, 'hospital');
      expect((await own('2026-11')).status).toBe(403);
      who = ADMIN;
      const region = await own('2026-11');
      expect([region.body.view, region.body.total]).toEqual(['region', 3]);
      const salaSeen = await own('2026-11', org.sala);
      expect([salaSeen.body.view, listed(salaSeen.body)]).toEqual([
        { party: org.sala, name: 'Sala kommun' },
        [['kallelse-sip', 'Västmanlands sjukhus']],
      ]);
    });

    it('when the dashboard is read, then the region counts the same per month, and a party those it holds a copy of', async () => {
      expect((await dashboardData(db, VASTMANLAND, '2026-12', 2)).deviations).toEqual([3, 1]);
      const vasteras = await dashboardData(db, VASTMANLAND, '2026-12', 2, {
        municipality: '1980',
        owners: [org.vasteras],
      });
      expect(vasteras.deviations).toEqual([2, 1]);
      const sala = await dashboardData(db, VASTMANLAND, '2026-12', 2, { municipality: '1981', owners: [org.sala] });
      expect(sala.deviations).toEqual([1, 0]);
    });

    it('when the month’s indicators are computed, then every deviation of the month counts, whatever its stay', async () => {
      const agreement = getAgreement(await loadAgreements(), 'vastmanland');
      const counts = async (month: string) =>
        Object.fromEntries(
          (await indicatorsOfMonth(db, agreement, month, NOW))
            .filter((v) => v.indicator === 'deviations')
            .map((v) => [`${v.unit} ${v.detail}`, v.value]),
        );
      expect(await counts('2026-11')).toEqual({
        [`${org.hospital} kallelse-sip`]: 1,
        [`${org.hospital} informationsoverforing`]: 1,
        [`${org.vasteras} inskrivningsmeddelande`]: 1,
      });
      expect(await counts('2026-12')).toEqual({ [`${org.vasteras} inskrivningsmeddelande`]: 1 });
      // The reference reading (month by month from the Tasks' JSON) reads the same deviations.
      expect((await loadIndicatorRows(db, agreement, '2026-11')).deviations).toHaveLength(3);
    });
  },
);
