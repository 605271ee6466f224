import type { Subscription } from '@medplum/fhirtypes';
import { GatewayError } from '../platform/errors';
import type { Db } from '../store/db.port';
import { organisationDirectory } from '../store/organisation-names.pg';
import type { AccessScope, RepositoryHooks } from '../store/repository.port';
import { isUnrestricted, SYSTEM_SCOPE } from '../delivery/resource-access';
import { markRegistryDeleted, upsertRegistry } from './registry.pg';
import { assertMatchable, assertPayloadSpoken, parseSubscription, type SubscriptionSpec } from './subscription-model';

const READABLE_BY_TENANTS = new Set(['Task', 'Encounter', 'Patient', 'CarePlan', 'Communication']);

function ownerValues(filter: string): string[] {
  const out: string[] = [];
  for (const [k, v] of new URLSearchParams(filter))
    if (k === 'owner' || k === 'owner:Organization') out.push(...v.split(','));
  return out;
}

const sameOrg = (value: string, org: string): boolean =>
  value === org || `Organization/${value}` === org || value.endsWith(`/${org}`);

/** An owner value of the criteria (`sala`, `Organization/sala`, `<base>/Organization/sala`) as `Organization/<id>`. */
const asReference = (value: string): string =>
  /(?:^|\/)(Organization\/[^/]+)$/.exec(value)?.[1] ?? (value.includes('/') ? value : `Organization/${value}`);

/** Why a tenant may not subscribe so, in terms of organisations (references; the hook names them). */
type Refusal =
  | { kind: 'unbound' }
  | { kind: 'type'; resourceType: string }
  | { kind: 'other-owner'; org: string; others: string[] }
  | { kind: 'own-tasks-only'; org: string; role: string };

/**
 * A client may subscribe only to what its tenant may read (contract, Security). Municipality and
 * primary-care clients: Tasks they own (criteria `Task?owner=Organization/<own id>` or the task topic, whose
 * owner filter is implicit); Encounters, Patients, CarePlans and Communications (comments) are allowed because every notification is
 * re-checked against the store's tenant rules at delivery.
 */
function subscribeRefusal(spec: SubscriptionSpec, scope: AccessScope | undefined): Refusal | undefined {
  if (!scope || isUnrestricted(scope)) return undefined;
  const org = scope.organization;
  if (!org) return { kind: 'unbound' };
  if (!READABLE_BY_TENANTS.has(spec.resourceType)) return { kind: 'type', resourceType: spec.resourceType };
  const owners = ownerValues(spec.filter);
  const others = owners.filter((o) => !sameOrg(o, org)).map(asReference);
  if (others.length > 0) return { kind: 'other-owner', org, others: [...new Set(others)] };
  if (spec.resourceType === 'Task' && !spec.topicDef && scope.role !== 'hospital' && owners.length === 0) {
    return { kind: 'own-tasks-only', org, role: scope.role ?? 'tenant' };
  }
  return undefined;
}

/**
 * `subscribeRefusal` as the client reads it: organisations by their directory names (texts a person reads name
 * organisations), the reference beside the name where the client needs it, e.g. in the criteria to use instead.
 * Throws GatewayError('forbidden').
 */
export async function checkSubscribeAllowed(
  db: Db,
  spec: SubscriptionSpec,
  scope: AccessScope | undefined,
): Promise<void> {
  const refusal = subscribeRefusal(spec, scope);
  if (!refusal) return;
  switch (refusal.kind) {
    case 'unbound':
      throw new GatewayError('forbidden', 'The client is not bound to an Organization and cannot subscribe');
    case 'type':
      throw new GatewayError('forbidden', `A client may not subscribe to ${refusal.resourceType}`);
    case 'other-owner': {
      const d = await organisationDirectory(db);
      const others = refusal.others.map((o) => d.label(o)).join(', ');
      throw new GatewayError(
        'forbidden',
        `owner must be your own organisation, ${d.label(refusal.org)}, not ${others}: use criteria Task?owner=${refusal.org}`,
      );
    }
    case 'own-tasks-only': {
      const d = await organisationDirectory(db);
      const own = d.name(refusal.org) === refusal.org ? d.label(refusal.org) : d.name(refusal.org);
      throw new GatewayError(
        'forbidden',
        `A ${refusal.role} client (${own}) may only subscribe to Tasks it owns: use criteria Task?owner=${refusal.org}`,
      );
    }
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
      if ((change.before as Subscription | undefined)?.channel?.payload !== sub.channel?.payload)
        assertPayloadSpoken(sub);
      const clientScope = scope && !scope.system ? scope : undefined;
      await checkSubscribeAllowed(tx, spec, clientScope);
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
