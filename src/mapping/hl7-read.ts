import { Hl7Message, type Hl7Segment } from '@medplum/core';

/**
 * A received or stored message's text as the gateway parses it: any line ending is HL7's segment separator (`\r`),
 * trailing separators dropped. Throws what `Hl7Message.parse` throws.
 */
export function parseHl7Text(raw: string): Hl7Message {
  return Hl7Message.parse(raw.replace(/\r\n|\n/g, '\r').replace(/\r+$/, ''));
}

/**
 * Safe reading of HL7 v2 values by path (`SEG-field[.component[.subcomponent]]`, 1-based). Never throws:
 * a missing segment, field, repetition or component reads as ''. Escape sequences (\F\ \S\ \T\ \R\ \E\)
 * are decoded.
 */
export interface ParsedPath {
  segment: string;
  field: number;
  component: number;
  subcomponent?: number;
}

const PATH = /^([A-Z][A-Z0-9]{2})-(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;

/** Parsed paths by text: the mapper reads the same few dozen paths from every message. */
const parsed = new Map<string, Readonly<ParsedPath>>();

export function parsePath(path: string): Readonly<ParsedPath> {
  const known = parsed.get(path);
  if (known) return known;
  const m = PATH.exec(path);
  if (!m) throw new Error(`bad HL7 path ${path}`);
  const p = Object.freeze({
    segment: m[1] ?? '',
    field: Number(m[2]),
    component: m[3] ? Number(m[3]) : 1,
    subcomponent: m[4] ? Number(m[4]) : undefined,
  });
  if (parsed.size < 1024) parsed.set(path, p);
  return p;
}

/** Repetitions of a field: each an array of components (raw, not unescaped). MSH is numbered as in HL7. */
export function repetitions(seg: Hl7Segment | undefined, field: number): string[][] {
  if (!seg) return [];
  const f = seg.name === 'MSH' ? seg.fields[field - 1] : seg.fields[field];
  return f?.components ?? [];
}

export function unescapeHl7(value: string, msg: Hl7Message): string {
  if (!value.includes(msg.context.escapeCharacter)) return value;
  const e = msg.context.escapeCharacter;
  const esc = e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`${esc}([FSTRE]|X[0-9A-Fa-f]+|\\.br)${esc}`, 'g');
  return value.replace(re, (_, code: string) => {
    switch (code) {
      case 'F':
        return msg.context.fieldSeparator;
      case 'S':
        return msg.context.componentSeparator;
      case 'T':
        return msg.context.subcomponentSeparator;
      case 'R':
        return msg.context.repetitionSeparator;
      case 'E':
        return e;
      case '.br':
        return '\n';
      default:
        return Buffer.from(code.slice(1), 'hex').toString('latin1');
    }
  });
}

/** One component (or subcomponent) of one repetition. */
export function componentOf(msg: Hl7Message, rep: string[] | undefined, component: number, sub?: number): string {
  const raw = rep?.[component - 1] ?? '';
  const sep = msg.context.subcomponentSeparator;
  // most components have no subcomponents: the first is then the whole text (no split, no array)
  if (!raw.includes(sep)) return (sub ?? 1) === 1 ? unescapeHl7(raw, msg) : '';
  return unescapeHl7(raw.split(sep)[(sub ?? 1) - 1] ?? '', msg);
}

/** The value at `path` in the first segment of that name, first repetition. */
export function readPath(msg: Hl7Message, path: string, seg?: Hl7Segment): string {
  const p = parsePath(path);
  const s = seg ?? msg.getSegment(p.segment);
  return componentOf(msg, repetitions(s, p.field)[0], p.component, p.subcomponent).trim();
}

/** All repetitions' values at `path`. */
export function readAll(msg: Hl7Message, path: string, seg?: Hl7Segment): string[] {
  const p = parsePath(path);
  const s = seg ?? msg.getSegment(p.segment);
  return repetitions(s, p.field)
    .map((r) => componentOf(msg, r, p.component, p.subcomponent).trim())
    .filter((v) => v !== '');
}

/** The first non-empty value among `paths`. */
export function readFirst(msg: Hl7Message, paths: readonly string[]): string {
  for (const p of paths) {
    const v = readPath(msg, p);
    if (v !== '') return v;
  }
  return '';
}
