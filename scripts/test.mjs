#!/usr/bin/env node
// `npm test`: the whole suite. The suite starts its own private redis-server (test/support/global-setup.ts);
// this wrapper installs dependencies and the redis-server binary when missing. Stores: PGlite always,
// PostgreSQL too when DATABASE_URL is set.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureChromium, ensureRedisServer } from './ensure-redis.mjs';

// A fresh checkout: install the dependencies first (`npm install` follows package-lock.json; `npm ci` is not
// used because the registry mirror here lacks other platforms' optional packages, which `npm ci` insists on).
if (!existsSync('node_modules/.bin/vitest')) {
  const cmd = 'install';
  console.error(`node_modules missing: running npm ${cmd} ...`);
  if (spawnSync('npm', [cmd, '--no-audit', '--no-fund'], { stdio: 'inherit' }).status !== 0) {
    console.error(`npm ${cmd} failed; fix the error above and run npm test again`);
    process.exit(1);
  }
}

// The suite starts its own private redis-server: install the binary when missing (root/sudo), else say how.
const problem = ensureRedisServer();
if (problem) {
  console.error(problem);
  process.exit(1);
}
// The browser tests (admin console, dashboard, implementation guide) need Debian's Chromium: installed when
// missing and permitted; otherwise they are skipped with one line saying so (REQUIRE_BROWSER=1 makes them fail).
const noBrowser = ensureChromium();
if (noBrowser) console.error(noBrowser);
// vitest's own summary, plus one plain closing line (`N passed, N failed`) that any CI can read.
const report = path.join(os.tmpdir(), `svu-vitest-${process.pid}.json`);
const r = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
  },
);
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  console.log(
    `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + j.numTodoTests} skipped; ` +
      `suites: ${j.numPassedTestSuites} passed, ${j.numFailedTestSuites} failed`,
  );
  rmSync(report, { force: true });
}
process.exit(r.status ?? 1);
