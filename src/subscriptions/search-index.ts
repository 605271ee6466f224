import { getSearchParameter, indexSearchParameter } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions } from '../fhir/definitions';
import { SEARCH_PARAMS, type ParamDef } from '../store/search-params';

let extrasIndexed = false;

/**
 * `matchesSearchRequest` needs the R4 search parameters (and the types they point into) indexed once per
 * process. Idempotent; shares the definitions the validator loaded (`src/fhir/definitions.ts`), so the
 * StructureDefinitions are parsed once per process. The parameters the store supports beyond R4 (Task `deadline`
 * and `for`, CarePlan `author` and `contributor`: `src/store/search-params.ts`) are indexed too, from the same table,
 * so a Subscription's criteria match on them as a search does.
 */
export function ensureSearchIndex(): void {
  loadDefinitions({ searchParameters: true });
  if (extrasIndexed) return;
  for (const [type, list] of Object.entries(SEARCH_PARAMS))
    for (const def of list) if (!getSearchParameter(type, def.name)) indexSearchParameter(searchParameterOf(type, def));
  extrasIndexed = true;
}

function searchParameterOf(type: string, def: ParamDef): SearchParameter {
  return {
    resourceType: 'SearchParameter',
    url: `https://svu-gateway.dev/fhir/SearchParameter/${type}-${def.name}`,
    name: def.name,
    status: 'active',
    description: def.description,
    code: def.name,
    base: [type as SearchParameter['base'][number]],
    type: def.type,
    expression: def.paths.map((p) => `${type}.${p}`).join(' | '),
    ...(def.targets ? { target: def.targets as SearchParameter['target'] } : {}),
  };
}
