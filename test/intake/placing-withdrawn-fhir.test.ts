import { readFileSync } from 'node:fs';
import type { Bundle, Encounter, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION } from '../../src/fhir/constants';
import type { FhirRepository } from '../../src/store/repository.port';
import { testDatabases } from '../support/db';
import { codeOf, hospitalApi, intakeHarness, isDuty, type IntakeHarness } from './harness';

/**
 * A placing municipality (law 5 kap. 2 §) reported on a FHIR Encounter by mistake is withdrawn by a new version without
 * the `placing-municipality` extension (as removing `ready-for-discharge` withdraws the ready notice): the placing
 * municipality is told its notice is withdrawn, the municipality of registration is responsible again, and the stay
 * summary (the dashboard, the payer) names it.
 */
const bundle = (): Bundle =>
  JSON.parse(readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')) as Bundle;

describe.each(testDatabases())('a placing municipality withdrawn over FHIR on %s', (kind) => {
  let h: IntakeHarness;
  let api: FhirRepository;
  let EHR: { author: string; authorOrganization: string };
  beforeAll(async () => {
    h = await intakeHarness(kind);
    ({ api, EHR } = hospitalApi(h));
  });
  afterAll(async () => {
    await h.close();
  });

  it('when a later Encounter version leaves out the placing municipality Sala, then Sala gets a makulering and Västerås the notification as the responsible municipality', async () => {
    await api.processBundle(bundle(), EHR);
    const enc = (
      await h.repo.search<Encounter>('Encounter', { identifier: 'urn:oid:1.2.752.129.2.1.2.1|FHIR-VS-2026-0001' })
    ).resources[0] as Encounter;
    const stay = enc.id ?? '';
    const summary = async () =>
      (await h.db.query<{ municipality: string }>('SELECT municipality FROM stay_summary WHERE stay_id = $1', [stay]))
        .rows[0]?.municipality;
    const placing = { url: EXTENSION.placingMunicipality, valueString: '1981' };
    const v1 = await api.read<Encounter>('Encounter', stay);
    await api.update<Encounter>({ ...v1, extension: [...(v1.extension ?? []), placing] }, EHR);
    const vasteras = `Organization/${h.vasteras.id}`;
    const sala = `Organization/${h.sala.id}`;
    const of = (tasks: Task[], owner: string, code: string) =>
      tasks.filter((t) => !isDuty(t) && t.owner?.reference === owner && codeOf(t) === code);
    const placed = await h.tasks(stay);
    expect(of(placed, sala, 'inskrivningsmeddelande').map((t) => t.status)).toEqual(['requested']);
    expect(await summary()).toBe('1981');

    const v2 = await api.read<Encounter>('Encounter', stay);
    await api.update<Encounter>(
      { ...v2, extension: v2.extension?.filter((e) => e.url !== EXTENSION.placingMunicipality) },
      EHR,
    );
    const all = await h.tasks(stay);
    const salaNotice = of(all, sala, 'inskrivningsmeddelande');
    expect(salaNotice.map((t) => t.status)).toEqual(['cancelled']);
    expect(of(all, sala, 'makulering').map((t) => t.focus?.reference)).toEqual([`Task/${salaNotice[0]?.id}`]);
    const live = of(all, vasteras, 'inskrivningsmeddelande').filter((t) => t.status === 'requested');
    expect(live).toHaveLength(1);
    expect(live[0]?.description).not.toMatch(/för kännedom/);
    const duty = all.find((t) => isDuty(t) && t.id === live[0]?.basedOn?.[0]?.reference?.slice('Task/'.length));
    expect(duty?.requester?.reference).toBe(vasteras);
    expect(duty?.restriction?.period?.end).toBeDefined();
    expect(await summary()).toBe('1980');
  });
});
