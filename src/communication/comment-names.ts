/**
 * A comment names its organisations (what a person reads names organisations, not references): the gateway writes
 * the directory's name as the `display` of the Communication's sender and of each recipient before the version is
 * stored, as it does for its Tasks' owner and requester, so a party's system that gets the comment (topic
 * `comment-for-my-organisation`) shows who wrote to whom without looking anything up.
 * The directory is the authority, as on the Tasks: a display the writer sent that differs from the directory's name
 * is replaced, and the answer says so (an OperationOutcome warning and a `Warning` header, ADR 024). An organisation
 * the directory has no name for keeps what was sent, said the same way, and is never refused for it here (which
 * recipients a comment may have is checked after the write, src/communication/communication-hooks.ts, on the same
 * directory read).
 */
import type { Communication, Organization, Reference } from '@medplum/fhirtypes';
import { ORGANIZATION_REFERENCE, organizationIdOf } from '../fhir/references';
import { addWriteNotes, type WriteNote } from '../platform/write-notes';
import type { Db } from '../store/db.port';
import { organisationLabel } from '../store/organisation-names.pg';

/** Write-note codes (the `Warning` header carries the code, the OperationOutcome the text). */
export const NAME_REPLACED = 'organisation-name-replaced';
export const NAME_UNKNOWN = 'organisation-name-unknown';

/** The directory's organisations by reference (`Organization/<id>`), each with its name (undefined when it has none). */
export type DirectoryEntries = Map<string, string | undefined>;

/**
 * The organisations of the directory among `refs` (`Organization/<id>`); a reference the directory does not hold is
 * absent. One query (none when `refs` is empty).
 */
export async function directoryEntries(tx: Db, refs: readonly string[]): Promise<DirectoryEntries> {
  const ids = [...new Set(refs.map(organizationIdOf))];
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{ id: string; name: string | null }>(
    `SELECT id, content::jsonb->>'name' AS name FROM fhir_resource
     WHERE resource_type = 'Organization' AND id = ANY($1::text[]) AND NOT deleted`,
    [ids],
  );
  return new Map(rows.map((r) => [`Organization/${r.id}`, r.name || undefined]));
}

/** The `Organization/<id>` references of a comment's sender and recipients (what `withOrganisationNames` names). */
export function commentOrganisations(c: Communication): string[] {
  return [c.sender, ...(c.recipient ?? [])]
    .map((r) => r?.reference ?? '')
    .filter((r) => ORGANIZATION_REFERENCE.test(r));
}

/**
 * The comment with the directory's names (`names`: its `directoryEntries` for `commentOrganisations`) as display of
 * its sender and recipients, or undefined when it has them already (or names no organisation). What was replaced or
 * could not be named is added to the write's notes.
 */
export function withOrganisationNames(c: Communication, names: DirectoryEntries): Communication | undefined {
  const about = c.id ? { about: `Communication/${c.id}` } : {};
  const notes: WriteNote[] = [];
  let changed = false;
  const named = (path: string, ref: Reference<Organization>): Reference<Organization> => {
    const r = ref.reference ?? '';
    if (!ORGANIZATION_REFERENCE.test(r)) return ref; // refused after the write: sender and recipients are organisations
    const name = names.get(r);
    if (!name) {
      const kept = ref.display ? `the display "${ref.display}" is kept as sent` : 'it is stored without a name';
      notes.push({
        code: NAME_UNKNOWN,
        text: `Communication.${path}: the directory has no name for ${organisationLabel(undefined, r)}; ${kept}`,
        ...about,
      });
      return ref;
    }
    if (ref.display === name) return ref;
    if (ref.display !== undefined)
      notes.push({
        code: NAME_REPLACED,
        text: `Communication.${path}.display "${ref.display}" is not the directory's name of the organisation: stored as ${name}`,
        ...about,
      });
    changed = true;
    return { ...ref, display: name };
  };
  const filled: Communication = {
    ...c,
    ...(c.sender ? { sender: named('sender', c.sender as Reference<Organization>) } : {}),
    ...(c.recipient
      ? { recipient: c.recipient.map((r, i) => named(`recipient[${i}]`, r as Reference<Organization>)) }
      : {}),
  };
  addWriteNotes(notes);
  return changed ? filled : undefined;
}
