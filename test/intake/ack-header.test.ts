import { Hl7Message } from '@medplum/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ackHeaderSegment, buildAckText } from '../../src/intake/hl7v2/ack';

/** The ACK's MSH as `@medplum/core`'s buildAck writes it (what the gateway sent before writing it itself). */
const medplumHeader = (msg: Hl7Message) => msg.buildAck({ ackCode: 'AA' }).toString().split('\r')[0];

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
      it(`when a message has ${what}, then its ACK header at ${at} is the one @medplum/core's buildAck writes`, () => {
        vi.useFakeTimers({ toFake: ['Date'] });
        vi.setSystemTime(new Date(at));
        const msg = Hl7Message.parse(text);
        expect(ackHeaderSegment(msg, new Date())).toBe(medplumHeader(msg));
        const ack = buildAckText(msg, text, 'AA').split('\r');
        expect(ack[0]).toBe(medplumHeader(msg));
        expect(ack[1]).toMatch(/^MSA\|AA\|C-\d\|Message stored$/);
      });
    }
  }

  it('when a message did not parse, then its ACK still carries the control id it could salvage', () => {
    const ack = buildAckText(undefined, 'MSH|^~\\&|A|B|C|D|x||ADT^A01|CTRL-9|P|2.5\rPID|bad\x00', 'AR', {
      code: 'bad-hl7-structure',
      reason: 'broken',
    }).split('\r');
    expect(ack[0]).toMatch(/^MSH\|\^~\\&\|\|\|\|\|\d{14}(\.\d{1,3})?\|\|ACK\|\d+\|P\|2\.5$/);
    expect(ack[1]).toBe('MSA|AR|CTRL-9|broken');
    expect(ack[2]?.startsWith('ERR|')).toBe(true);
  });
});
