import type { Encounter, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, OBX } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, dutyTask, intakeHarness, receiverTask, type IntakeHarness } from './harness';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';

describe.each(testDatabases())('HL7 v2 ADT over MLLP on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { mllp: true });
  });
  afterAll(async () => {
    await h.close();
  });

  const stayId = (visit: string) => encounterIdFor(VISIT_SYSTEM, visit);

  it('when A01 for a Västerås resident with social-services needs arrives, then AA, the Encounter and an inskrivningsmeddelande Task for Västerås due 24 h after admission', async () => {
    const ack = await h.send(
      adt({
        event: 'A01',
        visit: 'V-100',
        admit: '20260115103000',
        municipality: '1980',
        obx: [OBX.needs('socialtjanst'), OBX.consent('ja')],
      }),
    );
    expect(ackCode(ack)).toBe('AA');
    const enc = await h.repo.read<Encounter>('Encounter', stayId('V-100'));
    expect(enc).toMatchObject({
      status: 'in-progress',
      class: { code: 'IMP' },
      identifier: [{ system: VISIT_SYSTEM, value: 'V-100' }],
      serviceProvider: { reference: `Organization/${h.hospital.id}` },
    });
    expect(Date.parse(enc.period?.start ?? '')).toBe(Date.parse('2026-01-15T10:30:00+01:00'));
    const patient = await h.repo.read<Patient>('Patient', enc.subject?.reference?.split('/')[1] ?? '');
    expect(patient.identifier?.[0]).toEqual({
      system: 'http://electronichealth.se/identifier/personnummer',
      value: '193803129828',
    });
    expect(patient.address?.[0]?.district).toBe('1980');
    const tasks = await h.tasks(stayId('V-100'));
    const notice = receiverTask(tasks, 'inskrivningsmeddelande');
    expect(notice?.owner?.reference).toBe(`Organization/${h.vasteras.id}`);
    expect(notice?.status).toBe('requested');
    // The 24 h are the hospital's: its duty Task, met at the A01's send time (MSH-7).
    const duty = dutyTask(tasks, 'inskrivningsmeddelande');
    expect(duty?.owner?.reference).toBe(`Organization/${h.hospital.id}`);
    expect(duty?.status).toBe('completed');
    expect(Date.parse(duty?.restriction?.period?.end ?? '')).toBe(Date.parse('2026-01-16T10:30:00+01:00'));
    expect(notice?.basedOn?.[0]?.reference).toBe(`Task/${duty?.id ?? ''}`);
    // the intake's new resources get time-ordered ids (UUID version 7, ADR 037)
    for (const id of [patient.id, duty?.id, notice?.id]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('when A03 follows, then an utskrivningsmeddelande Task exists and the Encounter is finished', async () => {
    await h.send(adt({ event: 'A01', visit: 'V-101', obx: [OBX.needs('socialtjanst')] }));
    const ack = await h.send(
      adt({ event: 'A03', visit: 'V-101', discharge: '20260120140000', evnTime: '20260120140500' }),
    );
    expect(ackCode(ack)).toBe('AA');
    const enc = await h.repo.read<Encounter>('Encounter', stayId('V-101'));
    expect(enc.status).toBe('finished');
    expect(Date.parse(enc.period?.end ?? '')).toBe(Date.parse('2026-01-20T14:00:00+01:00'));
    expect((await h.tasks(stayId('V-101'))).map(codeOf)).toContain('utskrivningsmeddelande');
  });

  it('when A11 cancels the admission, then the sent Tasks are cancelled and makulering Tasks are created', async () => {
    await h.send(adt({ event: 'A01', visit: 'V-102', obx: [OBX.needs('socialtjanst')] }));
    const ack = await h.send(adt({ event: 'A11', visit: 'V-102', evnTime: '20260115120000' }));
    expect(ackCode(ack)).toBe('AA');
    const tasks = await h.tasks(stayId('V-102'));
    const notice = receiverTask(tasks, 'inskrivningsmeddelande');
    expect(notice?.status).toBe('cancelled');
    const mak = tasks.filter((t) => codeOf(t) === 'makulering');
    expect(mak.length).toBeGreaterThan(0);
    expect(mak[0]?.focus?.reference).toBe(`Task/${notice?.id}`);
    expect(mak[0]?.owner?.reference).toBe(`Organization/${h.vasteras.id}`);
    expect((await h.repo.read<Encounter>('Encounter', stayId('V-102'))).status).toBe('cancelled');
  });

  it('when the same message (MSH-10) arrives twice, then AA twice and nothing changes the second time', async () => {
    const msg = adt({ event: 'A01', visit: 'V-103', control: 'DUP-1', obx: [OBX.needs('socialtjanst')] });
    expect(ackCode(await h.send(msg))).toBe('AA');
    const before = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    const enc1 = await h.repo.read<Encounter>('Encounter', stayId('V-103'));
    expect(ackCode(await h.send(msg))).toBe('AA');
    const after = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    expect((await h.repo.read<Encounter>('Encounter', stayId('V-103'))).meta?.versionId).toBe(enc1.meta?.versionId);
    const rows = await h.db.query('SELECT id FROM hl7_message WHERE control_id = $1', ['DUP-1']);
    expect(rows.rows.length).toBe(1);
  });

  it('when an MSH-10 comes again with other content, then AR 205 naming the earlier message, kept as a rejected row, and nothing changes', async () => {
    const first = adt({ event: 'A01', visit: 'V-108', control: 'DUP-2', obx: [OBX.needs('socialtjanst')] });
    expect(ackCode(await h.send(first))).toBe('AA');
    const enc1 = await h.repo.read<Encounter>('Encounter', stayId('V-108'));
    // the same message with only its send time (MSH-7) changed is still a repeat
    expect(ackCode(await h.send(first.replace(/^(MSH(?:\|[^|\r]*){5}\|)[^|\r]*/, '$120991231235959')))).toBe('AA');
    const other = adt({ event: 'A01', visit: 'V-108', control: 'DUP-2', obx: [OBX.needs('kommunal-hsl')] });
    const ack = await h.send(other);
    expect(ackCode(ack)).toBe('AR');
    const err = ack.getSegment('ERR')?.toString() ?? '';
    expect(err).toContain('205^Duplicate key identifier');
    expect(err).toMatch(/MSH-10 DUP-2 was used before for another message \(message \d+, accepted\)/);
    expect((await h.repo.read<Encounter>('Encounter', stayId('V-108'))).meta?.versionId).toBe(enc1.meta?.versionId);
    const rows = await h.db.query<{ status: string; error_code: string | null }>(
      `SELECT status, error_code FROM hl7_message WHERE control_id = 'DUP-2' OR error_reason LIKE 'MSH-10 DUP-2 %' ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      { status: 'accepted', error_code: null },
      { status: 'rejected', error_code: 'duplicate-control-id' },
    ]);
  });

  it('when the personnummer check digit is wrong, then AE with an ERR segment, and the message is kept as rejected', async () => {
    const ack = await h.send(adt({ event: 'A01', visit: 'V-104', control: 'BAD-PNR', pnr: '193803129829' }));
    expect(ackCode(ack)).toBe('AE');
    expect(ack.getSegment('ERR')?.toString()).toContain('invalid-personnummer');
    const row = (
      await h.db.query<{ status: string; error_code: string }>(
        'SELECT status, error_code FROM hl7_message WHERE control_id = $1',
        ['BAD-PNR'],
      )
    ).rows[0];
    expect(row).toEqual({ status: 'rejected', error_code: 'invalid-personnummer' });
  });

  it('when a refused message is corrected and sent again under its MSH-10, then it is applied, the refused row stays, and a repeat of the correction changes nothing', async () => {
    const refused = adt({ event: 'A01', visit: 'V-109', control: 'FIX-1', pnr: '193803129829' });
    expect(ackCode(await h.send(refused))).toBe('AE');
    // the same refused message again is a repeat: the same answer
    expect(ackCode(await h.send(refused))).toBe('AE');
    const corrected = adt({
      event: 'A01',
      visit: 'V-109',
      control: 'FIX-1',
      pnr: '193803129828',
      obx: [OBX.needs('socialtjanst')],
    });
    expect(ackCode(await h.send(corrected))).toBe('AA');
    const enc = await h.repo.read<Encounter>('Encounter', stayId('V-109'));
    expect(receiverTask(await h.tasks(stayId('V-109')), 'inskrivningsmeddelande')?.status).toBe('requested');
    expect(ackCode(await h.send(corrected))).toBe('AA');
    expect((await h.repo.read<Encounter>('Encounter', stayId('V-109'))).meta?.versionId).toBe(enc.meta?.versionId);
    const rows = await h.db.query<{ control_id: string | null; status: string; error_code: string | null }>(
      `SELECT control_id, status, error_code FROM hl7_message WHERE raw LIKE '%|FIX-1|%' ORDER BY id`,
    );
    expect(rows.rows).toEqual([
      { control_id: null, status: 'rejected', error_code: 'invalid-personnummer' },
      { control_id: 'FIX-1', status: 'accepted', error_code: null },
    ]);
  });

  it('when PD1-12 flags protected identity, then the Patient carries the HL7 Sweden security label', async () => {
    expect(ackCode(await h.send(adt({ event: 'A01', visit: 'V-107', pnr: '196604149861', protection: 'Y' })))).toBe(
      'AA',
    );
    const enc = await h.repo.read<Encounter>('Encounter', stayId('V-107'));
    const patient = await h.repo.read<Patient>('Patient', enc.subject?.reference?.split('/')[1] ?? '');
    expect(patient.meta?.security).toEqual([
      { system: 'http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel', code: 'sekretessmarkering' },
    ]);
  });

  it('when the same patient comes back for a new stay, then one Patient and two Encounters', async () => {
    await h.send(adt({ event: 'A01', visit: 'V-108a', pnr: '195207089839' }));
    await h.send(adt({ event: 'A01', visit: 'V-108b', pnr: '195207089839' }));
    const patients = await h.repo.search<Patient>('Patient', {
      identifier: 'http://electronichealth.se/identifier/personnummer|195207089839',
    });
    expect(patients.resources.length).toBe(1);
    const a = await h.repo.read<Encounter>('Encounter', stayId('V-108a'));
    const b = await h.repo.read<Encounter>('Encounter', stayId('V-108b'));
    expect(a.subject).toEqual(b.subject);
  });

  it('when an unknown trigger event arrives, then AR with unknown-event', async () => {
    const ack = await h.send(adt({ event: 'A99', visit: 'V-105' }));
    expect(ackCode(ack)).toBe('AR');
    expect(ack.getSegment('ERR')?.toString()).toContain('unknown-event');
  });

  it('when a COSMIC message names a ward outside the ward list, then AA with an ERR of severity W unknown-ward', async () => {
    const ack = await h.send(
      adt({ event: 'A01', app: 'COSMIC', facility: 'VSV', ward: 'XYZ99', pidAuthority: '&1.2.752.129.2.1.3.1&ISO' }),
    );
    expect(ackCode(ack)).toBe('AA');
    const err = ack.getSegment('ERR');
    expect(err?.getField(4)?.toString()).toBe('W');
    expect(err?.toString()).toContain('unknown-ward');
  });

  it('when an admission carries a need code the profile does not know beside a known one, then AA with ERR W unknown-code and the municipality is notified', async () => {
    const ack = await h.send(
      adt({ event: 'A01', visit: 'V-107', obx: [OBX.needs('socialtjanst~hemtjanst'), OBX.consent('J')] }),
    );
    expect(ackCode(ack)).toBe('AA');
    const errs = ack.getAllSegments('ERR').map((e) => e.toString());
    expect(errs.filter((e) => e.includes('|W|') && e.includes('unknown-code'))).toHaveLength(2);
    expect(errs.join('\n')).toMatch(/"hemtjanst"/);
    expect((await h.tasks(stayId('V-107'))).map(codeOf)).toContain('inskrivningsmeddelande');
  });

  it('when A04 is for an outpatient, then AA and nothing is stored for the stay', async () => {
    const ack = await h.send(adt({ event: 'A04', visit: 'V-106', patientClass: 'O' }));
    expect(ackCode(ack)).toBe('AA');
    expect(await h.db.query('SELECT 1 FROM stay_fact WHERE stay_id = $1', [stayId('V-106')])).toMatchObject({
      rows: [],
    });
  });
});
