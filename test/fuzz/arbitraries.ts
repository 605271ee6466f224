import fc from 'fast-check';

/** Seed and run count of the fuzz suite: fixed by default (repeatable in CI), wider with FUZZ_RUNS / FUZZ_SEED. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261202);
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 60);
export const fuzzOptions = (scale = 1) => ({ seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)) });

/** Values that broke parsers and validators before: long strings, NUL, bad numbers, odd unicode, deep nesting. */
const nasty = fc.constantFrom<unknown>(
  'x'.repeat(100_000),
  '\u0000',
  'a\u0000b',
  '%00',
  '%E0%A4%A',
  '\uD800',
  '🙂'.repeat(50),
  '193803129829',
  '',
  ' ',
  '1e309',
  'Patient/../../etc',
  'urn:uuid:',
  1e308,
  -0,
  Number.MAX_SAFE_INTEGER + 2,
  -1,
  2 ** 31,
  true,
  null,
  [],
  {},
  [null],
  { resourceType: 'Patient' },
  Array.from({ length: 2_000 }, (_, i) => i),
  deep(500),
);

/** An object nested `n` deep (a few of them stacked by mutations stay within what JSON.stringify can write). */
export function deep(n: number): unknown {
  let v: unknown = { leaf: 'x' };
  for (let i = 0; i < n; i++) v = { a: [v] };
  return v;
}

const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  nasty,
);

/** Any JSON value, small, with the nasty ones mixed in. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('id', 'extension', 'value', 'url', 'reference')),
      tie('value'),
      { maxKeys: 3 },
    ),
  ),
})).value;

export interface Mutation {
  /** Which node (in depth-first order, modulo the node count). */
  at: number;
  op: 'set' | 'delete' | 'wrap-list' | 'unwrap' | 'add-key';
  value: unknown;
  key: string;
}

export const mutations = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom<Mutation['op']>('set', 'set', 'set', 'delete', 'wrap-list', 'unwrap', 'add-key'),
    value: jsonValue,
    key: fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('extension', '_birthDate', 'valueString', 'contained', 'resourceType'),
    ),
  }),
  { minLength: 1, maxLength: 4 },
);

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
    }
  };
  walk(root);
  return out;
}

/** A mutated deep copy of a valid resource: some values replaced, removed, wrapped in lists or unwrapped. */
export function mutate(seed: unknown, ms: readonly Mutation[]): unknown {
  const root = structuredClone(seed) as Record<string, unknown>;
  for (const m of ms) {
    const all = slots(root);
    const s = all[m.at % Math.max(1, all.length)];
    if (!s) continue;
    const get = () => (s.parent as Record<string | number, unknown>)[s.key];
    const set = (v: unknown) => ((s.parent as Record<string | number, unknown>)[s.key] = v);
    switch (m.op) {
      case 'set':
        // a copy: a later mutation must not change the generated value itself (that made cyclic bodies)
        set(structuredClone(m.value));
        break;
      case 'delete':
        if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
        else delete s.parent[s.key as string];
        break;
      case 'wrap-list':
        set([get()]);
        break;
      case 'unwrap': {
        const v = get();
        set(Array.isArray(v) ? v[0] : v && typeof v === 'object' ? Object.values(v)[0] : v);
        break;
      }
      case 'add-key': {
        const v = get();
        if (v && typeof v === 'object' && !Array.isArray(v))
          (v as Record<string, unknown>)[m.key] = structuredClone(m.value);
        else root[m.key] = structuredClone(m.value);
        break;
      }
    }
  }
  return root;
}
