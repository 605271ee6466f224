import { municipalityLabel, municipalNurseLabel } from '../municipalities/municipalities';
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

/**
 * How a text a person reads names a party when the directory gives no name for it (the adapters put the directory's
 * name in its place where there is one): a municipality by SCB's name and code, its home health care likewise, a unit
 * by its HSA-id.
 */
export function partyLabel(p: Party): string {
  switch (p.kind) {
    case 'municipality':
      return municipalityLabel(p.code);
    case 'municipal-nurse':
      return municipalNurseLabel(p.municipality);
    case 'primary-care':
    case 'hospital':
      return `unit ${p.hsaId}`;
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
