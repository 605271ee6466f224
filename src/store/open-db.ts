import path from 'node:path';
import { constants } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { ClosableDb } from './db.port';
import { openPglite } from './db.pglite';
import { openPostgres } from './db.pg';
import { migrate } from './migrate';

/** A PGlite data directory that cannot be used; the message names what is wrong with it. */
export class DataDirError extends Error {}

/**
 * Checks a PGlite directory before PGlite touches it: writable, and either empty (a new database) or holding a
 * database (PG_VERSION a major version number, `base` and `global` directories). PGlite given anything else
 * failed after a second when alone, but on a loaded machine its WASM start-up held the event loop for minutes,
 * so no timer of the process could end the start.
 */
export async function checkPgliteDir(dir: string): Promise<void> {
  try {
    await access(dir, constants.W_OK | constants.R_OK);
  } catch {
    throw new DataDirError(`${dir} is not readable and writable by this process`);
  }
  const version = await readFile(path.join(dir, 'PG_VERSION'), 'utf8').catch(() => undefined);
  if (version === undefined) {
    const leftovers = await stat(path.join(dir, 'base')).catch(() => undefined);
    if (leftovers) throw new DataDirError(`${dir} holds a database without PG_VERSION (damaged)`);
    return; // a new database
  }
  if (!/^\d+\s*$/.test(version)) throw new DataDirError(`${dir}/PG_VERSION does not name a PostgreSQL version`);
  for (const sub of ['base', 'global']) {
    const s = await stat(path.join(dir, sub)).catch(() => undefined);
    if (!s?.isDirectory()) throw new DataDirError(`${dir}/${sub} is missing or not a directory (not a database)`);
  }
}

/**
 * A watchdog on its own thread: unless disarmed within `ms`, it writes `line` to stderr and kills the process
 * (SIGKILL: the main thread may be stuck in WASM, where no JavaScript handler or timer runs).
 */
export function startWatchdog(ms: number, line: string): { disarm(): void } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const source = `
    const { workerData } = require('node:worker_threads');
    const flag = new Int32Array(workerData.buffer);
    if (Atomics.wait(flag, 0, 0, workerData.ms) === 'timed-out') {
      require('node:fs').writeSync(2, workerData.line + '\\n');
      process.kill(process.pid, 'SIGKILL');
    }`;
  // No execArgv: a loader such as tsx, inherited, would start the thread through the (stuck) main thread.
  const worker = new Worker(source, { eval: true, execArgv: [], workerData: { buffer: flag.buffer, ms, line } });
  worker.unref();
  return {
    disarm() {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
  };
}

/**
 * Opens the configured database (PostgreSQL when `databaseUrl` is set, else PGlite in `dataDir`) and migrates it.
 * With `watchdog`, opening PGlite from a directory is guarded by `startWatchdog` (the line it prints is the
 * caller's, naming the setting).
 */
export async function openDb(opts: {
  databaseUrl?: string;
  /** PostgreSQL: name the statements run often (`PG_PREPARED_STATEMENTS`, default on). */
  preparedStatements?: boolean;
  /** PostgreSQL: leave JIT compilation to the server's setting (`PG_JIT`, default off: `SET jit = off`). */
  jit?: boolean;
  dataDir?: string;
  inMemory?: boolean;
  watchdog?: { ms: number; line: string };
}): Promise<ClosableDb> {
  let db: ClosableDb;
  if (opts.databaseUrl)
    db = openPostgres(opts.databaseUrl, { preparedStatements: opts.preparedStatements, jit: opts.jit });
  else if (opts.inMemory || !opts.dataDir) db = await openPglite();
  else {
    const dir = path.resolve(opts.dataDir, 'pglite');
    await mkdir(dir, { recursive: true });
    await checkPgliteDir(dir);
    const dog = opts.watchdog && startWatchdog(opts.watchdog.ms, opts.watchdog.line);
    try {
      db = await openPglite(dir);
      await migrate(db);
    } finally {
      dog?.disarm();
    }
    return db;
  }
  await migrate(db);
  return db;
}
