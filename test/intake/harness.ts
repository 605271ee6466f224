import { Hl7Message } from '@medplum/core';
import express from 'express';
import { intakeAdminRoutes } from '../../src/intake/admin.routes';
import { Hl7Client } from '@medplum/hl7';
import type { Organization, Task } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import type { AppContext } from '../../src/compose.types';
import { loadConfig } from '../../src/config/config';
import { createIntakeCapability, intakeHooks, type IntakeCapability } from '../../src/intake';
import type { MessageOutcome } from '../../src/intake/hl7v2/message-outcome';
import type { LogEntry } from '../../src/intake/hl7v2/message-log';
import { ManualClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import type { ClosableDb, Db, QueryResult } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb } from '../support/db';

export interface IntakeHarness {
  ctx: AppContext;
  db: ClosableDb;
  repo: FhirRepository;
  clock: ManualClock;
  intake: IntakeCapability;
  vasteras: Organization;
  sala: Organization;
  hospital: Organization;
  /** Sends over MLLP (when started with mllp), waits until the message is applied, and returns the ACK. */
  send(text: string): Promise<Hl7Message>;
  tasks(stayId: string): Promise<Task[]>;
  /** The stored outcome of the message with this MSH-10 (what its ACK and the admin view report). */
  outcome(control: string): Promise<MessageOutcome>;
  close(): Promise<void>;
}

export async function intakeHarness(
  kind: 'pglite' | 'postgres',
  /** `units`: HSA-ids of vårdcentraler registered in the directory (a unit outside it is warned of as not connected). */
  opts: { mllp?: boolean; env?: Record<string, string>; units?: string[] } = {},
): Promise<IntakeHarness> {
  const db = await openTestDb(kind);
  const config = loadConfig({
    NODE_ENV: 'test',
    MLLP_PORT: '0',
    HOST: '127.0.0.1',
    AGREEMENT: 'vastmanland',
    ...opts.env,
  });
  const clock = new ManualClock('2026-01-15T10:00:00Z');
  const ctx: AppContext = {
    config,
    db,
    redisUrl: 'redis://unused',
    logger: createLogger('error'),
    clock,
    metrics: new Registry(),
  };
  const repo = createRepository(db, { system: true });
  const org = (name: string, system: string, value: string): Promise<Organization> =>
    repo.create<Organization>({ resourceType: 'Organization', name, identifier: [{ system, value }] });
  const vasteras = await org('Västerås stad', 'urn:oid:1.2.752.129.2.2.1.17', '1980');
  const sala = await org('Sala kommun', 'urn:oid:1.2.752.129.2.2.1.17', '1981');
  const hospital = await org('Västmanlands sjukhus Västerås', 'urn:oid:1.2.752.29.4.19', 'SE2321000172-DEMO0001');
  for (const hsa of opts.units ?? []) await org(`Vårdcentral ${hsa}`, 'urn:oid:1.2.752.29.4.19', hsa);
  const intake = createIntakeCapability(ctx);
  let client: Hl7Client | undefined;
  if (opts.mllp) {
    await intake.start?.(new Set(['mllp']));
    client = new Hl7Client({ host: '127.0.0.1', port: intake.mllpPort() ?? 0 });
  }
  return {
    ctx,
    db,
    repo,
    clock,
    intake,
    vasteras,
    sala,
    hospital,
    async send(text) {
      // The ACK comes once the message is stored; its apply follows: wait for it so tests see the outcome.
      const ack = client
        ? await client.sendAndWait(Hl7Message.parse(text), { timeoutMs: 10_000 })
        : Hl7Message.parse((await intake.process(text, { channel: 'http' })).ack);
      await intake.settled();
      return ack;
    },
    async outcome(control) {
      const r = await db.query<{ outcome: MessageOutcome | string }>(
        'SELECT outcome FROM hl7_message WHERE control_id = $1',
        [control],
      );
      const o = r.rows[0]?.outcome;
      return typeof o === 'string' ? (JSON.parse(o) as MessageOutcome) : (o as MessageOutcome);
    },
    async tasks(stayId) {
      return (await repo.search<Task>('Task', { encounter: `Encounter/${stayId}`, _count: '100' })).resources;
    },
    async close() {
      await client?.close();
      await intake.stop?.();
      await db.close();
    },
  };
}

export const ackCode = (ack: Hl7Message): string => ack.getSegment('MSA')?.getField(1)?.toString() ?? '';
export const codeOf = (t: Task): string => t.code?.coding?.[0]?.code ?? '';
/** A hospital duty Task (task key `ansvar:…`): the hospital's own deadline for a message it must send. */
export const isDuty = (t: Task): boolean => t.identifier?.some((i) => i.value?.includes('|ansvar:')) ?? false;
/** The receiver's Task of a code (not the hospital's duty of the same code). */
export const receiverTask = (tasks: readonly Task[], code: string): Task | undefined =>
  tasks.find((t) => codeOf(t) === code && !isDuty(t));
/** The hospital's duty Task of a code. */
export const dutyTask = (tasks: readonly Task[], code: string): Task | undefined =>
  tasks.find((t) => codeOf(t) === code && isDuty(t));

/** The hospital's own FHIR client over the harness (`demo-ehr`, intake's hooks) and the write options it writes with. */
export function hospitalApi(h: IntakeHarness): {
  api: FhirRepository;
  EHR: { author: string; authorOrganization: string };
} {
  const organization = `Organization/${h.hospital.id ?? ''}`;
  return {
    api: createRepository(h.db, { role: 'hospital', clientId: 'demo-ehr', organization }, intakeHooks(h.ctx)),
    EHR: { author: 'demo-ehr', authorOrganization: organization },
  };
}

/** A received A01's row for the message log (`MessageLog.store`), pending and acknowledged AA, `more` merged in. */
export const logEntry = (controlId: string | null, raw: string, more: Partial<LogEntry> = {}): LogEntry => ({
  sender: 'EHR/TEST',
  controlId,
  event: 'A01',
  raw,
  channel: 'mllp',
  remote: null,
  status: 'pending',
  errorCode: null,
  errorReason: null,
  ackCode: 'AA',
  ...more,
});

/**
 * The admin's HL7 message routes on `db`, with every statement they send to `hl7_message` pushed onto `sent`
 * (what the reads' tests look at: which statement, and its plan).
 */
export function messageRoutesRecording(db: Db, sent: string[]): express.Express {
  const recording: Db = {
    kind: db.kind,
    query<R>(sql: string, values: readonly unknown[] = []): Promise<QueryResult<R>> {
      if (sql.includes('FROM hl7_message')) sent.push(sql);
      return db.query<R>(sql, values);
    },
    transaction: (fn) => db.transaction(fn),
  };
  return express().use(intakeAdminRoutes(recording, []));
}
