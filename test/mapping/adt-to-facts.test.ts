import { Hl7Message } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { mapAdt, type MappedAdt } from '../../src/mapping/adt-to-facts';
import { loadProfiles } from '../../src/mapping/profile';
import { isGatewayError } from '../../src/platform/errors';
import { adt, OBX, PNR_PSYK, SAMNR, type AdtOptions } from './adt-builder';

const profiles = loadProfiles();
const map = (o: AdtOptions): MappedAdt => mapAdt(Hl7Message.parse(adt(o)), profiles, { today: '2026-01-15' });
const stay = (o: AdtOptions) => {
  const m = map(o);
  if (m.kind !== 'stay') throw new Error(`expected a stay, got ${m.kind === 'ignored' ? m.reason : m.kind}`);
  return m;
};
const errorCode = (o: AdtOptions | string): string => {
  try {
    if (typeof o === 'string') mapAdt(Hl7Message.parse(o), profiles, { today: '2026-01-15' });
    else map(o);
  } catch (e) {
    if (isGatewayError(e)) return e.code;
    throw e;
  }
  return 'no error';
};

describe('generic profile: trigger events → facts', () => {
  const rows: [string, Partial<AdtOptions>, string[]][] = [
    ['A01', {}, ['admitted']],
    ['A02', { ward: 'KIR45' }, ['transferred']],
    ['A03', { discharge: '20260120140000' }, ['discharged']],
    ['A04', {}, ['admitted']],
    ['A05', { expected: '20260201' }, ['estimated-discharge-set']],
    ['A08', {}, ['patient-updated']],
    ['A11', {}, ['admission-cancelled']],
    ['A12', { ward: 'MED21' }, ['transferred']],
    ['A13', {}, ['discharge-cancelled']],
    ['A21', {}, ['leave-started']],
    ['A22', {}, ['leave-ended']],
    ['A52', {}, ['leave-ended']],
    ['A53', {}, ['leave-started']],
  ];
  it.each(rows)('when %s arrives, then it maps to the facts %j', (event, extra, kinds) => {
    const m = stay({ event, ...extra });
    expect(m.facts.map((f) => f.kind)).toEqual(
      kinds[0] === 'estimated-discharge-set' ? kinds : expect.arrayContaining(kinds),
    );
    expect(m.facts[0]?.kind).toBe(kinds[0]);
    expect(m.facts.every((f) => f.id.startsWith(`hl7:EHR/`))).toBe(true);
  });

  it.each(['A04', 'A05'])('when %s is for an outpatient (PV1-2 O), then it is ignored', (event) => {
    const m = map({ event, patientClass: 'O' });
    expect(m.kind).toBe('ignored');
  });

  it('when A01 arrives, then admitted carries hospital, ward, care and routing, at PV1-44 in Stockholm time', () => {
    const m = stay({
      event: 'A01',
      municipality: '1980',
      listedUnit: 'SE2321000172-DEMO0101',
      admit: '20260715083000',
    });
    expect(m.facts[0]).toMatchObject({
      kind: 'admitted',
      at: '2026-07-15T08:30:00+02:00',
      hospital: 'SE2321000172-DEMO0001',
      ward: 'MED21',
      care: 'somatic',
      patient: { municipality: '1980', primaryCareUnit: 'SE2321000172-DEMO0101' },
    });
    expect(m.encounter.visit.value).toBe('V-1');
    expect(m.patient).toMatchObject({
      identifier: { kind: 'personnummer', value: '193803129828' },
      family: 'Andersson',
      given: ['Karin'],
      birthDate: '1938-03-12',
      gender: 'female',
    });
    expect(m.patient.address).toMatchObject({
      city: 'Västerås',
      postalCode: '72215',
      municipality: '1980',
      line: ['Vasagatan 12'],
    });
  });

  it('when A03 arrives, then discharged is at PV1-45', () => {
    expect(stay({ event: 'A03', discharge: '20260120140000' }).facts[0]?.at).toBe('2026-01-20T14:00:00+01:00');
  });

  it('when PV1-10 is a psychiatric service, then care is psychiatric', () => {
    expect(stay({ event: 'A01', pnr: PNR_PSYK, service: 'PSY' }).facts[0]).toMatchObject({ care: 'psychiatric' });
  });

  it('when PD1-12 is Y, then the patient gets the sekretessmarkering label', () => {
    expect(stay({ event: 'A01', protection: 'Y' }).patient.security).toEqual(['sekretessmarkering']);
  });

  it('when PD1-12 is empty, then the message says nothing of protected identity (no change, HL7 v2)', () => {
    expect(stay({ event: 'A08' }).patient.security).toBeUndefined();
    expect(stay({ event: 'A08' }).warnings).toEqual([]);
  });

  it('when PD1-12 is the HL7 null "" or N, then the message says the person is not protected', () => {
    expect(stay({ event: 'A08', protection: '""' }).patient.security).toEqual([]);
    expect(stay({ event: 'A08', protection: 'N' }).patient.security).toEqual([]);
  });

  it('when PD1-12 is a value the profile does not map, then the label is left as it is, with a warning', () => {
    const m = stay({ event: 'A08', protection: 'X' });
    expect(m.patient.security).toBeUndefined();
    expect(m.warnings).toEqual([expect.objectContaining({ code: 'unknown-code', path: 'PD1-12' })]);
  });

  it('when PID-3 holds a samordningsnummer with the OID authority, then the kind is samordningsnummer', () => {
    expect(
      stay({ event: 'A01', pnr: SAMNR, pidAuthority: '1.2.752.129.2.1.3.3', pidType: '' }).patient.identifier.kind,
    ).toBe('samordningsnummer');
  });
});

describe('generic profile: rows (OBX and PV2) → content facts', () => {
  it('when OBX behov/samtycke/sip-behov are present, then needs-assessed carries needs, consent and sipNeeded', () => {
    const m = stay({
      event: 'A01',
      obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('menprovning'), OBX.sip('ja')],
    });
    expect(m.facts.find((f) => f.kind === 'needs-assessed')).toMatchObject({
      needs: ['socialtjanst', 'kommunal-hsl'],
      consent: 'menprovning',
      sipNeeded: true,
      at: m.facts[0]?.at,
    });
  });
  it.each([['socialtjanst'], ['kommunal-hsl'], ['oppenvard'], ['ingen']])(
    'when behov is %s, then the need is mapped',
    (code) => {
      expect(
        stay({ event: 'A08', obx: [OBX.needs(code)] }).facts.find((f) => f.kind === 'needs-assessed'),
      ).toMatchObject({ needs: [code] });
    },
  );
  it.each([['ja'], ['nej'], ['menprovning']])('when samtycke is %s, then consent is mapped', (code) => {
    expect(
      stay({ event: 'A08', obx: [OBX.needs('ingen'), OBX.consent(code)] }).facts.find(
        (f) => f.kind === 'needs-assessed',
      ),
    ).toMatchObject({ consent: code });
  });
  it.each([
    ['ja', true],
    ['nej', false],
  ])('when sip-behov is %s, then sipNeeded is %s', (code, v) => {
    expect(
      stay({ event: 'A08', obx: [OBX.needs('ingen'), OBX.sip(code)] }).facts.find((f) => f.kind === 'needs-assessed'),
    ).toMatchObject({ sipNeeded: v });
  });
  it('when OBX utskrivningsklar has a TS, then ready-for-discharge is at that time', () => {
    expect(
      stay({ event: 'A08', obx: [OBX.ready('202601170900')] }).facts.find((f) => f.kind === 'ready-for-discharge')?.at,
    ).toBe('2026-01-17T09:00:00+01:00');
  });
  it('when PV2-9 has a date, then estimated-discharge-set has it', () => {
    expect(
      stay({ event: 'A08', expected: '20260124' }).facts.find((f) => f.kind === 'estimated-discharge-set'),
    ).toMatchObject({ date: '2026-01-24' });
  });
  it('when behov has a code outside the code map beside a known one, then the known need applies and the unknown is a warning', () => {
    const m = stay({ event: 'A01', obx: [OBX.needs('socialtjanst~hemtjanst')] });
    expect(m.facts.find((f) => f.kind === 'needs-assessed')).toMatchObject({ needs: ['socialtjanst'] });
    expect(m.warnings).toEqual([
      expect.objectContaining({
        code: 'unknown-code',
        path: 'OBX-5 (behov)',
        text: expect.stringMatching(/"hemtjanst"/),
      }),
    ]);
  });
  it('when an OBX names a code of the profile\'s own coding system that no row reads, then it is a warning (a misspelt "utskrivningsklar" does not pass in silence)', () => {
    const m = stay({
      event: 'A08',
      obx: [OBX.needs('socialtjanst'), 'TS|utskrivningklar^Utskrivningsklar^SVU||202601170900'],
    });
    expect(m.facts.find((f) => f.kind === 'ready-for-discharge')).toBeUndefined();
    expect(m.warnings).toEqual([
      expect.objectContaining({
        code: 'unknown-observation',
        path: 'OBX-3',
        text: 'OBX-3: observation "utskrivningklar" (SVU) is not read by sender profile generic; the segment is left out',
      }),
    ]);
  });
  it('when an OBX is of another coding system (a vital sign), then it passes without a word', () => {
    const m = stay({ event: 'A08', obx: [OBX.needs('socialtjanst'), 'NM|8867-4^Heart rate^LN||72'] });
    expect(m.warnings).toEqual([]);
  });
  it('when the only need is a code outside the code map, then the admission still applies, without needs, with a warning', () => {
    const m = stay({ event: 'A01', obx: [OBX.needs('hemtjanst')] });
    expect(m.facts.map((f) => f.kind)).toContain('admitted');
    expect(m.facts.some((f) => f.kind === 'needs-assessed')).toBe(false);
    expect(m.warnings.map((w) => w.code)).toEqual(['unknown-code']);
  });
  it('when a cancel event carries OBX, then no content facts are derived', () => {
    expect(stay({ event: 'A11', obx: [OBX.needs('socialtjanst')] }).facts.map((f) => f.kind)).toEqual([
      'admission-cancelled',
    ]);
  });
});

describe('cosmic profile: local codes, ZSV and the ward list', () => {
  const cosmic = (o: Partial<AdtOptions> & { event: string }) => ({
    app: 'COSMIC',
    facility: 'VSV',
    ward: 'ORT42',
    pidAuthority: '&1.2.752.129.2.1.3.1&ISO',
    ...o,
  });
  it('when MSH-3 is COSMIC, then the cosmic profile is used and the hospital comes from MSH-4', () => {
    const m = stay(cosmic({ event: 'A01' }));
    expect(m.profile).toBe('cosmic');
    expect(m.encounter.hospitalHsaId).toBe('SE2321000172-DEMO0001');
    expect(m.encounter.wardName).toBe('Ortopedavdelning 42, Västerås');
  });
  it.each([
    ['SOC', 'socialtjanst'],
    ['HSL', 'kommunal-hsl'],
    ['PV', 'oppenvard'],
    ['INGA', 'ingen'],
  ])('when BEHOV is %s, then the need is %s', (code, need) => {
    const m = stay(cosmic({ event: 'A08', obx: [`CWE|BEHOV^Behov^99COS||${code}`] }));
    expect(m.facts.find((f) => f.kind === 'needs-assessed')).toMatchObject({ needs: [need] });
  });
  it.each([
    ['J', 'ja'],
    ['N', 'nej'],
    ['MP', 'menprovning'],
  ])('when SAMTYCKE is %s, then consent is %s', (code, consent) => {
    const m = stay(
      cosmic({ event: 'A08', obx: ['CWE|BEHOV^Behov^99COS||SOC', `CWE|SAMTYCKE^Samtycke^99COS||${code}`] }),
    );
    expect(m.facts.find((f) => f.kind === 'needs-assessed')).toMatchObject({ consent });
  });
  it('when generic SVU OBX codes come from COSMIC, then they are not read (the profile maps its own)', () => {
    expect(stay(cosmic({ event: 'A08', obx: [OBX.needs('socialtjanst')] })).facts.map((f) => f.kind)).toEqual([
      'patient-updated',
    ]);
  });
  it('when ZSV-1 has a time, then ready-for-discharge; ZSV-2 J withdraws; ZSV-3 sets sipNeeded', () => {
    const m = stay(cosmic({ event: 'A08', obx: ['CWE|BEHOV^Behov^99COS||HSL'], extra: ['ZSV|20260117090000|J|J'] }));
    expect(m.facts.find((f) => f.kind === 'ready-for-discharge')?.at).toBe('2026-01-17T09:00:00+01:00');
    expect(m.facts.some((f) => f.kind === 'ready-withdrawn')).toBe(true);
    expect(m.facts.find((f) => f.kind === 'needs-assessed')).toMatchObject({ sipNeeded: true });
  });
  it('when ZPI-1 is SF, then the patient is skyddadFolkbokforing', () => {
    expect(stay(cosmic({ event: 'A01', extra: ['ZPI|SF'] })).patient.security).toEqual(['skyddadFolkbokforing']);
  });
  it('when COSMIC sends A31 without PV1 and ZPI-1 SM, then a person update with sekretessmarkering', () => {
    const m = map(cosmic({ event: 'A31', noPv1: true, extra: ['ZPI|SM'] }));
    expect(m).toMatchObject({ kind: 'patient', hospitalHsaId: 'SE2321000172-DEMO0001' });
    expect(m.kind === 'patient' && m.patient.security).toEqual(['sekretessmarkering']);
  });
  it('when PV2-9 is set by COSMIC, then estimated-discharge-set', () => {
    expect(
      stay(cosmic({ event: 'A08', expected: '20260210' })).facts.find((f) => f.kind === 'estimated-discharge-set'),
    ).toMatchObject({ date: '2026-02-10' });
  });
  it('when the ward is not in the ward list, then the admission is accepted with an unknown-ward warning', () => {
    const m = stay(cosmic({ event: 'A01', ward: 'XYZ99' }));
    expect(m.facts[0]?.kind).toBe('admitted');
    expect(m.warnings).toEqual([expect.objectContaining({ code: 'unknown-ward', path: 'PV1-3' })]);
  });
  it('when the ward is unknown on a discharge, then the discharge is still accepted', () => {
    expect(stay(cosmic({ event: 'A03', ward: 'XYZ99', discharge: '20260120140000' })).facts[0]?.kind).toBe(
      'discharged',
    );
  });
});

describe('rejections', () => {
  it('when the personnummer check digit is wrong, then invalid-personnummer', () => {
    expect(errorCode({ event: 'A01', pnr: '193803129829' })).toBe('invalid-personnummer');
  });
  it('when PID-3 has no Swedish identifier, then invalid-personnummer', () => {
    expect(errorCode({ event: 'A01', pidAuthority: 'XX', pidType: 'MR' })).toBe('invalid-personnummer');
  });
  it('when the trigger event is unsupported, then unknown-event', () => {
    expect(errorCode({ event: 'A99' })).toBe('unknown-event');
  });
  it('when the message type is not ADT, then unknown-event', () => {
    expect(errorCode({ event: 'O01', messageType: 'ORM' })).toBe('unknown-event');
  });
  it('when PV1 is missing, then bad-hl7-structure', () => {
    expect(errorCode({ event: 'A01', noPv1: true })).toBe('bad-hl7-structure');
  });
  it('when PV1-19 is empty, then bad-hl7-structure', () => {
    expect(errorCode({ event: 'A01', visit: '' })).toBe('bad-hl7-structure');
  });
  it('when PV1-44 is not a time, then bad-hl7-structure', () => {
    expect(errorCode({ event: 'A01', admit: '2026-01-15' })).toBe('bad-hl7-structure');
  });
  it('when MSH-10 is empty, then bad-hl7-structure', () => {
    expect(errorCode({ event: 'A01', control: '' })).toBe('bad-hl7-structure');
  });
  it('when A31 arrives with an empty PV1, then a person update: patient, hospital, event time, no visit', () => {
    const m = map({ event: 'A31', noPv1: true, extra: ['PV1|1|N'], protection: 'Y', listedUnit: 'SE2321000172-VC1' });
    expect(m).toMatchObject({
      kind: 'patient',
      hospitalHsaId: 'SE2321000172-DEMO0001',
      at: '2026-01-15T10:35:00+01:00',
      patient: {
        security: ['sekretessmarkering'],
        routing: { municipality: '1980', primaryCareUnit: 'SE2321000172-VC1' },
      },
    });
    expect('encounter' in m).toBe(false);
  });
  it('when the municipality code is not four digits, then bad-request', () => {
    expect(errorCode({ event: 'A01', municipality: 'VAS' })).toBe('bad-request');
  });
});
