import type { Patient, Reference, Task } from '@medplum/fhirtypes';
import type { StayFact } from '../../core/stay/facts';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import type { ResourceChange } from '../../store/repository.port';
import { applyStayFacts, type StayApplierDeps } from '../stay/apply-stay';
import { encounterIssueRefresh } from '../stay/issue-refresh';
import { lockStays } from '../stay/stay-rows.pg';
import { fvkAppointedFact } from './fvk-appointed';
import { informationTransferredFact } from './information-transferred';
import { rejectionFact } from './rejection-hook';

/**
 * What a party's write of one of the gateway's Tasks tells the stay: a receiver's rejection (re-routing and the
 * hospital's Task), the outpatient unit's appointment of the named care contact (readiness criterion 3) or the
 * hospital's completion of its duty to transfer the information to a unit (criterion 4), each only by the Task's owner
 * (`writtenByOwner`). `writer` is the writing tenant's organisation (`Organization/<id>`), undefined for the gateway and admins.
 * Applied in the write's transaction, so the stay's Tasks change with the answer or not at all.
 */
export async function applyTaskFacts(
  tx: Db,
  repo: PgRepository,
  deps: StayApplierDeps,
  change: ResourceChange,
  writer: string | undefined,
) {
  const after = change.after as Task;
  const before = change.before as Task | undefined;
  const at = deps.clock.now().toISOString();
  const facts = [
    rejectionFact(before, after, writer, after.meta?.versionId ?? '0', at),
    fvkAppointedFact(before, after, writer, at),
    informationTransferredFact(before, after, writer, at),
  ].filter((f): f is StayFact => f !== undefined);
  const stayId = facts[0]?.stayId;
  if (!stayId) return;
  await lockStays(tx, [stayId]);
  // the Encounter the gateway built from HL7 says what the engine says after the write (units left to be told)
  const refresh = await encounterIssueRefresh(tx, repo, stayId);
  await applyStayFacts(tx, repo, deps, {
    stayId,
    facts,
    source: 'fhir',
    patient: { ...(after.for as Reference<Patient> | undefined) },
    encounter: { reference: `Encounter/${stayId}` },
    ...refresh,
  });
}
