#!/usr/bin/env node
// `npm start`: the whole gateway (API, MLLP listener, workers), with the demo region on an empty store. Plain
// Node, no dependencies, so it runs on a fresh machine with only Node 20:
//   1. node_modules missing → `npm install` (it follows package-lock.json; `npm ci` is not used because the
//      registry mirror here lacks some other platforms' optional packages, which `npm ci` insists on);
//   2. no REDIS_URL and no redis-server → install it with apt-get when root (or passwordless sudo), else say how;
//   3. dist/main.js missing or older than a file in src/ → `npm run build` (esbuild, about a second);
//   4. run `node dist/main.js [mode]` (compiled JavaScript, no tsx at run time; environment and node flags from
//      runtime-env.mjs)
//      and forward signals. Without a mode the gateway picks its layout: API and worker as two processes on
//      PostgreSQL, one process on PGlite (src/main.ts). Over an IPC channel, so the gateway stops when this script ends in any way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRedisServer, hasRedisServer } from './ensure-redis.mjs';
import { GATEWAY_NODE_FLAGS, withGatewayRuntimeEnv } from './runtime-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
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

/** Newest modification time of a file below `dir` (ms). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const dist = path.join(root, 'dist', 'main.js');
const sources = Math.max(newest(path.join(root, 'src')), statSync(path.join(root, 'scripts', 'build.mjs')).mtimeMs);
if (!existsSync(dist) || statSync(dist).mtimeMs < sources) {
  const r = run(process.execPath, [path.join(root, 'scripts', 'build.mjs')]);
  if (r.status !== 0) fail(`npm run build failed (exit ${r.status}); fix the error above and run npm start again`);
}

const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, dist, ...(mode ? [mode] : [])], {
  cwd: root,
  env: withGatewayRuntimeEnv(process.env),
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null) child.kill(sig);
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
