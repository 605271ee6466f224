import { Hl7Message } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { parsePath, readAll, readPath } from '../../src/mapping/hl7-read';

const msg = Hl7Message.parse(
  [
    'MSH|^~\\&|PAS|VAS|SVU|REG|20261206101500||ADT^A01^ADT_A01|C-1|P|2.5',
    'PID|1||191212121212^^^SE&1.2.752.129.2.1.3.1&ISO^PN~AB12^^^LOCAL||Tolvansson^Tolv&Mellan||||||Gata 1\\S\\B^^Sala',
  ].join('\r'),
);

describe('reading HL7 values by path', () => {
  it('when a component has subcomponents, then each is read by its number and one beyond them reads empty', () => {
    expect(readPath(msg, 'PID-3.4')).toBe('SE');
    expect(readPath(msg, 'PID-3.4.1')).toBe('SE');
    expect(readPath(msg, 'PID-3.4.2')).toBe('1.2.752.129.2.1.3.1');
    expect(readPath(msg, 'PID-3.4.3')).toBe('ISO');
    expect(readPath(msg, 'PID-3.4.4')).toBe('');
  });

  it('when a component has no subcomponents, then its first subcomponent is the whole value and the second is empty', () => {
    expect(readPath(msg, 'PID-3.1')).toBe('191212121212');
    expect(readPath(msg, 'PID-3.1.1')).toBe('191212121212');
    expect(readPath(msg, 'PID-3.1.2')).toBe('');
    expect(readPath(msg, 'PID-5.2.2')).toBe('Mellan');
  });

  it('when a value holds an escape sequence, then it is decoded, and repetitions are read in order', () => {
    expect(readPath(msg, 'PID-11.1')).toBe('Gata 1^B');
    expect(readAll(msg, 'PID-3.1')).toEqual(['191212121212', 'AB12']);
  });

  it('when the same path is read again, then it is parsed once and reads the same', () => {
    expect(parsePath('PID-3.4.2')).toBe(parsePath('PID-3.4.2'));
    expect(parsePath('PV1-19')).toEqual({ segment: 'PV1', field: 19, component: 1, subcomponent: undefined });
    expect(() => parsePath('pid-3')).toThrow(/bad HL7 path/);
    expect(readPath(msg, 'PID-3.4.2')).toBe('1.2.752.129.2.1.3.1');
  });
});
