import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adt } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, intakeHarness, type IntakeHarness } from './harness';

/** Issue 13 §9: the century of a 10-digit personnummer comes from the Stockholm date, not the UTC date. */
describe.each(testDatabases())('personnummer century around midnight on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  it('when a child born on 1 January 2026 is admitted at 00:30 Stockholm time (still 31 December in UTC), then the personnummer is 2026…', async () => {
    h.clock.set('2025-12-31T23:30:00Z');
    const ack = await h.send(adt({ event: 'A01', visit: 'NY-1', pnr: '2601012384', admit: '20260101002500' }));
    expect(ackCode(ack)).toBe('AA');
    const patients = await h.repo.search<Patient>('Patient', {
      identifier: 'http://electronichealth.se/identifier/personnummer|202601012384',
    });
    expect(patients.resources).toHaveLength(1);
  });
});
