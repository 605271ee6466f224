import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeAndLoadFactsOfStays } from '../../src/intake/stay/fact-store';
import { openDb } from '../../src/store/open-db';
import { factsOf, syntheticYear } from './synthetic-stays';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run liability -- --from-store (spawned, PGlite in DATA_DIR)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'liab-store-'));
  const cli = (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, AGREEMENTS_DIR: '' };
    delete env.DATABASE_URL;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/liability.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      env,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  beforeAll(async () => {
    const db = await openDb({ dataDir: dir });
    await storeAndLoadFactsOfStays(db, [], syntheticYear(2022, 60).flatMap(factsOf), 'hl7');
    await db.close();
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when run from the store, then it prints the seed 003 amounts with each stay traced to its facts', () => {
    const r = cli(['--agreement', 'jonkoping', '--month', '2022-03', '--from-store']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const d = report.municipalities.find((m: { municipality: string }) => m.municipality === '0604');
    expect(d).toMatchObject({ days: 49.6, amount: 461_280 });
    expect(d.stays[0].facts.length).toBeGreaterThan(2);
  });

  it('when the month is reported and asked again as CSV, then the CSV has the rows and no correction', () => {
    const rep = cli(['--agreement', 'jonkoping', '--month', '2022-03', '--from-store', '--report']);
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.out).reported).toMatchObject({ seq: 1, reportedBy: 'cli' });
    const csv = cli(['--agreement', 'jonkoping', '--month', '2022-03', '--from-store', '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.out).toContain('jonkoping;2022-03;0602;total;;;7;;65100;');
    expect(csv.out).not.toMatch(/;(debit|credit);/);
  });

  it('when asked what March would cost under the law instead, then both amounts and the difference are printed', () => {
    const r = cli(['--agreement', 'jonkoping', '--month', '2022-03', '--from-store', '--what-if', 'lag']);
    expect(r.code).toBe(0);
    const w = JSON.parse(r.out);
    expect(w.base.agreement).toBe('jonkoping');
    expect(w.alternative.agreement).toBe('lag');
    expect(w.municipalities.find((m: { municipality: string }) => m.municipality === '0602').base.amount).toBe(65_100);
  });

  it('when --from-store is given a file too, then it is a usage error', () => {
    const r = cli(['--agreement', 'lag', '--month', '2022-03', '--from-store', 'x.ndjson']);
    expect(r.code).toBe(64);
  });
});
