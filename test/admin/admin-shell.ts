import request from 'supertest';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { openShell, type Shell } from '../http/shell-fixture';
import { uniquePrefix } from '../support/redis';

/** A full gateway with the demo region, and the session cookie of `demo-admin` signed in to the console. */
export async function openAdminShell(kind: 'pglite' | 'postgres'): Promise<{ shell: Shell; cookie: string }> {
  const shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), MLLP_PORT: '0' } });
  await loadDemoRegion(shell.db, systemRepository);
  const res = await request(shell.gateway.app)
    .post('/admin/login')
    .type('form')
    .send({ client_id: 'demo-admin', client_secret: 'demo-admin-secret' });
  const cookie = String(([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]).split(';')[0]!;
  return { shell, cookie };
}
