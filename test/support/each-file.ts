import { beforeAll } from 'vitest';
import { migratedPglite } from './db';

// Run before every test file (vitest `setupFiles`): the fork's migrated PGlite image is made here, once, under a
// hook's generous limit, not inside the first test that opens a database (initdb and the migrations took 10–30 s
// on two loaded cores, the whole of a test's 30 s). Later files find it made.
beforeAll(async () => {
  await migratedPglite();
}, 120_000);
