import { describe, expect, it } from 'vitest';
import { hl7DateToIso, hl7TimeOf, hl7TimeToIso } from '../../src/mapping/hl7-time';

describe('HL7 TS → ISO (Europe/Stockholm when no offset)', () => {
  it.each([
    ['202601151030', '2026-01-15T10:30:00+01:00'],
    ['20260715103000', '2026-07-15T10:30:00+02:00'],
    ['20260115103000.5', '2026-01-15T10:30:00.500+01:00'],
    ['20260115103000+0000', '2026-01-15T10:30:00+00:00'],
    ['20260115', '2026-01-15T00:00:00+01:00'],
    ['20260329013000', '2026-03-29T01:30:00+01:00'],
    ['20260329033000', '2026-03-29T03:30:00+02:00'],
  ])('when the TS is %s, then the ISO time is %s', (ts, iso) => {
    expect(hl7TimeToIso(ts)).toBe(iso);
  });
  it.each([[''], ['2026-01-15'], ['20260231'], ['202601152560'], ['abc']])(
    'when the TS is %j, then it is not a time',
    (ts) => {
      expect(hl7TimeToIso(ts)).toBeUndefined();
    },
  );
  it('when a DT is read, then only the date remains', () => {
    expect(hl7DateToIso('20260124')).toBe('2026-01-24');
    expect(hl7DateToIso('20260124101010')).toBe('2026-01-24');
    expect(hl7DateToIso('20261324')).toBeUndefined();
  });
});

describe('instant → HL7 TS (Stockholm local time, offset spelt out)', () => {
  it.each([
    ['2026-01-15T10:00:00.000Z', '20260115110000.000+0100'],
    ['2026-07-01T10:00:00.250Z', '20260701120000.250+0200'],
    ['2026-12-31T23:30:00.000Z', '20270101003000.000+0100'],
    ['2026-03-29T00:59:59.999Z', '20260329015959.999+0100'],
    ['2026-03-29T01:00:00.000Z', '20260329030000.000+0200'],
    ['2026-10-25T00:30:00.000Z', '20261025023000.000+0200'],
    ['2026-10-25T01:30:00.000Z', '20261025023000.000+0100'],
  ])('when the instant is %s, then the TS is %s, and it reads back as the same instant', (iso, ts) => {
    const ms = Date.parse(iso);
    expect(hl7TimeOf(ms)).toBe(ts);
    expect(Date.parse(hl7TimeToIso(hl7TimeOf(ms)) ?? '')).toBe(ms);
  });
});
