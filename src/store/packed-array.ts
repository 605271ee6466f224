/**
 * JSON texts as one SQL parameter. `pg` sends a `text[]` parameter as an array literal, quoting every element and
 * escaping each `"` and `\` in it (for resource JSON that is most of the cost of a batch write on the gateway's side,
 * and the server parses the literal back). JSON.stringify never emits a raw control character (it escapes them), so
 * the texts can travel joined by U+001F, with U+001E for a NULL, and be split by the server with `unpackJson`.
 */
const UNIT = '\u001f';
const NULL_TEXT = '\u001e';

/** Packs JSON texts (as from JSON.stringify) or nulls; throws for a text that is not JSON-safe. */
export function packJson(texts: readonly (string | null)[]): string {
  for (const t of texts)
    if (t !== null && (t.length === 0 || t.includes(UNIT) || t.includes(NULL_TEXT)))
      throw new Error('packJson: only JSON.stringify output can be packed');
  return texts.map((t) => (t === null ? NULL_TEXT : t)).join(UNIT);
}

/** The SQL expression that unpacks parameter `param` (e.g. `$6`) back into a `text[]`. */
export function unpackJson(param: string): string {
  return `string_to_array(${param}::text, chr(31), chr(30))`;
}
