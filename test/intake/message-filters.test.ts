import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldPattern, rawFilters } from '../../src/intake/message-filters';
import type { ClosableDb } from '../../src/store/db.port';
import { openTestDb, testDatabases } from '../support/db';

const msh = (id: string) => `MSH|^~\\&|EHR|H|SVU|R|20260301120000||ADT^A01|${id}|P|2.5`;
const pid = (pnr: string) => `PID|1||${pnr}^^^SE^PN||Test^Person`;
const pv1 = (visit: string) => `PV1|1|I|MED^^^H||||||||||||||||${visit}`;
// raw texts: the visit number or personnummer in its field, elsewhere (another field), or as part of a longer value
const MESSAGES: [id: string, raw: string][] = [
  ['in-field', [msh('1'), pid('19400101-1234'), pv1('V-77')].join('\r')],
  ['no-hyphen', [msh('2'), pid('194001011234'), pv1('V-770')].join('\r')],
  ['elsewhere', [msh('V-77'), pid('19400101-9999'), pv1('V-78'), 'NTE|1||194001011234'].join('\r')],
  ['repeated', [msh('4'), pid('19500101-0000~19400101-1234'), pv1('X~V-77')].join('\r')],
];

describe('the HL7 message list filters', () => {
  it('when a visit number or personnummer is searched, then the text must hold it before the regular expression runs', () => {
    const [visit] = rawFilters({ visit: 'V-77' });
    expect(visit).toEqual([
      'CASE WHEN strpos(raw, ?) > 0 THEN raw ~ ? ELSE false END',
      'V-77',
      fieldPattern('PV1', 19, 'V-77'),
    ]);
    const [pnr] = rawFilters({ pnr: '194001011234' });
    expect(pnr?.[0]).toBe('CASE WHEN strpos(raw, ?) > 0 OR strpos(raw, ?) > 0 THEN raw ~ ? ELSE false END');
    expect(pnr?.slice(1, 3)).toEqual(['194001011234', '19400101-1234']);
  });
});

describe.each(testDatabases())('the HL7 message list filters on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
    for (const [id, raw] of MESSAGES)
      await db.query(
        `INSERT INTO hl7_message (sender, control_id, raw, channel, status) VALUES ('EHR/H', $1, $2, 'mllp', 'accepted')`,
        [id, raw],
      );
  });
  afterAll(async () => db.close());

  /** The messages a filter keeps, and those the bare regular expression keeps (what it means). */
  async function both(q: Record<string, string>): Promise<[string[], string[]]> {
    const [[sql, ...values]] = rawFilters(q) as [[string, ...unknown[]]];
    let i = 0;
    const where = sql.replace(/\?/g, () => `$${++i}`);
    const kept = await db.query<{ c: string }>(
      `SELECT control_id AS c FROM hl7_message WHERE ${where} ORDER BY id`,
      values,
    );
    const meant = await db.query<{ c: string }>(`SELECT control_id AS c FROM hl7_message WHERE raw ~ $1 ORDER BY id`, [
      values.at(-1),
    ]);
    return [kept.rows.map((r) => r.c), meant.rows.map((r) => r.c)];
  }

  it('when filtered by visit number or personnummer, then the same messages come as by the regular expression alone', async () => {
    expect(await both({ visit: 'V-77' })).toEqual([
      ['in-field', 'repeated'],
      ['in-field', 'repeated'],
    ]);
    for (const pnr of ['194001011234', '19400101-1234'])
      expect(await both({ pnr })).toEqual([
        ['in-field', 'no-hyphen', 'repeated'],
        ['in-field', 'no-hyphen', 'repeated'],
      ]);
    expect(await both({ visit: 'V-7' })).toEqual([[], []]);
  });
});
