/**
 * The admin view of raw HL7 v2 messages shows personnummer, names and addresses: each view that returned raw
 * text is an AuditEvent naming the patients exposed (the Patient of each message's stay), so log review
 * (loggranskning) sees who read them. Messages without a known stay name no patient, only the message ids.
 */
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { AuthContext } from '../auth/auth-context';
import { CANONICAL_BASE } from '../fhir/constants';
import type { Db } from '../store/db.port';
import { createRepository } from '../store/repository.pg';
import { clientAgent, tenantAgent } from './audit-parts';

/** The Patients of the stays (Encounter subjects), sorted and de-duplicated. */
async function patientsOfStays(db: Db, stayIds: readonly string[]): Promise<string[]> {
  if (stayIds.length === 0) return [];
  const r = await db.query<{ patient: string | null }>(
    `SELECT DISTINCT content::jsonb -> 'subject' ->> 'reference' AS patient FROM fhir_resource
     WHERE resource_type = 'Encounter' AND NOT deleted AND id = ANY($1::text[])`,
    [[...new Set(stayIds)]],
  );
  return r.rows
    .map((x) => x.patient ?? '')
    .filter((p) => p.startsWith('Patient/'))
    .sort();
}

export function rawHl7ViewEvent(
  who: { clientId: string; organization?: string },
  messageIds: readonly number[],
  patients: readonly string[],
  now: Date,
): AuditEvent {
  const message: AuditEventEntity = {
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    description: `hl7_message ${messageIds.join(',')}`.slice(0, 1000),
  };
  const people: AuditEventEntity[] = patients.map((reference) => ({
    what: { reference },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  }));
  return {
    resourceType: 'AuditEvent',
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    recorded: now.toISOString(),
    outcome: '0',
    outcomeDesc: 'admin view of raw HL7 v2 messages',
    agent: [
      clientAgent({ canonicalBase: CANONICAL_BASE, clientId: who.clientId, display: who.clientId }),
      ...(who.organization ? [tenantAgent(who.organization)] : []),
    ],
    source: { observer: { display: 'svu-gateway admin: HL7 messages' } },
    entity: [message, ...people],
  };
}

/** Records that `auth` saw the raw text of these messages. A failed write fails the view: no raw text unaudited. */
export async function auditRawHl7View(
  db: Db,
  auth: AuthContext | undefined,
  messages: readonly { id: number; stayId: string | null }[],
  now: Date = new Date(),
): Promise<void> {
  if (messages.length === 0) return;
  const patients = await patientsOfStays(
    db,
    messages.flatMap((m) => (m.stayId ? [m.stayId] : [])),
  );
  const who = {
    clientId: auth?.clientId ?? 'admin',
    ...(auth?.access.organization ? { organization: auth.access.organization } : {}),
  };
  const event = rawHl7ViewEvent(
    who,
    messages.map((m) => m.id),
    patients,
    now,
  );
  await createRepository(db, { system: true }).create(event, { silent: true });
}
