import express, { type Express } from 'express';
import type { AuthContext } from '../../src/auth/auth-context';
import { createFhirRouter } from '../../src/fhir-api/fhir.router';
import type { Validator } from '../../src/fhir/validator';
import { createLogger } from '../../src/platform/logger';
import type { Db } from '../../src/store/db.port';
import type { RepositoryHooks } from '../../src/store/repository.port';

export const BASE = 'http://localhost:8080/fhir';

/** Test callers, chosen per request with the `x-test-as` header (stands in for the bearer middleware). */
export function testClients(vasterasOrg: string, salaOrg: string): Record<string, AuthContext> {
  return {
    admin: {
      clientId: 'demo-admin',
      scopes: ['system/*.*'],
      access: { role: 'admin', clientId: 'demo-admin' },
      admin: true,
    },
    ehr: {
      clientId: 'demo-ehr',
      scopes: ['system/Patient.cruds', 'system/Encounter.cruds', 'system/Task.rs', 'system/Organization.rs'],
      access: { clientId: 'demo-ehr', organization: 'Organization/hosp', role: 'hospital' },
      admin: false,
    },
    otherEhr: {
      clientId: 'other-ehr',
      scopes: ['system/*.cruds'],
      access: { clientId: 'other-ehr', organization: 'Organization/other-hosp', role: 'hospital' },
      admin: false,
    },
    vasteras: {
      clientId: 'demo-vasteras',
      scopes: [
        'system/Task.rus',
        'system/Patient.rs',
        'system/Encounter.rs',
        'system/Subscription.cruds',
        'system/Organization.rs',
      ],
      access: { clientId: 'demo-vasteras', organization: `Organization/${vasterasOrg}`, role: 'municipality' },
      admin: false,
    },
    sala: {
      clientId: 'demo-sala',
      scopes: ['system/*.rs'],
      access: { clientId: 'demo-sala', organization: `Organization/${salaOrg}`, role: 'municipality' },
      admin: false,
    },
  };
}

export function testApp(
  db: Db,
  validator: Validator,
  clients: Record<string, AuthContext>,
  opts: { hooks?: RepositoryHooks; maxBodyBytes?: number } = {},
): Express {
  const app = express();
  app.use((req, res, next) => {
    const who = req.header('x-test-as');
    if (who && clients[who]) res.locals.auth = clients[who];
    next();
  });
  app.use(
    '/fhir',
    createFhirRouter({
      db,
      validator,
      baseUrl: BASE,
      logger: createLogger('error'),
      maxBodyBytes: opts.maxBodyBytes ?? 200_000,
      ...(opts.hooks ? { hooks: opts.hooks } : {}),
    }),
  );
  return app;
}
