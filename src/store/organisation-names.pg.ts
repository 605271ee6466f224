import type { Organization } from '@medplum/fhirtypes';
import { municipalityLabel } from '../core/municipalities/municipalities';
import { IDENTIFIER_SYSTEM } from '../fhir/constants';
import type { Db } from './db.port';

/** The directory's Organizations by what texts and stored rows call them. */
export interface OrganisationDirectory {
  /**
   * `Organization/<id>`, a kommunkod or an HSA-id → the Organization's name; a kommunkod the store does not know → SCB's
   * name with the code (`Stockholm (kommun 0180)`); any other unit the store does not know keeps its code.
   */
  name(unit: string): string;
  /** `Organization/<id>` of `Organization/<id>`, a kommunkod or an HSA-id, when the store knows it. */
  reference(unit: string): string | undefined;
  /**
   * An `Organization/<id>` for a text that must also give the reference: `Västerås stad (Organization/vasteras)`, or
   * `unknown organisation (Organization/x)` when the directory has no name for it.
   */
  label(ref: string): string;
}

/**
 * What a Swedish text a person reads (a deviation, a reminder note, a SIP invitation) says of an organisation the
 * directory has no name for: `okänd organisation (Organization/x)`, as the admin console and the case overview say
 * it, so the reader can still tell which one; `okänd organisation` alone only when there is no reference at all.
 */
export function unknownOrganisation(ref: string | undefined): string {
  return ref ? `okänd organisation (${ref})` : 'okänd organisation';
}

/** `Västerås stad (Organization/vasteras)`; without a name, `unknown organisation (Organization/x)`. */
export function organisationLabel(name: string | null | undefined, ref: string): string {
  return `${name || 'unknown organisation'} (${ref})`;
}

/** Reads the directory once (every Organization; a region has hundreds at most). */
export async function organisationDirectory(db: Db): Promise<OrganisationDirectory> {
  const r = await db.query<{ id: string; content: string }>(
    `SELECT id, content FROM fhir_resource WHERE resource_type = 'Organization' AND NOT deleted`,
  );
  const names = new Map<string, string>();
  const refs = new Map<string, string>();
  for (const row of r.rows) {
    const org = JSON.parse(row.content) as Organization;
    const ref = `Organization/${row.id}`;
    refs.set(ref, ref);
    if (org.name) names.set(ref, org.name);
    for (const id of org.identifier ?? []) {
      if (id.value && (id.system === IDENTIFIER_SYSTEM.kommunkod || id.system === IDENTIFIER_SYSTEM.hsaId)) {
        refs.set(id.value, ref);
        if (org.name) names.set(id.value, org.name);
      }
    }
  }
  return {
    name: (unit) => names.get(unit) ?? municipalityLabel(unit, unit),
    reference: (unit) => refs.get(unit),
    label: (ref) => organisationLabel(names.get(ref), ref),
  };
}

/**
 * Names for the units in the follow-up views (texts a person reads name organisations): `Organization/<id>`,
 * a kommunkod or an HSA-id → the Organization's name; a kommunkod the store does not know → SCB's name with the code;
 * any other unit the store does not know keeps its code.
 */
export async function organisationNames(db: Db): Promise<(unit: string) => string> {
  const d = await organisationDirectory(db);
  return (unit) => d.name(unit);
}
