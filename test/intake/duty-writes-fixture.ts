import type { Bundle, Encounter, OperationOutcome } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { saveClient } from '../../src/auth/client-store';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import { admission, needsCD, ok, partyClient, type PartyClient } from '../sip/party-client';

/** A gateway with Västmanland's agreement and the demo region, each party's own client, and an admin's. */
export interface DutyWrites {
  shell: Shell;
  /** By client id: `demo-ehr`, `demo-vasteras`, `demo-vc-skultuna` and the admin. */
  c: Record<string, PartyClient>;
  /** The hospital admits a Västerås patient listed at Skultuna vårdcentral (needs C+D, SIP needed). */
  admit(ehrId: string, pnr: string, admittedAt: string): Promise<Encounter>;
  /** How many of the stay's facts have an id like `like` (SQL LIKE). */
  facts(stayId: string, like: string): Promise<number>;
}

export async function openDutyWrites(kind: 'pglite' | 'postgres', admin: string): Promise<DutyWrites> {
  const shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' } });
  await loadDemoRegion(shell.db, systemRepository);
  await saveClient(shell.db, {
    clientId: admin,
    secret: `${admin}-secret`,
    admin: true,
    allowedScopes: ['system/*.cruds'],
    organization: 'Organization/region',
    role: 'admin',
  });
  const c: Record<string, PartyClient> = {};
  for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vc-skultuna', admin])
    c[id] = await partyClient(shell.gateway.app, id);
  return {
    shell,
    c,
    async admit(ehrId, pnr, admittedAt) {
      const r = ok(await c['demo-ehr']!.post('/fhir', admission(ehrId, pnr, admittedAt, needsCD()))) as Bundle;
      const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
      return ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    },
    async facts(stayId, like) {
      const r = await shell.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM stay_fact WHERE stay_id = $1 AND fact_id LIKE $2`,
        [stayId, like],
      );
      return r.rows[0]!.n;
    },
  };
}

/** The 403's OperationOutcome. */
export function refused(r: { status: number; body: unknown }): OperationOutcome {
  expect(r.status, JSON.stringify(r.body)).toBe(403);
  return r.body as OperationOutcome;
}

/** The diagnostics of an OperationOutcome's issues, joined. */
export const diagnostics = (o: OperationOutcome): string => (o.issue ?? []).map((i) => i.diagnostics ?? '').join(' | ');
