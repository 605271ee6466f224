/**
 * `node dist/warm-definitions.js`: fills the cache of trimmed FHIR definitions (see `readDefinitions` in
 * definitions.ts) at build time, so that even the first start of `npm start` or of the image reads 5 MB instead of
 * parsing the 40 MB of sources in a worker (which was the process's peak RSS). Run by scripts/build.mjs and by the
 * image's build (whose runtime user may not write node_modules/.cache).
 */
import { readDefinitions, SEARCH_PARAMETER_FILES, STRUCTURE_DEFINITION_FILES } from './definitions';

// `loadDefinitions` asks for these three combinations, depending on whether the validator or the subscription
// matcher loads first.
const reads = [
  readDefinitions(STRUCTURE_DEFINITION_FILES, SEARCH_PARAMETER_FILES),
  readDefinitions(STRUCTURE_DEFINITION_FILES, []),
  readDefinitions([], SEARCH_PARAMETER_FILES),
];
console.log(`FHIR definitions cache: ${reads.every((r) => r.fromCache) ? 'already filled' : 'filled'}`);
