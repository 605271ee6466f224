import { Hl7Context, Hl7Field, Hl7Message, Hl7Segment } from '@medplum/core';

/**
 * `Hl7Message.parse` with each field's repetitions and components split when the field is first read.
 *
 * medplum's parser splits every field of every segment into an array of repetitions, each an array of components,
 * as it parses: a PV1 has 50 fields, most of them empty and never read, and each still cost an `Hl7Field` and two
 * arrays. That was ≈ 11 % of what the gateway allocated per message in the ingest bench (2026-12-07). Here a field
 * keeps its text and splits it on first access to `components`, exactly as medplum does then; the message,
 * segments and fields are medplum's own classes, so every reader (`getSegment`, `getField`, `getComponent`,
 * `toString`, `fields[i].components`) sees the same values as with `Hl7Message.parse`
 * (`test/mapping/hl7-parse.test.ts` compares both on every HL7 fixture).
 */
export function parseHl7(text: string): Hl7Message {
  // as Hl7Message.parse: the same check, delimiters and segment split
  if (!text.startsWith('MSH')) {
    const err = new Error('Invalid HL7 message') as Error & { type?: string };
    err.type = 'entity.parse.failed';
    throw err;
  }
  const context = new Hl7Context('\r', text.charAt(3), text.charAt(4), text.charAt(5), text.charAt(6), text.charAt(7));
  const lines = text.split(/[\r\n]+/);
  const segments = new Array<Hl7Segment>(lines.length);
  for (let s = 0; s < lines.length; s++) {
    const texts = (lines[s] as string).split(context.fieldSeparator);
    const fields = new Array<Hl7Field>(texts.length);
    for (let f = 0; f < texts.length; f++) fields[f] = new LazyField(texts[f] as string, context);
    segments[s] = new Hl7Segment(fields, context);
  }
  return new Hl7Message(segments, context);
}

/** Where a `LazyField` keeps its text until `components` is first read, and then the components. */
interface LazyState {
  lazyText: string | undefined;
  lazyComponents: string[][] | undefined;
}

class LazyField extends Hl7Field {
  constructor(text: string, context: Hl7Context) {
    // Hl7Field's constructor assigns `components` (the accessor below stores it); then the text replaces it
    super(undefined as unknown as string[][], context);
    (this as unknown as LazyState).lazyText = text;
  }
}

// An accessor on the prototype (TypeScript does not let a subclass declare one over a property): reads split the
// text as `Hl7Field.parse` does, once; a write (medplum's `setComponent` pushes into the arrays, never assigns,
// but a caller may) replaces it.
Object.defineProperty(LazyField.prototype, 'components', {
  get(this: LazyState & { context: Hl7Context }): string[][] {
    if (this.lazyText !== undefined) {
      const c = this.context;
      this.lazyComponents = this.lazyText.split(c.repetitionSeparator).map((r) => r.split(c.componentSeparator));
      this.lazyText = undefined;
    }
    return this.lazyComponents as string[][];
  },
  set(this: LazyState, value: string[][]) {
    this.lazyText = undefined;
    this.lazyComponents = value;
  },
});
