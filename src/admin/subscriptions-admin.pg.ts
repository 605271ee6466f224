import type { Subscription } from '@medplum/fhirtypes';
import type { Db } from '../store/db.port';
import { storedSubscriptionProblem } from '../subscriptions/subscription-model';

/** One Subscription as the admin console lists it: who subscribed (organisation by name), where, and how it goes. */
export interface AdminSubscriptionRow {
  id: string;
  status: string;
  organization: string | null;
  organizationName: string | null;
  clientId: string | null;
  criteria: string | null;
  endpoint: string | null;
  eventsSinceStart: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastSentAt: string | null;
  updatedAt: string;
  /**
   * Why the criteria cannot match any notification (a parameter the matcher does not know, stored before such
   * criteria were refused), or null. Such a Subscription stays silent: the console shows it so someone acts.
   */
  criteriaProblem: string | null;
}

interface Row {
  id: string;
  status: string;
  organization: string | null;
  organization_name: string | null;
  client_id: string | null;
  criteria: string | null;
  endpoint: string | null;
  events_since_start: string | number;
  consecutive_failures: number;
  last_error: string | null;
  last_sent_at: string | Date | null;
  updated_at: string | Date;
  resource: Subscription | string;
}

/**
 * Every Subscription the gateway delivers for, whatever tenant created it (read from `subscription_registry`,
 * which the write hook keeps for every Subscription), ordered by organisation name, then status.
 */
export async function listSubscriptionsForAdmin(db: Db, canonicalBase: string): Promise<AdminSubscriptionRow[]> {
  const { rows } = await db.query<Row>(
    `SELECT r.id, r.status, r.scope->>'organization' AS organization, o.content::jsonb->>'name' AS organization_name,
            r.scope->>'clientId' AS client_id,
            coalesce(r.resource->>'criteria', r.resource#>>'{_criteria,extension,0,valueString}') AS criteria,
            r.resource#>>'{channel,endpoint}' AS endpoint, r.events_since_start, r.consecutive_failures,
            r.last_error, r.last_sent_at, r.updated_at, r.resource
       FROM subscription_registry r
       LEFT JOIN fhir_resource o ON o.resource_type = 'Organization' AND NOT o.deleted
            AND 'Organization/' || o.id = r.scope->>'organization'
      ORDER BY organization_name NULLS LAST, organization, r.status, r.id`,
  );
  return rows.map((r) =>
    rowOf(r, typeof r.resource === 'string' ? (JSON.parse(r.resource) as Subscription) : r.resource, canonicalBase),
  );
}

function rowOf(r: Row, sub: Subscription, canonicalBase: string): AdminSubscriptionRow {
  return {
    id: r.id,
    status: r.status,
    organization: r.organization,
    organizationName: r.organization_name,
    clientId: r.client_id,
    criteria: r.criteria,
    endpoint: r.endpoint,
    eventsSinceStart: Number(r.events_since_start),
    consecutiveFailures: r.consecutive_failures,
    // a delivery's last error, else why the gateway set the status (a refused heartbeat records no delivery error)
    lastError: r.last_error ?? sub.error ?? null,
    lastSentAt: r.last_sent_at === null ? null : new Date(r.last_sent_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    criteriaProblem: storedSubscriptionProblem(sub, canonicalBase) ?? null,
  };
}
