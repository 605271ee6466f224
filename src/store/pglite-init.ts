import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

// Runs in the worker: create the data directory (initdb), close, report.
const INIT_CODE = `const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url)
  .then(async ({ PGlite }) => {
    const pg = new PGlite(workerData.dir);
    await pg.waitReady;
    await pg.close();
    parentPort.postMessage('ok');
  })
  .catch((e) => parentPort.postMessage(String((e && e.stack) || e)));`;

/**
 * Creates a new PGlite data directory in a short-lived worker thread, so the memory PGlite's initdb step takes
 * (about 400 MB on Node 20, kept by the process after initdb ends) is released with the worker. Measured on this
 * machine: first start in-process 842 MB RSS, initdb in a worker then open 455 MB (docs/operations.md, Memory).
 * Does nothing when `dataDir` already holds a database (`PG_VERSION`).
 */
export async function initPgliteDataDir(dataDir: string): Promise<boolean> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return false;
  const url = import.meta.resolve('@electric-sql/pglite');
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(INIT_CODE, { eval: true, workerData: { url, dir: dataDir } });
    worker.once('message', (m) => {
      void worker.terminate();
      if (m === 'ok') resolve();
      else reject(new Error(`PGlite could not create ${dataDir}: ${String(m)}`));
    });
    worker.once('error', reject);
  });
  return true;
}
