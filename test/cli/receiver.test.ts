import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { openShell, type Shell } from '../http/shell-fixture';
import { startChild } from '../conformance/support/child';

/**
 * `npm run receiver` leaves no Subscription behind: it deletes its own when stopped (Ctrl-C or SIGTERM), and on start
 * those an earlier receiver of the same client left at the same address (stopped hard), whose secret died with it.
 */
describe('npm run receiver against a listening gateway', () => {
  let shell: Shell;
  let server: Server;
  let base = '';
  beforeAll(async () => {
    shell = await openShell({ full: true, env: { AGREEMENT: 'vastmanland' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api'] as const));
    server = shell.gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await shell.close();
  });

  const PORT = '18731';
  const url = `http://127.0.0.1:${PORT}/notify`;
  const live = async () =>
    (await systemRepository(shell.db).search<Subscription>('Subscription', { url })).resources.map((s) => s.id);
  const receiver = async () => {
    // one process (not the tsx wrapper and its child), so a SIGKILL stops the receiver itself
    const args = ['--import', 'tsx', 'src/cli/receiver.ts', '--gateway', base, '--client', 'demo-sala', '--port', PORT];
    const child = startChild(process.execPath, args);
    for (let i = 0; i < 300 && !/created/.test(child.output()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(child.output()).toMatch(/Subscription\/\S+ created/);
    return child;
  };

  it('a receiver stopped hard leaves its Subscription; the next one at the address deletes it, and SIGTERM deletes its own', async () => {
    const first = await receiver();
    const [firstId] = await live();
    expect(firstId).toBeDefined();
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    expect(await live()).toEqual([firstId]);

    const second = await receiver();
    expect(second.output()).toContain(`Subscription/${firstId} of an earlier receiver at this address deleted (204)`);
    const now = await live();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(firstId);

    await second.stop();
    expect(second.output()).toMatch(/deleted \(20\d\)/);
    expect(await live()).toEqual([]);
  }, 60_000);
});
