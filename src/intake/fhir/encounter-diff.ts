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
 * | status → onleave / onleave → in-progress                      | leave-started / leave-ended |
 * | status → finished                                             | discharged (at period.end) |
 * | finished → in-progress                                        | discharge-cancelled       |
 * | status → cancelled / entered-in-error                         | admission-cancelled       |
 */
const ACTIVE = new Set(['in-progress', 'onleave', 'finished']);
const CANCELLED = new Set(['cancelled', 'entered-in-error']);

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
  if (!sameSet(x0.needs, x1.needs) || x0.sipNeeded !== x1.sipNeeded || x0.category !== x1.category) {
    if (x1.needs !== undefined || x1.category !== undefined) {
      out.push({
        id: `${base}#needs`,
        at: ACTIVE.has(is) && !wasActive && after.period?.start ? after.period.start : at,
        kind: 'needs-assessed',
        needs: x1.needs ?? [],
        ...(x1.sipNeeded !== undefined ? { sipNeeded: x1.sipNeeded } : {}),
        ...(x1.category ? { category: x1.category } : {}),
      });
    }
  }
  if (x1.estimatedDischarge && x1.estimatedDischarge !== x0.estimatedDischarge) {
    out.push({ id: `${base}#estimated-discharge`, at, kind: 'estimated-discharge-set', date: x1.estimatedDischarge });
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
    out.push({ id: `${base}#discharged`, at: after.period?.end ?? at, kind: 'discharged' });
  }
  if (was === 'finished' && (is === 'in-progress' || is === 'onleave')) {
    out.push({ id: `${base}#discharge-cancelled`, at, kind: 'discharge-cancelled' });
  }
  // The hospital's send time is the Encounter update: when the duties this change meets were met.
  for (const f of out) f.sentAt = at;
  return out;
}
