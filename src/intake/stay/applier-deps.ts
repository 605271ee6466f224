import type { Agreement } from '../../core/agreements/agreement.schema';
import type { EngineIssue } from '../../core/engine/issues';
import type { Clock } from '../../platform/clock';
import type { WriteOptions } from '../../store/repository.port';
import type { OrganizationCache } from './party-resolver';

/** Author stamped on every write intake makes, so the FHIR-push hook can tell them from client writes. */
export const INTAKE_AUTHOR = 'svu-gateway:intake';

export interface StayApplierDeps {
  agreement: () => Promise<Agreement>;
  clock: Clock;
  orgs: OrganizationCache;
  /** Told each engine warning and each rejected fact of an apply (a log line and a counter; never silent). */
  issues?: (stayId: string, source: 'hl7' | 'fhir', issues: EngineIssue[]) => void;
}

export const intakeWrite: WriteOptions = { author: INTAKE_AUTHOR };

export function writeOptions(authorOrganization?: string): WriteOptions {
  return authorOrganization ? { author: INTAKE_AUTHOR, authorOrganization } : intakeWrite;
}
