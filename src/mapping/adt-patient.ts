/** The patient part of an HL7 v2 ADT message (PID, PD1), mapped by a sender profile. */
import type { Hl7Message } from '@medplum/core';
import { checkPersonnummer, type PersonnummerKind } from '../core/identity/personnummer';
import type { PatientRouting } from '../core/stay/facts';
import { GatewayError } from '../platform/errors';
import { hl7DateToIso } from './hl7-time';
import { componentOf, readFirst, readPath, repetitions } from './hl7-read';
import type { SenderProfile } from './profile';

/** Something the sender should know that does not stop the message (contract Ingestion 5: ERR severity W). */
export interface MappingWarning {
  code: string;
  text: string;
  /** e.g. `PV1-3` */
  path?: string;
}

export type SecurityLabel = 'skyddadFolkbokforing' | 'sekretessmarkering';

export interface MappedPatient {
  identifier: { kind: PersonnummerKind; value: string };
  family?: string;
  given: string[];
  birthDate?: string;
  gender?: 'male' | 'female' | 'other' | 'unknown';
  address?: { line: string[]; city?: string; postalCode?: string; country?: string; municipality?: string };
  /**
   * The protected-identity labels the message states: none (`[]`) when it says the person is not protected (the HL7
   * null `""`, or a value the profile maps to `null`); undefined when it says nothing (the field empty or absent: in
   * HL7 v2 that is "no change"), so the Patient's label stays as it is.
   */
  security?: SecurityLabel[];
  routing: PatientRouting;
}

/** Throws a GatewayError about one HL7 field. */
export const fail = (code: ConstructorParameters<typeof GatewayError>[0], path: string, message: string): never => {
  throw new GatewayError(code, message, [{ path, message }]);
};

function personIdentifier(msg: Hl7Message, profile: SenderProfile, today: string): MappedPatient['identifier'] {
  const pid = msg.getSegment('PID');
  if (!pid) return fail('bad-hl7-structure', 'PID', 'the PID segment is missing');
  const conf = profile.personIdentifier;
  const authorities = new Set([...conf.personnummer.authorities, ...conf.samordningsnummer.authorities]);
  const types = new Set([...conf.personnummer.typeCodes, ...conf.samordningsnummer.typeCodes]);
  for (const rep of repetitions(pid, 3)) {
    const value = componentOf(msg, rep, 1).trim();
    const auth = [componentOf(msg, rep, 4, 1), componentOf(msg, rep, 4, 2)];
    const type = componentOf(msg, rep, 5);
    if (!value || !(auth.some((a) => authorities.has(a)) || types.has(type))) continue;
    const check = checkPersonnummer(value, { today });
    if (!check.ok) return fail('invalid-personnummer', 'PID-3', `PID-3 personnummer is invalid: ${check.reason}`);
    return { kind: check.kind, value: check.normalized };
  }
  return fail('invalid-personnummer', 'PID-3', 'PID-3 has no personnummer or samordningsnummer (check CX-4/CX-5)');
}

const GENDER: Record<string, MappedPatient['gender']> = { M: 'male', F: 'female', O: 'other', U: 'unknown' };

/** The HL7 v2 explicit null: the field's value is to be deleted (an empty field means "no change"). */
const HL7_NULL = '""';

/**
 * The protected-identity labels the message states (see `MappedPatient.security`). A value the profile does not
 * map says nothing (the label stays as it is) and is warned about in `warnings`.
 */
function protectionOf(
  msg: Hl7Message,
  profile: SenderProfile,
  warnings: MappingWarning[],
): SecurityLabel[] | undefined {
  let stated = false;
  const security = new Set<SecurityLabel>();
  for (const p of profile.protectedIdentity) {
    const value = readPath(msg, p.field);
    if (value === '') continue;
    const label = value === HL7_NULL ? null : p.map[value];
    if (label === undefined) {
      const known = Object.keys(p.map).join(', ');
      warnings.push({
        code: 'unknown-code',
        path: p.field,
        text: `${p.field} "${value}" is not a protected-identity value of sender profile ${profile.id} (${known}, or "" for none): the Patient's protected identity is left as it is`,
      });
      continue;
    }
    stated = true;
    if (label) security.add(label);
  }
  return stated ? [...security] : undefined;
}

/** Patient of an ADT message: PID-3 person identifier, name, birth date, gender, address, protected identity, routing. */
export function mapPatient(
  msg: Hl7Message,
  profile: SenderProfile,
  today: string,
  warnings: MappingWarning[] = [],
): MappedPatient {
  const f = profile.fields;
  const security = protectionOf(msg, profile, warnings);
  const line = [readPath(msg, 'PID-11.1'), readPath(msg, 'PID-11.2')].filter((v) => v !== '');
  const municipality = readFirst(msg, f.municipality) || undefined;
  if (municipality !== undefined && !/^\d{4}$/.test(municipality)) {
    fail('bad-request', f.municipality[0] ?? 'PID-11.9', `municipality code "${municipality}" is not four digits`);
  }
  const address = {
    line,
    city: readPath(msg, 'PID-11.3') || undefined,
    postalCode: readPath(msg, 'PID-11.5') || undefined,
    country: readPath(msg, 'PID-11.6') || undefined,
    municipality,
  };
  const given = [readPath(msg, 'PID-5.2'), readPath(msg, 'PID-5.3')].filter((v) => v !== '');
  return {
    identifier: personIdentifier(msg, profile, today),
    family: readPath(msg, 'PID-5.1') || undefined,
    given,
    birthDate: hl7DateToIso(readFirst(msg, f.birthDate)),
    gender: GENDER[readFirst(msg, f.gender)],
    address: line.length || address.city || municipality ? address : undefined,
    ...(security ? { security } : {}),
    routing: {
      ...(municipality ? { municipality } : {}),
      ...(readFirst(msg, f.listedUnit) ? { primaryCareUnit: readFirst(msg, f.listedUnit) } : {}),
    },
  };
}
