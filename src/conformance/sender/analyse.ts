import type { Encounter, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirRepository } from '../../store/repository.port';
import type { Agreement } from '../../core/agreements/agreement.schema';
import type { StayFact } from '../../core/stay/facts';
import { evaluateStay, partyKey, type StayEvaluation, type TaskSpec } from '../../core/engine';
import { localDate } from '../../core/calendar';
import type { FactDraft, MappingWarning } from '../../mapping/adt-to-facts';
import type { SenderProfile } from '../../mapping/profile';
import { parseAndMap } from '../../intake/hl7v2/process-message';
import { ackCodeFor, buildAckText, type AckCode } from '../../intake/hl7v2/ack';
import { factsFromEncounterChange } from '../../intake/fhir/encounter-diff';
import { routingOfPatient } from '../../intake/fhir/intake-hooks';
import { buildPatient, encounterIdFor, encounterStatusOf, patientKey } from '../../intake/hl7v2/apply-adt';
import type { PatientMessage, StayMessage } from '../../intake/hl7v2/apply-queue';
import { isOpenStay, patientChangeFacts, routingFromPatient } from '../../intake/stay/patient-change';
import { hasProtectedIdentity } from '../../fhir/protected-identity';

/** One Task the engine wants for the stay, in a form a sender reads. */
export interface TaskView {
  key: string;
  code: string;
  owner: string;
  status: TaskSpec['status'];
  due?: string;
  description?: string;
}

export interface MessageAnalysis {
  seq: number;
  channel: 'mllp' | 'http' | 'fhir';
  /** MSH-10 (HL7) or `Encounter/<id>` (FHIR). */
  id: string;
  event?: string;
  profile?: string;
  ack: AckCode;
  /** Why the message was refused (AE/AR). */
  error?: string;
  /** Why the message changes nothing (not inpatient, a repeat). */
  ignored?: string;
  stay?: string;
  /** Facts the gateway derives from this message. */
  facts: { kind: string; at: string; detail: string }[];
  /** Unknown local codes (accepted with the safest default; ERR severity W in the ACK). */
  unknownCodes: MappingWarning[];
  /** Every Task the engine wants for the stay after this message. */
  tasks: TaskView[];
  /** Keys of Tasks that this message made new or changed. */
  changedTasks: string[];
  /** Mandatory content still missing for the stay after this message. */
  missing: string[];
  engineWarnings: string[];
  rejectedFacts: { factId: string; reason: string }[];
  /** The ACK text the sender got back (HL7 channels). */
  ackText?: string;
  /**
   * A31: each open stay of the person at the sending hospital that the change reached, with its facts and Tasks
   * (one stay is also reported in the fields above, as a stay message is); empty when it reached none.
   */
  reachedStays?: StayChange[];
  /** What the message does besides its stays' facts, in words (A31: the Patient, its protected identity). */
  notes?: string[];
}

/** What a message did to one stay: its facts and the stay's Tasks after it. */
export type StayChange = Pick<
  MessageAnalysis,
  'facts' | 'tasks' | 'changedTasks' | 'missing' | 'engineWarnings' | 'rejectedFacts'
> & { stay: string };

interface StayBook {
  facts: StayFact[];
  tasks: Map<string, string>;
  evaluation?: StayEvaluation;
  /** HL7 stays: the person (`<system>|<value>` of PID-3) and the hospital's HSA-id, for an A31 to find the stay. */
  person?: string;
  hospital?: string;
  /** The stay's Encounter id at the gateway (`encounterIdFor`): the facts of a patient change name it, as there. */
  encounterId?: string;
}

/** Mandatory content of an open stay that the feed has not sent (contract Ingestion 2, seed 001). */
export function missingContent(ev: StayEvaluation, facts: readonly StayFact[]): string[] {
  const s = ev.state;
  if (s.status === 'cancelled' || s.admittedAt === undefined) return [];
  const out: string[] = [];
  if (!s.estimatedDischarge)
    out.push(
      'no estimated discharge date (PV2-9 / estimated-discharge-date extension): mandatory in the admission notice',
    );
  if (!facts.some((f) => f.kind === 'needs-assessed'))
    out.push(
      'no needs assessment (OBX behov / discharge-needs extension): nobody can tell whether a municipality must be notified',
    );
  if (!s.municipality && !s.placingMunicipality)
    out.push('no municipality of registration (PID-11.9 / Patient.address.district): the notices cannot be routed');
  return out;
}

function detail(f: FactDraft): string {
  const { id: _id, at: _at, kind: _kind, stayId: _stay, ...rest } = f as FactDraft & Record<string, unknown>;
  void _id;
  void _at;
  void _kind;
  void _stay;
  return JSON.stringify(rest);
}

const view = (t: TaskSpec): TaskView => ({
  key: t.key,
  code: t.code,
  owner: partyKey(t.owner),
  status: t.status,
  ...(t.due ? { due: t.due } : {}),
  ...(t.description ? { description: t.description } : {}),
});

/**
 * The sender kit's analysis: each message goes through the gateway's own parse → map → engine path
 * (`parseAndMap`, `factsFromEncounterChange`, `evaluateStay`) over all facts of its stay, as the intake does,
 * but nothing is stored and nothing is delivered. Facts are kept per stay in memory for the session.
 */
export class SenderSession {
  readonly messages: MessageAnalysis[] = [];
  private readonly stays = new Map<string, StayBook>();
  private readonly seenIds = new Set<string>();
  private readonly encounters = new Map<string, Encounter>();
  private readonly patients = new Map<string, Patient>();
  /** The Patient the HL7 messages built per person (`<system>|<value>`), as the gateway keeps one per personnummer. */
  private readonly hl7Patients = new Map<string, Patient>();

  constructor(
    private readonly profiles: SenderProfile[],
    private readonly agreement: Agreement,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private book(stay: string): StayBook {
    let b = this.stays.get(stay);
    if (!b) this.stays.set(stay, (b = { facts: [], tasks: new Map() }));
    return b;
  }

  private evaluate(stay: string, drafts: FactDraft[], a: Omit<StayChange, 'stay'> & { stay?: string }): void {
    const b = this.book(stay);
    for (const d of drafts) {
      a.facts.push({ kind: d.kind, at: d.at, detail: detail(d) });
      if (!b.facts.some((f) => f.id === d.id)) b.facts.push({ ...d, stayId: stay });
    }
    const ev = evaluateStay(b.facts, this.agreement);
    b.evaluation = ev;
    a.stay = stay;
    a.tasks = ev.tasks.map(view);
    for (const t of a.tasks) {
      const sig = JSON.stringify(t);
      if (b.tasks.get(t.key) !== sig) a.changedTasks.push(t.key);
      b.tasks.set(t.key, sig);
    }
    a.missing = missingContent(ev, b.facts);
    a.engineWarnings = ev.warnings ?? [];
    const ids = new Set(drafts.map((d) => d.id));
    a.rejectedFacts = ev.rejected.filter((r) => ids.has(r.factId));
  }

  private blank(channel: MessageAnalysis['channel'], id: string): MessageAnalysis {
    return {
      seq: this.messages.length + 1,
      channel,
      id,
      ack: 'AA',
      facts: [],
      unknownCodes: [],
      tasks: [],
      changedTasks: [],
      missing: [],
      engineWarnings: [],
      rejectedFacts: [],
    };
  }

  /** One HL7 v2 message (MLLP frame or POST /hl7v2 body): the analysis, with the ACK the gateway would give. */
  hl7(raw: string, channel: 'mllp' | 'http' = 'mllp'): MessageAnalysis {
    const parsed = parseAndMap(raw, this.profiles, localDate(this.now().getTime()));
    const a = this.blank(channel, parsed.header?.controlId ?? '?');
    a.event = parsed.header?.event;
    if (!parsed.ok) {
      a.ack = ackCodeFor(parsed.error.code);
      a.error = `${parsed.error.reason}${parsed.error.path ? ` (${parsed.error.path})` : ''}`;
      a.ackText = buildAckText(parsed.msg, raw, a.ack, parsed.error);
      this.messages.push(a);
      return a;
    }
    const m = parsed.mapped;
    a.profile = m.profile;
    const dupKey = `${m.header.sender}|${m.header.controlId}`;
    if (this.seenIds.has(dupKey)) {
      a.ignored = `repeat of MSH-10 ${m.header.controlId} from ${m.header.sender}: changes nothing`;
    } else if (m.kind === 'ignored') {
      a.ignored = m.reason;
    } else if (m.kind === 'patient') {
      a.unknownCodes = m.warnings;
      this.personUpdate(m, a);
    } else {
      a.unknownCodes = m.warnings;
      const stay = `${m.encounter.visit.system}|${m.encounter.visit.value}`;
      this.keepPatient(m);
      this.evaluate(stay, m.facts, a);
      Object.assign(this.book(stay), {
        person: personOf(m),
        hospital: m.encounter.hospitalHsaId,
        encounterId: encounterIdFor(m.encounter.visit.system, m.encounter.visit.value),
      });
    }
    this.seenIds.add(dupKey);
    // the gateway's ACK, except that the kit stores nothing
    a.ackText = buildAckText(parsed.msg, raw, 'AA', undefined, a.unknownCodes).replace(
      /^(MSA\|AA\|[^|\r]*\|)Message stored/m,
      '$1Analysed by the sender kit (not stored)',
    );
    this.messages.push(a);
    return a;
  }

  /** The person's Patient after message `m`, built as the gateway builds it (`buildPatient`); the one before. */
  private keepPatient(m: StayMessage | PatientMessage): { before?: Patient; after: Patient } {
    const k = personOf(m);
    const before = this.hl7Patients.get(k);
    const after = buildPatient(before, m);
    this.hl7Patients.set(k, after);
    return { ...(before ? { before } : {}), after };
  }

  /**
   * An A31 as the gateway applies it (`applyPersonUpdate` → `applyPatientChange`): the Patient is updated, and each
   * open stay of the person that the sending hospital holds gets the facts the change gives it
   * (`patientChangeFacts`: re-routing when the municipality or listed unit changed, a death), re-evaluated.
   */
  private personUpdate(m: PatientMessage, a: MessageAnalysis): void {
    const { before, after } = this.keepPatient(m);
    const was = before ? routingFromPatient(before) : {};
    const is = routingFromPatient(after);
    const notes: string[] = [];
    if (hasProtectedIdentity(after) && !(before && hasProtectedIdentity(before)))
      notes.push('the Patient gets protected identity: every record of the person is labelled, the address hidden');
    else if (before && hasProtectedIdentity(before) && !hasProtectedIdentity(after))
      notes.push("the Patient's protected identity label is removed");
    const person = personOf(m);
    const stays = [...this.stays.entries()].filter(
      ([, b]) =>
        b.person === person &&
        b.hospital === m.hospitalHsaId &&
        b.evaluation !== undefined &&
        isOpenStay(encounterStatusOf(b.evaluation.state)),
    );
    const idBase = `hl7:${m.header.sender}:${m.header.controlId}`;
    const change = {
      at: m.at,
      factIdBase: idBase,
      sentAt: m.sentAt,
      ...(m.diedAt !== undefined ? { died: { at: m.diedAt, idBase } } : {}),
    };
    a.reachedStays = [];
    if (!stays.length) notes.push('no open stay of this patient in the replay: the Patient only');
    else if (!patientChangeFacts(change, { was, is }, '').length)
      notes.push('neither the municipality nor the listed unit changed and no death: the open stays are not changed');
    for (const [stay, b] of stays) {
      const facts = patientChangeFacts(change, { was, is }, b.encounterId ?? stay);
      if (!facts.length) continue;
      const r: StayChange = {
        stay,
        facts: [],
        tasks: [],
        changedTasks: [],
        missing: [],
        engineWarnings: [],
        rejectedFacts: [],
      };
      this.evaluate(stay, facts, r);
      a.reachedStays.push(r);
    }
    const [only] = a.reachedStays;
    if (a.reachedStays.length === 1 && only) Object.assign(a, only);
    else a.facts = a.reachedStays.flatMap((r) => r.facts);
    a.notes = notes;
  }

  /** A FHIR Patient/Encounter write (plain resource or transaction Bundle entries). */
  async fhir(resource: Resource): Promise<MessageAnalysis[]> {
    const list =
      resource.resourceType === 'Bundle'
        ? (resource.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r)
        : [resource];
    for (const r of list) if (r.resourceType === 'Patient' && r.id) this.patients.set(r.id, r);
    const out: MessageAnalysis[] = [];
    for (const r of list) {
      if (r.resourceType !== 'Encounter') continue;
      const key = r.id ?? r.identifier?.map((i) => `${i.system}|${i.value}`)[0] ?? `enc-${this.messages.length + 1}`;
      const a = this.blank('fhir', `Encounter/${key}`);
      const before = this.encounters.get(key);
      const version = String(Number(before?.meta?.versionId ?? 0) + 1);
      const after: Encounter = {
        ...r,
        id: key,
        meta: { ...r.meta, versionId: version, lastUpdated: r.meta?.lastUpdated ?? this.now().toISOString() },
      };
      const pid = /^Patient\/(.+)$/.exec(after.subject?.reference ?? '')?.[1];
      const patient = pid ? this.patients.get(pid) : undefined;
      const routing = patient ? await routingOfPatient(this.repoView(), patient) : {};
      const drafts = factsFromEncounterChange(before, after, { routing, now: this.now().toISOString() });
      this.encounters.set(key, after);
      if (!drafts.length) a.ignored = 'no change the process cares about';
      else this.evaluate(key, drafts, a);
      this.messages.push(a);
      out.push(a);
    }
    return out;
  }

  /** Read-only view of what the session holds, for routingOfPatient's Organization look-up. */
  private repoView(): FhirRepository {
    const read = async (type: string, id: string): Promise<Resource> => {
      const r = type === 'Patient' ? this.patients.get(id) : undefined;
      if (!r) throw new Error(`${type}/${id} not known to the sender kit`);
      return r;
    };
    return { read } as unknown as FhirRepository;
  }

  /** Per stay: the Tasks after the whole feed and what is still missing. */
  summary(): { stay: string; status: string; tasks: TaskView[]; missing: string[] }[] {
    return [...this.stays.entries()].map(([stay, b]) => ({
      stay,
      status: b.evaluation?.state.status ?? 'unknown',
      tasks: b.evaluation?.tasks.map(view) ?? [],
      missing: b.evaluation ? missingContent(b.evaluation, b.facts) : [],
    }));
  }
}

/** The person an HL7 message is about (PID-3 personnummer / samordningsnummer), as the gateway keys the Patient. */
function personOf(m: StayMessage | PatientMessage): string {
  const k = patientKey(m);
  return `${k.system}|${k.value}`;
}
