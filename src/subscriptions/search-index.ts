import { loadDefinitions } from '../fhir/definitions';

/**
 * `matchesSearchRequest` needs the R4 search parameters (and the types they point into) indexed once per
 * process. Idempotent; shares the definitions the validator loaded (`src/fhir/definitions.ts`), so the
 * StructureDefinitions are parsed once per process.
 */
export function ensureSearchIndex(): void {
  loadDefinitions({ searchParameters: true });
}
