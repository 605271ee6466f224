import { Hl7Message } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { mapAdt, type MappedAdt } from '../../src/mapping/adt-to-facts';
import { loadProfiles } from '../../src/mapping/profile';
import { adt, needsAssessedAt, OBX, type AdtOptions } from './adt-builder';

/** Contract "Ingestion" item 4: every process fact has an HL7 input (generic OBX codes, death fields). */
const profiles = loadProfiles();
const stay = (o: AdtOptions): Extract<MappedAdt, { kind: 'stay' }> => {
  const m = mapAdt(Hl7Message.parse(adt(o)), profiles, { today: '2026-01-15' });
  if (m.kind !== 'stay') throw new Error(`expected a stay, got ${m.kind === 'ignored' ? m.reason : m.kind}`);
  return m;
};
const fact = (o: AdtOptions, kind: string) => stay(o).facts.find((f) => f.kind === kind);

describe('generic OBX codes for the process facts', () => {
  it('when utskrivningsklar-kriterier lists criteria, then readiness-criteria-met with the engine codes', () => {
    const f = fact(
      { event: 'A08', obx: [OBX.criteria('lakarbedomning', 'skriftlig-information', 'hjalpmedel')] },
      'readiness-criteria-met',
    );
    expect(f).toMatchObject({ criteria: ['physician-assessed', 'written-information', 'assistive-devices'] });
  });
  it('when utskrivningsklar-avbrott is ja, then ready-withdrawn', () => {
    expect(fact({ event: 'A08', obx: [OBX.withdrawn()] }, 'ready-withdrawn')).toBeDefined();
  });
  it('when oppen-tvangsvard is ja, then compulsory-outpatient-care planned', () => {
    expect(fact({ event: 'A08', obx: [OBX.lpt('ja')] }, 'compulsory-outpatient-care')).toMatchObject({
      planned: true,
    });
  });
  it('when oppenvardsenhet and placerande-kommun are given, then they are part of the routing', () => {
    const m = stay({ event: 'A08', obx: [OBX.outpatientUnit('SE2321000172-PSYK1'), OBX.placing('1981')] });
    expect(m.facts[0]).toMatchObject({
      kind: 'patient-updated',
      patient: { municipality: '1980', outpatientUnit: 'SE2321000172-PSYK1', placingMunicipality: '1981' },
    });
  });
  it('when placerande-kommun is the HL7 null "", then the placing municipality is withdrawn (null); an empty OBX-5 or none changes nothing', () => {
    const withdrawn = stay({ event: 'A08', obx: [OBX.placing('""')] });
    expect(withdrawn.facts[0]).toMatchObject({ kind: 'patient-updated', patient: { placingMunicipality: null } });
    for (const obx of [[OBX.placing('')], []]) {
      const m = stay({ event: 'A08', obx });
      expect(m.facts[0]?.kind).toBe('patient-updated');
      expect(m.facts[0] && 'patient' in m.facts[0] ? m.facts[0].patient : {}).not.toHaveProperty('placingMunicipality');
    }
  });
  it('when oppenvardsenhet is the HL7 null "", then the outpatient unit is withdrawn (null); an empty OBX-5 or none changes nothing', () => {
    const withdrawn = stay({ event: 'A08', obx: [OBX.outpatientUnit('""')] });
    expect(withdrawn.facts[0]).toMatchObject({ kind: 'patient-updated', patient: { outpatientUnit: null } });
    for (const obx of [[OBX.outpatientUnit('')], []]) {
      const m = stay({ event: 'A08', obx });
      expect(m.facts[0]?.kind).toBe('patient-updated');
      expect(m.facts[0] && 'patient' in m.facts[0] ? m.facts[0].patient : {}).not.toHaveProperty('outpatientUnit');
    }
  });
  it('when behov carries OBX-14, then the needs fact is at the assessment time, not the message time', () => {
    const f = fact({ event: 'A08', extra: [needsAssessedAt('20260113090000', 'socialtjanst')] }, 'needs-assessed');
    expect(f?.at).toBe('2026-01-13T09:00:00+01:00');
  });
});

describe('death', () => {
  it('when an A03 has PV1-36 = 20, then the patient died (no discharge)', () => {
    const msg = adt({ event: 'A03', discharge: '20260120140000' }).replace(/^(PV1(?:\|[^|\r]*){35})\|/m, '$1|20');
    const m = mapAdt(Hl7Message.parse(msg), profiles, { today: '2026-01-15' });
    if (m.kind !== 'stay') throw new Error('expected a stay');
    expect(m.facts.map((f) => f.kind)).toEqual(['died']);
    // No PID-29: the patient died when leaving (PV1-45), not at the message's event time.
    expect(m.facts[0]?.at).toBe('2026-01-20T14:00:00+01:00');
  });
  it('when PID-29 and PID-30 = Y arrive in an A08, then died at PID-29', () => {
    const msg = adt({ event: 'A08' }).replace(/^PID\|.*$/m, (pid) => {
      const f = pid.split('|');
      while (f.length < 31) f.push('');
      f[29] = '20260118031500';
      f[30] = 'Y';
      return f.join('|');
    });
    const m = mapAdt(Hl7Message.parse(msg), profiles, { today: '2026-01-15' });
    if (m.kind !== 'stay') throw new Error('expected a stay');
    expect(m.facts.find((f) => f.kind === 'died')?.at).toBe('2026-01-18T03:15:00+01:00');
  });
});

describe('the hospital of a stay', () => {
  it('when PV1-3 names the facility by name rather than HSA-id, then the hospital is the sender (MSH-4)', () => {
    const msg = adt({ event: 'A01', ward: 'MED21^12^1^Västmanlands sjukhus Västerås' });
    const m = mapAdt(Hl7Message.parse(msg), profiles, { today: '2026-01-15' });
    if (m.kind !== 'stay') throw new Error('expected a stay');
    expect(m.encounter.hospitalHsaId).toBe('SE2321000172-DEMO0001');
  });
});
