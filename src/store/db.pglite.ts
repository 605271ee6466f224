import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ClosableDb, Db, QueryResult } from './db.port';

// Same conventions as the pg adapter: int8 as number.
const parsers = { [types.INT8]: (v: string) => Number(v) };

/** Packed byte parameters (packed-array.ts) as the text they are: PGlite serialises a parameter by its type. */
const asText = (params: readonly unknown[]): unknown[] =>
  params.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : p));

class PgliteTx implements Db {
  readonly kind = 'pglite' as const;
  private savepoint = 0;
  constructor(private readonly tx: Transaction) {}
  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const r = await this.tx.query<R>(sql, asText(params), { parsers });
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const name = `sp${++this.savepoint}`;
    await this.tx.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.tx.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

/**
 * PGlite's shared buffers. PostgreSQL's default (128 MB) is allocated and touched in the WASM memory at open:
 * opening an existing directory measured 283 MB RSS with it and 183 MB with 32 MB (after writing ≈ 10 MB and
 * scanning it: 343 against 237 MB). The embedded store is the small demo/single-site store; its files are read
 * through the operating system's cache anyway.
 */
const SHARED_BUFFERS = '32MB';

const START_PARAMS = [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`];

/**
 * Embedded PostgreSQL (PGlite, WASM) in `dataDir`, or in memory when `dataDir` is undefined; in memory, `image`
 * (from `pgliteImage`) is the cluster it starts from instead of a new one.
 * PGlite has one connection: it queues statements and transactions itself, so concurrent callers are safe.
 */
export async function openPglite(dataDir?: string, opts: { image?: Blob } = {}): Promise<ClosableDb> {
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION'))) await createPgliteDirInChild(dataDir);
  const options = { startParams: START_PARAMS, ...(opts.image ? { loadDataDir: opts.image } : {}) };
  const pg = dataDir ? new PGlite(dataDir, options) : new PGlite(options);
  await pg.waitReady;
  return adapter(pg);
}

/**
 * An in-memory cluster after `prepare` (e.g. the migrations), as an image `openPglite` starts from: a new database
 * opened from it skips initdb and `prepare` (the tests open hundreds of migrated databases).
 */
export async function pgliteImage(prepare: (db: Db) => Promise<unknown>): Promise<Blob> {
  const pg = new PGlite({ startParams: START_PARAMS });
  await pg.waitReady;
  try {
    await prepare(adapter(pg));
    return await pg.dumpDataDir('none');
  } finally {
    await pg.close();
  }
}

function adapter(pg: PGlite): ClosableDb {
  return {
    kind: 'pglite',
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const r = await pg.query<R>(sql, asText(params), { parsers });
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => fn(new PgliteTx(tx)));
    },
    async listen(channel: string, onNotify: () => void) {
      const unsubscribe = await pg.listen(channel, () => onNotify());
      return async () => {
        await unsubscribe();
      };
    },
    async close() {
      await pg.close();
    },
  };
}

// Creates the cluster in `dataDir` from a short-lived child process: initdb runs in its own WASM memory, which
// grows to ≈ 700 MB and is never given back, so doing it in the gateway left a first start at ≈ 830 MB RSS where
// opening an existing directory costs ≈ 250 MB. (A worker thread does not help: same process, memory not returned.)
const CREATE_IN_CHILD =
  'const { PGlite } = await import(process.argv[1]); const pg = new PGlite(process.argv[2]); await pg.waitReady; await pg.close();';

function createPgliteDirInChild(dataDir: string): Promise<void> {
  const moduleUrl = import.meta.resolve('@electric-sql/pglite');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CREATE_IN_CHILD, moduleUrl, dataDir],
      { maxBuffer: 4 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? err.message;
        reject(new Error(`creating the PGlite data directory ${dataDir} failed: ${last}`));
      },
    );
  });
}
