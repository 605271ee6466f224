/**
 * A map keyed by long texts (statement texts) that finds a text without hashing all of it. Statement texts are
 * built anew for each call (template literals over the statement's shape), and a JS Map hashes a new string in
 * full on every lookup: ≈ 2 ns a character, 10–15 µs for a 5 kB statement, 2 % of the API's CPU per Bundle in
 * `StatementNames` (2026-12-07, docs/performance.md). Here a text is found by its length, its first 64 and its last
 * 64 characters, and then compared in full (a memory comparison, several times cheaper than a hash), so two texts
 * that differ only in the middle are still two keys. It forgets the oldest of more than `MAX_ALIKE` such texts, so
 * it suits a cache (a forgotten statement is only named again later), not a store.
 */
export class TextMap<V> {
  /** At most this many texts per length, head and tail: the oldest is forgotten first. */
  static readonly MAX_ALIKE = 16;
  private readonly byPrint = new Map<string, { text: string; value: V }[]>();
  private count = 0;

  /** How many texts are held. */
  get size(): number {
    return this.count;
  }

  private static print(text: string): string {
    return text.length <= 160 ? text : `${text.length}:${text.slice(0, 64)}${text.slice(-64)}`;
  }

  get(text: string): V | undefined {
    const list = this.byPrint.get(TextMap.print(text));
    if (list) for (const e of list) if (e.text === text) return e.value;
    return undefined;
  }

  set(text: string, value: V): void {
    const print = TextMap.print(text);
    const list = this.byPrint.get(print);
    const e = list?.find((x) => x.text === text);
    if (e) {
      e.value = value;
      return;
    }
    if (list) {
      // texts alike at both ends (literal values in the middle) would otherwise make each look-up a long scan
      if (list.length >= TextMap.MAX_ALIKE) {
        list.shift();
        this.count--;
      }
      list.push({ text, value });
    } else this.byPrint.set(print, [{ text, value }]);
    this.count++;
  }

  delete(text: string): void {
    const print = TextMap.print(text);
    const list = this.byPrint.get(print);
    const i = list?.findIndex((x) => x.text === text) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byPrint.delete(print);
    this.count--;
  }

  clear(): void {
    this.byPrint.clear();
    this.count = 0;
  }
}
