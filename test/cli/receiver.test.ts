import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { openShell, type Shell } from '../http/shell-fixture';
import { startChild } from '../conformance/support/child';

/**
 * The reference receivers leave no Subscription behind: each deletes its own when stopped (Ctrl-C or SIGTERM), and on
 * start those an earlier run of the same client left at the same address (stopped hard), whose secret died with it.
 */
describe('reference receivers against a listening gateway', () => {
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

  // each run as one process (not the tsx wrapper and its child), so a SIGKILL stops the receiver itself
  const receivers: [string, string, string, string[]][] = [
    ['npm run receiver', '18731', process.execPath, ['--import', 'tsx', 'src/cli/receiver.ts']],
    ['the Python reference receiver', '18732', 'python3', ['receivers/python/receiver.py']],
  ];

  it.each(receivers)(
    '%s: stopped hard it leaves its Subscription; the next one at the address deletes it, and SIGTERM its own',
    async (_name, port, cmd, script) => {
      const url = `http://127.0.0.1:${port}/notify`;
      const live = async () =>
        (await systemRepository(shell.db).search<Subscription>('Subscription', { url })).resources.map((s) => s.id);
      const start = async () => {
        const child = startChild(cmd, [...script, '--gateway', base, '--client', 'demo-sala', '--port', port]);
        for (let i = 0; i < 300 && !/Subscription\/\S+ created/.test(child.output()); i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(child.output()).toMatch(/Subscription\/\S+ created/);
        return child;
      };

      const first = await start();
      const [firstId] = await live();
      expect(firstId).toBeDefined();
      first.proc.kill('SIGKILL');
      await new Promise((r) => first.proc.once('exit', r));
      expect(await live()).toEqual([firstId]);

      const second = await start();
      expect(second.output()).toContain(`Subscription/${firstId} of an earlier receiver at this address deleted`);
      const now = await live();
      expect(now).toHaveLength(1);
      expect(now[0]).not.toBe(firstId);

      await second.stop();
      expect(await live()).toEqual([]);
    },
    60_000,
  );
});
