import type { Task } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../src/core/engine/evaluate';
import type { StayFact } from '../../src/core/stay/facts';
import { readTaskKey } from '../../src/fhir/task';
import { planTasks } from '../../src/intake/stay/reconcile-tasks';
import { inOrderOfEvents } from '../../src/intake/stay/write-order';
import * as b from '../core/engine/stay-builder';

let lag: Agreement;
beforeAll(async () => {
  lag = getAgreement(await loadAgreements(), 'lag');
});

const MUNI = 'municipality:1980';
const ADM = '2026-05-04T10:00:00+02:00';

/** The writes `planTasks` makes for these facts over the stored Tasks, as task keys in write order. */
function plan(facts: StayFact[], stored: Task[] = []): { keys: string[]; tasks: Task[] } {
  let n = 0;
  const { writes } = planTasks(
    stored,
    {
      stayId: 'stay-1',
      specs: evaluateStay(facts, lag).tasks,
      patient: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/stay-1' },
      party: () => undefined,
      now: '2026-05-10T00:00:00.000Z',
    },
    () => `t${++n}-${stored.length}`,
  );
  return { keys: writes.map((w) => readTaskKey(w.task)?.key ?? ''), tasks: writes.map((w) => w.task) };
}
const before = (keys: string[], first: string, then: string): void => {
  expect(keys, first).toContain(first);
  expect(keys, then).toContain(then);
  expect(keys.indexOf(first), `${first} before ${then}`).toBeLessThan(keys.indexOf(then));
};

describe('the order of a stay Task writes (the order its notifications reach each receiver)', () => {
  const base = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl']), b.estimate(ADM, '2026-05-08')];
  const change = b.estimate('2026-05-05T09:00:00+02:00', '2026-05-11');

  it('when an admission with an estimate and a change of it are written together, then the admission notice comes first, each duty before the Task based on it', () => {
    const { keys, tasks } = plan([...base, change]);
    before(keys, `inskrivningsmeddelande@${MUNI}`, `beraknad-utskrivning-andrad@${MUNI}#${change.id}`);
    before(keys, `ansvar:inskrivningsmeddelande@${MUNI}`, `inskrivningsmeddelande@${MUNI}`);
    const receiver = tasks[keys.indexOf(`inskrivningsmeddelande@${MUNI}`)];
    const duty = tasks[keys.indexOf(`ansvar:inskrivningsmeddelande@${MUNI}`)];
    expect(receiver?.basedOn).toEqual([{ reference: `Task/${duty?.id}` }]);
  });

  it('when a discharge and its cancellation meet a later estimate change, then each comes in the order it happened, the makulering right after what it withdraws', () => {
    const d = b.discharged('2026-05-08T11:00:00+02:00');
    const stored = plan([...base, d]).tasks.map((t) => ({ ...t, meta: { versionId: '1' } }));
    const cancel = b.fact('2026-05-08T12:00:00+02:00', { kind: 'discharge-cancelled' });
    const later = b.estimate('2026-05-08T13:00:00+02:00', '2026-05-12');
    const { keys } = plan([...base, d, cancel, later], stored);
    const notice = `utskrivningsmeddelande@${MUNI}#${d.id}`;
    const close = `avsluta-arende@${MUNI}#${d.id}`;
    before(keys, notice, `makulering:${notice}`);
    before(keys, close, `makulering:${close}`);
    before(keys, `makulering:${notice}`, close);
    before(keys, `makulering:${close}`, `beraknad-utskrivning-andrad@${MUNI}#${later.id}`);
  });

  it('when the specs are put in order, then each moment is read once per spec, not once per comparison', () => {
    const d = b.discharged('2026-05-08T11:00:00+02:00');
    const specs = evaluateStay([...base, change, d], lag).tasks;
    const parse = vi.spyOn(Date, 'parse');
    try {
      const ordered = inOrderOfEvents(specs);
      // one read of each spec's moment, and one of each withdrawn Task's makulering moment
      expect(parse.mock.calls.length).toBeLessThanOrEqual(2 * specs.length);
      expect(new Set(ordered)).toEqual(new Set(specs));
    } finally {
      parse.mockRestore();
    }
  });
});
