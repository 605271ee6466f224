// Preloaded into the gateway by bench/writes.bench.ts (`node --import <this file> main.js`): counts every statement
// the process sends to PostgreSQL through node-postgres (pg.Client#query, which the pool's query uses too), keyed
// by statement text with white space folded. On SIGUSR2 it writes { seq, counts } to SVU_STMT_COUNT_FILE
// (synchronously, then bumps seq), so the bench can read the counters at any moment without pg_stat_statements
// (which needs shared_preload_libraries, i.e. a server restart).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.cwd(), 'package.json'));
const pg = require('pg');
const out = process.env.SVU_STMT_COUNT_FILE;
/** @type {Map<string, number>} */
const counts = new Map();
let seq = 0;

const original = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  const text = typeof config === 'string' ? config : config && typeof config.text === 'string' ? config.text : '';
  if (text) {
    const key = text.replace(/\s+/g, ' ').trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return original.call(this, config, ...rest);
};

if (out)
  process.on('SIGUSR2', () => {
    seq++;
    writeFileSync(out, JSON.stringify({ seq, counts: Object.fromEntries(counts) }));
  });
