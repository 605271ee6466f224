import fc from 'fast-check';
import { adt, OBX } from '../mapping/adt-builder';

/** MLLP's frame bytes (VT, FS) and the segment/field delimiters are kept out of generated field values. */
// eslint-disable-next-line no-control-regex -- matching the framing bytes is the point
const FRAMING = /[\x0b\x1c]/g;
// eslint-disable-next-line no-control-regex -- as above
const DELIMITERS = /[\r\n|^~\\&\x0b\x1c]/g;

const EVENTS = ['A01', 'A02', 'A03', 'A04', 'A05', 'A08', 'A11', 'A12', 'A13', 'A21', 'A22', 'A52', 'A53', 'A99', ''];
const ODD = [
  '',
  '\\',
  '|',
  '^',
  '~',
  '&',
  '\\F\\',
  '\u0000',
  'x'.repeat(5000),
  'ÅÄÖ',
  '🙂',
  '\n',
  'MSH|^~\\&|',
  '99999999999999',
  '19380312',
];

const base = fc.record({
  event: fc.constantFrom(...EVENTS),
  visit: fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.replace(DELIMITERS, 'x') || 'V'),
  control: fc.uuid(),
  pnr: fc.constantFrom('193803129829', '193803129828', '19121212-1212', '', 'abc'),
  municipality: fc.constantFrom('1980', '1981', '0000', '', '19801980'),
  obx: fc.subarray([
    OBX.needs('socialtjanst'),
    OBX.needs('okand'),
    OBX.consent('ja'),
    OBX.ready('20260115120000'),
    OBX.ready('not-a-time'),
  ]),
});

interface FieldEdit {
  segment: number;
  field: number;
  value: string;
}

const edits = fc.array(
  fc.record({
    segment: fc.nat({ max: 12 }),
    field: fc.nat({ max: 50 }),
    value: fc.oneof(
      fc.constantFrom(...ODD),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 10 }),
    ),
  }),
  { maxLength: 4 },
);

/** Replaces fields (the MLLP frame bytes VT and FS are kept out: framing is another test's subject). */
function edit(message: string, es: readonly FieldEdit[]): string {
  const segs = message.split('\r').map((s) => s.split('|'));
  for (const e of es) {
    const seg = segs[e.segment % segs.length];
    if (!seg) continue;
    while (seg.length <= e.field) seg.push('');
    seg[e.field] = e.value.replace(FRAMING, '');
  }
  return segs.map((s) => s.join('|')).join('\r');
}

/** The text of one MLLP frame: a generated ADT message with fields edited, segments dropped or repeated. */
export const mllpFrame = fc
  .tuple(base, edits, fc.constantFrom('none', 'drop', 'repeat', 'two-messages', 'lf'))
  .map(([o, es, shape]) => {
    const text = edit(adt(o), es);
    const segs = text.split('\r');
    switch (shape) {
      case 'drop':
        return segs.filter((_, i) => i !== 1 + (es.length % Math.max(1, segs.length - 1))).join('\r');
      case 'repeat':
        return [...segs, ...segs.slice(1)].join('\r');
      case 'two-messages':
        return `${text}\r${adt({ ...o, control: `${o.control}-2` })}`;
      case 'lf':
        return segs.join('\n');
      case 'none':
        return text;
    }
  });
