/**
 * Who the stay's notices go to (the municipality, the listed vårdcentral or outpatient unit, and the registered
 * municipality where a placing one pays), kept up to date as the facts come (a re-routing replaces a unit of the same
 * role), and whose unit the named care contact (FVK) is now.
 */
import type { Agreement } from '../agreements/agreement.schema';
import { municipalityParty, partyKey, primaryCareParty } from './parties';
import { currentCategory, inTargetGroup, type Recipient, type StayModel } from './stay-model';
import type { Party } from './types';

const NO_CONSENT =
  'consent refused (samtycke nej): no admission notification is sent; record a harm assessment (menprovning) if one is made';
const NO_MUNICIPALITY =
  'no municipality of registration (HL7 PID-11, FHIR Patient.address.district) or placing municipality: cannot notify the municipality';
const NO_PRIMARY_CARE =
  'no listed primary-care unit (HL7 PD1-3, FHIR Patient.generalPractitioner) nor outpatient unit (HL7 OBX oppenvardsenhet, FHIR extension outpatient-unit): cannot notify region-funded outpatient care';

/**
 * The recipients the stay's facts so far call for. Its warnings say who cannot be told *now*: each call replaces the
 * previous call's, so a later fact that gives the municipality (an A08, an A31, a Patient write) drops the warning.
 */
function desiredRecipients(m: StayModel, agreement: Agreement): { role: Recipient['role']; party: Party }[] {
  for (const w of [NO_CONSENT, NO_MUNICIPALITY, NO_PRIMARY_CARE]) m.warnings.delete(w);
  if (!inTargetGroup(m, agreement)) {
    if (m.consent === 'nej' && agreement.categories[currentCategory(m)].inTargetGroup) m.warnings.add(NO_CONSENT);
    return [];
  }
  const out: { role: Recipient['role']; party: Party }[] = [];
  for (const role of agreement.categories[currentCategory(m)].notify) {
    if (role === 'municipality') {
      const { placingMunicipality: placing, municipality: registered } = m.routing;
      const code = placing ?? registered;
      if (code) out.push({ role, party: municipalityParty(code) });
      if (placing && registered && registered !== placing && agreement.routing.notifyRegisteredMunicipality)
        out.push({ role: 'registered-municipality', party: municipalityParty(registered) });
      if (!code) m.warnings.add(NO_MUNICIPALITY);
    } else {
      const hsa = m.routing.primaryCareUnit;
      const unit = m.routing.outpatientUnit;
      if (hsa) out.push({ role, party: primaryCareParty(hsa) });
      if (unit && unit !== hsa) out.push({ role: 'outpatient-unit', party: primaryCareParty(unit) });
      if (!hsa && !unit) m.warnings.add(NO_PRIMARY_CARE);
    }
  }
  return out;
}

/** Bring the recipients up to date after a fact: add new ones, mark re-routed ones. Once notified, a unit stays. */
export function updateRecipients(m: StayModel, agreement: Agreement, at: number, factId: string): void {
  if (m.admittedAt === undefined || !m.hospital) return;
  if (m.status !== 'in-progress' && m.status !== 'on-leave') return;
  const since = Math.max(at, m.admittedAt);
  const wanted = desiredRecipients(m, agreement);
  // A municipality told for information that is now responsible itself (the placing municipality is reported as
  // it), or no longer the municipality of registration beside the placing one: its notice for information is
  // withdrawn. One told as responsible has its own recipient (below), never the one for information brought back.
  if (wanted.some((w) => w.role === 'municipality')) {
    const informed = new Set(wanted.filter((w) => w.role === 'registered-municipality').map((w) => partyKey(w.party)));
    for (const r of m.recipients)
      if (r.role === 'registered-municipality' && r.replacedAt === undefined && !informed.has(r.key))
        r.replacedAt = since;
  }
  // An outpatient unit the hospital withdrew (routing `outpatientUnit: null`: reported by mistake) is re-routed away as
  // a replaced one is: what it had is withdrawn with a `makulering`; the listed vårdcentral, if any, stays the FVK.
  if (m.routing.outpatientUnit === null)
    for (const r of m.recipients) if (r.role === 'outpatient-unit' && r.replacedAt === undefined) r.replacedAt = since;
  for (const want of wanted) {
    const key = partyKey(want.party);
    if (m.rejectedBy.has(key)) continue; // it said the stay is not its own: wait for the corrected routing
    // Still told as the responsible municipality (the placing one rejected the stay): not told again for information.
    // Re-routed from that role (a placing municipality reported later), it is told for information, as it would
    // have been had the placing municipality been known from the start: its own earlier recipient does not count.
    const informed = want.role === 'registered-municipality';
    if (informed && m.recipients.some((r) => r.key === key && r.replacedAt === undefined)) continue;
    const current = m.recipients.filter((r) => r.role === want.role && r.replacedAt === undefined);
    if (current.some((r) => r.key === key)) continue;
    for (const r of current) r.replacedAt = since;
    // Routed back to a role it was re-routed away from: told again from now, as a new period (`round`) with Tasks of
    // its own; the earlier period's Tasks stay withdrawn with their makulering (one it acknowledged is not news now).
    const earlier = m.recipients.some((r) => r.key === key && (r.role === 'registered-municipality') === informed);
    const recipient: Recipient = { role: want.role, party: want.party, key, since, hospital: m.hospital, factId };
    if (earlier) recipient.round = factId;
    m.recipients.push(recipient);
    if (m.assessedAt === undefined && since > m.admittedAt) m.assessedAt = since;
  }
}

/** The unit of the named care contact (FVK), and when the obligation reached it. */
export interface FvkOwner {
  party: Party;
  since: number;
  hospital: string;
  /** The recipient's `round`: the unit was routed back to the stay, its FVK Tasks of this period are its own. */
  round?: string;
}

/**
 * Whose unit the named care contact is now (or at the instant `at`: among the recipients the stay had then): the
 * municipal nurse where the agreement says so, else the vårdcentral, else a reported outpatient unit.
 */
export function fvkOwner(m: StayModel, agreement: Agreement, at?: number): FvkOwner | undefined {
  const current = m.recipients.filter((r) =>
    at === undefined ? r.replacedAt === undefined : r.since <= at && (r.replacedAt === undefined || at < r.replacedAt),
  );
  if (agreement.fvk.owner === 'municipal-nurse-if-home-health-care' && m.routing.homeHealthCare) {
    const muni = current.find((r) => r.role === 'municipality');
    if (muni && muni.party.kind === 'municipality') {
      return {
        party: { kind: 'municipal-nurse', municipality: muni.party.code },
        since: muni.since,
        hospital: muni.hospital,
        ...(muni.round === undefined ? {} : { round: muni.round }),
      };
    }
  }
  // The listed vårdcentral appoints the FVK; a reported outpatient unit does where there is none.
  const pc = current.find((r) => r.role === 'primary-care') ?? current.find((r) => r.role === 'outpatient-unit');
  return pc
    ? {
        party: pc.party,
        since: pc.since,
        hospital: pc.hospital,
        ...(pc.round === undefined ? {} : { round: pc.round }),
      }
    : undefined;
}
