import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import type { IntakeCapability } from '../../src/intake';
import { openShell, type Shell } from '../http/shell-fixture';
import { uniquePrefix } from '../support/redis';

export interface FuzzGateway {
  shell: Shell;
  server: Server;
  mllpPort: number;
  /** Bearer tokens of the demo clients. */
  tokens: Record<'demo-ehr' | 'demo-vasteras' | 'demo-admin', string>;
  close(): Promise<void>;
}

/**
 * The composed gateway (API + MLLP roles, demo region) on a fresh database, listening on free ports. Tokens last a
 * day, so a long run (FUZZ_RUNS=5000) is not answered 401 halfway.
 */
export async function fuzzGateway(kind: 'pglite' | 'postgres'): Promise<FuzzGateway> {
  const shell = await openShell({
    kind,
    full: true,
    env: { QUEUE_PREFIX: uniquePrefix(), MLLP_PORT: '0', TOKEN_TTL_SECONDS: '86400' },
  });
  await loadDemoRegion(shell.db, systemRepository);
  for (const c of shell.gateway.capabilities) await c.start?.(new Set(['api', 'mllp'] as const));
  const server = shell.gateway.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const tokens = {} as FuzzGateway['tokens'];
  for (const id of ['demo-ehr', 'demo-vasteras', 'demo-admin'] as const) {
    const res = await request(server)
      .post('/auth/token')
      .auth(id, `${id}-secret`)
      .type('form')
      .send({ grant_type: 'client_credentials' });
    tokens[id] = (res.body as { access_token: string }).access_token;
  }
  const intake = shell.gateway.capabilities.find((c) => c.name === 'intake') as IntakeCapability;
  return {
    shell,
    server,
    mllpPort: intake.mllpPort() ?? 0,
    tokens,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await shell.close();
    },
  };
}

/**
 * Runs `work` while measuring the event loop's delay (perf_hooks histogram, 10 ms resolution); returns the
 * longest stall in ms. The gateway runs in this process, so a request that blocks it shows here.
 */
export async function longestStallMs(work: () => Promise<void>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    await work();
  } finally {
    h.disable();
  }
  return h.max / 1e6;
}
