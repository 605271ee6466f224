import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '@medplum/fhirtypes';
import { saveClient } from '../../src/auth/client-store';
import { createRepository } from '../../src/store/repository.pg';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const LIMITS = { AUTH_MAX_FAILURES_PER_CLIENT: '5', AUTH_MAX_FAILURES_PER_ADDRESS: '12' };

async function withClients(shell: Shell): Promise<Shell> {
  for (const clientId of ['muni', 'other']) {
    await saveClient(shell.db, {
      clientId,
      secret: `${clientId}-secret`,
      allowedScopes: ['system/Task.rs'],
      organization: 'Organization/kommun-1980',
      role: 'municipality',
    });
  }
  return shell;
}

const token = (shell: Shell, id: string, secret: string) =>
  request(shell.gateway.app)
    .post('/auth/token')
    .set('Authorization', basic(id, secret))
    .type('form')
    .send({ grant_type: 'client_credentials' });

describe.each(testDatabases())('rate limit of POST /auth/token on %s', (kind) => {
  // a and b: two gateway processes on one Redis key prefix; c: a short window; offline: no Redis at all
  let a: Shell, b: Shell, c: Shell, offline: Shell;
  beforeAll(async () => {
    const prefix = uniquePrefix();
    const open = async (env: Record<string, string>, redisUrl?: string) =>
      withClients(await openShell({ kind, env: { ...LIMITS, ...env }, ...(redisUrl ? { redisUrl } : {}) }));
    [a, b, c, offline] = await Promise.all([
      open({ QUEUE_PREFIX: prefix, AUTH_MAX_FAILURES_PER_ADDRESS: '100' }),
      open({ QUEUE_PREFIX: prefix, AUTH_MAX_FAILURES_PER_ADDRESS: '100' }),
      open({ QUEUE_PREFIX: uniquePrefix(), AUTH_FAILURE_WINDOW_SECONDS: '4' }),
      open({ QUEUE_PREFIX: uniquePrefix() }, 'redis://127.0.0.1:1'),
    ]);
  }, 240_000); // four gateways on fresh databases: slow on a loaded machine
  afterAll(async () => {
    await Promise.all([a, b, c, offline].map((s) => s.close()));
  });

  it('when a client fails its secret 5 times, then the 6th request gets 429 with Retry-After even with the right secret, and another client is still served', async () => {
    for (let i = 0; i < 5; i++) expect((await token(a, 'muni', `wrong-${i}`)).status).toBe(401);
    const refused = await token(a, 'muni', 'muni-secret');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.stringMatching(/client/),
    });
    expect((await token(a, 'other', 'other-secret')).status).toBe(200);
  });

  it('when failures are spread over two gateway processes sharing Redis, then the limit holds across them', async () => {
    for (let i = 0; i < 5; i++) expect((await token(i % 2 ? a : b, 'spread', 'wrong')).status).toBe(401);
    expect((await token(a, 'spread', 'x')).status).toBe(429);
    expect((await token(b, 'spread', 'x')).status).toBe(429);
  });

  it('when requests are refused, then the first refusal per key and window is audited as a failed login', async () => {
    for (let i = 0; i < 5; i++) await token(a, 'audited', 'wrong');
    for (let i = 0; i < 3; i++) expect((await token(a, 'audited', 'wrong')).status).toBe(429);
    await a.gateway.audit?.flush();
    const events = (await createRepository(a.db).search<AuditEvent>('AuditEvent', { _count: '200' })).resources;
    const logins = events.filter(
      (e) => e.type?.code === '110114' && e.agent?.[0]?.who?.identifier?.value === 'audited',
    );
    expect(logins).toHaveLength(1);
    expect(logins[0]?.outcome).toBe('4');
    expect(logins[0]?.outcomeDesc).toMatch(/429.*5 failed authentications of client audited/);
  });

  it('when one address fails with many client ids, then the address is limited for every client until the window has passed', async () => {
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, i) => token(c, `guess-${i}`, 'x')));
    expect(guesses.map((r) => r.status)).toEqual(Array(12).fill(401));
    const refused = await token(c, 'other', 'other-secret');
    expect(refused.status).toBe(429);
    expect(refused.body.error_description).toMatch(/address/);
    await new Promise((r) => setTimeout(r, Number(refused.headers['retry-after']) * 1000 + 100));
    expect((await token(c, 'other', 'other-secret')).status).toBe(200);
  });

  it('when Redis is unreachable, then the process still limits on its own and keeps issuing tokens', async () => {
    expect((await token(offline, 'other', 'other-secret')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await token(offline, 'muni', 'wrong')).status).toBe(401);
    expect((await token(offline, 'muni', 'muni-secret')).status).toBe(429);
  });
});
