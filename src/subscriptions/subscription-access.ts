import type { Subscription } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import type { AccessScope, RepositoryHooks } from '../store/repository.port';
import { isUnrestricted, SYSTEM_SCOPE } from '../delivery/resource-access';
import { markRegistryDeleted, upsertRegistry } from './registry.pg';
import { assertMatchable, parseSubscription, type SubscriptionSpec } from './subscription-model';

const READABLE_BY_TENANTS = new Set(['Task', 'Encounter', 'Patient', 'CarePlan', 'Communication']);

function ownerValues(filter: string): string[] {
  const out: string[] = [];
  for (const [k, v] of new URLSearchParams(filter))
    if (k === 'owner' || k === 'owner:Organization') out.push(...v.split(','));
  return out;
}

const sameOrg = (value: string, org: string): boolean =>
  value === org || `Organization/${value}` === org || value.endsWith(`/${org}`);

/**
 * A client may subscribe only to what its tenant may read (contract, Security). Municipality and
 * primary-care clients: Tasks they own (criteria `Task?owner=Organization/<own id>` or the task topic, whose
 * owner filter is implicit); Encounters, Patients, CarePlans and Communications (comments) are allowed because every notification is
 * re-checked against the store's tenant rules at delivery. Throws GatewayError('forbidden').
 */
export function checkSubscribeAllowed(spec: SubscriptionSpec, scope: AccessScope | undefined): void {
  if (!scope || isUnrestricted(scope)) return;
  const org = scope.organization;
  if (!org) throw new GatewayError('forbidden', 'The client is not bound to an Organization and cannot subscribe');
  if (!READABLE_BY_TENANTS.has(spec.resourceType)) {
    throw new GatewayError('forbidden', `A client may not subscribe to ${spec.resourceType}`);
  }
  const owners = ownerValues(spec.filter);
  if (owners.some((o) => !sameOrg(o, org))) {
    throw new GatewayError('forbidden', `owner must be your own organisation (${org})`);
  }
  if (spec.resourceType === 'Task' && !spec.topicDef && scope.role !== 'hospital' && owners.length === 0) {
    throw new GatewayError(
      'forbidden',
      `A ${scope.role ?? 'tenant'} client may only subscribe to Tasks it owns: use criteria Task?owner=${org}`,
    );
  }
}

/**
 * Repository hook for Subscription writes (wire it into `createRepository(db, scope, hooks)` for the FHIR
 * API): validates the Subscription, enforces `checkSubscribeAllowed`, and records the subscriber's scope and
 * the resource in `subscription_registry` in the same transaction.
 */
export function createSubscriptionHooks(canonicalBase: string): RepositoryHooks {
  return {
    async afterWrite(tx, change, scope) {
      if (change.resourceType !== 'Subscription') return;
      if (change.action === 'delete' || !change.after) {
        await markRegistryDeleted(tx, change.id);
        return;
      }
      const sub = change.after as Subscription;
      const spec = parseSubscription(sub, canonicalBase);
      if (criteriaChanged(change.before as Subscription | undefined, sub)) assertMatchable(spec);
      const clientScope = scope && !scope.system ? scope : undefined;
      checkSubscribeAllowed(spec, clientScope);
      // The subscriber is whoever created it; the gateway's own later status writes (system) keep it.
      await upsertRegistry(tx, sub, change.action === 'create' ? (clientScope ?? SYSTEM_SCOPE) : clientScope);
    },
  };
}

/** Whether a write sets new criteria (a create, or another criteria or filter than the version before). */
function criteriaChanged(before: Subscription | undefined, after: Subscription): boolean {
  if (!before) return true;
  const of = (x: Subscription) => JSON.stringify([x.criteria, (x as { _criteria?: unknown })._criteria]);
  return of(before) !== of(after);
}
