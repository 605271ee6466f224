import type { Task, Subscription } from '@medplum/fhirtypes';
import type { ClosableDb } from '../../src/store/db.port';
import type { AccessScope } from '../../src/store/repository.port';
import { createRepository } from '../../src/store/repository.pg';
import { systemClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import { createDeliveryService, type DeliveryServiceOptions } from '../../src/delivery/delivery-service';
import type { RepositoryFactory } from '../../src/delivery/resource-access';
import { createSubscriptionHooks } from '../../src/subscriptions/subscription-access';
import { SECRET_EXTENSION } from '../../src/subscriptions/subscription-model';
import { getRegistryEntry } from '../../src/subscriptions/registry.pg';
import { openTestDb } from '../support/db';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { startReceiver, waitFor } from './helpers';

export const BASE = 'https://svu-gateway.dev/fhir';
export const FHIR_BASE = 'http://gateway.test/fhir';
export const VASTERAS: AccessScope = {
  clientId: 'demo-vasteras',
  organization: 'Organization/vasteras',
  role: 'municipality',
};
export const SALA: AccessScope = { clientId: 'demo-sala', organization: 'Organization/sala', role: 'municipality' };
export const SYSTEM: AccessScope = { system: true };

export const quietLogger = createLogger('error');

export function testRepos(): RepositoryFactory {
  const hooks = createSubscriptionHooks(BASE);
  return (db, scope) => createRepository(db, scope, hooks);
}

/** Settings that keep tests fast: tiny backoff, quick breaker, short reconcile grace. */
export function fastOptions(db: ClosableDb, over: Partial<DeliveryServiceOptions> = {}): DeliveryServiceOptions {
  return {
    db,
    redisUrl: testRedisUrl(),
    prefix: uniquePrefix(),
    repos: testRepos(),
    logger: quietLogger,
    clock: systemClock,
    canonicalBase: BASE,
    fhirBase: FHIR_BASE,
    timeoutMs: 1000,
    retry: { maxAttempts: 6, backoffMs: 40 },
    concurrency: 8,
    breaker: { threshold: 3, openMs: 150, maxOpenMs: 400 },
    pollMs: 20,
    reconcileMs: 250,
    reconcileGraceMs: 400,
    heartbeatTickMs: 100,
    lockMs: 1000,
    stopTimeoutMs: 3000,
    ...over,
  };
}

export async function openDeliveryDb(kind: 'pglite' | 'postgres' = 'pglite'): Promise<ClosableDb> {
  return openTestDb(kind);
}

export function subscriptionFor(
  endpoint: string,
  over: Partial<Subscription> = {},
  secret = 'top-secret',
): Subscription {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria: 'Task?owner=Organization/vasteras',
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      header: ['Authorization: Bearer receiver-token'],
    },
    extension: secret ? [{ url: SECRET_EXTENSION, valueString: secret }] : undefined,
    ...over,
  };
}

/** Creates the Subscription as `scope` and waits for the handshake to make it active. */
export async function subscribe(
  db: ClosableDb,
  scope: AccessScope,
  sub: Subscription,
  expect: 'active' | 'error' = 'active',
): Promise<Subscription> {
  const created = await testRepos()(db, scope).create(sub, {
    author: scope.clientId,
    authorOrganization: scope.organization,
  });
  await waitFor(
    async () => (await getRegistryEntry(db, created.id!))?.status === expect,
    10_000,
    `subscription ${expect}`,
  );
  return created;
}

let n = 0;
export function task(owner: string, stay: string, over: Partial<Task> = {}): Task {
  n++;
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'https://svu-gateway.dev/fhir/CodeSystem/svu-task', code: 'inskrivningsmeddelande' }] },
    owner: { reference: `Organization/${owner}` },
    for: { reference: `Patient/p-${stay}` },
    encounter: { reference: `Encounter/${stay}` },
    description: `task ${n}`,
    ...over,
  };
}

export { createDeliveryService };

/**
 * Resources a test opens and `closeAll` closes after it, newest first (use `afterEach(closeAll)`): databases from
 * `open()`, receivers from `receiver()`, services from `setup()`, anything else pushed on `closers`.
 */
export function testResources() {
  const closers: (() => Promise<unknown>)[] = [];
  const open = async (): Promise<ClosableDb> => {
    const db = await openDeliveryDb();
    closers.push(() => db.close());
    return db;
  };
  const receiver = async () => {
    const r = await startReceiver();
    closers.push(() => r.close());
    return r;
  };
  return {
    closers,
    closeAll: async (): Promise<void> => {
      for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    },
    open,
    receiver,
    /** A database, a started delivery service (`fastOptions` + `over`) and a receiver. */
    setup: async (over: Partial<DeliveryServiceOptions> = {}) => {
      const db = await open();
      const service = createDeliveryService(fastOptions(db, over));
      service.start();
      closers.push(() => service.stop());
      return { db, service, receiver: await receiver() };
    },
  };
}
