import { Hl7Message } from '@medplum/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ackHeaderSegment, buildAckText } from '../../src/intake/hl7v2/ack';
import { hl7TimeOf } from '../../src/mapping/hl7-time';

/**
 * The ACK's MSH as `@medplum/core`'s buildAck writes it (what the gateway sent before writing it itself), with the
 * time in Swedish local time and its offset (MSH-7; medplum writes UTC).
 */
const medplumHeader = (msg: Hl7Message, at: number) => {
  const fields = (msg.buildAck({ ackCode: 'AA' }).toString().split('\r')[0] ?? '').split(msg.context.fieldSeparator);
  fields[6] = hl7TimeOf(at);
  return fields.join(msg.context.fieldSeparator);
};

const messages = {
  'a full header': 'MSH|^~\\&|PAS|VASTERAS|SVU|REGION|20261206101500||ADT^A01^ADT_A01|C-1|P|2.5\rEVN|A01',
  'an event without trigger structure': 'MSH|^~\\&|PAS|VAS|SVU|REG|20261206101500||ADT^A08|C-2|P|2.3',
  'no version': 'MSH|^~\\&|PAS|VAS|SVU|REG|20261206101500||ADT^A03^ADT_A03|C-3|P',
  'no message type': 'MSH|^~\\&|PAS|VAS|SVU|REG|20261206101500|||C-4|P|2.5',
  'an empty version': 'MSH|^~\\&|PAS|VAS|SVU|REG|20261206101500||ADT^A01|C-5|P|',
  'components and repetitions in the names':
    'MSH|^~\\&|PAS^1.2.3^ISO|A~B|SVU&X|REG|20261206||ADT^A01^ADT_A01|C-6|P|2.5',
  'other delimiters': 'MSH#$%*@#PAS#VAS#SVU#REG#20261206101500##ADT$A01$ADT_A01#C-7#P#2.5',
};

describe('the ACK header', () => {
  afterEach(() => vi.useRealTimers());

  for (const [what, text] of Object.entries(messages)) {
    for (const at of ['2026-12-06T23:05:07.000Z', '2026-12-06T23:05:07.005Z', '2026-01-31T00:00:00.999Z']) {
      it(`when a message has ${what}, then its ACK header at ${at} is the one @medplum/core's buildAck writes, in Swedish time`, () => {
        vi.useFakeTimers({ toFake: ['Date'] });
        vi.setSystemTime(new Date(at));
        const msg = Hl7Message.parse(text);
        const ms = Date.parse(at);
        expect(ackHeaderSegment(msg, ms)).toBe(medplumHeader(msg, ms));
        const ack = buildAckText(msg, text, 'AA', undefined, [], ms).split('\r');
        expect(ack[0]).toBe(medplumHeader(msg, ms));
        expect(ack[1]).toMatch(/^MSA\|AA\|C-\d\|Message stored$/);
      });
    }
  }

  it('when a message did not parse, then its ACK still carries the control id it could salvage', () => {
    const ack = buildAckText(undefined, 'MSH|^~\\&|A|B|C|D|x||ADT^A01|CTRL-9|P|2.5\rPID|bad\x00', 'AR', {
      code: 'bad-hl7-structure',
      reason: 'broken',
    }).split('\r');
    expect(ack[0]).toMatch(/^MSH\|\^~\\&\|\|\|\|\|\d{14}\.\d{3}[+]0[12]00\|\|ACK\|\d+\|P\|2\.5$/);
    expect(ack[1]).toBe('MSA|AR|CTRL-9|broken');
    expect(ack[2]?.startsWith('ERR|')).toBe(true);
  });
});
