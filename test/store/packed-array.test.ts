import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { arrayParam, type ArrayElementType } from '../../src/store/packed-array';
import { advisoryLocksSql } from '../../src/store/write-sql';
import { openTestDb, testDatabases } from '../support/db';

describe.each(testDatabases())('packed array parameters on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  const roundTrip = async (values: (string | number | boolean | null)[], type: ArrayElementType = 'text') => {
    const params: unknown[] = [];
    const sql = arrayParam(params, values, type);
    const r = await db.query<{ a: unknown[] }>(`SELECT ${sql} AS a`, params);
    return { sql, a: r.rows[0]?.a };
  };

  it('when JSON texts with quotes, backslashes, escaped control characters and nulls are packed, then the server gets them back exactly', async () => {
    const texts = [
      JSON.stringify({ a: 'say "hi"\\', b: '\u001f\u001e\n\r\t', c: 'åäö €' }),
      null,
      JSON.stringify([1, null, true]),
      '',
    ];
    const r = await roundTrip(texts);
    expect(r.sql).toContain('string_to_array');
    expect(r.a).toEqual(texts);
    expect((await roundTrip([])).a).toEqual([]);
    expect((await roundTrip([null])).a).toEqual([null]);
  });

  it('when resource JSON is packed as bytes, then the server gets every text back exactly, multi-byte characters and nulls included', async () => {
    const texts = [
      JSON.stringify({ resourceType: 'Task', note: [{ text: 'Västerås – SIP “kallelse” 🏥' }] }),
      null,
      JSON.stringify({ a: '\u001f\u001e', b: 'x'.repeat(70_000) }),
      JSON.stringify('ö'),
    ];
    const params: unknown[] = [];
    const sql = arrayParam(params, texts, 'text', { json: true });
    expect(Buffer.isBuffer(params[0])).toBe(true);
    const r = await db.query<{ a: string[]; n: number }>(`SELECT ${sql} AS a, cardinality(${sql}) AS n`, params);
    expect(r.rows[0]?.n).toBe(4);
    expect(r.rows[0]?.a).toEqual(texts);
    const none: unknown[] = [];
    const empty = arrayParam(none, [], 'text', { json: true });
    expect((await db.query<{ a: string[] }>(`SELECT ${empty} AS a`, none)).rows[0]?.a).toEqual([]);
  });

  it('when a text holds a separator or is a lone empty string, then it travels as an array literal, unchanged', async () => {
    for (const values of [['a\u001fb', 'c'], ['\u001e'], ['']]) {
      const r = await roundTrip(values);
      expect(r.sql).toMatch(/^\$1::text\[\]$/);
      expect(r.a).toEqual(values);
    }
  });

  it('when numbers, booleans and instants are packed, then they arrive typed', async () => {
    expect((await roundTrip([1, 22, null], 'int')).a).toEqual([1, 22, null]);
    expect((await roundTrip([true, false], 'boolean')).a).toEqual([true, false]);
    // hl7_message ids: past 2^31 (bigint arrives as text, or as a number from PGlite)
    const ids = (await roundTrip([2 ** 40 + 1, null, 7], 'bigint')).a as (string | number | null)[];
    expect(ids.map((v) => (v === null ? null : Number(v)))).toEqual([2 ** 40 + 1, null, 7]);
    const at = (await roundTrip(['2026-01-15T09:30:00.000Z'], 'timestamptz')).a as Date[];
    expect(new Date(at[0] as Date).toISOString()).toBe('2026-01-15T09:30:00.000Z');
  });

  it('when any texts are packed, then they unpack to the same texts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.string({ unit: 'binary' }), { nil: null }), { maxLength: 6 }),
        async (xs) => {
          const texts = xs.map((x) => (x === null ? null : x.split('\u0000').join(''))); // PostgreSQL text has no NUL
          expect((await roundTrip(texts)).a).toEqual(texts);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('advisory lock keys as SQL literals', () => {
  it('when a key holds a quote, a backslash or neither, then it is quoted as pg.escapeLiteral quotes it', () => {
    const keys = ['Task?identifier=x|1', "O'Brien", 'a\\b', "'\\'", 'Västerås 🏥', ''];
    expect(advisoryLocksSql(keys)).toContain(`ARRAY[${keys.map((k) => pg.escapeLiteral(k)).join(', ')}]`);
  });
});
