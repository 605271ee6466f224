#!/usr/bin/env node
// `npm start`: everything in one process tree (API, MLLP listener, workers), with the demo region on an empty
// store. Plain Node, no dependencies, so it runs on a fresh machine with only Node 20:
//   1. node_modules missing → `npm install` (it follows package-lock.json; `npm ci` is not used because the
//      registry mirror here lacks some other platforms' optional packages, which `npm ci` insists on);
//   2. no REDIS_URL and no redis-server → install it with apt-get when root (or passwordless sudo), else say how;
//   3. exec `npx tsx src/main.ts <mode>` (mode = first argument, default `all`) and forward signals.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRedisServer, hasRedisServer } from './ensure-redis.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'all';
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
const fail = (line) => {
  console.error(line);
  process.exit(1);
};

if (!existsSync(path.join(root, 'node_modules', '.bin', 'tsx'))) {
  console.error('node_modules missing: running npm install ...');
  const r = run('npm', ['install', '--no-audit', '--no-fund']);
  if (r.status !== 0) fail(`npm install failed (exit ${r.status}); fix the error above and run npm start again`);
}

const hasRedis = hasRedisServer;
if (!process.env.REDIS_URL && mode !== 'worker') {
  const problem = ensureRedisServer();
  if (problem) fail(problem);
}
if (!process.env.REDIS_URL && mode === 'worker' && !hasRedis()) {
  fail(
    'REDIS_URL is not set and redis-server is not installed: a worker needs the Redis its API processes use (set REDIS_URL)',
  );
}

const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const child = spawn(tsx, ['src/main.ts', mode], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null) child.kill(sig);
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
