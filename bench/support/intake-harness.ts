/**
 * What the HL7 intake benchmarks share (`ingest`, `national-replay`): the intake capability on a fresh database
 * with the demo region's organisations, listening on MLLP, the hospital senders in a child process, and the CPU of
 * the PostgreSQL backends serving the database.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Organization } from '@medplum/fhirtypes';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/config';
import { createIntakeCapability, type IntakeCapability } from '../../src/intake';
import { systemClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import type { ClosableDb } from '../../src/store/db.port';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import { openTestDb } from '../../test/support/db';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What the sender child process reports (bench/support/hl7-senders.ts). */
export interface SenderReport {
  start: number;
  end: number;
  ackMs: number[];
  a01Sent: [string, number][];
  notAA: number;
  /** CPU time the senders used (user + system). */
  cpuMs: number;
}

/** The message sequence of each synthetic stay: `stay3` (A01, A08, A03) or `national` (bench/support/synthetic.ts). */
export type StayMix = 'stay3' | 'national';

export interface IntakeUnderTest {
  db: ClosableDb;
  repo: FhirRepository;
  intake: IntakeCapability;
  port: number;
  close: () => Promise<void>;
}

/**
 * The intake (MLLP only) on a fresh database (dropped by `close()`) or on `into`, agreement vastmanland, with the demo region's
 * municipalities, hospital and care unit. HL7_APPLY_* and PG_PREPARED_STATEMENTS pass through from the environment.
 */
export async function startIntake(
  kind: 'pglite' | 'postgres',
  ackAfter: 'stored' | 'applied',
  /** A migrated database to fill instead of a fresh one (`close()` then closes it, the caller drops it). */
  into?: ClosableDb,
): Promise<IntakeUnderTest> {
  const db =
    into ?? (await openTestDb(kind, { max: 20, preparedStatements: process.env.PG_PREPARED_STATEMENTS !== 'false' }));
  const config = loadConfig({
    NODE_ENV: 'production',
    MLLP_PORT: '0',
    HOST: '127.0.0.1',
    AGREEMENT: 'vastmanland',
    LOG_LEVEL: 'error',
    HL7_ACK_AFTER: ackAfter,
    // HL7_APPLY_LANES / _BATCH / _LINGER_MS / _BACKLOG from the environment, to compare settings.
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('HL7_APPLY_'))),
  });
  const ctx = {
    config,
    db,
    redisUrl: 'redis://unused',
    logger: createLogger('error'),
    clock: systemClock,
    metrics: new Registry(),
  };
  const repo = createRepository(db, { system: true });
  for (const [name, system, value] of [
    ['Västerås stad', 'urn:oid:1.2.752.129.2.2.1.17', '1980'],
    ['Sala kommun', 'urn:oid:1.2.752.129.2.2.1.17', '1981'],
    ['Västmanlands sjukhus Västerås', 'urn:oid:1.2.752.29.4.19', 'SE2321000172-DEMO0001'],
    ['Skultuna vårdcentral', 'urn:oid:1.2.752.29.4.19', 'SE2321000172-DEMO0101'],
  ] as const) {
    await repo.create<Organization>({ resourceType: 'Organization', name, identifier: [{ system, value }] });
  }
  const intake = createIntakeCapability(ctx);
  await intake.start?.(new Set(['mllp']));
  return {
    db,
    repo,
    intake,
    port: intake.mllpPort() ?? 0,
    async close() {
      await intake.stop?.();
      await db.close();
    },
  };
}

/**
 * Runs the hospital senders (bench/support/hl7-senders.ts) in a child process, as real senders are other machines:
 * `stays` stays over `connections` MLLP connections, each stay's messages in order on one connection; with `rate`
 * (messages/s) paced to a fixed schedule.
 */
export function sendStays(o: {
  port: number;
  stays: number;
  connections: number;
  runId: string;
  rate?: number;
  mix?: StayMix;
}): Promise<SenderReport> {
  const child = fork(
    join(root, 'bench', 'support', 'hl7-senders.ts'),
    [String(o.port), String(o.stays), String(o.connections), o.runId, String(o.rate ?? 0), o.mix ?? 'stay3'],
    { execArgv: ['--import', 'tsx'] },
  );
  return new Promise<SenderReport>((resolve, reject) => {
    child.once('message', (m) => resolve(m as SenderReport));
    child.once('exit', (code) => reject(new Error(`the sender process exited with ${code}`)));
  });
}
