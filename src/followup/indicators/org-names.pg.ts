import type { Organization } from '@medplum/fhirtypes';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import type { Db } from '../../store/db.port';

/**
 * Names for the units in the follow-up views (texts a person reads name organisations): `Organization/<id>`,
 * a kommunkod or an HSA-id → the Organization's name; a unit the store does not know keeps its code.
 */
export async function organisationNames(db: Db): Promise<(unit: string) => string> {
  const r = await db.query<{ id: string; content: string }>(
    `SELECT id, content FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted`,
  );
  const names = new Map<string, string>();
  for (const row of r.rows) {
    const org = JSON.parse(row.content) as Organization;
    if (!org.name) continue;
    names.set(`Organization/${row.id}`, org.name);
    for (const id of org.identifier ?? []) {
      if (id.value && (id.system === IDENTIFIER_SYSTEM.kommunkod || id.system === IDENTIFIER_SYSTEM.hsaId)) {
        names.set(id.value, org.name);
      }
    }
  }
  return (unit) => names.get(unit) ?? unit;
}
