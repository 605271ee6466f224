/**
 * The collaboration capability: the SIP as a shared, signed CarePlan (src/sip), the comments between the parties
 * and the receivers' answers (src/communication), and the case overview (src/case-overview). Its repository hooks
 * run inside every FHIR write's transaction; its operation routes are mounted before the generic FHIR router.
 */
import type { AppContext, Capability } from '../compose.types';
import type { Validator } from '../fhir/validator';
import { intakeRepository, intakeServices } from '../intake';
import type { RepositoryHooks } from '../store/repository.port';
import { mountCaseOverviewRoutes } from '../case-overview/case-overview.routes';
import { communicationHooks } from '../communication/communication-hooks';
import { sipHooks, type SipDeps } from './sip-hooks';
import { mountSipRoutes } from './sip.routes';

export function sipDeps(ctx: AppContext, validator: Validator): SipDeps {
  return { stay: intakeServices(ctx).deps, validator, repository: intakeRepository };
}

export function collaborationHooks(deps: SipDeps): RepositoryHooks {
  const sip = sipHooks(deps);
  const comments = communicationHooks(deps.validator);
  return {
    // a comment is written with its organisations' names (src/communication)
    beforeWrite: (tx, change, scope) => comments.beforeWrite(tx, change, scope),
    async afterWrite(tx, change, scope) {
      await sip.afterWrite?.(tx, change, scope);
      await comments.afterWrite(tx, change, scope);
    },
  };
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
