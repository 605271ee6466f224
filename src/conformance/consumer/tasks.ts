import { randomUUID } from 'node:crypto';
import type { Task } from '@medplum/fhirtypes';
import type { SvuTaskCode } from '../../core/engine/types';

const TASK_SYSTEM = 'https://svu-gateway.dev/fhir/CodeSystem/svu-task';
const SECURITY_SYSTEM = 'http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel';

/** One scripted stay: the ids every Task of a scenario points to. */
export interface ScriptedStay {
  patient: string;
  encounter: string;
  owner: string;
  hospital: string;
  protectedIdentity?: boolean;
}

export function newStay(owner: string, protectedIdentity = false): ScriptedStay {
  const id = randomUUID().slice(0, 8);
  return {
    patient: `pat-${id}`,
    encounter: `enc-${id}`,
    owner,
    hospital: 'org-vastmanlands-sjukhus',
    protectedIdentity,
  };
}

/**
 * A Task as the gateway sends it to a receiver (SvuTask: code from the svu-task CodeSystem, owner = the receiver,
 * deadline in restriction.period.end). Scripted, not derived: the consumer kit tests the receiver's transport.
 */
export function task(
  stay: ScriptedStay,
  code: SvuTaskCode,
  o: { status?: Task['status']; description?: string; deadlineHours?: number; focus?: string; id?: string } = {},
): Task & { id: string } {
  const now = Date.now();
  return {
    resourceType: 'Task',
    id: o.id ?? `task-${randomUUID()}`,
    meta: {
      profile: ['https://svu-gateway.dev/fhir/StructureDefinition/SvuTask'],
      lastUpdated: new Date(now).toISOString(),
      ...(stay.protectedIdentity ? { security: [{ system: SECURITY_SYSTEM, code: 'skyddadFolkbokforing' }] } : {}),
    },
    status: o.status ?? 'requested',
    intent: 'order',
    code: { coding: [{ system: TASK_SYSTEM, code }] },
    description: o.description,
    for: { reference: `Patient/${stay.patient}` },
    encounter: { reference: `Encounter/${stay.encounter}` },
    ...(o.focus ? { focus: { reference: o.focus } } : {}),
    requester: { reference: `Organization/${stay.hospital}`, display: 'Västmanlands sjukhus Västerås' },
    owner: { reference: `Organization/${stay.owner}` },
    authoredOn: new Date(now).toISOString(),
    restriction: { period: { end: new Date(now + (o.deadlineHours ?? 24) * 3600_000).toISOString() } },
  };
}
