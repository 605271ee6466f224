import { readFileSync } from 'node:fs';
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import type { FhirRepository } from '../store/repository.port';
import { countClients, saveClient, type ClientRole } from '../auth/client-store';

interface DemoClient {
  clientId: string;
  role: ClientRole;
  organization: string;
  allowedScopes: string[];
  admin?: boolean;
}

export interface DemoRegionData {
  organizations: Organization[];
  endpoints: Endpoint[];
  clients: DemoClient[];
}

export function demoRegionData(): DemoRegionData {
  return JSON.parse(readFileSync(new URL('./vastmanland.json', import.meta.url), 'utf8')) as DemoRegionData;
}

export interface DemoLoadResult {
  loaded: boolean;
  organizations: number;
  clients: number;
}

/**
 * Loads the demo region (Västmanland: region, hospital, ten municipalities, vårdcentraler, endpoints, demo
 * clients with secret = client id + `-secret`) when the store is empty: no OAuth client and no Organization.
 * Idempotent and safe from several processes: resources are written with fixed ids (an unchanged rewrite keeps
 * the version) and clients are inserted only when absent, all in one transaction under an advisory lock.
 * `repository` is `(tx) => createRepository(tx, { system: true })`; without it only the clients are loaded.
 */
export async function loadDemoRegion(db: Db, repository?: (db: Db) => FhirRepository): Promise<DemoLoadResult> {
  const data = demoRegionData();
  return db.transaction(async (tx) => {
    if (tx.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(424243)');
    if ((await countClients(tx)) > 0) return { loaded: false, organizations: 0, clients: 0 };
    const repo = repository?.(tx);
    if (repo) {
      const existing = await repo.search('Organization', { _count: '1' });
      if (existing.resources.length > 0) return { loaded: false, organizations: 0, clients: 0 };
      // Endpoints first, then organizations in file order (region before the units that are partOf it).
      for (const e of data.endpoints) await repo.update(e, { author: 'demo-loader' });
      for (const o of data.organizations) await repo.update(o, { author: 'demo-loader' });
    }
    let clients = 0;
    for (const c of data.clients) {
      const wrote = await saveClient(
        tx,
        {
          clientId: c.clientId,
          secret: `${c.clientId}-secret`,
          allowedScopes: c.allowedScopes,
          organization: c.organization,
          role: c.role,
          admin: c.admin ?? false,
        },
        'keep',
      );
      if (wrote) clients++;
    }
    return { loaded: true, organizations: repo ? data.organizations.length : 0, clients };
  });
}
