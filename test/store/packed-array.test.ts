import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableDb } from '../../src/store/db.port';
import { packJson, unpackJson } from '../../src/store/packed-json';
import { openTestDb, testDatabases } from '../support/db';

describe.each(testDatabases())('packed JSON parameters on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => db.close());

  const roundTrip = async (texts: (string | null)[]) =>
    (await db.query<{ a: (string | null)[] }>(`SELECT ${unpackJson('$1')} AS a`, [packJson(texts)])).rows[0]?.a;

  it('when JSON texts with quotes, backslashes, control characters and nulls are packed, then the server gets them back exactly', async () => {
    const texts = [
      JSON.stringify({ a: 'say "hi"\\', b: '\u001f\u001e\u0000\n\r\t', c: 'åäö €' }),
      null,
      JSON.stringify([1, null, true]),
      JSON.stringify('x'),
    ];
    expect(await roundTrip(texts)).toEqual(texts);
    expect(await roundTrip([])).toEqual([]);
    expect(await roundTrip([null])).toEqual([null]);
  });

  it('when any JSON values are packed, then they unpack to the same texts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.jsonValue(), { nil: undefined }), { maxLength: 6 }), async (values) => {
        const texts = values.map((v) => (v === undefined ? null : JSON.stringify(v)));
        expect(await roundTrip(texts)).toEqual(texts);
      }),
      { numRuns: 60 },
    );
  });

  it('when a text is not JSON-safe, then packing refuses it', () => {
    expect(() => packJson(['a\u001fb'])).toThrow(/JSON.stringify/);
    expect(() => packJson([''])).toThrow(/JSON.stringify/);
  });
});
