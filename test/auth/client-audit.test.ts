import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import type { AuditEvent, Bundle, Organization } from '@medplum/fhirtypes';
import { saveClient } from '../../src/auth/client-store';
import { createRepository } from '../../src/store/repository.pg';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from '../http/shell-fixture';

const [FIRST, SECOND, ROOT] = ['the-first-long-secret', 'the-second-long-secret', 'root-secret-root'];
const SECRETS = [FIRST, SECOND, ROOT];

describe.each(testDatabases())('audit of client changes by admins on %s', (kind) => {
  let shell: Shell;
  let adminToken: string;
  let info: ReturnType<typeof vi.spyOn>;
  const NAMES = { koping: 'Köpings kommun', arboga: 'Arboga kommun', region: 'Region Västmanland' };
  const org: Record<string, string> = {};

  const token = async (id: string, secret: string) =>
    (
      await request(shell.gateway.app)
        .post('/auth/token')
        .auth(id, secret)
        .type('form')
        .send({ grant_type: 'client_credentials' })
    ).body.access_token as string;
  const put = (id: string, body: Record<string, unknown>) =>
    request(shell.gateway.app)
      .put(`/admin/api/clients/${id}`)
      .auth(adminToken, { type: 'bearer' })
      .send({ allowedScopes: ['system/Task.rus'], organization: org.koping, role: 'municipality', ...body });
  /** The client's AuditEvents, oldest first, as an admin finds them on /fhir. */
  const eventsOf = async (clientId: string, bearer = adminToken) => {
    await shell.gateway.audit?.flush();
    const res = await request(shell.gateway.app)
      .get(`/fhir/AuditEvent?entity-name:exact=${clientId}&subtype=110137&_sort=date&_count=100`)
      .auth(bearer, { type: 'bearer' });
    expect(res.status).toBe(200);
    return ((res.body as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource!);
  };
  const details = (e: AuditEvent | undefined) =>
    Object.fromEntries((e?.entity?.[0]?.detail ?? []).map((d) => [d.type, d.valueString]));

  beforeAll(async () => {
    shell = await openShell({ kind, full: true });
    const repo = createRepository(shell.db, { system: true });
    for (const [key, name] of Object.entries(NAMES))
      org[key] = `Organization/${(await repo.create<Organization>({ resourceType: 'Organization', name })).id}`;
    await saveClient(shell.db, {
      clientId: 'root',
      secret: 'root-secret-root',
      allowedScopes: ['system/*.*'],
      organization: org.region,
      role: 'admin',
      admin: true,
    });
    adminToken = await token('root', 'root-secret-root');
    info = vi.spyOn(shell.ctx.logger, 'info');
  });
  afterAll(async () => shell.close());

  it('when an admin creates a client, then one AuditEvent names the admin, its organisation, the client and each setting', async () => {
    await put('koping-kommun', { secret: FIRST }).expect(201);
    const [created, ...more] = await eventsOf('koping-kommun');
    expect(more).toEqual([]);
    expect(created).toMatchObject({
      type: { code: '110113', display: 'Security Alert' },
      subtype: [{ code: '110137' }],
      action: 'C',
      outcome: '0',
      agent: [
        { who: { identifier: { value: 'root' } }, requestor: true },
        { who: { reference: org.region, display: 'Region Västmanland' } },
      ],
      entity: [{ name: 'koping-kommun', what: { identifier: { value: 'koping-kommun' } } }],
    });
    expect(details(created)).toEqual({
      role: 'municipality',
      organization: `Köpings kommun (${org.koping})`,
      allowedScopes: 'system/Task.rus',
      admin: 'false',
      protectedIdentity: 'false',
      disabled: 'false',
      secret: 'secret set',
    });
    expect(created?.outcomeDesc).toMatch(/^client koping-kommun created by root: role: municipality/);
    expect(info).toHaveBeenCalledWith(
      'client created',
      expect.objectContaining({ clientId: 'koping-kommun', by: 'root', byOrganization: org.region }),
    );
  });

  it('when an admin changes scopes and organisation, rotates the secret, replaces it by keys and disables the client, then each PUT writes one AuditEvent listing what changed', async () => {
    await put('koping-kommun', {
      allowedScopes: ['system/Task.rus', 'system/Patient.rs'],
      organization: org.arboga,
    }).expect(200);
    await put('koping-kommun', {
      allowedScopes: ['system/Task.rus', 'system/Patient.rs'],
      organization: org.arboga,
      secret: SECOND,
    }).expect(200);
    const { publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: '2026-a', alg: 'ES384', use: 'sig' };
    const second = { ...(await exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey)) };
    await put('koping-kommun', {
      allowedScopes: ['system/Task.rus', 'system/Patient.rs'],
      organization: org.arboga,
      jwks: { keys: [jwk, second] },
    }).expect(200);
    await put('koping-kommun', {
      allowedScopes: ['system/Task.rus', 'system/Patient.rs'],
      organization: org.arboga,
      disabled: true,
    }).expect(200);

    const [, scopes, rotated, keys, disabled, ...more] = await eventsOf('koping-kommun');
    expect(more).toEqual([]);
    expect([scopes, rotated, keys, disabled].map((e) => e?.action)).toEqual(['U', 'U', 'U', 'U']);
    expect(details(scopes)).toEqual({
      organization: `Köpings kommun (${org.koping}) → Arboga kommun (${org.arboga})`,
      allowedScopes: 'system/Task.rus → system/Task.rus system/Patient.rs',
    });
    expect(details(rotated)).toEqual({ secret: 'secret replaced' });
    expect(details(keys)).toEqual({ secret: 'secret removed', jwks: 'keys set (2 keys, kids 2026-a)' });
    expect(details(disabled)).toEqual({ disabled: 'false → true' });
    expect(info).toHaveBeenCalledWith(
      'client changed',
      expect.objectContaining({ clientId: 'koping-kommun', changes: ['disabled: false → true'] }),
    );

    // no secret, hash or key material in the trail or the log
    const trail = JSON.stringify([await eventsOf('koping-kommun'), info.mock.calls]);
    for (const s of [...SECRETS, 'scrypt', String(jwk.x), String(jwk.y), String(second.x)])
      expect(trail).not.toContain(s);
  });

  it('when an admin grants and withdraws the protected-identity right, then each event says so unmistakably', async () => {
    await put('granskare', {
      secret: FIRST,
      role: 'admin',
      admin: true,
      allowedScopes: ['system/*.rs'],
      organization: org.region,
    }).expect(201);
    const again = { role: 'admin', admin: true, allowedScopes: ['system/*.rs'], organization: org.region };
    await put('granskare', { ...again, protectedIdentity: true }).expect(200);
    await put('granskare', { ...again, protectedIdentity: false }).expect(200);
    const [created, granted, withdrawn, ...more] = await eventsOf('granskare');
    expect(more).toEqual([]);
    expect(created?.outcomeDesc).not.toMatch(/PROTECTED-IDENTITY/);
    expect(details(granted)).toEqual({
      protectedIdentity: 'false → true (right GRANTED: sees protected identities in full)',
    });
    expect(granted?.outcomeDesc).toMatch(/^PROTECTED-IDENTITY RIGHT GRANTED\. client granskare changed by root/);
    expect(details(withdrawn)).toEqual({ protectedIdentity: 'true → false (right WITHDRAWN)' });
    expect(withdrawn?.outcomeDesc).toMatch(/^PROTECTED-IDENTITY RIGHT WITHDRAWN\./);
  });

  it('when a PUT is refused (400), then no AuditEvent is written', async () => {
    const before = (await eventsOf('koping-kommun')).length;
    await put('koping-kommun', { allowedScopes: ['system/Task.rs'] }).expect(200);
    expect(await eventsOf('koping-kommun')).toHaveLength(before + 1);
    await put('koping-kommun', { role: 'king' }).expect(400);
    await put('koping-kommun', { protectedIdentity: true }).expect(400); // only admin clients may hold it
    await put('arboga-kommun', {}).expect(400); // a new client without credentials
    expect(await eventsOf('koping-kommun')).toHaveLength(before + 1);
    expect(await eventsOf('arboga-kommun')).toEqual([]);
  });

  it('when a tenant client with the AuditEvent search right searches them, then it finds none', async () => {
    await saveClient(shell.db, {
      clientId: 'reviewer',
      secret: SECOND,
      allowedScopes: ['system/AuditEvent.rs'],
      organization: org.koping,
      role: 'municipality',
    });
    expect(await eventsOf('koping-kommun', await token('reviewer', SECOND))).toEqual([]);
    expect((await eventsOf('koping-kommun')).length).toBeGreaterThan(0);
  });
});
