import type { Organization, Reference } from '@medplum/fhirtypes';
import type { Party } from '../../core/engine/types';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM } from '../../fhir/constants';
import { municipalNurseLabel } from '../../core/municipalities/municipalities';
import { ORGANIZATION_REFERENCE, organizationIdOf, type PartyResolver } from '../../fhir/references';
import type { FhirRepository } from '../../store/repository.port';

function partyIdentifier(p: Party): { system: string; value: string } {
  switch (p.kind) {
    case 'municipality':
      return { system: IDENTIFIER_SYSTEM.kommunkod, value: p.code };
    case 'municipal-nurse':
      return { system: IDENTIFIER_SYSTEM.kommunkod, value: p.municipality };
    case 'primary-care':
    case 'hospital':
      return { system: IDENTIFIER_SYSTEM.hsaId, value: p.hsaId };
  }
}

/**
 * Organizations found by identifier, kept for a while: hits for `ttlMs`, misses for a much shorter `missTtlMs`
 * (a newly registered Organization is used within seconds; until then Tasks get a logical reference).
 */
export class OrganizationCache {
  private readonly hits = new Map<string, { ref: Reference<Organization> | undefined; until: number }>();
  constructor(
    private readonly ttlMs = 60_000,
    private readonly missTtlMs = 2_000,
  ) {}

  async lookup(
    repo: FhirRepository,
    system: string,
    value: string,
    nowMs: number,
  ): Promise<Reference<Organization> | undefined> {
    const key = `${system}|${value}`;
    const hit = this.hits.get(key);
    if (hit && hit.until > nowMs) return hit.ref;
    if (ORGANIZATION_REFERENCE.test(value)) return this.byId(repo, key, value, nowMs);
    const found = await repo.search<Organization>('Organization', { identifier: key, _count: '1' });
    const org = found.resources[0];
    if (!org?.id) {
      this.hits.set(key, { ref: undefined, until: nowMs + this.missTtlMs });
      return undefined;
    }
    const ref: Reference<Organization> = { reference: `Organization/${org.id}`, identifier: { system, value } };
    if (org.name) ref.display = org.name;
    this.hits.set(key, { ref, until: nowMs + this.ttlMs });
    return ref;
  }

  /**
   * A hospital given as a literal reference (a FHIR-pushed Encounter's `serviceProvider: Organization/<id>`, kept as
   * the stay's hospital): the Organization itself, so Tasks name it as requester and its own subscriptions match.
   */
  private async byId(repo: FhirRepository, key: string, ref: string, nowMs: number) {
    let found: Reference<Organization> | undefined;
    try {
      const org = await repo.read<Organization>('Organization', organizationIdOf(ref));
      found = { reference: ref };
      const hsa = org.identifier?.find((i) => i.system === IDENTIFIER_SYSTEM.hsaId);
      if (hsa?.value) found.identifier = { system: IDENTIFIER_SYSTEM.hsaId, value: hsa.value };
      if (org.name) found.display = org.name;
    } catch {
      found = undefined;
    }
    this.hits.set(key, { ref: found, until: nowMs + (found ? this.ttlMs : this.missTtlMs) });
    return found;
  }

  /**
   * The municipality's home health care unit (Gävleborg's named care contact, seed 002): an Organization `partOf` the
   * municipality with type `svu-need|kommunal-hsl`; where it registers none, the municipality itself, shown as its
   * home health care (`Kommunal hälso- och sjukvård, Västerås stad`: the duty is the municipal nurse's).
   */
  async nurseUnit(
    repo: FhirRepository,
    municipality: string,
    nowMs: number,
  ): Promise<Reference<Organization> | undefined> {
    const own = await this.lookup(repo, IDENTIFIER_SYSTEM.kommunkod, municipality, nowMs);
    if (!own?.reference) return own;
    const muni: Reference<Organization> = { ...own, display: municipalNurseLabel(municipality, own.display) };
    const key = `nurse-unit|${own.reference}`;
    const hit = this.hits.get(key);
    if (hit && hit.until > nowMs) return hit.ref ?? muni;
    const found = await repo.search<Organization>('Organization', {
      partof: own.reference,
      type: `${CODE_SYSTEM.needs}|kommunal-hsl`,
      active: 'true',
      _count: '1',
    });
    const org = found.resources[0];
    const ref: Reference<Organization> | undefined = org?.id
      ? { reference: `Organization/${org.id}`, ...(org.name ? { display: org.name } : {}) }
      : undefined;
    this.hits.set(key, { ref, until: nowMs + (ref ? this.ttlMs : this.missTtlMs) });
    return ref ?? muni;
  }

  /** Looks up every party once and returns a synchronous resolver for the FHIR builders. */
  async resolver(repo: FhirRepository, parties: readonly Party[], nowMs: number): Promise<PartyResolver> {
    const found = new Map<string, Reference<Organization>>();
    const keyOf = (p: Party) => {
      const id = partyIdentifier(p);
      return `${p.kind === 'municipal-nurse' ? 'nurse|' : ''}${id.system}|${id.value}`;
    };
    for (const p of parties) {
      const key = keyOf(p);
      if (found.has(key)) continue;
      const id = partyIdentifier(p);
      const ref =
        p.kind === 'municipal-nurse'
          ? await this.nurseUnit(repo, p.municipality, nowMs)
          : await this.lookup(repo, id.system, id.value, nowMs);
      if (ref) found.set(key, ref);
    }
    return (p) => found.get(keyOf(p));
  }
}
