import { describe, expect, it } from 'vitest';
import { LiabilityInputError, parseStaysNdjson } from '../../../src/core/liability/stay';

const line = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 's1',
    municipality: '0680',
    placingMunicipality: null,
    care: 'somatic',
    admittedAt: '2022-03-01T08:00:00+01:00',
    readyAt: '2022-03-02T08:00:00+01:00',
    dischargedAt: '2022-03-04T08:00:00+01:00',
    admissionNoticeSent: true,
    estimatedDischargeDateSent: true,
    readyNoticeSent: true,
    sipRequired: false,
    sipInvitationSent: false,
    ...over,
  });

function errorOf(text: string): LiabilityInputError {
  try {
    parseStaysNdjson(text);
  } catch (e) {
    if (e instanceof LiabilityInputError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('parseStaysNdjson', () => {
  it('when lines are valid with blank lines and extra fields, then every stay is read', () => {
    const stays = parseStaysNdjson(`${line()}\n\n${line({ id: 's2', ward: 'AVD 12' })}\r\n`);
    expect(stays.map((s) => s.id)).toEqual(['s1', 's2']);
  });

  it.each([
    [`${line()}\n${line({ care: 'dental' })}`, 2, 'care'],
    [`${line()}\n${line({ id: 's1' })}`, 2, 'duplicate stay id'],
    [line({ municipality: '680' }), 1, 'four-digit'],
    [line({ readyAt: '2022-03-02 08:00' }), 1, 'readyAt'],
    [line({ dischargedAt: '2022-03-01T09:00:00+01:00' }), 1, 'before readyAt'],
    [`${line()}\n\n[1,2`, 3, 'not valid JSON'],
  ])('when a line is malformed, then the error names line %#', (text, n, word) => {
    const e = errorOf(text);
    expect(e.line).toBe(n);
    expect(e.message).toContain(`line ${n}:`);
    expect(e.message).toContain(word);
  });
});
