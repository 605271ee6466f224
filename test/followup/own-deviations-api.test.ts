/**
 * A party's own deviation list through the composed gateway (`GET /fhir/$followup-deviations`): the bearer token's
 * client and its Organization decide what it sees. Two deviations reported on two stays: Västerås against the
 * hospital, Sala against the hospital. Each municipality sees the one it holds a copy of, never the other's; the
 * hospital's client sees both; no token is 401, no Task search right 403.
 */
import type { Task } from '@medplum/fhirtypes';
import type { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveClient, type ClientRole } from '../../src/auth/client-store';
import type { Capability } from '../../src/compose.types';
import { deviationTasks } from '../../src/followup/deviations/deviation-report';
import { ownDeviationRoutes } from '../../src/followup/deviations/own-deviations.routes';
import { createRepository } from '../../src/store/repository.pg';
import { openShell, type Shell } from '../http/shell-fixture';
import { testDatabases } from '../support/db';

const VASTERAS = 'Organization/kommun-1980';
const SALA = 'Organization/kommun-1981';
const HOSPITAL = 'Organization/sjukhus-vasteras';

describe.each(testDatabases())('a party’s own deviation list over the gateway on %s', (kind) => {
  let shell: Shell;
  const tokens: Record<string, string> = {};

  const token = async (id: string, role: ClientRole, organization: string, scopes = ['system/Task.rs']) => {
    await saveClient(shell.db, {
      clientId: id,
      secret: `${id}-secret`,
      allowedScopes: scopes,
      role,
      admin: false,
      organization,
    });
    const r = await request(shell.gateway.app)
      .post('/auth/token')
      .auth(id, `${id}-secret`)
      .type('form')
      .send({ grant_type: 'client_credentials' });
    return r.body.access_token as string;
  };
  const list = (who: string) =>
    request(shell.gateway.app).get('/fhir/$followup-deviations?month=2026-11').auth(who, { type: 'bearer' });

  let routes: Router | undefined;
  beforeAll(async () => {
    const own: Capability = {
      name: 'own-deviations',
      mountRoutes: (app) => app.use((q, s, n) => (routes ? routes(q, s, n) : n())),
    };
    shell = await openShell({ kind, audit: false, capabilities: [own] });
    routes = ownDeviationRoutes({ db: shell.db });
    const repo = createRepository(shell.db, { system: true });
    for (const [ref, name, system, value] of [
      [VASTERAS, 'Västerås stad', 'urn:oid:1.2.752.129.2.2.1.17', '1980'],
      [SALA, 'Sala kommun', 'urn:oid:1.2.752.129.2.2.1.17', '1981'],
      [HOSPITAL, 'Västmanlands sjukhus', 'urn:oid:1.2.752.29.4.19', 'SE2321000172-DEV2'],
    ] as const) {
      await repo.update({
        resourceType: 'Organization',
        id: ref.slice('Organization/'.length),
        name,
        identifier: [{ system, value }],
      });
    }
    for (const [reporter, stay, id] of [
      [VASTERAS, 'Encounter/stay-vasteras', 'r-vasteras'],
      [SALA, 'Encounter/stay-sala', 'r-sala'],
    ] as const) {
      for (const t of deviationTasks(
        {
          responsible: HOSPITAL,
          kind: 'informationsoverforing',
          severity: 'allvarlig',
          description: 'Epikrisen saknades.',
        },
        {
          reportId: id,
          reporter,
          encounter: stay,
          parties: new Set([HOSPITAL, reporter]),
          name: (o) => o,
          now: new Date('2026-11-20T09:00:00Z'),
        },
      ))
        await repo.create<Task>(t, { authorOrganization: t.owner?.reference });
    }
    tokens.vasteras = await token('vasteras', 'municipality', VASTERAS);
    tokens.sala = await token('sala', 'municipality', SALA);
    tokens.hospital = await token('hospital', 'hospital', HOSPITAL);
    tokens.noTasks = await token('sala-patients', 'municipality', SALA, ['system/Patient.rs']);
  }, 60_000);
  afterAll(async () => shell?.close());

  it('when each party reads its list with its own token, then it sees exactly the deviations it holds a copy of', async () => {
    const reported = (body: { deviations: { name: string }[]; view: { name: string } }) => [
      body.view.name,
      body.deviations.map((d) => d.name),
    ];
    const vasteras = await list(tokens.vasteras ?? '');
    expect(vasteras.status).toBe(200);
    expect(reported(vasteras.body)).toEqual(['Västerås stad', ['Västmanlands sjukhus']]);
    expect(reported((await list(tokens.sala ?? '')).body)).toEqual(['Sala kommun', ['Västmanlands sjukhus']]);
    const hospital = await list(tokens.hospital ?? '');
    expect(reported(hospital.body)).toEqual(['Västmanlands sjukhus', ['Västmanlands sjukhus', 'Västmanlands sjukhus']]);
    // Sala asks for Västerås's list: refused, both named.
    const other = await request(shell.gateway.app)
      .get(`/fhir/$followup-deviations?month=2026-11&organization=${VASTERAS}`)
      .auth(tokens.sala ?? '', { type: 'bearer' });
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.body)).toContain(
      'Sala kommun sees only the deviations it holds a copy of, not those of Västerås stad',
    );
  });

  it('when the caller has no token or no Task search right, then 401 or 403', async () => {
    expect((await request(shell.gateway.app).get('/fhir/$followup-deviations?month=2026-11')).status).toBe(401);
    expect((await list(tokens.noTasks ?? '')).status).toBe(403);
  });
});
