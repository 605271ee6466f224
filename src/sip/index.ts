/**
 * The collaboration capability: the SIP as a shared, signed CarePlan (src/sip), the comments between the parties
 * and the receivers' answers (src/communication), and the case overview (src/case-overview). Its repository hooks
 * run inside every FHIR write's transaction; its operation routes are mounted before the generic FHIR router.
 */
import type { AppContext, Capability } from '../compose.types';
import type { Validator } from '../fhir/validator';
import { intakeRepository, intakeServices } from '../intake';
import { combineHooks } from '../store/combine-hooks';
import type { RepositoryHooks } from '../store/repository.port';
import { mountCaseOverviewRoutes } from '../case-overview/case-overview.routes';
import { communicationHooks } from '../communication/communication-hooks';
import { sipHooks, type SipDeps } from './sip-hooks';
import { mountSipRoutes } from './sip.routes';

export function sipDeps(ctx: AppContext, validator: Validator): SipDeps {
  return { stay: intakeServices(ctx).deps, validator, repository: intakeRepository };
}

/** The SIP's hooks, then the comments' and answers' (which also name a comment's organisations before the write). */
export function collaborationHooks(deps: SipDeps): RepositoryHooks {
  return combineHooks([sipHooks(deps), communicationHooks(deps.validator)]);
}

export function createCollaborationCapability(ctx: AppContext, deps: SipDeps): Capability {
  return {
    name: 'collaboration',
    mountRoutes(app) {
      mountSipRoutes(app, ctx.db, deps);
      mountCaseOverviewRoutes(app, ctx.db, deps.repository, () => deps.stay.agreement());
    },
  };
}
