import type { Encounter, Patient, Reference } from '@medplum/fhirtypes';
import type { Db } from '../../store/db.port';
import type { PgRepository } from '../../store/repository.pg';
import { applyStayFacts } from './apply-stay';
import type { StayApplierDeps } from './applier-deps';
import { encounterIssueRefresh } from './issue-refresh';
import { lockStays } from './stay-rows.pg';

/**
 * A one-off after an upgrade that changed what an apply writes for some stored stays: applies each stay `stays` (SQL
 * giving one column, `stay`) finds again, with no new fact (the engine folds what the stay has, and its Tasks, the
 * summary and the engine issues of an Encounter the gateway built follow). Once per store: recorded in
 * `schema_migrations` under `name` (no SQL file has it: `migrate` never runs it) after the last stay. Each stay is
 * applied in its own transaction with its stay lock, as any apply, so a store with many such stays holds no lock
 * longer than one stay's apply and a crash keeps what was done. Two processes starting together may both apply a stay:
 * an apply with no new fact is idempotent (the second writes nothing); after a crash the next start applies what
 * `stays` finds again, which at worst repeats work. Returns the number of stays applied (0 when done before).
 */
export async function reapplyStaysOnce(
  db: Db,
  repository: (tx: Db) => PgRepository,
  deps: StayApplierDeps,
  name: string,
  stays: string,
): Promise<number> {
  const done = await db.query('SELECT 1 FROM schema_migrations WHERE name = $1', [name]);
  if (done.rows.length > 0) return 0;
  const ids = (await db.query<{ stay: string }>(stays)).rows.map((r) => r.stay);
  for (const stayId of ids) {
    await db.transaction(async (tx) => {
      await lockStays(tx, [stayId]);
      const repo = repository(tx);
      const encounter = await repo.read<Encounter>('Encounter', stayId).catch(() => undefined);
      if (!encounter?.subject?.reference) return;
      await applyStayFacts(tx, repo, deps, {
        stayId,
        facts: [],
        source: 'hl7',
        patient: encounter.subject as Reference<Patient>,
        encounter: { reference: `Encounter/${stayId}` },
        ...(encounter.serviceProvider?.reference ? { authorOrganization: encounter.serviceProvider.reference } : {}),
        ...(await encounterIssueRefresh(tx, repo, stayId)),
      });
    });
  }
  await db.query('INSERT INTO schema_migrations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
  return ids.length;
}
