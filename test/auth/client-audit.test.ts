import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import type { AuditEvent, Bundle, Organization } from '@medplum/fhirtypes';
import { findClient, saveClient } from '../../src/auth/client-store';
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

  it('when an admin creates an admin client with the protected-identity right, then its tokens carry it and the creation event leads with the grant', async () => {
    const body = { role: 'admin', admin: true, allowedScopes: ['system/*.rs'], organization: org.region };
    const res = await put('revisor', { ...body, secret: FIRST, protectedIdentity: true }).expect(201);
    expect(res.body).toMatchObject({ clientId: 'revisor', role: 'admin', protectedIdentity: true });
    expect(decodeJwt(await token('revisor', FIRST)).pid).toBe(true);
    const [created, ...more] = await eventsOf('revisor');
    expect(more).toEqual([]);
    expect(created?.action).toBe('C');
    expect(created?.outcomeDesc).toMatch(/^PROTECTED-IDENTITY RIGHT GRANTED\. client revisor created by root: /);
    expect(details(created).protectedIdentity).toBe('true (right GRANTED: sees protected identities in full)');
    // only admin clients may hold it, at creation as later: refused, nothing stored
    await put('kommun-med-ratt', { secret: FIRST, protectedIdentity: true }).expect(400);
    await put('admin-flag-only', { secret: FIRST, admin: true, protectedIdentity: true }).expect(400);
    expect(await findClient(shell.db, 'kommun-med-ratt')).toBeUndefined();
    expect(await findClient(shell.db, 'admin-flag-only')).toBeUndefined();
  });

  it('when a PUT changes nothing, then nothing is written: no AuditEvent, no log line, the row untouched', async () => {
    const same = { role: 'admin', admin: true, allowedScopes: ['system/*.rs'], organization: org.region };
    await put('oforandrad', { ...same, secret: FIRST }).expect(201);
    const rowVersion = async () =>
      (await shell.db.query<{ v: string }>(`SELECT xmin::text AS v FROM auth_client WHERE client_id = 'oforandrad'`))
        .rows[0]?.v;
    const version = await rowVersion();
    info.mockClear();
    const res = await put('oforandrad', same).expect(200);
    expect(res.body).toMatchObject({ clientId: 'oforandrad', protectedIdentity: false, disabled: false });
    await put('oforandrad', { ...same, protectedIdentity: false, disabled: false }).expect(200);
    expect(await rowVersion()).toBe(version);
    expect(await eventsOf('oforandrad')).toHaveLength(1);
    expect(info).not.toHaveBeenCalledWith('client changed', expect.anything());
    // the same settings with a new secret are a change
    await put('oforandrad', { ...same, secret: SECOND }).expect(200);
    expect(details((await eventsOf('oforandrad'))[1])).toEqual({ secret: 'secret replaced' });
  });

  it('when the AuditEvent of a client change cannot be stored, then the change is not saved either; when it can, it is stored with the change', async () => {
    const body = { role: 'admin', admin: true, allowedScopes: ['system/*.rs'], organization: org.region };
    await put('doomed-admin', { ...body, secret: FIRST }).expect(201);
    /** The client's AuditEvents in the database now, without waiting for the batched writer. */
    const stored = async (clientId: string) =>
      Number(
        (
          await shell.db.query<{ n: string | number }>(
            `SELECT count(*) AS n FROM fhir_resource WHERE resource_type = 'AuditEvent' AND content LIKE $1`,
            [`%"name":"${clientId}"%`],
          )
        ).rows[0]?.n,
      );
    expect(await stored('doomed-admin')).toBe(1);
    // The store refuses the AuditEvents of clients named doomed-*: an audit insert that fails.
    await shell.db.query(`CREATE FUNCTION refuse_doomed_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit store refuses %', NEW.id; END $$`);
    await shell.db.query(`CREATE TRIGGER refuse_doomed_audit BEFORE INSERT ON fhir_resource FOR EACH ROW
      WHEN (NEW.resource_type = 'AuditEvent' AND NEW.content LIKE '%"name":"doomed-%') EXECUTE FUNCTION refuse_doomed_audit()`);
    info.mockClear();
    const error = vi.spyOn(shell.ctx.logger, 'error').mockImplementation(() => undefined);
    try {
      await put('doomed-new', { secret: FIRST }).expect(500);
      expect(await findClient(shell.db, 'doomed-new')).toBeUndefined();
      await put('doomed-admin', { ...body, protectedIdentity: true }).expect(500);
      expect((await findClient(shell.db, 'doomed-admin'))?.protectedIdentity).toBe(false);
      expect(decodeJwt(await token('doomed-admin', FIRST)).pid).toBeUndefined();
      expect(info).not.toHaveBeenCalledWith('client changed', expect.anything());
      expect(info).not.toHaveBeenCalledWith('client created', expect.anything());
      expect(error).toHaveBeenCalledWith(
        'unhandled error',
        expect.objectContaining({ error: expect.stringMatching(/audit store refuses/) }),
      );
    } finally {
      error.mockRestore();
      await shell.db.query('DROP TRIGGER refuse_doomed_audit ON fhir_resource');
    }
    await put('doomed-admin', { ...body, protectedIdentity: true }).expect(200);
    // stored when the PUT answers, not some milliseconds later
    expect(await stored('doomed-admin')).toBe(2);
    expect(await stored('doomed-new')).toBe(0);
    expect(decodeJwt(await token('doomed-admin', FIRST)).pid).toBe(true);
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
