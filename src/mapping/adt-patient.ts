/** The patient part of an HL7 v2 ADT message (PID, PD1), mapped by a sender profile. */
import type { Hl7Message } from '@medplum/core';
import { checkPersonnummer, type PersonnummerKind } from '../core/identity/personnummer';
import type { PatientRouting } from '../core/stay/facts';
import { GatewayError } from '../platform/errors';
import { hl7DateToIso } from './hl7-time';
import { componentOf, readFirst, readPath, repetitions } from './hl7-read';
import type { SenderProfile } from './profile';

export type SecurityLabel = 'skyddadFolkbokforing' | 'sekretessmarkering';

export interface MappedPatient {
  identifier: { kind: PersonnummerKind; value: string };
  family?: string;
  given: string[];
  birthDate?: string;
  gender?: 'male' | 'female' | 'other' | 'unknown';
  address?: { line: string[]; city?: string; postalCode?: string; country?: string; municipality?: string };
  security: SecurityLabel[];
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

/** Patient of an ADT message: PID-3 person identifier, name, birth date, gender, address, protected identity, routing. */
export function mapPatient(msg: Hl7Message, profile: SenderProfile, today: string): MappedPatient {
  const f = profile.fields;
  const security = new Set<SecurityLabel>();
  for (const p of profile.protectedIdentity) {
    const label = p.map[readPath(msg, p.field)];
    if (label) security.add(label);
  }
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
    security: [...security],
    routing: {
      ...(municipality ? { municipality } : {}),
      ...(readFirst(msg, f.listedUnit) ? { primaryCareUnit: readFirst(msg, f.listedUnit) } : {}),
    },
  };
}
