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

const hasRedis = () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
if (!process.env.REDIS_URL && !hasRedis() && mode !== 'worker') {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!isRoot && !sudo) {
    fail(
      'redis-server not found: install it with `sudo apt-get install -y redis-server` or set REDIS_URL to a running Redis',
    );
  }
  const pre = isRoot ? [] : ['sudo', '-n'];
  const apt = (args) =>
    run(pre[0] ?? 'apt-get', pre.length ? [...pre.slice(1), 'apt-get', ...args] : args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  console.error('redis-server not found: installing it with apt-get ...');
  if (apt(['update']).status !== 0 || apt(['install', '-y', 'redis-server']).status !== 0 || !hasRedis()) {
    fail('Installing redis-server failed: run `apt-get install -y redis-server` yourself or set REDIS_URL');
  }
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
