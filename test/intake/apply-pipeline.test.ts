import { Hl7Message } from '@medplum/core';
import type { Encounter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { ApplyQueue, type ApplyJob, type ApplyOutcome, type StayMessage } from '../../src/intake/hl7v2/apply-queue';
import { MessageLog, type LogEntry } from '../../src/intake/hl7v2/message-log';
import { parseAndMap } from '../../src/intake/hl7v2/process-message';
import { loadProfiles } from '../../src/mapping/profile';
import { createLogger } from '../../src/platform/logger';
import { GatewayError } from '../../src/platform/errors';
import type { ClosableDb } from '../../src/store/db.port';
import { adt, OBX } from '../mapping/adt-builder';
import { openTestDb, testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, logEntry, type IntakeHarness } from './harness';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const profiles = loadProfiles();

function mapped(text: string): StayMessage {
  const p = parseAndMap(text, profiles, '2026-01-15');
  if (!p.ok || p.mapped.kind !== 'stay') throw new Error('fixture did not map to a stay message');
  return p.mapped;
}

const entry = (text: string, controlId: string): LogEntry => logEntry(controlId, text);

describe.each(testDatabases())('HL7 apply pipeline (message log and apply queue) on %s', (kind) => {
  let db: ClosableDb;
  beforeAll(async () => {
    db = await openTestDb(kind);
  });
  afterAll(async () => {
    await db.close();
  });

  it('when many messages are stored at once, then each gets its own committed row and a repeat in the same batch points at the first', async () => {
    const log = new MessageLog(db);
    const text = adt({ event: 'A01', visit: 'LOG-1' });
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => log.store(entry(text, `LOG-${i}`))),
      log.store(entry(text, 'LOG-3')),
    ]);
    const ids = results.slice(0, 20).map((r) => r.id);
    expect(new Set(ids).size).toBe(20);
    expect(results.slice(0, 20).every((r) => r.repeatOf === undefined)).toBe(true);
    expect(results[20]?.repeatOf?.id).toBe(ids[3]);
    const n = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM hl7_message WHERE sender = 'EHR/TEST' AND control_id LIKE 'LOG-%'`,
    );
    expect(n.rows[0]?.n).toBe(20);
  });

  it('when a message carries NUL characters in its header fields, then it is stored without them (PostgreSQL text holds none)', async () => {
    const log = new MessageLog(db);
    const nul = String.fromCharCode(0);
    const text = adt({ event: 'A01', visit: 'NUL-1' });
    const stored = await log.store({
      ...entry(`${text}${nul}`, `NUL${nul}-1`),
      sender: `EHR/TEST${nul}`,
      event: `A0${nul}1`,
      errorReason: `x${nul}y`,
    });
    const row = await db.query<{ control_id: string; sender: string; event: string }>(
      'SELECT control_id, sender, event FROM hl7_message WHERE id = $1',
      [stored.id],
    );
    expect(row.rows[0]).toEqual({ control_id: 'NUL-1', sender: 'EHR/TEST', event: 'A01' });
  });

  it('when one message of a batch fails, then the others are applied, the failing one is rejected, and a deadlock is retried', async () => {
    const log = new MessageLog(db);
    const jobs: ApplyJob[] = [];
    for (let i = 0; i < 6; i++) {
      const text = adt({ event: 'A01', visit: `Q-${i}` });
      const { id } = await log.store(entry(text, `Q-${i}-${kind}`));
      jobs.push({ id, mapped: mapped(text), meta: { channel: 'mllp' } });
    }
    const poison = jobs[2]?.id;
    const flaky = jobs[4]?.id;
    let flakyCalls = 0;
    const applied: { id: number; outcome: ApplyOutcome | undefined }[] = [];
    const queue = new ApplyQueue({
      db,
      logger: createLogger('error'),
      lanes: 1,
      batch: 10,
      backlog: 100,
      apply: async (tx, batch) => {
        const ids = batch.map((b) => jobs.find((j) => j.mapped === b.mapped)?.id);
        if (ids.includes(poison)) throw new GatewayError('bad-request', 'poison message');
        if (ids.includes(flaky) && flakyCalls++ < 2)
          throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        await tx.query('SELECT 1');
        return ids.map((id) => ({ stayId: `stay-${id}` }));
      },
      onApplied: (job, outcome) => applied.push({ id: job.id, outcome }),
    });
    for (const j of jobs) queue.enqueue(j);
    await queue.idle();
    expect(applied.map((a) => a.id)).toEqual(jobs.map((j) => j.id));
    const byId = new Map(applied.map((a) => [a.id, a.outcome]));
    expect(byId.get(poison ?? 0)?.status).toBe('rejected');
    expect(byId.get(flaky ?? 0)?.status).toBe('accepted');
    const rows = await db.query<{ id: string; status: string; stay_id: string | null; error_code: string | null }>(
      'SELECT id, status, stay_id, error_code FROM hl7_message WHERE id = ANY($1::bigint[]) ORDER BY id',
      [jobs.map((j) => j.id)],
    );
    expect(rows.rows.map((r) => r.status)).toEqual([
      'accepted',
      'accepted',
      'rejected',
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect(rows.rows[2]?.error_code).toBe('bad-request');
    expect(rows.rows[0]?.stay_id).toBe(`stay-${jobs[0]?.id}`);
  });

  it('when a message arrives while the queue stops, then it is left pending for the next start and stop completes', async () => {
    const seen: (ApplyOutcome | undefined)[] = [];
    const late = new ApplyQueue({
      db,
      logger: createLogger('error'),
      lanes: 1,
      batch: 10,
      backlog: 100,
      apply: async (_tx, batch) => batch.map(() => ({ stayId: 'x' })),
      onApplied: (_job, outcome) => seen.push(outcome),
    });
    const stopping = late.stop();
    late.enqueue({ id: -9, mapped: mapped(adt({ event: 'A01', visit: 'STOP-1' })), meta: { channel: 'mllp' } });
    await stopping;
    expect(seen).toEqual([undefined]);
    expect(late.size).toBe(0);
  });

  it('when a lane lingers, then messages arriving meanwhile share one transaction, and a full batch or stop ends the wait', async () => {
    const batches: number[] = [];
    const seen: (ApplyOutcome | undefined)[] = [];
    const queue = (lingerMs: number, batch: number) =>
      new ApplyQueue({
        db,
        logger: createLogger('error'),
        lanes: 1,
        batch,
        lingerMs,
        backlog: 100,
        apply: async (_tx, jobs) => {
          batches.push(jobs.length);
          return jobs.map(() => ({ stayId: 'x' }));
        },
        onApplied: (_job, outcome) => seen.push(outcome),
      });
    const job = (id: number): ApplyJob => ({
      id,
      mapped: mapped(adt({ event: 'A01', visit: `LING-${id}` })),
      meta: { channel: 'mllp' },
    });

    // under a full batch: the three messages of the next 40 ms go in one transaction
    const slow = queue(400, 10);
    slow.enqueue(job(-21));
    await new Promise((r) => setTimeout(r, 20));
    slow.enqueue(job(-22));
    slow.enqueue(job(-23));
    const t0 = performance.now();
    await slow.idle();
    expect(batches).toEqual([3]);
    expect(performance.now() - t0).toBeGreaterThan(200); // it waited out the linger

    // a full batch does not wait
    batches.length = 0;
    const full = queue(60_000, 2);
    const t1 = performance.now();
    full.enqueue(job(-24));
    full.enqueue(job(-25));
    await full.idle();
    expect(batches).toEqual([2]);
    expect(performance.now() - t1).toBeLessThan(30_000);

    // stop ends a linger: the waiting message stays pending
    seen.length = 0;
    const stopping = queue(60_000, 10);
    stopping.enqueue(job(-26));
    await stopping.stop();
    expect(seen).toEqual([undefined]);
  });

  it('when the backlog is full, then room() waits until the queue drains below it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new ApplyQueue({
      db,
      logger: createLogger('error'),
      lanes: 1,
      batch: 1,
      backlog: 2,
      apply: async (_tx, batch) => {
        await gate;
        return batch.map(() => ({ stayId: 'x' }));
      },
    });
    const m = mapped(adt({ event: 'A01', visit: 'BP-1' }));
    queue.enqueue({ id: -1, mapped: m, meta: { channel: 'mllp' } });
    queue.enqueue({ id: -2, mapped: m, meta: { channel: 'mllp' } });
    let roomy = false;
    const waiting = queue.room().then(() => (roomy = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(roomy).toBe(false);
    release();
    await waiting;
    expect(roomy).toBe(true);
    await queue.idle();
  });
});

describe.each(testDatabases())('HL7 acknowledged on store, applied after (default) on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { mllp: true, env: { HL7_APPLY_LANES: '4', HL7_APPLY_BATCH: '8' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('when 24 stays send A01, A08, A03 over 4 connections at once, then every message is applied in order per stay', async () => {
    const order = new Map<string, string[]>();
    const listener = (job: ApplyJob) => {
      if (job.mapped.kind !== 'stay') return;
      const v = job.mapped.encounter.visit.value;
      order.set(v, [...(order.get(v) ?? []), job.mapped.header.event]);
    };
    h.intake.services.onApplied.add(listener);
    const { Hl7Client } = await import('@medplum/hl7');
    const visits = Array.from({ length: 24 }, (_, i) => `ORD-${kind}-${i}`);
    const clients = Array.from(
      { length: 4 },
      () => new Hl7Client({ host: '127.0.0.1', port: h.intake.mllpPort() ?? 0 }),
    );
    const codes: string[] = [];
    await Promise.all(
      clients.map(async (client, c) => {
        for (const visit of visits.filter((_, i) => i % 4 === c)) {
          for (const event of ['A01', 'A08', 'A03']) {
            const text = adt({
              event,
              visit,
              evnTime: event === 'A01' ? '20260115103500' : event === 'A08' ? '20260116090000' : '20260117140000',
              ...(event === 'A03'
                ? { discharge: '20260117140000' }
                : { obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] }),
            });
            codes.push(ackCode(await client.sendAndWait(Hl7Message.parse(text), { timeoutMs: 10_000 })));
          }
        }
      }),
    );
    for (const client of clients) await client.close();
    await h.intake.settled();
    h.intake.services.onApplied.delete(listener);
    expect(codes.filter((c) => c !== 'AA')).toEqual([]);
    for (const visit of visits) {
      expect(order.get(visit), visit).toEqual(['A01', 'A08', 'A03']);
      const stayId = encounterIdFor(VISIT_SYSTEM, visit);
      const enc = await h.repo.read<Encounter>('Encounter', stayId);
      expect(enc.status).toBe('finished');
      const tasks = (await h.tasks(stayId)).map(codeOf);
      expect(tasks).toContain('inskrivningsmeddelande');
      expect(tasks).toContain('utskrivningsmeddelande');
    }
    const pending = await h.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM hl7_message WHERE status = 'pending'`,
    );
    expect(pending.rows[0]?.n).toBe(0);
  });

  it('when a stored message was never applied (crash after the ACK), then recovery applies it', async () => {
    const text = adt({ event: 'A01', visit: `REC-${kind}`, obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] });
    // What a crash leaves behind: the committed row, acknowledged, nothing applied.
    await h.db.query(
      `INSERT INTO hl7_message (sender, control_id, event, raw, channel, status, ack_code)
       VALUES ('EHR/SE2321000172-DEMO0001', $1, 'A01', $2, 'mllp', 'pending', 'AA')`,
      [`REC-${kind}-1`, text.replace(/\n/g, '\r')],
    );
    const stayId = encounterIdFor(VISIT_SYSTEM, `REC-${kind}`);
    expect(await h.tasks(stayId)).toEqual([]);
    expect(await h.intake.recover(0)).toBe(1);
    await h.intake.settled();
    expect((await h.tasks(stayId)).map(codeOf)).toContain('inskrivningsmeddelande');
    const row = await h.db.query<{ status: string }>(`SELECT status FROM hl7_message WHERE control_id = $1`, [
      `REC-${kind}-1`,
    ]);
    expect(row.rows[0]?.status).toBe('accepted');
  });
});

describe.each(testDatabases())('HL7 acknowledged after apply (HL7_ACK_AFTER=applied) on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind, { mllp: true, env: { HL7_ACK_AFTER: 'applied' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('when the AA arrives, then the Task is already stored', async () => {
    const { Hl7Client } = await import('@medplum/hl7');
    const client = new Hl7Client({ host: '127.0.0.1', port: h.intake.mllpPort() ?? 0 });
    const visit = `APPLIED-${kind}`;
    const ack = await client.sendAndWait(
      Hl7Message.parse(adt({ event: 'A01', visit, obx: [OBX.needs('socialtjanst'), OBX.consent('ja')] })),
      { timeoutMs: 10_000 },
    );
    await client.close();
    expect(ackCode(ack)).toBe('AA');
    // No settled(): the ACK itself waited for the apply's commit.
    expect((await h.tasks(encounterIdFor(VISIT_SYSTEM, visit))).map(codeOf)).toContain('inskrivningsmeddelande');
  });
});
