import type { Resource } from '@medplum/fhirtypes';
import type { RepositoryHooks } from './repository.port';

/**
 * Several hooks as one, run in order inside the same write transaction (the first that throws aborts the write):
 * each `beforeWrite` fills in on what the ones before it returned, then every `afterWrite` sees the change.
 */
export function combineHooks(all: readonly RepositoryHooks[]): RepositoryHooks {
  const after = all.map((h) => h.afterWrite?.bind(h)).filter((f) => f !== undefined);
  const before = all.map((h) => h.beforeWrite?.bind(h)).filter((f) => f !== undefined);
  return {
    ...(before.length > 0 && {
      async beforeWrite(tx, change, scope) {
        let filled: Resource | undefined;
        for (const f of before) filled = (await f(tx, filled ? { ...change, after: filled } : change, scope)) ?? filled;
        return filled;
      },
    }),
    async afterWrite(tx, change, scope) {
      for (const f of after) await f(tx, change, scope);
    },
  };
}
