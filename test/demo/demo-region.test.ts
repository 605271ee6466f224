import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Organization } from '@medplum/fhirtypes';
import { loadDemoRegion, demoRegionData } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { findClient } from '../../src/auth/client-store';
import { verifySecret } from '../../src/auth/secret-hash';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

describe.each(testDatabases())('demo region on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  it('when the store is empty, then the region loads; a second run changes nothing', async () => {
    const first = await loadDemoRegion(db, systemRepository);
    expect(first).toMatchObject({ loaded: true, clients: 7 });
    expect(first.organizations).toBe(demoRegionData().organizations.length);
    const repo = systemRepository(db);
    const before = await repo.read<Organization>('Organization', 'kommun-1980');
    const second = await loadDemoRegion(db, systemRepository);
    expect(second.loaded).toBe(false);
    const after = await repo.read<Organization>('Organization', 'kommun-1980');
    expect(after.meta?.versionId).toBe(before.meta?.versionId);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM auth_client');
    expect(rows[0]!.n).toBe(7);
  });

  it('when loaded, then the ten municipalities are findable by kommunkod', async () => {
    const repo = systemRepository(db);
    const codes = ['1904', '1907', '1960', '1961', '1962', '1980', '1981', '1982', '1983', '1984'];
    for (const code of codes) {
      const r = await repo.search<Organization>('Organization', { identifier: `urn:oid:1.2.752.129.2.2.1.17|${code}` });
      expect(r.resources.map((o) => o.id)).toEqual([`kommun-${code}`]);
    }
    const vasteras = await repo.read<Organization>('Organization', 'kommun-1980');
    expect(vasteras.name).toBe('Västerås stad');
  });

  it('when loaded, then each demo client has secret = id + "-secret" and its tenant', async () => {
    const expected = {
      'demo-ehr': ['hospital', 'Organization/vastmanlands-sjukhus-vasteras', false],
      'demo-vasteras': ['municipality', 'Organization/kommun-1980', false],
      'demo-vasteras-hsl': ['municipality', 'Organization/hemsjukvard-1980', false],
      'demo-sala': ['municipality', 'Organization/kommun-1981', false],
      'demo-vc-skultuna': ['primary-care', 'Organization/vc-skultuna', false],
      'demo-vc-sala': ['primary-care', 'Organization/vc-sala', false],
      'demo-admin': ['admin', 'Organization/region-vastmanland', true],
    } as const;
    for (const [id, [role, org, admin]] of Object.entries(expected)) {
      const c = await findClient(db, id);
      expect(c).toMatchObject({ role, organization: org, admin });
      expect(await verifySecret(`${id}-secret`, c!.secretHash!)).toBe(true);
    }
    expect((await findClient(db, 'demo-admin'))!.allowedScopes).toEqual(['system/*.cruds']);
  });
});
