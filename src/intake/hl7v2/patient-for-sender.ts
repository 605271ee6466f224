/**
 * Which stored Patient of a person an HL7 message from a hospital updates. HL7 keeps one Patient per personnummer
 * shared by the hospitals that send for the person (each becomes one of its writers); a hospital's FHIR client may
 * hold a Patient of its own (its conditional update matches only Patients it sees). The message attaches to:
 * 1. a Patient the sending hospital already writes (one HL7 created first, then the lowest id);
 * 2. else the HL7-shared one (created by HL7 intake; the lowest id);
 * 3. else none: a new Patient is created.
 * Never to another hospital's own FHIR Patient: that would overwrite its data with another hospital's message, make
 * the sender one of its writers (so it reads that hospital's record) and tell it that the person is known there.
 * Before 2026-12-06 the message took the Patient with the lowest id, whoever held it.
 */
import { INTAKE_AUTHOR } from '../stay/applier-deps';
import type { StayRow } from '../stay/stay-rows.pg';

const byHl7First = (a: StayRow, b: StayRow): number =>
  Number(b.createdBy === INTAKE_AUTHOR) - Number(a.createdBy === INTAKE_AUTHOR) || (a.id < b.id ? -1 : 1);

/** The Patient row `hospital` (its `Organization/<id>`, undefined when unknown) attaches to among `rows`. */
export function patientForSender(
  rows: readonly StayRow[] | undefined,
  hospital: string | undefined,
): StayRow | undefined {
  const sorted = [...(rows ?? [])].sort(byHl7First);
  const own = hospital ? sorted.find((r) => (r.row.writer_orgs ?? []).includes(hospital)) : undefined;
  return own ?? sorted.find((r) => r.createdBy === INTAKE_AUTHOR);
}
