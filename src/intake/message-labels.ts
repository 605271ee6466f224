import type { Hl7Message } from '@medplum/core';
import { parseHl7Text, readFirst, readPath } from '../mapping/hl7-read';
import { selectProfile, type SenderProfile } from '../mapping/profile';
import type { OrganisationDirectory } from '../store/organisation-names.pg';

/** What a person reads of a stored message besides its text: who sent it and the visit number it is about. */
export interface MessageLabels {
  /** The sending organisation's name (the directory's Organization of MSH-3/MSH-4), else null. */
  senderName: string | null;
  /** Its `Organization/<id>`, else null. */
  senderOrganization: string | null;
  /** PV1-19 as the sender profile reads it (the visit number the hospital knows), else null. */
  visitNumber: string | null;
}

const HSA_ID = /^SE\d{10}-\w+$/;
const NONE: MessageLabels = { senderName: null, senderOrganization: null, visitNumber: null };

/**
 * The labels of a stored message, read as the intake reads it: the sender profile chosen by MSH-3/MSH-4, the
 * hospital that profile maps MSH-4 to (the facility itself when it is an HSA-id, else the profile's default) and
 * the visit number from the profile's paths. A message that cannot be parsed has none.
 */
export function messageLabels(raw: string, profiles: SenderProfile[], dir: OrganisationDirectory): MessageLabels {
  let msg: Hl7Message;
  try {
    msg = parseHl7Text(raw);
    if (msg.segments[0]?.name !== 'MSH') return NONE;
  } catch {
    return NONE;
  }
  const app = readPath(msg, 'MSH-3.1');
  const facility = readPath(msg, 'MSH-4.1');
  let profile: SenderProfile;
  try {
    profile = selectProfile(profiles, app, facility);
  } catch {
    return NONE;
  }
  const hsaId =
    profile.hospital.byFacility[facility] ?? (HSA_ID.test(facility) ? facility : profile.hospital.defaultHsaId);
  const ref = hsaId ? dir.reference(hsaId) : undefined;
  const name = ref ? dir.name(ref) : undefined;
  return {
    senderName: name && name !== ref ? name : null,
    senderOrganization: ref ?? null,
    visitNumber: readFirst(msg, profile.fields.visitNumber) || null,
  };
}
