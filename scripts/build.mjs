#!/usr/bin/env node
// `npm run build`: bundles src/main.ts into dist/main.js (and chunks beside it) with esbuild (installed with tsx),
// so production runs `node dist/main.js <mode>` without tsx. npm packages stay external (loaded from node_modules at run time,
// which `npm ci --omit=dev` provides). Files the gateway reads at run time next to its code are copied:
// the SQL migrations (dist/migrations/) and the demo region (dist/vastmanland.json); agreements/, mappings/
// and profiles/ are read from beside package.json (src/platform/project-dir.ts), as from the sources.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--outdir <dir below the repository>` (tests build elsewhere so they never touch dist/)
const at = process.argv.indexOf('--outdir');
const out = at > 0 ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist');
const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'src/main.ts'), path.join(root, 'src/fhir/warm-definitions.ts')],
  outdir: out,
  entryNames: '[name]',
  // Code behind a dynamic import() goes to a chunk of its own, loaded only when reached: the split supervisor never
  // loads the roles' modules. Chunks sit beside main.js, so paths taken from import.meta.url (the migrations, the
  // demo region) resolve to the same directory.
  splitting: true,
  chunkNames: '[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
cpSync(path.join(root, 'src/store/migrations'), path.join(out, 'migrations'), { recursive: true });
cpSync(path.join(root, 'src/demo/vastmanland.json'), path.join(out, 'vastmanland.json'));
// The trimmed FHIR definitions cache (src/fhir/definitions.ts), so the first start skips the 40 MB parse too.
const warm = spawnSync(process.execPath, [path.join(out, 'warm-definitions.js')], { cwd: root, encoding: 'utf8' });
if (warm.status !== 0) console.warn(`the FHIR definitions cache was not filled: ${warm.stderr.trim()}`);
console.log(`built ${path.relative(root, out)}/main.js in ${Date.now() - started} ms`);
