import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = path.join(root, 'test/fixtures/liability/jonkoping-2022-03.ndjson');

function cli(args: string[], input?: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/liability.ts', ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
    env: { ...process.env, AGREEMENTS_DIR: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A stay of the current month: ready 2026-12-01 09:00, discharged a week later (4 days beyond the law's 3). */
const dec2026 = JSON.stringify({
  id: 'd1',
  municipality: '1980',
  care: 'somatic',
  admittedAt: '2026-11-20T08:00:00+01:00',
  readyAt: '2026-12-01T09:00:00+01:00',
  dischargedAt: '2026-12-08T09:00:00+01:00',
  admissionNoticeSent: true,
  estimatedDischargeDateSent: true,
  readyNoticeSent: true,
  sipRequired: false,
  sipInvitationSent: false,
});

describe('npm run liability (spawned)', () => {
  it('when run on the sample file, then it prints the contract JSON with seed 003 amounts per municipality', () => {
    const r = cli(['--agreement', 'jonkoping', '--month', '2022-03', fixture]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ agreement: 'jonkoping', month: '2022-03' });
    const byCode = Object.fromEntries(report.municipalities.map((m: { municipality: string }) => [m.municipality, m]));
    expect(byCode['0680']).toMatchObject({ days: 49.6, amount: 461_280 }); // seed 003 kommun D
    expect(byCode['0683']).toMatchObject({ days: 7, amount: 65_100 }); // seed 003 kommun B
    expect(byCode['0684']).toMatchObject({ days: 0, patients: 1 }); // placed by 0684, registered in 0686
    expect(byCode['0686']).toBeUndefined();
    const notLiable = byCode['0680'].stays.find((s: { basis: string }) => s.basis === 'not-liable');
    expect(notLiable.reason).toContain('invitation');
    for (const m of report.municipalities) {
      for (const s of m.stays) expect(Object.keys(s).sort()).toEqual(['basis', 'billableDays', 'days', 'id', 'reason']);
    }
  });

  it('when a line is malformed, then it exits non-zero naming the line number', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'liab-'));
    const file = path.join(dir, 'bad.ndjson');
    const good =
      '{"id":"s1","municipality":"0680","placingMunicipality":null,"care":"somatic","admittedAt":"2022-03-01T08:00:00Z","readyAt":"2022-03-02T08:00:00Z","dischargedAt":"2022-03-03T08:00:00Z","admissionNoticeSent":true,"estimatedDischargeDateSent":true,"readyNoticeSent":true,"sipRequired":false,"sipInvitationSent":false}';
    writeFileSync(file, `${good}\n\n{"id": "s2", oops}\n`);
    const r = cli(['--agreement', 'lag', '--month', '2022-03', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/line 3: not valid JSON/);
    expect(r.out).toBe('');
  });

  it('when reading stdin with an unknown agreement, then it fails naming the known ones', () => {
    const r = cli(['--agreement', 'nowhere', '--month', '2022-03', '-'], '');
    expect(r.code).toBe(1);
    expect(r.err).toContain('no agreement "nowhere"');
  });

  it('when the arguments are incomplete, then it prints usage and exits 64', () => {
    const r = cli(['--month', '2022-03', fixture]);
    expect(r.code).toBe(64);
    expect(r.err).toContain('usage:');
  });

  it('when the current month (2026-12) is asked without an amount, then it gives the days with null amounts and says why', () => {
    const r = cli(['--agreement', 'lag', '--month', '2026-12', '-'], `${dec2026}\n`);
    expect(r.code).toBe(0);
    expect(r.err).toContain('no daily amount (vårdpris) for 2026');
    expect(r.err).toContain('HSLF-FS 2025:74');
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ dailyRate: null, dailyRateSource: null, month: '2026-12' });
    expect(report.dailyRateMissing).toContain('HSLF-FS 2025:74');
    expect(report.municipalities[0]).toMatchObject({ municipality: '1980', days: 4, amount: null });
  });

  it('when the agreement sets its own amount for 2026, then the current month is billed at it with its source', () => {
    const r = cli(['--agreement', 'vastmanland-agreed', '--month', '2026-12', '-'], `${dec2026}\n`, {
      AGREEMENTS_DIR: 'test/fixtures/liability/agreed',
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ dailyRate: 11000, month: '2026-12' });
    expect(report.dailyRateSource).toContain('agreement vastmanland-agreed: payment.dailyRates (TEST VALUE');
    expect(report.dailyRateMissing).toBeUndefined();
  });

  it('when the current month is asked with the agreed amount, then the report uses it and says where it came from', () => {
    const line = JSON.stringify({
      id: 'd1',
      municipality: '1980',
      care: 'somatic',
      admittedAt: '2026-11-20T08:00:00+01:00',
      readyAt: '2026-12-01T09:00:00+01:00',
      dischargedAt: '2026-12-08T09:00:00+01:00',
      admissionNoticeSent: true,
      estimatedDischargeDateSent: true,
      readyNoticeSent: true,
      sipRequired: false,
      sipInvitationSent: false,
    });
    const r = cli(['--agreement', 'lag', '--month', '2026-12', '--daily-amount', '11000', '-'], `${line}\n`);
    expect(r.err).toBe('');
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ dailyRate: 11000, month: '2026-12' });
    expect(report.dailyRateSource).toContain('--daily-amount');
    expect(report.municipalities[0]).toMatchObject({ municipality: '1980', days: 4, amount: 44_000 });
  });
});
