import { describe, expect, it } from 'vitest';
import { SqlParams, visibleTaskIds } from '../../src/store/access-sql';

/**
 * The Tasks a tenant may see, as the ids a Task search counts (capped at 1 000) and may be driven from: each of the
 * tenant's parameters read by its own index lookup. Read as `param IN ('owner', 'requester')`, PostgreSQL built a
 * bitmap of every index row of a hospital's Tasks before the capped count could stop: 60–90 ms on each of the
 * hospital's Task searches on a store of 360 000 Tasks, 1 ms with one lookup per parameter
 * (bench/party-reads.bench.ts, docs/performance.md). The plan depends on the table's size, so the shape is tested.
 */
describe("the ids of a tenant's Tasks", () => {
  it('when a hospital searches Tasks, then those it owns and those it requested are two lookups, not one of both', () => {
    const ids = visibleTaskIds({ role: 'hospital', organization: 'Organization/h1' }, new SqlParams())!;
    expect(ids).toContain("o.param IN ('owner')");
    expect(ids).toContain("o.param IN ('requester')");
    expect(ids).not.toMatch(/IN \('owner', 'requester'\)/);
    expect(ids.match(/UNION ALL/g)).toHaveLength(2); // owned, requested, written
  });

  it('when a municipality searches Tasks, then it reads those it owns and those it wrote', () => {
    const ids = visibleTaskIds({ role: 'municipality', organization: 'Organization/k1' }, new SqlParams())!;
    expect(ids).toContain("o.param IN ('owner')");
    expect(ids).not.toContain('requester');
    expect(ids.match(/UNION ALL/g)).toHaveLength(1);
  });
});
