#!/usr/bin/env node
// `npm test`: the whole suite. The suite starts its own private redis-server (test/support/global-setup.ts);
// this wrapper installs dependencies and the redis-server binary when missing. Stores: PGlite always,
// PostgreSQL too when DATABASE_URL is set.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureRedisServer } from './ensure-redis.mjs';

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
const r = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
});
process.exit(r.status ?? 1);
