import { Router, type Response } from 'express';
import type { Db } from '../store/db.port';
import type { Reference, Resource, ResourceType } from '@medplum/fhirtypes';
import type { FhirRepository, AccessScope, SearchParams } from '../store/repository.port';
import type { AuthContext } from '../auth/auth-context';
import { GatewayError } from '../platform/errors';
import { organisationDirectory } from '../store/organisation-names.pg';

/** The resource types the admin console browses (read-only). */
export const BROWSABLE_TYPES: readonly ResourceType[] = ['Encounter', 'Task', 'CarePlan', 'Patient'];
/** Search parameters the browser passes on to the store (the rest are ignored). */
const PASSED_PARAMS = ['identifier', 'status', 'subject', 'patient', 'encounter', 'owner', '_id', '_lastUpdated'];

export type ScopedRepositoryFactory = (db: Db, scope: AccessScope) => FhirRepository;

function typeOf(v: unknown): ResourceType {
  const t = BROWSABLE_TYPES.find((b) => b === v);
  if (!t) {
    throw new GatewayError('not-found', `The admin console browses ${BROWSABLE_TYPES.join(', ')}, not ${String(v)}`);
  }
  return t;
}

const scopeOf = (res: Response): AccessScope => (res.locals.auth as AuthContext).access;

/** The Organizations a list's summaries name: each Task's owner, each Encounter's serviceProvider. */
function summaryOrganisations(resources: readonly Resource[]): string[] {
  const refs = resources.map((r): Reference | undefined =>
    r.resourceType === 'Task' ? r.owner : r.resourceType === 'Encounter' ? r.serviceProvider : undefined,
  );
  return [...new Set(refs.map((x) => x?.reference).filter((x): x is string => !!x?.startsWith('Organization/')))];
}

/** `Organization/<id>` → the directory's name, for those of `refs` it names (the page says the others are unknown). */
async function organisationNamesOf(db: Db, refs: readonly string[]): Promise<Record<string, string>> {
  if (refs.length === 0) return {};
  const directory = await organisationDirectory(db);
  const out: Record<string, string> = {};
  for (const ref of refs) {
    const name = directory.name(ref);
    if (name !== ref) out[ref] = name;
  }
  return out;
}

/**
 * The read-only resource browser's API under `/admin/api/resources` (admin rights required by the gate): a
 * search of one type (newest first), with `organizationNames` (`Organization/<id>` → name, for the Organizations
 * its summaries name that the directory names), and one resource with its version history. Reads go through the store's
 * repository with the caller's own scope, so the same tenant and protected-identity rules apply as on /fhir.
 */
export function resourceBrowserRoutes(db: Db, repos: ScopedRepositoryFactory): Router {
  const r = Router();
  r.get('/admin/api/resources/:type', async (req, res) => {
    const type = typeOf(req.params.type);
    const params: SearchParams = {
      _sort: '-_lastUpdated',
      _count: String(Math.min(Number(req.query._count) || 20, 100)),
    };
    for (const p of PASSED_PARAMS) {
      const v = req.query[p];
      if (typeof v === 'string' && v) params[p] = v;
    }
    const found = await repos(db, scopeOf(res)).search(type, params);
    res.json({
      resources: found.resources,
      organizationNames: await organisationNamesOf(db, summaryOrganisations(found.resources)),
    });
  });
  r.get('/admin/api/resources/:type/:id', async (req, res) => {
    const type = typeOf(req.params.type);
    const repo = repos(db, scopeOf(res));
    const resource = await repo.read(type, String(req.params.id));
    const history = await repo.history(type, String(req.params.id));
    res.json({
      resource,
      history: history.map((h) => ({
        versionId: h.versionId,
        lastUpdated: h.lastUpdated,
        method: h.method,
        resource: h.resource,
      })),
    });
  });
  return r;
}
