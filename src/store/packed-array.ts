import { planAsGeneric } from './db.port';

/**
 * Arrays as one packed text parameter. `pg` sends an array parameter as an array literal: it quotes every element
 * and escapes each `"` and `\` in it (for a batch of resource JSON that was most of the gateway's cost of a batch
 * write), and the server parses the literal back. Texts without U+001E and U+001F travel joined by U+001F instead,
 * with U+001E for a NULL, and the server splits them with `string_to_array`. JSON.stringify never emits a raw control
 * character (it escapes them), so resource JSON always packs; any other array with such a character (or a lone empty
 * string, which would unpack as no element) falls back to the array literal.
 *
 * Resource JSON (`json`) is packed as UTF-8 bytes, element by element, and sent as a binary `text` parameter (the
 * same bytes). As one string, a batch's content (a few hundred kB) was a rope that `pg` flattened (in
 * Buffer.byteLength) before encoding it: 9 % of the gateway's CPU samples in the national replay, 3 % after
 * (CPU profiles, 2026-12-05); 1.3–1.6 ms against 0.2–0.3 ms for 420 kB in isolation. Short texts (ids, codes)
 * stay strings: for them one string is cheaper than a Buffer per element.
 */
const UNIT = '\u001f';
const NULL_TEXT = '\u001e';

export type ArrayElementType = 'text' | 'int' | 'bigint' | 'boolean' | 'timestamptz' | 'jsonb';

type Element = string | number | boolean | null;

const UNIT_BYTES = Buffer.from(UNIT);
const NULL_BYTES = Buffer.from(NULL_TEXT);

/** JSON texts (never holding U+001E or U+001F raw) packed as UTF-8 bytes. */
function packJson(values: readonly Element[]): Buffer {
  // one buffer, each text encoded into it in place (no Buffer per element, no copy by a concat)
  const texts: (string | null)[] = new Array<string | null>(values.length);
  let size = Math.max(0, values.length - 1) * UNIT_BYTES.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as Element;
    const t = v === null ? null : String(v);
    texts[i] = t;
    size += t === null ? NULL_BYTES.length : Buffer.byteLength(t, 'utf8');
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    if (i > 0) at += UNIT_BYTES.copy(out, at);
    const t = texts[i] as string | null;
    at += t === null ? NULL_BYTES.copy(out, at) : out.write(t, at, 'utf8');
  }
  return out;
}

/** The packed text, or undefined when an element cannot be packed. `json`: the texts are JSON.stringify output. */
function pack(values: readonly Element[], json: boolean): string | Buffer | undefined {
  if (values.length === 1 && values[0] === '') return undefined;
  if (json) return packJson(values);
  // joined, not concatenated: one flat string (a chain of `+` is a rope that pg flattens again to measure it)
  const texts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as Element;
    if (v === null) texts[i] = NULL_TEXT;
    else if (typeof v === 'string') {
      if (v.includes(UNIT) || v.includes(NULL_TEXT)) return undefined;
      texts[i] = v;
    } else texts[i] = typeof v === 'boolean' ? (v ? 't' : 'f') : String(v);
  }
  return texts.join(UNIT);
}

/**
 * Adds `values` to `params` as one parameter and returns the SQL expression that reads it as `<type>[]`
 * (e.g. `string_to_array($3::text, chr(31), chr(30))::int[]`, or `$3::int[]` when it cannot be packed).
 * `opts.json`: every text is JSON.stringify output (no scan for separators).
 */
export function arrayParam(
  params: unknown[],
  values: readonly Element[],
  type: ArrayElementType,
  opts: { json?: boolean } = {},
): string {
  const packed = pack(values, opts.json === true);
  if (packed === undefined) {
    params.push(values.map((v) => (v === null || typeof v === 'string' ? v : String(v))));
    return `$${params.length}::${type}[]`;
  }
  params.push(packed);
  const split = `string_to_array($${params.length}::text, chr(31), chr(30))`;
  return type === 'text' ? split : `${split}::${type}[]`;
}

/**
 * `arrayParam` hidden from the planner (`planAsGeneric`, ADR 038), for statements whose plan does not depend on the
 * array's length: PostgreSQL makes a generic plan a few times per connection and reuses it instead of planning the
 * statement again on every call.
 */
export function genericArrayParam(
  params: unknown[],
  values: readonly Element[],
  type: ArrayElementType,
  opts: { json?: boolean } = {},
): string {
  return planAsGeneric(arrayParam(params, values, type, opts), `${type}[]`);
}
