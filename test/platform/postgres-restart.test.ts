import { describe, it, expect, afterAll } from 'vitest';
import { rm } from 'node:fs/promises';
import { openPostgres } from '../../src/store/db.pg';
import { freePort, startLocalRedis, type LocalRedis } from '../../src/platform/redis-server';
import { canRunOwnPostgres, startOwnPostgres, type OwnPostgres } from '../support/own-postgres';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from './gateway-process';
import { PatientSender } from './mllp-sender';

// Issue 12 item 5: a PostgreSQL restart (error 57P01 on every open connection) must not kill any process.
// Runs on a PostgreSQL server of its own (restarting the shared test server would break other tests' runs).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function admission(i: number): { controlId: string; visit: string; text: string } {
  const controlId = `PGR-${String(i).padStart(4, '0')}`;
  const visit = `PGR-VISIT-${i}`;
  const text = [
    `MSH|^~\\&|EHR|SE2321000172-DEMO0001|SVU|SVU-GATEWAY|20260115103500||ADT^A01^ADT_A01|${controlId}|P|2.5|||AL|NE|SWE|UNICODE UTF-8`,
    'EVN|A01|20260115103500|||||SE2321000172-DEMO0001',
    'PID|1||193803129828^^^SE&1.2.752.129.2.1.3.1&ISO^PNR||Andersson^Karin^Maria||19380312|F',
    'PD1|||Vårdcentralen Skultuna^^^^^^^^^SE2321000172-DEMO0101',
    `PV1|1|I|MED21^12^1^SE2321000172-DEMO0001^^^^^Medicinavdelning 21||||SE2321000172-P0001^Lind^Erik||||||||||||${visit}|||||||||||||||||||||||||20260115103000`,
    'OBX|1|CWE|behov^Behov efter utskrivning^SVU||socialtjanst~kommunal-hsl||||||F',
  ].join('\r');
  return { controlId, visit, text };
}

const run = canRunOwnPostgres() ? describe : describe.skip;

run('PostgreSQL restarts under an MLLP stream', () => {
  let pg: OwnPostgres | undefined;
  let redis: LocalRedis | undefined;
  const procs: GatewayProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await redis?.stop();
    await pg?.remove();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('when PostgreSQL stops and restarts, then api and worker keep running, HL7 is answered AE meanwhile and every acknowledged message is applied once', async () => {
    pg = await startOwnPostgres();
    redis = await startLocalRedis();
    const [port, mllp] = [await freePort(), await freePort()];
    const env = { DATABASE_URL: pg.url, REDIS_URL: redis.url, PORT: String(port), MLLP_PORT: String(mllp) };
    dirs.push(await tempDataDir(), await tempDataDir());
    const api = startGatewayProcess('api', { ...env, DATA_DIR: dirs[0], DEMO_REGION: 'true', NODE_ENV: 'development' });
    procs.push(api);
    await api.waitFor(/svu-gateway listening/, 180_000);
    const worker = startGatewayProcess('worker', { ...env, DATA_DIR: dirs[1], PORT: String(await freePort()) });
    procs.push(worker);
    await worker.waitFor(/svu-gateway running/, 180_000);

    const sender = new PatientSender(mllp);
    const total = 40;
    const sent: ReturnType<typeof admission>[] = [];
    const stream = (async () => {
      for (let i = 0; i < total; i++) {
        const m = admission(i);
        sent.push(m);
        await sender.send(m.controlId, m.text);
        await sleep(50);
      }
    })();

    // A restart in the middle of the stream (every connection gets 57P01) ...
    while (sent.length < 10) await sleep(50);
    pg.restart();
    // ... then an outage long enough to be seen: /readyz 503 and HL7 answered AE (the sender resends).
    while (sent.length < 20) await sleep(50);
    pg.stop();
    await sleep(1500);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    await sleep(3000);
    pg.start();
    await stream;
    sender.close();

    expect(api.child.exitCode, api.stderr()).toBeNull();
    expect(worker.child.exitCode, worker.stderr()).toBeNull();
    const answered = [...sender.answers.values()];
    expect(answered.every((codes) => codes.at(-1) === 'AA')).toBe(true);
    expect(answered.some((codes) => codes.includes('AE') || codes.includes('none'))).toBe(true);
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: 20_000 })
      .toBe(200);

    const db = openPostgres(pg.url, { max: 1 });
    try {
      // every acknowledged message applied (one stored in the outage's first moments is applied by the
      // recovery sweep, within a minute), each once
      const summary = async () =>
        (
          await db.query<{ control_id: string; n: number; status: string }>(
            `SELECT control_id, count(*)::int AS n, min(status) AS status
               FROM hl7_message WHERE control_id LIKE 'PGR-%' GROUP BY control_id ORDER BY control_id`,
          )
        ).rows.map((r) => `${r.control_id}:${r.n}:${r.status}`);
      const expected = sent.map((m) => `${m.controlId}:1:accepted`);
      await expect.poll(summary, { timeout: 100_000, interval: 2000 }).toEqual(expected);
      // one Encounter per visit, and no Task twice (per stay, kind and owner)
      const enc = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM fhir_resource WHERE resource_type = 'Encounter' AND content LIKE '%PGR-VISIT-%'`,
      );
      expect(enc.rows[0]?.n).toBe(total);
      const twice = await db.query<{ k: string }>(
        `SELECT concat_ws(' ', c->'encounter'->>'reference', c->'code'->'coding'->0->>'code',
                          c->'owner'->>'reference') AS k
           FROM (SELECT content::jsonb AS c FROM fhir_resource WHERE resource_type = 'Task') t
          GROUP BY 1 HAVING count(*) > 1`,
      );
      expect(twice.rows.map((r) => r.k)).toEqual([]);
      // every outbox row reaches every consumer (worker process) after the outage
      await expect
        .poll(
          async () =>
            (
              await db.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM outbox o CROSS JOIN outbox_consumer_progress p
                  WHERE o.id > p.low_watermark
                    AND NOT EXISTS (SELECT 1 FROM outbox_processed x WHERE x.consumer = p.consumer AND x.outbox_id = o.id)`,
              )
            ).rows[0]?.n,
          { timeout: 90_000, interval: 1000 },
        )
        .toBe(0);
    } finally {
      await db.close();
    }
    expect(api.child.exitCode, api.stderr()).toBeNull();
    expect(worker.child.exitCode, worker.stderr()).toBeNull();
  }, 400_000);
});
