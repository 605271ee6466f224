import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hl7Message } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { parseHl7 } from '../../src/mapping/hl7-parse';
import { adt } from './adt-builder';

/** The value, or what was thrown (medplum throws for a repetition that is not there). */
const attempt = (read: () => unknown) => {
  try {
    return read();
  } catch (e) {
    return `throws ${(e as Error).name}`;
  }
};

/** Everything a reader can see of a parsed message, read through medplum's own API. */
function view(msg: Hl7Message) {
  return {
    context: { ...msg.context },
    text: msg.toString(),
    segments: msg.segments.map((s) => ({
      name: s.name,
      text: s.toString(),
      fields: s.fields.map((f) => f.components),
      // getField numbers MSH as in HL7 (MSH-1 and MSH-2 are the delimiters), the rest by index
      read: Array.from({ length: s.fields.length + 2 }, (_, i) => [
        s.getField(i)?.toString(),
        s.getComponent(i, 1),
        s.getComponent(i, 2, 0),
        attempt(() => s.getComponent(i, 2, 1, 1)),
      ]),
    })),
  };
}

const fixtures = join(__dirname, '..', 'fixtures', 'hl7');
const messages: [string, string][] = [
  ...readdirSync(fixtures)
    .filter((f) => f.endsWith('.hl7'))
    .flatMap((f) =>
      readFileSync(join(fixtures, f), 'utf8')
        .split(/\n(?=MSH)/)
        .map((m, i): [string, string] => [`${f} #${i + 1}`, m.replace(/\n/g, '\r').trim()]),
    ),
  ['built A01 with OBX', adt({ event: 'A01', obx: ['OBX|1|CWE|behov^Behov^SVU||socialtjanst~kommunal-hsl||||||F'] })],
  ['built A03', adt({ event: 'A03', discharge: '20260120103000' })],
  [
    'repetitions, subcomponents, escapes, empty fields, unicode',
    'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X1|P|2.5\rPID|1||1^^^SE&1.2.752&ISO^PNR~2^^^X||Ö\\S\\Å^Ä~ü😀||||\rPV1||||||||||||',
  ],
  ['other delimiters', 'MSH#*@!$#A#B#C#D#20260101##ADT*A01#X2#P#2.5\rPID#1##1***SE$1.2$ISO*PNR@2###N*M'],
  ['newline and blank lines between segments', 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X3|P|2.5\n\r\nEVN|A01\nPID|1'],
  ['two messages in one frame', 'MSH|^~\\&|A|B|||||ADT^A01|X4|P|2.5\rMSH|^~\\&|A|B|||||ADT^A01|X5|P|2.5'],
  ['header only', 'MSH|^~\\&'],
  ['a bare MSH', 'MSH'],
];

describe('parseHl7 (fields split on first read)', () => {
  it.each(messages)('reads as Hl7Message.parse does: %s', (_, text) => {
    expect(view(parseHl7(text))).toEqual(view(Hl7Message.parse(text)));
  });

  it('reads the same after a field is changed through medplum', () => {
    const text = messages[0]?.[1] ?? '';
    const lazy = parseHl7(text);
    const eager = Hl7Message.parse(text);
    for (const m of [lazy, eager]) {
      m.getSegment('PID')?.setComponent(5, 2, 'Ny', undefined, 1);
      m.getSegment('PV1')?.setField(3, 'X^Y');
    }
    expect(view(lazy)).toEqual(view(eager));
  });

  it('refuses what Hl7Message.parse refuses', () => {
    expect(() => Hl7Message.parse('PID|1')).toThrow('Invalid HL7 message');
    expect(() => parseHl7('PID|1')).toThrow('Invalid HL7 message');
  });

  it('leaves a field unsplit until it is read', () => {
    const msg = parseHl7('MSH|^~\\&|A|B|||||ADT^A01|X6|P|2.5\rPV1|1|I|W^12^1');
    const pv1 = msg.getSegment('PV1');
    expect(pv1?.fields[3]).not.toHaveProperty('lazyComponents', expect.anything());
    expect(pv1?.getComponent(3, 2)).toBe('12');
    expect(pv1?.fields[3]?.components).toEqual([['W', '12', '1']]);
  });
});
