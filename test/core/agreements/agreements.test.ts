import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { mergeAgreementJson, resolveAgreements } from '../../../src/core/agreements/resolve-agreements';
import { isGatewayError } from '../../../src/platform/errors';

const SEEDS = new Set(
  (() => {
    try {
      return readdirSync('/work/shared/seeds');
    } catch {
      return [
        '000_4837a8eb6591f644.txt',
        '001_72df90efc2697425.txt',
        '002_d91d85c2693ace0a.txt',
        '003_1fdf470bc4864968.txt',
        '004_f9bf1928fa974de0.txt',
      ];
    }
  })(),
);

/** Every `source` object anywhere in the agreement. */
function sources(v: unknown, path = ''): { path: string; document: string; section: string }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => sources(x, `${path}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  const o = v as Record<string, unknown>;
  const here =
    'source' in o && typeof o.source === 'object'
      ? [{ path, ...(o.source as { document: string; section: string }) }]
      : [];
  return [...here, ...Object.entries(o).flatMap(([k, x]) => (k === 'source' ? [] : sources(x, `${path}.${k}`)))];
}

let all: Map<string, Agreement>;
beforeAll(async () => {
  all = await loadAgreements({ extraDir: 'test/fixtures/agreements' });
});

describe('the shipped agreements', () => {
  it('when loaded, then exactly lag, vastmanland, jonkoping, gavleborg and stockholm are shipped, plus the fast-demo fixture', () => {
    expect([...all.keys()].sort()).toEqual(['fast-demo', 'gavleborg', 'jonkoping', 'lag', 'stockholm', 'vastmanland']);
  });

  it.each(['lag', 'vastmanland', 'jonkoping', 'gavleborg', 'stockholm'])(
    'when %s is read, then every rule cites a seed document, the law or (for our defaults) svu-gateway',
    (id) => {
      const a = getAgreement(all, id);
      // The `payment` block belongs to the liability capability, which checks its own sources.
      const list = sources({ ...a, payment: undefined });
      expect(list.length).toBeGreaterThan(20);
      for (const s of list) {
        const ok = SEEDS.has(s.document) || s.document === 'SFS 2017:612' || s.document === 'svu-gateway';
        expect(ok, `${id}${s.path}: ${s.document}`).toBe(true);
        expect(s.section.length, `${id}${s.path}`).toBeGreaterThan(0);
      }
      // Every task rule has its own source.
      for (const [code, rule] of Object.entries(a.tasks)) expect(rule.source.document, code).toBeTruthy();
    },
  );

  it('when the deadlines are read, then they match the domain table (000, 001 §5.2.1, §5.2.2, 002, 003)', () => {
    const v = getAgreement(all, 'vastmanland');
    expect(v.tasks.inskrivningsmeddelande.deadline).toMatchObject({
      after: 'PT24H',
      kind: 'elapsed',
      from: 'notification',
    });
    // 001 §5.2.2 "senast tre dagar efter": the end of the third day; the law's default keeps the same clock time.
    expect(v.tasks['kallelse-sip'].deadline).toMatchObject({ after: 'P3D', kind: 'end-of-day', from: 'ready' });
    expect(v.tasks['kallelse-sip'].deadline?.source.note).toMatch(/end of the third calendar day/);
    expect(v.tasks.utskrivningsmeddelande.deadline).toMatchObject({
      after: 'P0D',
      kind: 'end-of-day',
      from: 'discharge',
    });
    expect(v.tasks.informationsoverforing.deadline).toMatchObject({
      after: 'P0D',
      kind: 'end-of-day',
      from: 'discharge',
    });
    expect(v.tasks['sip-uppfoljning'].deadline).toMatchObject({
      after: 'P1M',
      kind: 'calendar-days',
      from: 'sip-meeting',
    });
    expect(getAgreement(all, 'gavleborg').tasks.informationsoverforing.deadline).toMatchObject({
      from: 'ready',
      kind: 'end-of-day',
    });
  });

  it('when Västmanland is read, then the six criteria gate the ready notice (001 §3) and others do not', () => {
    expect(getAgreement(all, 'vastmanland').readiness).toMatchObject({ gate: true });
    expect(getAgreement(all, 'vastmanland').readiness.criteria).toHaveLength(6);
    for (const id of ['lag', 'jonkoping', 'gavleborg', 'stockholm'])
      expect(getAgreement(all, id).readiness.gate, id).toBe(false);
  });

  it('when Gävleborg is read, then the municipal nurse is FVK where home health care exists (002); elsewhere primary care', () => {
    expect(getAgreement(all, 'gavleborg').fvk.owner).toBe('municipal-nurse-if-home-health-care');
    expect(getAgreement(all, 'vastmanland').fvk.owner).toBe('primary-care');
  });

  it('when Jönköping is read, then patients with only region outpatient needs are outside the agreement (003 Avgränsningar)', () => {
    expect(getAgreement(all, 'jonkoping').categories.B.inTargetGroup).toBe(false);
    expect(getAgreement(all, 'vastmanland').categories.B.inTargetGroup).toBe(true);
  });

  const table: [string, boolean, string[], boolean, boolean, string][] = [
    ['A', false, [], false, false, 'no'],
    ['B', true, ['primary-care'], false, false, 'if-admission-notice'],
    ['C', true, ['municipality'], false, false, 'yes'],
    ['D', true, ['municipality', 'primary-care'], true, true, 'yes'],
    ['B+C', true, ['municipality', 'primary-care'], true, true, 'yes'],
    ['C+D', true, ['municipality', 'primary-care'], true, true, 'yes'],
    ['E', true, ['municipality', 'primary-care'], true, true, 'yes'],
  ];
  it.each(table)(
    'when category %s is looked up in the law file, then it follows the 002 table (target %s, notify %j, FVK %s, SIP %s, ready %s)',
    (cat, target, notify, fvk, sip, readyNotice) => {
      const row = getAgreement(all, 'lag').categories[cat as keyof Agreement['categories']];
      expect(row).toMatchObject({ inTargetGroup: target, notify, fvk, sip, readyNotice });
    },
  );

  it('when the escalation ladder is read, then it has reminder, overdue, escalation to head of unit and a deviation to both principals (001 §5.3)', () => {
    for (const id of ['lag', 'vastmanland', 'jonkoping', 'gavleborg', 'stockholm']) {
      const steps = getAgreement(all, id).escalation.steps;
      expect(
        steps.map((s) => [s.id, s.kind, s.to]),
        id,
      ).toEqual([
        ['reminder', 'reminder', 'owner'],
        ['overdue', 'overdue', 'owner'],
        ['escalation', 'escalation', 'owner-head-of-unit'],
        ['deviation', 'deviation', 'both-principals'],
      ]);
      expect(steps.find((s) => s.kind === 'deviation')!.source.section).toBe('5.3');
      expect(steps.find((s) => s.kind === 'reminder')!.source.note).toMatch(/default/i);
    }
  });

  it('when the fast-demo fixture is loaded, then it extends Västmanland with second-long deadlines and ladder (contract: Agreements)', () => {
    const f = getAgreement(all, 'fast-demo');
    expect(f.extends).toBe('vastmanland');
    expect(f.readiness.gate).toBe(true);
    expect(f.tasks.inskrivningsmeddelande.deadline?.after).toBe('PT30S');
    expect(f.escalation.steps.map((s) => s.at.offset)).toEqual(['-PT5S', 'PT0S', 'PT10S', 'PT20S']);
    expect(f.payment).toEqual(getAgreement(all, 'vastmanland').payment);
  });

  it('when an unknown agreement is asked for, then GatewayError agreement-missing names it', () => {
    try {
      getAgreement(all, 'uppsala');
      expect.unreachable();
    } catch (e) {
      expect(isGatewayError(e) && e.code === 'agreement-missing').toBe(true);
      expect((e as Error).message).toContain('uppsala');
    }
  });
});

describe('extends and validation', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svu-agreements-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('when a file overrides one deadline of its parent, then only that changes and arrays are replaced whole', () => {
    const merged = mergeAgreementJson(
      { a: { b: 1, c: [1, 2] }, payment: { model: 'x', k: 1 }, id: 'p' },
      { a: { c: [3] }, payment: { model: 'y' }, id: 'c' },
    );
    expect(merged).toEqual({ a: { b: 1, c: [3] }, payment: { model: 'y' }, id: 'c' });
  });

  it('when a file has a bad duration, then the load fails naming the file and the path inside it', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        id: 'bad',
        extends: 'vastmanland',
        tasks: { 'kallelse-sip': { deadline: { after: '3 days' } } },
      }),
    );
    await expect(loadAgreements({ extraDir: dir })).rejects.toThrow(
      /bad\.json: tasks\.kallelse-sip\.deadline\.after: an ISO 8601 duration/,
    );
    await rm(file);
  });

  it('when a payment block breaks the liability schema, then the load fails naming the file and payment path', async () => {
    const file = join(dir, 'badpay.json');
    await writeFile(file, JSON.stringify({ id: 'badpay', extends: 'lag', payment: { model: 'barter' } }));
    await expect(loadAgreements({ extraDir: dir })).rejects.toThrow(/badpay\.json: payment\.model/);
    await rm(file);
  });

  it('when a deadline adds months as elapsed time or ladder ids repeat, then the load fails before any evaluation could throw', () => {
    const r = resolveAgreements([
      { file: 'lag.json', json: JSON.parse(readFileSync('agreements/lag.json', 'utf8')) },
      {
        file: 'months.json',
        json: {
          id: 'months',
          extends: 'lag',
          tasks: { 'sip-uppfoljning': { deadline: { after: 'P1M', kind: 'elapsed' } } },
          escalation: {
            steps: [
              {
                id: 'a',
                at: { offset: 'PT0S', from: 'deadline' },
                kind: 'overdue',
                to: 'owner',
                source: { document: 'x', section: 'y' },
              },
              {
                id: 'a',
                at: { offset: 'PT1H', from: 'deadline' },
                kind: 'escalation',
                to: 'owner',
                source: { document: 'x', section: 'y' },
              },
            ],
          },
        },
      },
    ]);
    const text = r.ok ? '' : r.problems.map((p) => `${p.file}:${p.path}:${p.message}`).join('\n');
    expect(text).toContain('months.json:tasks.sip-uppfoljning.deadline.kind:years and months have no fixed length');
    expect(text).toContain('months.json:escalation.steps:ladder step ids must be unique');
  });

  it('when a file is not JSON, then the load fails naming the file', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "id": ');
    await expect(loadAgreements({ extraDir: dir })).rejects.toThrow(/broken\.json.*not valid JSON/);
    await rm(file);
  });

  it('when a file extends an unknown agreement or a cycle, then the problem is named', () => {
    const r = resolveAgreements([
      { file: 'x.json', json: { id: 'x', extends: 'nope' } },
      { file: 'y.json', json: { id: 'y', extends: 'z' } },
      { file: 'z.json', json: { id: 'z', extends: 'y' } },
    ]);
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.problems.map((p) => `${p.file}:${p.path}:${p.message}`).join('\n');
    expect(text).toContain('x.json:extends:extends unknown agreement "nope"');
    expect(text).toMatch(/extends cycle/);
  });

  it('when an extra folder has a file with the id of a shipped agreement, then it replaces the shipped one', async () => {
    const file = join(dir, 'override.json');
    await writeFile(
      file,
      JSON.stringify({ id: 'stockholm', extends: 'lag', name: 'Local Stockholm', region: { name: 'S' } }),
    );
    const m = await loadAgreements({ extraDir: dir });
    expect(m.get('stockholm')!.name).toBe('Local Stockholm');
    await rm(file);
  });
});
