import type { Patient } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveClient } from '../../src/auth/client-store';
import { SE_SECURITY_LABEL_SYSTEM } from '../../src/fhir/constants';
import { createRepository } from '../../src/store/repository.pg';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from '../http/shell-fixture';
import { patient, pnr } from '../store/fixtures';

describe.each(testDatabases())('the explicit right to see a protected identity on %s', (kind) => {
  let shell: Shell;
  let patientId: string;

  beforeAll(async () => {
    shell = await openShell({ kind, audit: false, full: true });
    const admin = { allowedScopes: ['system/*.cruds'], organization: 'Organization/region', role: 'admin' as const };
    await saveClient(shell.db, { clientId: 'admin', secret: 'admin-secret-0000', admin: true, ...admin });
    await saveClient(shell.db, {
      clientId: 'auditor',
      secret: 'auditor-secret-00',
      admin: true,
      protectedIdentity: true,
      ...admin,
    });
    const hospital = createRepository(shell.db, {
      clientId: 'ehr',
      organization: 'Organization/hosp',
      role: 'hospital',
    });
    const p = await hospital.create<Patient>(
      {
        ...patient(pnr('19400101', '123')),
        meta: { security: [{ system: SE_SECURITY_LABEL_SYSTEM, code: 'sekretessmarkering' }] },
        address: [{ line: ['Hemliga vägen 1'], city: 'Sala' }],
      },
      { author: 'ehr', authorOrganization: 'Organization/hosp' },
    );
    patientId = p.id!;
  });
  afterAll(async () => shell.close());

  const token = async (id: string, secret: string): Promise<string> => {
    const r = await request(shell.gateway.app)
      .post('/auth/token')
      .set('Authorization', `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`)
      .type('form')
      .send({ grant_type: 'client_credentials' });
    expect(r.status).toBe(200);
    return r.body.access_token as string;
  };
  const readPatient = async (t: string) =>
    request(shell.gateway.app).get(`/fhir/Patient/${patientId}`).set('Authorization', `Bearer ${t}`);

  it('when an admin without the right reads a protected Patient, then it sees the recipient view', async () => {
    const t = await token('admin', 'admin-secret-0000');
    expect(decodeJwt(t).pid).toBeUndefined();
    const r = await readPatient(t);
    expect(r.status).toBe(200);
    expect(r.body.address).toBeUndefined();
  });

  it('when an admin with the explicit right reads it, then it sees the address', async () => {
    const t = await token('auditor', 'auditor-secret-00');
    expect(decodeJwt(t).pid).toBe(true);
    const r = await readPatient(t);
    expect(r.status).toBe(200);
    expect(r.body.address?.[0]?.city).toBe('Sala');
  });

  it('when the right is given to a non-admin client, then the database refuses it', async () => {
    await expect(
      saveClient(shell.db, {
        clientId: 'muni',
        secret: 'muni-secret-00000',
        allowedScopes: ['system/Patient.rs'],
        organization: 'Organization/kommun-1980',
        role: 'municipality',
        protectedIdentity: true,
      }),
    ).rejects.toThrow();
  });
});
