import type { Encounter } from '@medplum/fhirtypes';
import type { CareKind, PatientRouting } from '../../core/stay/facts';
import { readStayExtensions } from '../../fhir/encounter-extensions';
import { IDENTIFIER_SYSTEM } from '../../fhir/constants';
import type { FactDraft } from '../../mapping/adt-to-facts';

/**
 * FHIR push: the process events of a stay are derived from the difference between two versions of its
 * Encounter (contract "Ingestion" 1). Pure. Fact ids carry the version, so replaying a version adds nothing.
 *
 * | change                                                        | fact                      |
 * |---------------------------------------------------------------|---------------------------|
 * | becomes in-progress/onleave/finished with period.start (or start moves) | admitted        |
 * | location changes while the stay runs                          | transferred               |
 * | needs / SIP-needed / category extensions change               | needs-assessed            |
 * | estimated-discharge-date extension set or changed             | estimated-discharge-set   |
 * | ready-for-discharge extension set or changed / removed        | ready-for-discharge / ready-withdrawn |
 * | outpatient-unit / placing-municipality / home-health-care set or changed; outpatient-unit / placing-municipality removed | patient-updated (`null`: withdrawn) |
 * | status → onleave / onleave → in-progress                      | leave-started / leave-ended |
 * | status → finished                                             | discharged (at period.end) |
 * | finished → in-progress                                        | discharge-cancelled       |
 * | status → cancelled / entered-in-error                         | admission-cancelled       |
 */
const ACTIVE = new Set(['in-progress', 'onleave', 'finished']);
const CANCELLED = new Set(['cancelled', 'entered-in-error']);

/**
 * An inpatient Encounter that has begun (in progress, on leave or finished) but gives no admission time: no stay can
 * start from it, so no party is told. The intake says so in the write's answer instead of accepting it in silence.
 */
export function begunWithoutAdmissionTime(e: Encounter): boolean {
  return ACTIVE.has(e.status) && !e.period?.start;
}

export interface DiffContext {
  /** The Patient's routing (municipality, listed unit), read from the store. */
  routing: PatientRouting;
  /** Fallback time for changes that carry none (the version's lastUpdated). */
  now: string;
}

function hospitalOf(e: Encounter): string {
  const sp = e.serviceProvider;
  if (sp?.identifier?.system === IDENTIFIER_SYSTEM.hsaId && sp.identifier.value) return sp.identifier.value;
  return sp?.reference ?? sp?.identifier?.value ?? 'unknown';
}

function wardOf(e: Encounter | undefined): string | undefined {
  const l = e?.location?.find((x) => x.status !== 'completed') ?? e?.location?.[0];
  return l?.location?.identifier?.value ?? l?.location?.reference ?? l?.location?.display;
}

const sameSet = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

export function factsFromEncounterChange(
  before: Encounter | undefined,
  after: Encounter,
  ctx: DiffContext,
): FactDraft[] {
  const version = after.meta?.versionId ?? '0';
  const base = `fhir:Encounter/${after.id ?? ''}/_history/${version}`;
  const at = after.meta?.lastUpdated ?? ctx.now;
  const out: FactDraft[] = [];
  const was = before?.status;
  const is = after.status;
  const wasActive = was !== undefined && ACTIVE.has(was);
  const x0 = before ? readStayExtensions(before) : {};
  const x1 = readStayExtensions(after);
  const care: CareKind = x1.care ?? 'somatic';

  if (ACTIVE.has(is) && after.period?.start && (!wasActive || before?.period?.start !== after.period.start)) {
    const ward = wardOf(after);
    out.push({
      id: `${base}#admitted`,
      at: after.period.start,
      kind: 'admitted',
      hospital: hospitalOf(after),
      care,
      patient: ctx.routing,
      ...(ward ? { ward } : {}),
    });
  } else if (wasActive && ACTIVE.has(is) && wardOf(before) !== wardOf(after) && wardOf(after)) {
    out.push({ id: `${base}#transferred`, at, kind: 'transferred', ward: wardOf(after) ?? '', care });
  }
  if (CANCELLED.has(is)) {
    if (!was || !CANCELLED.has(was)) out.push({ id: `${base}#admission-cancelled`, at, kind: 'admission-cancelled' });
    return out;
  }
  // What an admitting version carries is known at admission (no "changed estimate" for the first estimate).
  const contentAt = ACTIVE.has(is) && !wasActive && after.period?.start ? after.period.start : at;
  const routing = { ...ctx.routing };
  if (x1.outpatientUnit) routing.outpatientUnit = x1.outpatientUnit;
  if (x1.placingMunicipality) routing.placingMunicipality = x1.placingMunicipality;
  // Removing the extension withdraws the outpatient unit or placing municipality (as removing `ready-for-discharge`
  // withdraws the ready notice): the listed vårdcentral alone, the municipality of registration is responsible again.
  const unitRemoved = !x1.outpatientUnit && !!x0.outpatientUnit;
  if (unitRemoved) routing.outpatientUnit = null;
  const placingRemoved = !x1.placingMunicipality && !!x0.placingMunicipality;
  if (placingRemoved) routing.placingMunicipality = null;
  if (x1.homeHealthCare !== undefined) routing.homeHealthCare = x1.homeHealthCare;
  if (
    (x1.homeHealthCare !== undefined && x1.homeHealthCare !== x0.homeHealthCare) ||
    (x1.outpatientUnit && x1.outpatientUnit !== x0.outpatientUnit) ||
    (x1.placingMunicipality && x1.placingMunicipality !== x0.placingMunicipality) ||
    unitRemoved ||
    placingRemoved
  ) {
    out.push({ id: `${base}#routing`, at: contentAt, kind: 'patient-updated', patient: routing });
  }
  if (
    !sameSet(x0.needs, x1.needs) ||
    x0.sipNeeded !== x1.sipNeeded ||
    x0.category !== x1.category ||
    x0.consent !== x1.consent
  ) {
    if (x1.needs !== undefined || x1.category !== undefined) {
      out.push({
        id: `${base}#needs`,
        at: contentAt,
        kind: 'needs-assessed',
        needs: x1.needs ?? [],
        ...(x1.sipNeeded !== undefined ? { sipNeeded: x1.sipNeeded } : {}),
        ...(x1.category ? { category: x1.category } : {}),
        ...(x1.consent ? { consent: x1.consent } : {}),
      });
    }
  }
  if (x1.estimatedDischarge && x1.estimatedDischarge !== x0.estimatedDischarge) {
    out.push({
      id: `${base}#estimated-discharge`,
      at: contentAt,
      kind: 'estimated-discharge-set',
      date: x1.estimatedDischarge,
    });
  }
  const newCriteria = (x1.criteria ?? []).filter((c) => !(x0.criteria ?? []).includes(c));
  if (newCriteria.length > 0) {
    out.push({ id: `${base}#criteria`, at: contentAt, kind: 'readiness-criteria-met', criteria: newCriteria });
  }
  if (x1.compulsoryOutpatientCare !== undefined && x1.compulsoryOutpatientCare !== x0.compulsoryOutpatientCare) {
    out.push({
      id: `${base}#lpt-7a`,
      at: contentAt,
      kind: 'compulsory-outpatient-care',
      planned: x1.compulsoryOutpatientCare,
    });
  }
  if (x1.readyAt && x1.readyAt !== x0.readyAt)
    out.push({ id: `${base}#ready`, at: x1.readyAt, kind: 'ready-for-discharge' });
  if (!x1.readyAt && x0.readyAt) out.push({ id: `${base}#ready-withdrawn`, at, kind: 'ready-withdrawn' });
  if (
    x1.outpatientServicesUnavailable !== undefined &&
    x1.outpatientServicesUnavailable !== x0.outpatientServicesUnavailable
  ) {
    out.push({
      id: `${base}#outpatient`,
      at,
      kind: 'outpatient-services-unavailable',
      unavailable: x1.outpatientServicesUnavailable,
    });
  }
  if (is === 'onleave' && was !== 'onleave') out.push({ id: `${base}#leave-started`, at, kind: 'leave-started' });
  if (was === 'onleave' && is === 'in-progress') out.push({ id: `${base}#leave-ended`, at, kind: 'leave-ended' });
  const endMoved = was === 'finished' && before?.period?.end !== after.period?.end && after.period?.end;
  if (is === 'finished' && (was !== 'finished' || endMoved)) {
    // Discharge disposition `exp` (expired, HL7 discharge-disposition): the patient died.
    const died = after.hospitalization?.dischargeDisposition?.coding?.some((c) => c.code === 'exp');
    const kind = died ? 'died' : 'discharged';
    out.push({ id: `${base}#${kind}`, at: after.period?.end ?? at, kind });
  }
  if (was === 'finished' && (is === 'in-progress' || is === 'onleave')) {
    out.push({ id: `${base}#discharge-cancelled`, at, kind: 'discharge-cancelled' });
  }
  // The hospital's send time is the Encounter update: when the duties this change meets were met.
  for (const f of out) f.sentAt = at;
  return out;
}
