#!/usr/bin/env node
// Container health check for every role of the image. The role is read from PID 1's command line
// (`node … dist/main.js <mode>`), so one HEALTHCHECK serves all services:
//   all | api | http → GET /readyz answers 200 (database and Redis reachable, see src/http/health.routes.ts)
//   mllp             → the MLLP port accepts a connection
//   worker           → the database answers SELECT 1 and Redis answers PING (a worker serves no port)
// Exit 0 = healthy, 1 = unhealthy, with one line saying why.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter(Boolean);
const mode = argv[argv.findIndex((a) => a.endsWith('main.js')) + 1] ?? 'api';
const env = (k) =>
  process.env[k] ?? (process.env[`${k}_FILE`] ? readFileSync(process.env[`${k}_FILE`], 'utf8').trim() : undefined);
const fail = (why) => {
  console.error(`unhealthy (${mode}): ${why}`);
  process.exit(1);
};
const timeout = setTimeout(() => fail('no answer within 4 s'), 4000);

async function check() {
  if (mode === 'mllp') {
    const port = Number(env('MLLP_PORT') ?? 2575);
    await new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), resolve()));
      s.on('error', reject);
    });
    return;
  }
  if (mode === 'worker') {
    const { Redis } = await import('ioredis');
    const redisUrl = env('REDIS_URL');
    if (!redisUrl) throw new Error('REDIS_URL is not set');
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') throw new Error('Redis did not answer PONG');
    redis.disconnect();
    const databaseUrl = env('DATABASE_URL');
    if (databaseUrl) {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
    }
    return;
  }
  const res = await fetch(`http://127.0.0.1:${env('PORT') ?? 8080}/readyz`);
  if (!res.ok) throw new Error(`/readyz answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
}

check().then(
  () => {
    clearTimeout(timeout);
    process.exit(0);
  },
  (err) => fail(err instanceof Error ? err.message : String(err)),
);
