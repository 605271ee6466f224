import type { Hl7Message } from '@medplum/core';
import type { CareKind, Consent, Need, ReadinessCriterion, StayFact } from '../core/stay/facts';
import { hl7DateToIso, hl7TimeToIso } from './hl7-time';
import { readAll, readFirst, readPath } from './hl7-read';
import { selectProfile, type ProfileRow, type SenderProfile } from './profile';
import { fail, mapPatient, type MappedPatient, type MappingWarning } from './adt-patient';

export type { MappedPatient, SecurityLabel } from './adt-patient';

/** A StayFact before the stay id is known (the adapter finds or creates the Encounter first). */
export type FactDraft = StayFact extends infer F ? (F extends StayFact ? Omit<F, 'stayId'> : never) : never;

export interface MappedEncounter {
  visit: { system: string; value: string };
  hospitalHsaId: string;
  ward?: string;
  wardName?: string;
  attending?: { id?: string; family?: string; given?: string };
  admittedAt?: string;
  dischargedAt?: string;
  care: CareKind;
  patientClass: string;
}

export interface MessageHeader {
  /** `MSH-3.1/MSH-4.1` (application/facility): the namespace of MSH-10. */
  sender: string;
  application: string;
  facility: string;
  controlId: string;
  /** Trigger event, e.g. `A01` (MSH-9.2, else EVN-1). */
  event: string;
  messageType: string;
}

export type { MappingWarning };

export type MappedAdt =
  | { kind: 'ignored'; header: MessageHeader; profile: string; reason: string }
  | {
      /** About the person, not a visit (A31): the Patient is updated and its open stays get the change. */
      kind: 'patient';
      header: MessageHeader;
      profile: string;
      patient: MappedPatient;
      /** The sending hospital (MSH-4 / the profile's facility paths): the tenant an HTTP client must be. */
      hospitalHsaId: string;
      /** The event time (EVN-6, EVN-2, MSH-7). */
      at: string;
      /** The hospital's send time (MSH-7, else the event time). */
      sentAt: string;
      /** The death the message records (PID-29/30), if any. */
      diedAt?: string;
      warnings: MappingWarning[];
    }
  | {
      kind: 'stay';
      header: MessageHeader;
      profile: string;
      patient: MappedPatient;
      encounter: MappedEncounter;
      facts: FactDraft[];
      /** Unknown local values accepted with the safest default. */
      warnings: MappingWarning[];
    };

/** MSH facts needed before anything else (also for storing a message that fails later). Throws `bad-hl7-structure`. */
export function readHeader(msg: Hl7Message): MessageHeader {
  if (msg.segments[0]?.name !== 'MSH') fail('bad-hl7-structure', 'MSH', 'the message does not start with MSH');
  const application = readPath(msg, 'MSH-3.1');
  const facility = readPath(msg, 'MSH-4.1');
  const controlId = readPath(msg, 'MSH-10');
  if (!controlId) fail('bad-hl7-structure', 'MSH-10', 'MSH-10 (message control id) is empty');
  if (!application && !facility) fail('bad-hl7-structure', 'MSH-3', 'MSH-3 and MSH-4 (sender) are both empty');
  const messageType = readPath(msg, 'MSH-9.1');
  const event = readPath(msg, 'MSH-9.2') || readPath(msg, 'EVN-1');
  return { sender: `${application}/${facility}`, application, facility, controlId, event, messageType };
}

/**
 * The hospital (HSA-id) of a message: the first facility path whose value the profile maps or that is an HSA-id.
 * A facility written as a name (common in PV1-3.4) falls through to the sending hospital (MSH-4, the profile's
 * default), so a stay always belongs to a hospital its client can see (issue 13 §7).
 */
function hospitalOf(msg: Hl7Message, profile: SenderProfile): string {
  const values = profile.hospital.facilityPaths.map((p) => readPath(msg, p)).filter((v) => v !== '');
  for (const v of values) {
    const mapped = profile.hospital.byFacility[v];
    if (mapped) return mapped;
    if (/^SE\d{10}-\w+$/.test(v)) return v;
  }
  return profile.hospital.defaultHsaId ?? values.at(-1) ?? '';
}

function time(msg: Hl7Message, paths: readonly string[], what: string): string | undefined {
  for (const p of paths) {
    const raw = readPath(msg, p);
    if (!raw) continue;
    const iso = hl7TimeToIso(raw);
    if (!iso) fail('bad-hl7-structure', p, `${p} (${what}) is not an HL7 date/time: "${raw}"`);
    return iso;
  }
  return undefined;
}

function mapEncounter(msg: Hl7Message, profile: SenderProfile, header: MessageHeader): MappedEncounter {
  const f = profile.fields;
  const visitNumber = readFirst(msg, f.visitNumber);
  if (!visitNumber) fail('bad-hl7-structure', f.visitNumber[0] ?? 'PV1-19', 'PV1-19 (visit number) is empty');
  const ward = readFirst(msg, f.ward) || undefined;
  const service = readFirst(msg, f.hospitalService);
  const attendingId = readFirst(msg, f.attendingId) || undefined;
  return {
    visit: {
      system: profile.visitNumberSystem.replace('{sender}', header.sender.replace(/[^A-Za-z0-9.-]/g, '-')),
      value: visitNumber,
    },
    hospitalHsaId: hospitalOf(msg, profile),
    ward,
    wardName: (ward ? profile.wards[ward]?.name : undefined) ?? (readFirst(msg, f.wardName) || undefined),
    attending: attendingId
      ? {
          id: attendingId,
          family: readFirst(msg, f.attendingFamily) || undefined,
          given: readFirst(msg, f.attendingGiven) || undefined,
        }
      : undefined,
    admittedAt: time(msg, [f.admitTime[0] ?? 'PV1-44'], 'admit time'),
    dischargedAt: time(msg, [f.dischargeTime[0] ?? 'PV1-45'], 'discharge time'),
    care: profile.psychiatricServices.includes(service) ? 'psychiatric' : 'somatic',
    patientClass: readFirst(msg, f.patientClass),
  };
}

/** Values of one row: coded values through its code map, or one time/date. */
function rowValues(
  msg: Hl7Message,
  profile: SenderProfile,
  row: ProfileRow,
  warnings: MappingWarning[],
): { values: (string | boolean)[]; at?: string; path: string } {
  let raw: string[] = [];
  let path = row.field ?? 'OBX-5';
  let at: string | undefined;
  if (row.obx) {
    const obx = msg
      .getAllSegments('OBX')
      .find(
        (s) =>
          readPath(msg, 'OBX-3.1', s) === row.obx?.code &&
          (!row.obx.system || readPath(msg, 'OBX-3.3', s) === row.obx.system),
      );
    if (!obx) return { values: [], path };
    raw = readAll(msg, 'OBX-5', obx);
    at = hl7TimeToIso(readPath(msg, 'OBX-14', obx));
    path = `OBX-5 (${row.obx.code})`;
  } else if (row.field) {
    raw = readAll(msg, row.field);
  }
  if (row.type === 'code') {
    const map = profile.codeMaps[row.codeMap ?? ''] ?? {};
    const values: (string | boolean)[] = [];
    for (const v of raw) {
      const m = map[v];
      if (m !== undefined) values.push(m);
      else {
        // An unknown local code never blocks a legally due notification (contract Ingestion 5): the value is left
        // out, the rest of the message applies, and the sender is told (ERR W)
        const text = `${path}: code "${v}" is not in code map ${row.codeMap ?? ''} of sender profile ${profile.id}; the value is left out`;
        if (!warnings.some((w) => w.text === text)) warnings.push({ code: 'unknown-code', path, text });
      }
    }
    return { values, at, path };
  }
  if (row.type === 'ST') return { values: raw.map((v) => v.trim()).filter((v) => v !== ''), at, path };
  const conv = row.type === 'TS' ? hl7TimeToIso : hl7DateToIso;
  const values = raw.map(
    (v) => conv(v) ?? fail('bad-hl7-structure', path, `${path}: "${v}" is not an HL7 ${row.type}`),
  );
  return { values, at, path };
}

function contentFacts(
  msg: Hl7Message,
  profile: SenderProfile,
  idBase: string,
  at: string,
  warnings: MappingWarning[],
): FactDraft[] {
  const out: FactDraft[] = [];
  const by = (t: ProfileRow['target']) =>
    profile.rows.filter((r) => r.target === t).map((r) => rowValues(msg, profile, r, warnings));
  const first = (t: ProfileRow['target']) => by(t).flatMap((r) => r.values)[0];
  const needRows = by('needs');
  const needs = needRows.flatMap((r) => r.values) as Need[];
  if (needRows.some((r) => r.values.length > 0)) {
    const consent = first('consent') as Consent | undefined;
    const sip = first('sipNeeded') as boolean | undefined;
    // OBX-14 of `behov` is the physician's assessment: the 24 h of a need found later count from it.
    const assessedAt = needRows.find((r) => r.values.length > 0)?.at;
    out.push({
      id: `${idBase}#needs`,
      at: assessedAt ?? at,
      kind: 'needs-assessed',
      needs: [...new Set(needs)],
      ...(consent ? { consent } : {}),
      ...(sip !== undefined ? { sipNeeded: sip } : {}),
    });
  }
  const est = first('estimatedDischarge') as string | undefined;
  if (est) out.push({ id: `${idBase}#estimated-discharge`, at, kind: 'estimated-discharge-set', date: est });
  const criteria = by('readinessCriteria').flatMap((r) => r.values) as ReadinessCriterion[];
  if (criteria.length > 0) {
    out.push({ id: `${idBase}#criteria`, at, kind: 'readiness-criteria-met', criteria: [...new Set(criteria)] });
  }
  const ready = first('readyAt') as string | undefined;
  if (ready) out.push({ id: `${idBase}#ready`, at: ready, kind: 'ready-for-discharge' });
  if (first('readyWithdrawn') === true) {
    out.push({ id: `${idBase}#ready-withdrawn`, at, kind: 'ready-withdrawn' });
  }
  const lpt = first('compulsoryOutpatientCare');
  if (typeof lpt === 'boolean') {
    out.push({ id: `${idBase}#lpt-7a`, at, kind: 'compulsory-outpatient-care', planned: lpt });
  }
  unknownObservations(msg, profile, warnings);
  return out;
}

/** Per profile: the OBX-3 codes its rows read, by coding system (only systems the profile names). */
const observationCodes = new WeakMap<SenderProfile, Map<string, Set<string>>>();

/**
 * Warns of an OBX whose coding system (OBX-3.3) is one the sender profile reads but whose code (OBX-3.1) no row
 * reads: most likely a misspelt code (`utskrivningklar`), which would otherwise hold a notice back in silence. OBX
 * segments of other systems (vital signs, lab values) are none of the gateway's business and pass without a word.
 */
function unknownObservations(msg: Hl7Message, profile: SenderProfile, warnings: MappingWarning[]): void {
  let known = observationCodes.get(profile);
  if (!known) {
    known = new Map();
    for (const row of profile.rows) {
      if (!row.obx?.system) continue;
      const codes = known.get(row.obx.system) ?? new Set<string>();
      codes.add(row.obx.code);
      known.set(row.obx.system, codes);
    }
    observationCodes.set(profile, known);
  }
  if (known.size === 0) return;
  for (const obx of msg.getAllSegments('OBX')) {
    const system = readPath(msg, 'OBX-3.3', obx);
    const code = readPath(msg, 'OBX-3.1', obx);
    const codes = known.get(system);
    if (!codes || codes.has(code)) continue;
    const path = 'OBX-3';
    const text = `OBX-3: observation "${code}" (${system}) is not read by sender profile ${profile.id}; the segment is left out`;
    if (!warnings.some((w) => w.text === text)) warnings.push({ code: 'unknown-observation', path, text });
  }
}

/** HL7 v2's explicit null (a field sent as `""`): delete the value held; an empty field means no change. */
const HL7_NULL = '""';

/** Routing values from content rows (outpatient unit, placing municipality, home health care), merged into the patient's routing. */
function contentRouting(msg: Hl7Message, profile: SenderProfile, warnings: MappingWarning[]): MappedPatient['routing'] {
  const by = (t: ProfileRow['target']) =>
    profile.rows.filter((r) => r.target === t).flatMap((r) => rowValues(msg, profile, r, warnings).values)[0];
  const withdrawable = (t: ProfileRow['target']) => {
    const given = by(t);
    return given === HL7_NULL ? null : given;
  };
  // HL7 v2's explicit null `""` withdraws an outpatient unit or placing municipality reported before (an OBX-5 left
  // empty, or no OBX, changes nothing): the listed vårdcentral alone, the municipality of registration is responsible
  // again.
  const unit = withdrawable('outpatientUnit');
  const placing = withdrawable('placingMunicipality');
  const home = by('homeHealthCare');
  if (typeof placing === 'string' && !/^\d{4}$/.test(placing)) {
    fail('bad-request', 'OBX-5 (placerande-kommun)', `placing municipality "${placing}" is not a four-digit kommunkod`);
  }
  return {
    ...(typeof unit === 'string' || unit === null ? { outpatientUnit: unit } : {}),
    ...(typeof placing === 'string' || placing === null ? { placingMunicipality: placing } : {}),
    ...(typeof home === 'boolean' ? { homeHealthCare: home } : {}),
  };
}

/** Death: PID-29 with PID-30 `Y`, or a discharge disposition (PV1-36) meaning expired (`20`). */
function deathTime(msg: Hl7Message, profile: SenderProfile, fallback: string): string | undefined {
  const f = profile.fields;
  const indicator = readFirst(msg, f.deathIndicator).toUpperCase();
  const expired = profile.expiredDispositions.includes(readFirst(msg, f.dischargeDisposition));
  if (indicator !== 'Y' && !expired) return undefined;
  return time(msg, f.deathTime, 'date/time of death') ?? fallback;
}

/** An event about the person (A31): the patient, the sending hospital, the event and send times, a death. */
function mapPersonUpdate(
  msg: Hl7Message,
  profile: SenderProfile,
  header: MessageHeader,
  opts: MapOptions,
): Extract<MappedAdt, { kind: 'patient' }> {
  const warnings: MappingWarning[] = [];
  const patient = mapPatient(msg, profile, opts.today, warnings);
  const at =
    time(msg, profile.fields.eventTime, 'event time') ??
    fail('bad-hl7-structure', 'EVN-2', 'no event time (EVN-6, EVN-2 or MSH-7)');
  const diedAt = deathTime(msg, profile, at);
  return {
    kind: 'patient',
    header,
    profile: profile.id,
    patient,
    hospitalHsaId: hospitalOf(msg, profile),
    at,
    sentAt: time(msg, ['MSH-7'], 'message time') ?? at,
    ...(diedAt !== undefined ? { diedAt } : {}),
    warnings,
  };
}

export interface MapOptions {
  /** Today's date (`YYYY-MM-DD`), to pick the century of 10-digit personnummer. */
  today: string;
}

/** Turns one parsed ADT message into stay facts plus the Patient/Encounter data, by the sender's profile. */
export function mapAdt(msg: Hl7Message, profiles: SenderProfile[], opts: MapOptions): MappedAdt {
  const header = readHeader(msg);
  const profile = selectProfile(profiles, header.application, header.facility);
  if (header.messageType !== 'ADT')
    fail('unknown-event', 'MSH-9', `message type ${header.messageType || '(empty)'} is not ADT`);
  const rule = profile.events[header.event];
  if (!rule)
    fail(
      'unknown-event',
      'MSH-9.2',
      `trigger event ${header.event || '(empty)'} is not supported by profile ${profile.id}`,
    );
  const r = rule!;
  if (r.patientOnly) return mapPersonUpdate(msg, profile, header, opts);
  if (!msg.getSegment('PV1')) fail('bad-hl7-structure', 'PV1', 'the PV1 segment is missing');
  const encounter = mapEncounter(msg, profile, header);
  const warnings: MappingWarning[] = [];
  const patient = mapPatient(msg, profile, opts.today, warnings);
  if (r.inpatientOnly && !profile.fields.inpatientClasses.includes(encounter.patientClass)) {
    return {
      kind: 'ignored',
      header,
      profile: profile.id,
      reason: `${header.event} for patient class "${encounter.patientClass}" (not inpatient)`,
    };
  }
  if (
    encounter.ward &&
    Object.keys(profile.wards).length > 0 &&
    !profile.wards[encounter.ward] &&
    ['admitted', 'transferred', 'patient-updated'].includes(r.fact)
  ) {
    // An unknown local code never blocks a legally due notification (contract Ingestion 5): accept and warn.
    warnings.push({
      code: 'unknown-ward',
      path: 'PV1-3',
      text: `ward ${encounter.ward} is not in the ward list of sender profile ${profile.id}; the stay is kept at the hospital`,
    });
  }
  patient.routing = { ...patient.routing, ...contentRouting(msg, profile, warnings) };
  const idBase = `hl7:${header.sender}:${header.controlId}`;
  const eventAt =
    time(msg, profile.fields.eventTime, 'event time') ??
    fail('bad-hl7-structure', 'EVN-2', 'no event time (EVN-6, EVN-2 or MSH-7)');
  const facts: FactDraft[] = [];
  const id = `${idBase}#${r.fact}`;
  switch (r.fact) {
    case 'admitted': {
      const at = time(msg, profile.fields.admitTime, 'admit time') ?? eventAt;
      facts.push({
        id,
        at,
        kind: 'admitted',
        hospital: encounter.hospitalHsaId,
        care: encounter.care,
        patient: patient.routing,
        ...(encounter.ward ? { ward: encounter.ward } : {}),
      });
      break;
    }
    case 'transferred':
      facts.push({
        id,
        at: eventAt,
        kind: 'transferred',
        care: encounter.care,
        hospital: encounter.hospitalHsaId,
        ...(encounter.ward ? { ward: encounter.ward } : {}),
      });
      break;
    case 'discharged': {
      const at = time(msg, profile.fields.dischargeTime, 'discharge time') ?? eventAt;
      // A discharge because the patient died is a death, not a discharge to the municipality's care.
      if (deathTime(msg, profile, at) === undefined) facts.push({ id, at, kind: 'discharged' });
      break;
    }
    case 'patient-updated':
      facts.push({ id, at: eventAt, kind: 'patient-updated', patient: patient.routing });
      break;
    case 'admission-cancelled':
    case 'discharge-cancelled':
    case 'leave-started':
    case 'leave-ended':
      facts.push({ id, at: eventAt, kind: r.fact });
      break;
    case 'none':
      break;
  }
  if (r.content)
    facts.push(...contentFacts(msg, profile, idBase, facts[0]?.kind === 'admitted' ? facts[0].at : eventAt, warnings));
  // Without PID-29, an A03 that is a death dies when the patient left (PV1-45), like the discharge it replaces.
  const leftAt = r.fact === 'discharged' ? time(msg, profile.fields.dischargeTime, 'discharge time') : undefined;
  const diedAt = r.fact === 'admission-cancelled' ? undefined : deathTime(msg, profile, leftAt ?? eventAt);
  if (diedAt !== undefined) facts.push({ id: `${idBase}#died`, at: diedAt, kind: 'died' });
  // The hospital's send time (MSH-7, else the event time): when the duties this message meets were met.
  const sentAt = time(msg, ['MSH-7'], 'message time') ?? eventAt;
  for (const f of facts) f.sentAt = sentAt;
  return { kind: 'stay', header, profile: profile.id, patient, encounter, facts, warnings };
}
