/**
 * The shared set-up of the tests of one person with stays at two hospitals (fhir-patient-other-hospital,
 * patient-shared-across-hospitals): the demo hospital A (HL7 through the intake harness) and a hospital B with its
 * own HSA-id, an Organization and a FHIR client's repository.
 */
import type { Organization } from '@medplum/fhirtypes';
import { OBX } from '../mapping/adt-builder';
import { intakeHooks } from '../../src/intake';
import { createRepository } from '../../src/store/repository.pg';
import type { FhirRepository } from '../../src/store/repository.port';
import type { IntakeHarness } from './harness';

export const PNR_SYSTEM = 'http://electronichealth.se/identifier/personnummer';
export const HSA_B = 'SE2321000999-OTHER1';
export const VISIT_A = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
export const VISIT_B = `https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-${HSA_B}`;
export const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')];

/** A repository acting as the client `clientId` of `org` in `role`, with the intake's hooks. */
export function clientOf(
  h: IntakeHarness,
  org: Organization | undefined,
  role: 'municipality' | 'hospital',
  clientId = `c-${org?.id ?? ''}`,
): FhirRepository {
  return createRepository(h.db, { role, clientId, organization: `Organization/${org?.id ?? ''}` }, intakeHooks(h.ctx));
}

/** Hospital B (Akademiska sjukhuset, `HSA_B`) in the harness's directory. */
export function createHospitalB(h: IntakeHarness): Promise<Organization> {
  return h.repo.create<Organization>({
    resourceType: 'Organization',
    name: 'Akademiska sjukhuset',
    identifier: [{ system: 'urn:oid:1.2.752.29.4.19', value: HSA_B }],
  });
}
