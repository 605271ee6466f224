import type express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageLog } from '../../src/intake/hl7v2/message-log';
import { rawFilters, searchKeys } from '../../src/intake/message-filters';
import type { ClosableDb } from '../../src/store/db.port';
import { migrate } from '../../src/store/migrate';
import { openTestDb, testDatabases } from '../support/db';
import { logEntry, messageRoutesRecording } from './harness';

// What the visit and personnummer searches meant: the regular expression they ran on every message's text before
// migration 174 (a repetition of PV1-19 or PID-3 starting with the value, then a separator or the segment's end).
const SEP = '[\\r\\n]';
const FIELD = '[^|\\r\\n]*';
const VALUE_END = '([~^&|\\r\\n]|$)';
const fieldPattern = (segment: string, field: number, value: string) =>
  `(^|${SEP})${segment}(\\|${FIELD}){${field - 1}}\\|(${FIELD}~)?${value}${VALUE_END}`;
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const before = (q: { visit?: string; pnr?: string }): string => {
  if (q.visit !== undefined) return fieldPattern('PV1', 19, escapeRegex(q.visit.trim()));
  const m = /^(\d{8})[-+]?(\d{4})$/.exec((q.pnr ?? '').trim()) as RegExpExecArray;
  return fieldPattern('PID', 3, `${m[1]}-?${m[2]}`);
};

const msh = (id: string) => `MSH|^~\\&|EHR|H|SVU|R|20260301120000||ADT^A01|${id}|P|2.5`;
const pid = (pid3: string) => `PID|1||${pid3}||Test^Person`;
const pv1 = (visit: string) => `PV1|1|I|MED^^^H||||||||||||||||${visit}`;
const forty = 'A'.repeat(39) + '1';
/** Texts as senders write them, and as they should not but may (each is stored whatever it holds). */
const MESSAGES: [id: string, raw: string][] = [
  ['in-field', [msh('1'), pid('19400101-1234^^^SE^PN'), pv1('V-77')].join('\r')],
  ['no-hyphen', [msh('2'), pid('194001011234^^^SE^PN'), pv1('V-770')].join('\r')],
  [
    'elsewhere',
    [msh('V-77'), 'PID|1|194001011234|19400101-9999^^^SE^PN', pv1('V-78'), 'NTE|1||194001011234'].join('\r'),
  ],
  ['repeated', [msh('4'), pid('19500101-0000^^^SE^PN~19400101-1234^^^SE^PN'), pv1('X~V-77')].join('\r')],
  ['reserve', [msh('5'), pid('99990101-AB12^^^SE^RN~2000010199XX~990101123456^^^SE^RN'), pv1('R.1_a')].join('\r')],
  ['century', [msh('6'), pid('19121212+1212^^^SE^PN'), pv1('V-77^^^H')].join('\r')],
  ['no-pv1', [msh('7'), pid('194001011234')].join('\r')],
  ['lf-no-msh', ['PID|1||19400101-1234', pv1('V-77')].join('\n')],
  ['crlf', [msh('9'), pid('191212121212'), pv1('v-77')].join('\r\n')],
  ['not-at-line-start', `${msh('10')} PID|1||194001011234\rXPV1|1|I|MED^^^H||||||||||||||||V-77`],
  ['short', [msh('11'), 'PID|1|', 'PV1|1|I|MED'].join('\r')],
  ['subcomponent', [msh('12'), pid('194001011234&SE^^^SE^PN'), pv1('V-77&AUTH^X')].join('\r')],
  ['longer', [msh('13'), pid('1940010112345~19400101--1234~ 194001011234'), pv1('V-77 ~V-7x')].join('\r')],
  ['two-segments', [msh('14'), pid('1'), pv1('A'), pid('~19500101-0000~'), pv1(`B~${forty}~${forty}2`)].join('\r')],
  ['fields-after', [msh('15'), `${pid('194001011234')}|more|fields`, `${pv1('V-77')}|20260301|`].join('\r')],
  ['not-ascii', [msh('16'), pid('١٩٤٠٠١٠١١٢٣٤'), pv1('Ä-1~V-77')].join('\r')],
  ['garbage', '\u000bnot HL7 at all|PID|1||194001011234|PV1'],
  ['empty', ''],
];

/** Visit numbers and personnummer to search: every value-like part of the texts, and each personnummer written three ways. */
function searches(): { visit?: string; pnr?: string }[] {
  const text = MESSAGES.map(([, raw]) => raw).join('\r');
  const visits = new Set(text.match(/[A-Za-z0-9._-]{1,40}/g) ?? []);
  for (const v of ['V-7', 'v-77', ' V-77 ', forty, 'nothing']) visits.add(v);
  const pnrs = new Set<string>();
  for (const d of [...(text.match(/\d{8}[-+]?\d{4}/g) ?? []), '194001011235'].map((p) => p.replace(/[-+]/, '')))
    for (const sep of ['', '-', '+']) pnrs.add(`${d.slice(0, 8)}${sep}${d.slice(8)}`);
  return [...[...visits].map((visit) => ({ visit })), ...[...pnrs].map((pnr) => ({ pnr }))];
}

const sql = ([cond, ...values]: [string, ...unknown[]]) => {
  let i = 0;
  return { where: cond.replace(/\?/g, () => `$${++i}`), values };
};

describe.each(testDatabases())('the HL7 message list filters on %s', (kind) => {
  let db: ClosableDb;

  /** Control ids per sender of the messages a search keeps, and of those the regular expression keeps. */
  async function both(q: { visit?: string; pnr?: string }): Promise<[string[], string[]]> {
    const [filter] = rawFilters(q) as [[string, ...unknown[]]];
    const { where, values } = sql(filter);
    const kept = await db.query<{ c: string }>(
      `SELECT sender || ':' || control_id AS c FROM hl7_message WHERE ${where} ORDER BY 1`,
      values,
    );
    const meant = await db.query<{ c: string }>(
      `SELECT sender || ':' || control_id AS c FROM hl7_message WHERE raw ~ $1 ORDER BY 1`,
      [before(q)],
    );
    return [kept.rows.map((r) => r.c), meant.rows.map((r) => r.c)];
  }

  beforeAll(async () => {
    db = await openTestDb(kind);
    // the same texts three ways: before migration 174 (its keys from the migration's backfill), through the
    // intake's message log (keys written with the message), by a plain INSERT (keys from the trigger)
    await db.query('DROP TRIGGER hl7_message_search_keys_insert ON hl7_message');
    await db.query('DROP TRIGGER hl7_message_search_keys_update ON hl7_message');
    await db.query('ALTER TABLE hl7_message DROP COLUMN search_keys');
    await db.query(`DELETE FROM schema_migrations WHERE name LIKE '174\\_%'`);
    for (const [id, raw] of MESSAGES)
      await db.query(
        `INSERT INTO hl7_message (sender, control_id, raw, channel, status) VALUES ('OLD', $1, $2, 'mllp', 'accepted')`,
        [id, raw],
      );
    expect(await migrate(db)).toEqual([expect.stringMatching(/^174_/)]);
    const log = new MessageLog(db);
    await Promise.all(MESSAGES.map(([id, raw]) => log.store(logEntry(id, raw, { sender: 'LOG' }))));
    for (const [id, raw] of MESSAGES)
      await db.query(
        `INSERT INTO hl7_message (sender, control_id, raw, channel, status) VALUES ('SQL', $1, $2, 'mllp', 'accepted')`,
        [id, raw],
      );
  });
  afterAll(async () => db.close());

  it('when filtered by visit number or personnummer, then the same messages come as by the regular expression', async () => {
    const all = searches();
    expect(all.length).toBeGreaterThan(60);
    let found = 0;
    for (const q of all) {
      const [kept, meant] = await both(q);
      expect({ q, kept }).toEqual({ q, kept: meant });
      found += meant.length;
    }
    expect(found).toBeGreaterThan(100);
    const ids = async (q: { visit?: string; pnr?: string }) =>
      (await both(q))[0].filter((c) => c.startsWith('LOG:')).map((c) => c.slice(4));
    expect(await ids({ visit: 'V-77' })).toEqual(
      ['century', 'fields-after', 'in-field', 'lf-no-msh', 'not-ascii', 'repeated', 'subcomponent'].sort(),
    );
    for (const pnr of ['194001011234', '19400101-1234', '19400101+1234'])
      expect(await ids({ pnr })).toEqual(
        ['fields-after', 'in-field', 'lf-no-msh', 'no-hyphen', 'no-pv1', 'repeated', 'subcomponent'].sort(),
      );
    expect(await ids({ pnr: '19121212-1212' })).toEqual(['crlf']); // `+` in the text is no personnummer to search
  });

  it('when a message is stored, then its keys are the migration’s, the personnummer only as a digest', async () => {
    const rows = await db.query<{ control_id: string; sql: string[]; stored: string[] }>(
      `SELECT control_id, hl7_search_keys(raw) AS sql, search_keys AS stored FROM hl7_message WHERE sender = 'LOG'`,
    );
    expect(rows.rows).toHaveLength(MESSAGES.length);
    for (const r of rows.rows) {
      const raw = MESSAGES.find(([id]) => id === r.control_id)?.[1] as string;
      expect({ id: r.control_id, keys: [...r.stored].sort() }).toEqual({ id: r.control_id, keys: [...r.sql].sort() });
      expect([...r.stored].sort()).toEqual(searchKeys(raw).sort());
      expect(r.stored.join(' ')).not.toMatch(/\d{8}-?\d{4}/);
    }
  });

  it('when the SQL rule is planned, then below the cost that has PostgreSQL compile it (JIT) on each call', async () => {
    const [{ body }] = (
      await db.query<{ body: string }>(`SELECT prosrc AS body FROM pg_proc WHERE proname = 'hl7_search_keys'`)
    ).rows as [{ body: string }];
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${body.replace(/\braw\b/g, `'PID|1||1'::text`)}`);
    const cost = Number(/cost=[\d.]+\.\.([\d.]+)/.exec(plan.rows[0]!['QUERY PLAN'])?.[1]);
    const jitAbove = Number(
      (await db.query<{ c: string }>(`SELECT current_setting('jit_above_cost') AS c`)).rows[0]!.c,
    );
    expect(cost).toBeLessThan(jitAbove / 100);
  });

  it('when a stored message’s text is replaced, then its keys follow it', async () => {
    await db.query(`UPDATE hl7_message SET raw = $1 WHERE sender = 'SQL' AND control_id = 'empty'`, [
      [msh('x'), pid('19990101-0001'), pv1('NEW-1')].join('\r'),
    ]);
    expect(await both({ visit: 'NEW-1' })).toEqual([['SQL:empty'], ['SQL:empty']]);
    expect(await both({ pnr: '199901010001' })).toEqual([['SQL:empty'], ['SQL:empty']]);
  });
});

/**
 * The searches must read the log's search-key index, not every message's text: the regular expression on each
 * message took 0.11–0.15 s per 50 000 (docs/performance.md). Here 3 000 messages, each its own visit number and
 * personnummer, one in twenty with one shared by the others' visit.
 */
describe.each(testDatabases())('the HL7 message searches on a filled log on %s', (kind) => {
  let db: ClosableDb;
  const sent: string[] = [];
  let app: express.Express;

  beforeAll(async () => {
    db = await openTestDb(kind);
    const log = new MessageLog(db);
    const pnr = (i: number) => `19${String(400101 + (i % 300)).padStart(6, '0')}${String(i).padStart(4, '0')}`;
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        log.store(
          logEntry(
            `c${i}`,
            [msh(`c${i}`), pid(`${pnr(i)}^^^SE^PN`), pv1(i % 20 === 0 ? 'SHARED' : `V-${i}`)].join('\r'),
          ),
        ),
      ),
    );
    await db.query('VACUUM ANALYZE hl7_message');
    app = messageRoutesRecording(db, sent);
  });
  afterAll(async () => db.close());

  it('when searched by visit number or personnummer, then the messages are read from the search-key index', async () => {
    for (const [query, expected] of [
      ['visit=V-1234', ['c1234']],
      ['pnr=19400135-1234', ['c1234']],
      ['pnr=194001351234', ['c1234']],
      ['visit=SHARED&limit=500', Array.from({ length: 150 }, (_, i) => `c${2980 - i * 20}`)],
      ['visit=V-99999', []],
    ] as const) {
      sent.length = 0;
      const r = await request(app).get(`/admin/api/hl7/messages?${query}`);
      expect(r.status).toBe(200);
      expect((r.body.messages as { controlId: string }[]).map((m) => m.controlId)).toEqual(expected);
      const plan = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sent[0]!}`)).rows
        .map((x) => x['QUERY PLAN'])
        .join('\n');
      expect(plan).toContain('hl7_message_search_keys');
      expect(plan).not.toContain('Seq Scan');
      expect(plan).not.toMatch(/Rows Removed by (Filter|Index Recheck): \d{3}/);
    }
  });
});
