/**
 * Protected identity (skyddad folkbokföring, sekretessmarkering): what a recipient sees of such a Patient.
 * Pure; the store applies it on every read (`forScope` in src/store/resource-util.ts) and the notification
 * builder on every payload. The policy is written down in docs/security.md ("Protected identity").
 */
import type { Coding, Extension, Resource } from '@medplum/fhirtypes';
import { EXTENSION, SE_SECURITY_LABEL_SYSTEM } from './constants';

/** The HL7 Sweden security labels that mark a protected identity. */
export const PROTECTED_IDENTITY_CODES: readonly string[] = ['skyddadFolkbokforing', 'sekretessmarkering'];

/** HL7's "redacted" security label (v3 ObservationValue REDACTED): this copy had content removed. */
export const REDACTED_LABEL: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'REDACTED',
  display: 'redacted',
};

/** The Patient elements a recipient never gets for a protected identity. */
export const PROTECTED_ELEMENTS = ['address', 'telecom', 'contact', 'photo'] as const;

interface WithMeta {
  resourceType: string;
  meta?: { security?: Coding[] };
  contained?: Resource[];
}

/** Is `c` a protected-identity label (one of the codes, in HL7 Sweden's system or with no system given)? */
export const isProtectedIdentityLabel = (c: Coding): boolean =>
  PROTECTED_IDENTITY_CODES.includes(c.code ?? '') && (c.system === undefined || c.system === SE_SECURITY_LABEL_SYSTEM);

/** Does the resource carry a protected-identity label (HL7 Sweden's system, or no system given)? */
export function hasProtectedIdentity(resource: Resource): boolean {
  return ((resource as WithMeta).meta?.security ?? []).some(isProtectedIdentityLabel);
}

/** The note a person reads in place of the address (Swedish, names the organisation when the record does). */
export function protectedIdentityNotice(holder: string | undefined): string {
  const who = holder ?? 'sjukhuset som vårdar patienten';
  return `Skyddade personuppgifter: adress, telefon och kontaktpersoner lämnas inte ut. Kontakta ${who}.`;
}

function redactPatient<T extends Resource>(patient: T, holder: string | undefined): T {
  const copy = { ...patient } as Record<string, unknown> & WithMeta;
  for (const k of PROTECTED_ELEMENTS) delete copy[k];
  const security = copy.meta?.security ?? [];
  const marked = security.some((c) => c.system === REDACTED_LABEL.system && c.code === REDACTED_LABEL.code);
  if (!marked) copy.meta = { ...copy.meta, security: [...security, REDACTED_LABEL] };
  const extension = (copy.extension as Extension[] | undefined) ?? [];
  if (!extension.some((e) => e.url === EXTENSION.protectedIdentityNotice)) {
    // the reader's own counterpart first: a shared Patient's managingOrganization may name another hospital
    const org = holder ?? (patient as { managingOrganization?: { display?: string } }).managingOrganization?.display;
    copy.extension = [
      ...extension,
      { url: EXTENSION.protectedIdentityNotice, valueString: protectedIdentityNotice(org) },
    ];
  }
  return copy as unknown as T;
}

/**
 * The resource as a recipient may see it: a Patient with a protected identity (also one in `contained`) loses
 * address, telecom, contact and photo, and gains the REDACTED label and a notice naming whom to contact (`holder`:
 * the hospital of the reader's own stay of the patient, see `holderColumns`; else the Patient's
 * `managingOrganization.display`).
 * Name, identifiers (personnummer), birth date, gender and the listed care unit stay: the recipient must know
 * whom the message is about. Idempotent; returns the same object when nothing is protected.
 */
export function protectIdentity<T extends Resource>(resource: T, holder?: string): T {
  let out = resource;
  const contained = (resource as WithMeta).contained;
  if (contained?.some((c) => c.resourceType === 'Patient' && hasProtectedIdentity(c)))
    out = { ...out, contained: contained.map((c) => protectIdentity(c, holder)) };
  if (resource.resourceType === 'Patient' && hasProtectedIdentity(resource)) out = redactPatient(out, holder);
  return out;
}
