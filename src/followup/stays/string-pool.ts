/**
 * One copy of each repeated string (a Task's code and status, an organisation reference, a municipality code) for
 * the length of one follow-up run. Every row from PostgreSQL and every parsed fold brings its own copy of such a
 * string; the months' runs keep tens of thousands of stays with their Tasks at a time, so without a pool most of
 * what they hold was copies of a few hundred distinct values. Not for ids or times: those are unique.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  /** The pool's copy of `s` (`s` itself the first time). */
  of(s: string): string;
  of(s: string | undefined): string | undefined;
  of(s: string | undefined): string | undefined {
    if (s === undefined) return undefined;
    const had = this.pool.get(s);
    if (had !== undefined) return had;
    this.pool.set(s, s);
    return s;
  }
}
