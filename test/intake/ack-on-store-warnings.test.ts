import type { Hl7Message } from '@medplum/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { caseOverview } from '../../src/case-overview/case-overview';
import { overviewPage } from '../../src/case-overview/overview-page';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { PgRepository } from '../../src/store/repository.pg';
import type { AccessScope } from '../../src/store/repository.port';
import { ackCode, intakeHarness, type IntakeHarness } from './harness';

/** ADR 024: with the default ACK (on store), what the message itself shows the engine will park is in the ACK. */
const warnings = (ack: Hl7Message): { code: string; severity: string }[] =>
  ack.getAllSegments('ERR').map((s) => ({
    code: s.getField(5)?.getComponent(1) ?? '',
    severity: s.getField(4)?.toString() ?? '',
  }));

describe.each(testDatabases())('warnings in the ACK sent on store on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { units: ['SE2321000172-VC01'] });
    expect(h.ctx.config.HL7_ACK_AFTER).toBe('stored');
  });
  afterAll(async () => {
    await h.close();
  });

  it('when an admission refuses consent, then AA with ERR W consent-refused', async () => {
    const ack = await h.send(
      adt({ event: 'A01', visit: 'AS-1', obx: [OBX.needs('socialtjanst'), OBX.consent('nej')] }),
    );
    expect(ackCode(ack)).toBe('AA');
    expect(warnings(ack)).toEqual([{ code: 'consent-refused', severity: 'W' }]);
  });

  it('when an A08 comes for a visit with no admission known, then AA, and its outcome and the case overview say the stay waits for its admission; the late A01 clears it', async () => {
    const obx = [OBX.needs('socialtjanst'), OBX.consent('ja')];
    const ack = await h.send(
      adt({ event: 'A08', visit: 'AS-NOADM', control: 'AS-NOADM-1', expected: '20260122', obx }),
    );
    expect(ackCode(ack)).toBe('AA');
    const outcome = await h.outcome('AS-NOADM-1');
    expect(outcome.tasks.created).toEqual([]);
    expect(outcome.warnings).toEqual([
      expect.objectContaining({
        code: 'engine-warning',
        text: expect.stringMatching(/^no admission known for the stay/),
      }),
    ]);
    const agreement = getAgreement(await loadAgreements(), 'vastmanland');
    const admin: AccessScope = { role: 'admin', clientId: 'admin' };
    const sys = new PgRepository(h.db, { system: true }, undefined, {}, {});
    const overview = await caseOverview(h.db, sys, admin, outcome.encounter?.id ?? '', agreement);
    expect(overview.issues.map((i) => [i.code, i.text.slice(0, 40)])).toEqual([
      ['no-admission', 'Ingen inskrivning är känd för vårdtillfä'],
    ]);
    const a01 = await h.send(
      adt({ event: 'A01', visit: 'AS-NOADM', control: 'AS-NOADM-2', expected: '20260122', obx }),
    );
    expect(ackCode(a01)).toBe('AA');
    const after = await h.outcome('AS-NOADM-2');
    expect(after.tasks.created.length).toBeGreaterThan(0);
    expect(after.warnings.map((w) => w.text)).not.toContainEqual(expect.stringMatching(/^no admission known/));
  });

  it('when municipal needs come without a municipality, then AA with ERR W no-municipality', async () => {
    const ack = await h.send(
      adt({
        event: 'A01',
        visit: 'AS-2',
        expected: '20260122',
        municipality: '',
        listedUnit: 'SE2321000172-VC01',
        obx: [OBX.needs('kommunal-hsl'), OBX.consent('ja')],
      }),
    );
    expect(ackCode(ack)).toBe('AA');
    expect(warnings(ack)).toEqual([{ code: 'no-municipality', severity: 'W' }]);
  });

  it('when an admission calls for the vårdcentral to be told and names none (no PD1-3), then AA with ERR W no-primary-care', async () => {
    const none = await h.send(
      adt({ event: 'A01', visit: 'AS-PC1', expected: '20260122', obx: [OBX.needs('kommunal-hsl'), OBX.consent('ja')] }),
    );
    expect(ackCode(none)).toBe('AA');
    expect(warnings(none)).toEqual([{ code: 'no-primary-care', severity: 'W' }]);
    const listed = await h.send(
      adt({
        event: 'A01',
        visit: 'AS-PC2',
        expected: '20260122',
        listedUnit: 'SE2321000172-VC01',
        obx: [OBX.needs('kommunal-hsl'), OBX.consent('ja')],
      }),
    );
    expect(warnings(listed)).toEqual([]);
  });

  it('when the municipality or listed unit the needs call for is not in the directory, then AA with ERR W recipient-not-connected, and the apply says it too', async () => {
    const control = 'AS-NC1';
    const ack = await h.send(
      adt({
        event: 'A01',
        visit: 'AS-NC1',
        expected: '20260122',
        control,
        municipality: '0180',
        listedUnit: 'SE2321000172-VC9999',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')],
      }),
    );
    expect(ackCode(ack)).toBe('AA');
    expect(warnings(ack)).toEqual([
      { code: 'recipient-not-connected', severity: 'W' },
      { code: 'recipient-not-connected', severity: 'W' },
    ]);
    // named by SCB's name with its kommunkod, not by the bare code
    expect(ack.toString()).toContain('Stockholm (kommun 0180) is not in the gateway');
    expect(ack.toString()).toContain('the listed unit SE2321000172-VC9999 is not in the gateway');
    const outcome = await h.outcome(control);
    expect(outcome.warnings.map((w) => w.text)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^recipient not connected: Stockholm \(kommun 0180\) .*inskrivningsmeddelande/),
        expect.stringMatching(/^recipient not connected: unit SE2321000172-VC9999 .*inskrivningsmeddelande/),
      ]),
    );
    // and the case overview every party of the stay reads says it too
    const agreement = getAgreement(await loadAgreements(), 'vastmanland');
    const admin: AccessScope = { role: 'admin', clientId: 'admin' };
    const sys = new PgRepository(h.db, { system: true }, undefined, {}, {});
    const overview = await caseOverview(h.db, sys, admin, outcome.encounter?.id ?? '', agreement);
    expect(overview.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'recipient-not-connected',
          text: expect.stringMatching(
            /^Stockholm \(kommun 0180\) är inte ansluten till gatewayen, så ingen kan ta emot inskrivningsmeddelande/,
          ),
          detail: expect.stringMatching(/^recipient not connected: Stockholm \(kommun 0180\) /),
        }),
      ]),
    );
    expect(overviewPage(overview)).toContain('Stockholm (kommun 0180) är inte ansluten till gatewayen');
    // a connected municipality and unit: not a word
    const fine = await h.send(
      adt({
        event: 'A01',
        visit: 'AS-NC2',
        expected: '20260122',
        listedUnit: 'SE2321000172-VC01',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')],
      }),
    );
    expect(warnings(fine)).toEqual([]);
  });

  it('when a Västmanland ready notice comes without the six criteria, then ERR W ready-criteria-unconfirmed; with them, none', async () => {
    await h.send(
      adt({ event: 'A01', visit: 'AS-3', expected: '20260122', obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] }),
    );
    const held = await h.send(adt({ event: 'A08', visit: 'AS-3', obx: [OBX.ready('20260116120000')] }));
    expect(warnings(held)).toEqual([{ code: 'ready-criteria-unconfirmed', severity: 'W' }]);
    const full = await h.send(
      adt({
        event: 'A08',
        visit: 'AS-3',
        obx: [
          OBX.criteria(
            'skriftlig-information',
            'fast-vardkontakt',
            'informationsoverforing',
            'hjalpmedel',
            'lakemedelslista',
          ),
          OBX.ready('20260116130000'),
        ],
      }),
    );
    expect(ackCode(full)).toBe('AA');
    expect(warnings(full)).toEqual([]);
  });

  it('when an ordinary admission arrives, then a plain AA without ERR', async () => {
    const ack = await h.send(
      adt({
        event: 'A01',
        visit: 'AS-4',
        expected: '20260122',
        obx: [OBX.needs('socialtjanst'), OBX.consent('ja')],
      }),
    );
    expect(ackCode(ack)).toBe('AA');
    expect(warnings(ack)).toEqual([]);
  });

  it('when an admission whose needs call for a notice carries no estimated discharge date (PV2-9), then AA with ERR W no-estimated-discharge, as the apply says', async () => {
    const control = 'AS-EDD1';
    const ack = await h.send(
      adt({ event: 'A01', visit: 'AS-EDD1', control, obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] }),
    );
    expect(ackCode(ack)).toBe('AA');
    expect(warnings(ack)).toEqual([{ code: 'no-estimated-discharge', severity: 'W' }]);
    expect(ack.getSegment('ERR')?.toString()).toContain('PV2^1^9');
    expect(ack.toString()).toContain('a precondition of payment');
    const outcome = await h.outcome(control);
    expect(outcome.warnings.map((w) => w.text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^no estimated discharge date/)]),
    );
    // an update without PV2-9 is not an admission: not a word (the date may have come before)
    const update = await h.send(adt({ event: 'A08', visit: 'AS-EDD1', obx: [OBX.needs('socialtjanst')] }));
    expect(warnings(update)).toEqual([]);
  });
});
