import { readFileSync } from 'node:fs';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { hospitalApi, intakeHarness, type IntakeHarness } from './harness';

/** Issue 13: an engine warning or a rejected fact is never silent: one log line and a counter, on both intakes. */
const bundle = (): Bundle =>
  JSON.parse(readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')) as Bundle;

describe.each(testDatabases())('engine warnings logged and counted on %s', (kind) => {
  let h: IntakeHarness;
  let warn: { mock: { calls: unknown[][] }; mockClear(): void };
  beforeAll(async () => {
    h = await intakeHarness(kind, { env: { HL7_ACK_AFTER: 'applied' } });
    warn = vi.spyOn(h.ctx.logger, 'warn');
  });
  afterAll(async () => {
    await h.close();
  });
  const count = async (code: string, source: string): Promise<number> => {
    const m = await h.ctx.metrics.getSingleMetric('svu_engine_warnings_total')?.get();
    return m?.values.find((v) => v.labels.code === code && v.labels.source === source)?.value ?? 0;
  };
  const lines = (): Record<string, unknown>[] =>
    warn.mock.calls
      .filter((c: unknown[]) => c[0] === 'engine warning')
      .map((c: unknown[]) => c[1] as Record<string, unknown>);

  it('when an HL7 ready notice is held back by the readiness gate, then one log line names the stay, fact kind and code, and the counter rises', async () => {
    await h.send(
      adt({ event: 'A01', visit: 'EW-1', control: 'EW-1a', obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] }),
    );
    const before = await count('fact-rejected', 'hl7');
    warn.mockClear();
    await h.send(adt({ event: 'A08', visit: 'EW-1', control: 'EW-1b', obx: [OBX.ready('20260116120000')] }));
    expect(await count('fact-rejected', 'hl7')).toBe(before + 1);
    const rejected = lines().filter((l) => l.code === 'fact-rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ source: 'hl7', factKind: 'ready-for-discharge' });
    expect(typeof rejected[0]?.stayId).toBe('string');
  });

  it('when a FHIR admission has no municipality of registration, then the warning is logged without personal data and counted for fhir', async () => {
    const b = bundle();
    const patient = b.entry?.[0]?.resource as Patient;
    patient.address = [{ use: 'home', city: 'Okänd', country: 'SE' }];
    const { api, EHR } = hospitalApi(h);
    const before = await count('no-municipality', 'fhir');
    warn.mockClear();
    await api.processBundle(b, EHR);
    expect(await count('no-municipality', 'fhir')).toBeGreaterThan(before);
    const logged = lines().filter((l) => l.code === 'no-municipality');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]).toMatchObject({ source: 'fhir' });
    const text = JSON.stringify(warn.mock.calls);
    expect(text).not.toContain('193111309856');
    expect(text).not.toContain('Lundqvist');
  });
});
