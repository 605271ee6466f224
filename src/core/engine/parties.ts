import type { Party } from './types';

/** A stable text form of a party, used in TaskSpec keys: `municipality:1980`, `primary-care:SE...`. */
export function partyKey(p: Party): string {
  switch (p.kind) {
    case 'municipality':
      return `municipality:${p.code}`;
    case 'primary-care':
      return `primary-care:${p.hsaId}`;
    case 'hospital':
      return `hospital:${p.hsaId}`;
    case 'municipal-nurse':
      return `municipal-nurse:${p.municipality}`;
  }
}

export function municipalityParty(code: string): Party {
  return { kind: 'municipality', code };
}

export function primaryCareParty(hsaId: string): Party {
  return { kind: 'primary-care', hsaId };
}

export function hospitalParty(hsaId: string): Party {
  return { kind: 'hospital', hsaId };
}
