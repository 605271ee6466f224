import type { Agreement, RuledTaskCode, TaskRule } from '../agreements/agreement.schema';
import { fvkOwner, type FvkOwner } from './recipients';
import {
  activeReady,
  currentCategory,
  transferTo,
  type EstimateChange,
  type Recipient,
  type StayModel,
} from './stay-model';
import { localMinute, parseInstant, SWEDISH_TIME } from '../calendar/stockholm-time';
import { municipalityParty, partyKey } from './parties';
import { anchorMs, arisesAt, deadlineFrom, dueMs, iso, makulering, ruleRef, spec } from './task-context';
import type { Party, TaskSpec } from './types';

interface Requirements {
  fvk: boolean;
  sip: boolean;
  'ready-notice': boolean;
}

function requirements(m: StayModel, agreement: Agreement): Requirements {
  const row = agreement.categories[currentCategory(m)];
  return {
    fvk: row.fvk || m.compulsoryOutpatientCare,
    // A SIP is needed per the category unless the ward says a well-functioning SIP exists (002, 001 §5.2.2);
    // always before discharge to compulsory outpatient psychiatric care (LPT 7 a §, 001 §5.2.3).
    sip: (row.sip && m.sipNeeded !== false) || m.compulsoryOutpatientCare,
    'ready-notice': row.readyNotice !== 'no',
  };
}

function applies(rule: TaskRule, req: Requirements): boolean {
  return rule.enabled && rule.requires.every((r) => req[r]);
}

/**
 * Whether an estimate went out with the admission notification to `r` (law 2 kap. 1–2 §): known when the
 * obligation arose, or sent no later than the message that made `r` a recipient (an A08 bringing the needs, dated at
 * their earlier assessment, and the first estimate together).
 */
function toldWithNotification(m: StayModel, r: Recipient, e: EstimateChange): boolean {
  if (e.at <= r.since) return true;
  const estimateSent = m.sentAt.get(e.factId);
  const notificationSent = m.sentAt.get(r.factId);
  return estimateSent !== undefined && notificationSent !== undefined && estimateSent <= notificationSent;
}

/** The admission notification carries the estimated discharge known when it is sent (law 2 kap. 1–2 §). */
function withEstimate(text: string, m: StayModel, r: Recipient): string {
  let date: string | undefined;
  for (const e of m.estimates) if (toldWithNotification(m, r, e)) date = e.date;
  return date ? `${text}: ${estimateText(date)}` : text;
}

/**
 * An estimated discharge as a person reads it in a Task's text: a date as given (`2026-01-20`, HL7's PV2-9), a time
 * in Swedish time to the minute (`2026-01-20 12:00 svensk tid`, from a FHIR `valueDateTime` with any offset, as the
 * SIP invitation's times; a time without an offset is taken as Swedish time), anything else as written. The Task's
 * data keeps the value as sent.
 */
export function estimateText(date: string): string {
  const m = DATE_TIME.exec(date);
  if (!m) return date;
  if (!m[4]) return `${m[1]} ${m[2]}:${m[3]} ${SWEDISH_TIME}`;
  const ms = parseInstant(date);
  return Number.isNaN(ms) ? date : `${localMinute(ms)} ${SWEDISH_TIME}`;
}
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * The admission notification to the municipality of registration while a placing municipality is responsible:
 * for information, so without a deadline (no hospital duty, no ladder); the text names the placing municipality,
 * which owns the stay's other municipal Tasks.
 */
function forInformation(m: StayModel, r: Recipient, insk: TaskRule): TaskSpec {
  const placing = m.routing.placingMunicipality;
  const t = spec({
    owner: r.party,
    key: admissionKey(m, r),
    code: 'inskrivningsmeddelande',
    hospital: r.hospital,
    authoredOn: r.since,
    description: `${withEstimate(insk.description, m, r)} (för kännedom: den placerande kommunen ansvarar och får meddelandena)`,
    metAt: m.sentAt.get(r.factId),
  });
  if (placing) t.named = { phrase: 'den placerande kommunen', party: municipalityParty(placing) };
  return t;
}

/**
 * The key of a unit's admission notification. A municipality told both for information and as the responsible one
 * over the stay (a placing municipality reported later, or reported as itself) has one notice per role: the first
 * under the plain key, the later one beside it, `#kannedom` for information or `#ansvarig` as responsible. Going back
 * to a role it was re-routed away from is a new period: a new notice, that role's key followed by `#<round>`.
 */
function admissionKey(m: StayModel, r: Recipient): string {
  const first = m.recipients.find((x) => x.key === r.key);
  if (!first || first.role === r.role) return `inskrivningsmeddelande@${r.key}${roundOf(r)}`;
  return `inskrivningsmeddelande@${r.key}#${r.role === 'registered-municipality' ? 'kannedom' : 'ansvarig'}${roundOf(r)}`;
}

/**
 * The end of the keys of a unit's Tasks in a later period of the same role (routed back to it after it was re-routed
 * away: `#<id of the fact that routed it back>`), so it is told again with new Tasks; none the first time.
 */
const roundOf = (r: { round?: string }): string => (r.round === undefined ? '' : `#${r.round}`);

const inWindow = (r: Recipient, t: number): boolean => r.replacedAt === undefined || t < r.replacedAt;

/** Tasks owned by each notified unit (messages from the hospital, closing the case). */
function notifiedTasks(m: StayModel, agreement: Agreement, r: Recipient, req: Requirements): TaskSpec[] {
  const out: TaskSpec[] = [];
  const sent = (factId: string | undefined): number | undefined =>
    factId === undefined ? undefined : m.sentAt.get(factId);
  const t = agreement.tasks;
  const rule = (code: RuledTaskCode): TaskRule | undefined =>
    t[code].to === 'notified' && applies(t[code], req) ? t[code] : undefined;

  const insk = rule('inskrivningsmeddelande');
  if (insk && r.role === 'registered-municipality') return [forInformation(m, r, insk)];
  if (insk) {
    out.push(
      spec({
        owner: r.party,
        key: admissionKey(m, r),
        code: 'inskrivningsmeddelande',
        hospital: r.hospital,
        authoredOn: r.since,
        due: dueMs(m, insk, r.since),
        deadlineRule: ruleRef(agreement, 'inskrivningsmeddelande', insk),
        description: withEstimate(insk.description, m, r),
        metAt: sent(r.factId),
      }),
    );
  }

  const changed = rule('beraknad-utskrivning-andrad');
  if (changed) {
    // What the unit was last told: the estimate its admission notification carried, then each change sent.
    let told: string | undefined;
    for (const e of m.estimates) {
      if (toldWithNotification(m, r, e)) {
        told = e.date;
        continue;
      }
      if (e.date === told || !inWindow(r, e.at)) continue;
      // A first estimate after a notification without one is still news to the unit (it was warned as missing).
      const first = told === undefined ? ' (saknades i inskrivningsmeddelandet)' : '';
      told = e.date;
      out.push(
        spec({
          owner: r.party,
          key: `beraknad-utskrivning-andrad@${r.key}#${e.factId}${roundOf(r)}`,
          code: 'beraknad-utskrivning-andrad',
          hospital: e.hospital || r.hospital,
          authoredOn: e.at,
          due: changed.deadline ? deadlineFrom(changed.deadline, e.at) : undefined,
          deadlineRule: ruleRef(agreement, 'beraknad-utskrivning-andrad', changed),
          description: `${changed.description}: ${estimateText(e.date)}${first}`,
          metAt: sent(e.factId),
        }),
      );
    }
  }

  const ready = rule('utskrivningsklar');
  if (ready) {
    for (const ep of m.ready) {
      if (ep.withdrawnAt !== undefined && ep.withdrawnAt <= r.since) continue;
      const at = Math.max(ep.at, r.since);
      if (!inWindow(r, at)) continue;
      const task = spec({
        owner: r.party,
        key: `utskrivningsklar@${r.key}#${ep.factId}${roundOf(r)}`,
        code: 'utskrivningsklar',
        hospital: ep.hospital,
        authoredOn: at,
        due: ready.deadline ? deadlineFrom(ready.deadline, ep.at) : undefined,
        deadlineRule: ruleRef(agreement, 'utskrivningsklar', ready),
        status: ep.withdrawnAt === undefined ? 'requested' : 'cancelled',
        description: ready.description,
        metAt: sent(ep.sentBy),
      });
      out.push(task);
      if (ep.withdrawnAt !== undefined) {
        out.push(makulering(task, ep.withdrawnAt, 'Avbrott i utskrivningsklar: patientens tillstånd har ändrats'));
      }
    }
  }

  const info = rule('informationsoverforing');
  const infoAt = info ? earliest(arisesAt(m, info, r.since), readyReportedAt(m, agreement)) : undefined;
  if (info && infoAt !== undefined && inWindow(r, infoAt)) {
    const task = spec({
      owner: r.party,
      key: `informationsoverforing@${r.key}${roundOf(r)}`,
      code: 'informationsoverforing',
      hospital: r.hospital,
      authoredOn: Math.max(infoAt, r.since),
      due: dueMs(m, info, r.since),
      deadlineRule: ruleRef(agreement, 'informationsoverforing', info),
      description: info.description,
      metAt: sent(transferTo(m, r)?.factId),
    });
    // A cancelled discharge (or a withdrawn ready status) stops the deadline, not the duty: the hospital's duty stays,
    // so the receiver's Task keeps its link to it (`basedOn`), and the deadline runs again at the next discharge.
    if (task.due === undefined && info.deadline) task.deadlineRule = ruleRef(agreement, 'informationsoverforing', info);
    out.push(task);
  }

  const dis = rule('utskrivningsmeddelande');
  const close = rule('avsluta-arende');
  for (const ep of m.discharges) {
    if (!inWindow(r, ep.at)) continue;
    const status = ep.cancelledAt === undefined ? 'requested' : 'cancelled';
    // A cancelled discharge withdraws what it sent the way every withdrawn message is: `cancelled` and a makulering.
    const withdraw = (task: TaskSpec, why: string): void => {
      out.push(task);
      if (ep.cancelledAt !== undefined) out.push(makulering(task, ep.cancelledAt, why));
    };
    if (dis) {
      const task = spec({
        owner: r.party,
        key: `utskrivningsmeddelande@${r.key}#${ep.factId}${roundOf(r)}`,
        code: 'utskrivningsmeddelande',
        hospital: ep.hospital,
        authoredOn: ep.at,
        due: dis.deadline ? deadlineFrom(dis.deadline, ep.at) : undefined,
        deadlineRule: ruleRef(agreement, 'utskrivningsmeddelande', dis),
        status,
        description: dis.description,
        metAt: sent(ep.factId),
      });
      withdraw(
        task,
        ep.replacedByDeath
          ? 'Patienten har avlidit: utskrivningsmeddelandet ersätts av dödsfallet'
          : 'Utskrivningen är makulerad',
      );
    }
    if (close && close.when.includes('discharge')) {
      withdraw(
        spec({
          owner: r.party,
          key: `avsluta-arende@${r.key}#${ep.factId}${roundOf(r)}`,
          code: 'avsluta-arende',
          hospital: ep.hospital,
          authoredOn: ep.at,
          due: close.deadline ? deadlineFrom(close.deadline, ep.at) : undefined,
          deadlineRule: ruleRef(agreement, 'avsluta-arende', close),
          status,
          description: close.description,
        }),
        ep.replacedByDeath
          ? 'Patienten har avlidit: ärendet avslutas efter dödsfallet i stället'
          : 'Utskrivningen är makulerad: ärendet avslutas först när patienten är utskriven',
      );
    }
  }
  if (close && close.when.includes('death') && m.died && inWindow(r, m.died.at)) {
    out.push(
      spec({
        owner: r.party,
        key: `avsluta-arende@${r.key}#${m.died.factId}${roundOf(r)}`,
        code: 'avsluta-arende',
        hospital: m.hospital ?? r.hospital,
        authoredOn: m.died.at,
        description: `${close.description}: patienten har avlidit`,
      }),
    );
  }
  return out;
}

type FvkCode = 'utse-fast-vardkontakt' | 'kallelse-sip' | 'sip-uppfoljning';

/** Tasks owned by the named care contact: appoint FVK, invite to SIP, follow up the SIP. */
function fvkTasks(m: StayModel, agreement: Agreement, req: Requirements): TaskSpec[] {
  const codes = (['utse-fast-vardkontakt', 'kallelse-sip', 'sip-uppfoljning'] as const).filter(
    (c) => agreement.tasks[c].to === 'fvk' && applies(agreement.tasks[c], req),
  );
  if (codes.length === 0) return [];
  const owner = fvkOwner(m, agreement);
  if (!owner && m.recipients.length > 0)
    m.warnings.add('no unit to appoint a named care contact (FVK): no listed primary-care unit');
  const out = owner ? fvkTasksOf(m, agreement, codes, owner) : [];
  // A unit re-routed away may have been the FVK: what it had as the FVK is withdrawn (a stored Task the engine no
  // longer derives is withdrawn by the reconciler anyway).
  const keys = new Set(out.map((t) => t.key));
  for (const r of m.recipients) {
    const replacedAt = r.replacedAt;
    const party = replacedAt === undefined ? undefined : formerFvkParty(r, agreement);
    if (!party || replacedAt === undefined) continue;
    for (const t of fvkTasksOf(m, agreement, codes, { party, since: r.since, hospital: r.hospital, round: r.round })) {
      const authoredAt = Date.parse(t.authoredOn);
      if (keys.has(t.key) || authoredAt >= replacedAt) continue;
      // only what it had as the FVK: a unit reported beside the one that was (an outpatient unit beside the listed
      // vårdcentral) never got these Tasks, so nothing of them is withdrawn from it
      const fvkThen = fvkOwner(m, agreement, authoredAt);
      if (!fvkThen || partyKey(fvkThen.party) !== partyKey(party)) continue;
      keys.add(t.key);
      // Its invitation, if it sent one as the FVK, stays completed (not withdrawn); an open duty is withdrawn.
      out.push(...left(withdrawnByRerouting(t, r, m, replacedAt)));
    }
  }
  return out;
}

/** The party a re-routed recipient stood for as the named care contact, if it could have been one. */
function formerFvkParty(r: Recipient, agreement: Agreement): Party | undefined {
  if (r.role === 'primary-care' || r.role === 'outpatient-unit') return r.party;
  if (r.role === 'municipality' && r.party.kind === 'municipality' && agreement.fvk.owner !== 'primary-care')
    return { kind: 'municipal-nurse', municipality: r.party.code };
  return undefined;
}

function fvkTasksOf(m: StayModel, agreement: Agreement, codes: readonly FvkCode[], owner: FvkOwner): TaskSpec[] {
  const out: TaskSpec[] = [];
  const key = partyKey(owner.party);
  for (const code of codes) {
    const rule = agreement.tasks[code];
    const at = arisesAt(m, rule, owner.since);
    if (at === undefined) continue;
    let due = dueMs(m, rule, owner.since);
    // Invite within the days after the ready notice reached this unit (001 §5.2.2 "efter att en underrättelse
    // mottagits", 000 "efter erhållet meddelande"): a unit the stay reached after the ready notice (re-routed to
    // it, or notified late) got the notice then, so its own days run from then.
    const readyAt = rule.deadline?.from === 'ready' ? activeReady(m)?.at : undefined;
    if (code === 'kallelse-sip' && rule.deadline && readyAt !== undefined && owner.since > readyAt)
      due = deadlineFrom(rule.deadline, owner.since);
    let description = rule.description;
    let deadlineRule = ruleRef(agreement, code, rule);
    if (code === 'kallelse-sip' && m.compulsoryOutpatientCare) {
      const lpt = agreement.compulsoryOutpatientCare;
      const planDue = deadlineFrom(lpt.planDeadline, anchorMs(m, lpt.planDeadline.from, owner.since));
      if (planDue !== undefined && (due === undefined || planDue < due)) {
        due = planDue;
        deadlineRule = {
          agreement: agreement.id,
          rule: 'compulsoryOutpatientCare.planDeadline',
          source: lpt.planDeadline.source,
        };
      }
      description = 'Samordnad vårdplan enligt 7 a § LPT före utskrivning till öppen psykiatrisk tvångsvård';
    }
    if (code === 'kallelse-sip' && due === undefined && m.ready.length > 0) {
      description = `${description} (tidsfristen vilar: avbrott i utskrivningsklar)`;
    }
    const t = spec({
      key: `${code}@${key}${roundOf(owner)}`,
      code,
      owner: owner.party,
      hospital: owner.hospital,
      authoredOn: Math.max(at, owner.since),
      due,
      deadlineRule,
      description,
    });
    // The FVK's invitation duty is met by its own invitation (a SIP CarePlan with invited parties), at the time it was
    // sent: one sent by an earlier FVK of the stay does not meet the duty of a unit the stay was re-routed to.
    const invitedAt = code === 'kallelse-sip' ? m.sipInvitedBy.get(key) : undefined;
    if (invitedAt !== undefined) {
      t.status = 'completed';
      t.metAt = iso(invitedAt);
    }
    out.push(t);
  }
  return out;
}

/**
 * What the hospital corrects when a unit of `role` rejects the stay: what routed the stay to it. By the role, not by the
 * code the unit gave (`svu-task-status-reason`): a municipality's `ej-listad` or a vårdcentral's `ej-folkbokford` also
 * says the patient is not its own.
 */
const CORRECTION_ADVICE: Record<Recipient['role'], string> = {
  municipality: 'rätta folkbokföringskommun eller placerande kommun',
  'registered-municipality': 'rätta folkbokföringskommunen',
  'primary-care': 'rätta patientens listade vårdcentral',
  'outpatient-unit': 'rätta patientens öppenvårdsenhet',
};

/**
 * A receiver's rejection comes back to the hospital as its Task to correct the routing (contract "Obligations"):
 * owned by the hospital, requested by the rejecting unit, completed when a later message routes the stay to
 * another unit of the same role (at that message's send time).
 */
function rejectionTasks(m: StayModel): TaskSpec[] {
  const out: TaskSpec[] = [];
  for (const [key, rej] of m.rejectedBy) {
    const rejecter = m.recipients.find((r) => r.key === key);
    if (!rejecter || !m.hospital) continue;
    const next = m.recipients.find((r) => r.role === rej.role && r.key !== key && r.since >= rej.at);
    const metAt = next ? m.sentAt.get(next.factId) : undefined;
    const t = spec({
      key: `korrigera-mottagare@${key}`,
      code: 'korrigera-mottagare',
      owner: { kind: 'hospital', hsaId: rejecter.hospital },
      hospital: rejecter.hospital,
      authoredOn: rej.at,
      status: next ? 'completed' : 'requested',
      description: `Mottagaren har avvisat vårdtillfället (${rej.reason}): ${CORRECTION_ADVICE[rej.role]} så att meddelandena går till rätt mottagare`,
    });
    t.requester = rejecter.party;
    t.named = { phrase: 'Mottagaren', party: rejecter.party };
    if (metAt !== undefined) t.metAt = new Date(metAt).toISOString();
    out.push(t);
  }
  return out;
}

/**
 * Why a re-routed unit's Tasks are withdrawn, told to that unit. It no longer has the patient, so the text names
 * neither the unit now responsible nor anything about the patient that unit may no longer see.
 */
function reroutedReason(r: Recipient, m: StayModel): string {
  if (m.rejectedBy.has(r.key)) return 'Ni har avvisat vårdtillfället: det som skickats till er återkallas';
  switch (r.role) {
    case 'municipality':
      // Still told for information (a placing municipality was reported): the for-information notice names it.
      if (
        m.recipients.some((x) => x.key === r.key && x.role === 'registered-municipality' && x.replacedAt === undefined)
      )
        return 'En placerande kommun ansvarar för patienten: det som skickats till er som ansvarig kommun återkallas, ni får inskrivningsmeddelandet för kännedom';
      return 'Vårdtillfället har omdirigerats: er kommun är inte längre ansvarig för patienten, det som skickats till er återkallas';
    case 'registered-municipality':
      // Responsible now itself (the placing municipality was reported as it): its notice as responsible replaces this.
      if (m.recipients.some((x) => x.key === r.key && x.role === 'municipality' && x.replacedAt === undefined))
        return 'Er kommun ansvarar nu för patienten: inskrivningsmeddelandet för kännedom återkallas, ni får inskrivningsmeddelandet som ansvarig kommun';
      return 'Vårdtillfället har omdirigerats: patienten är inte längre folkbokförd i er kommun, det som skickats till er återkallas';
    case 'primary-care':
      return 'Vårdtillfället har omdirigerats: patienten är inte längre listad hos er, det som skickats till er återkallas';
    case 'outpatient-unit':
      return 'Vårdtillfället har omdirigerats: er enhet är inte längre patientens öppenvårdsenhet, det som skickats till er återkallas';
  }
}

/**
 * A re-routed unit's Task still wanted when the stay left it: `cancelled`, with a `makulering` telling the unit (at
 * the re-routing). What was already withdrawn, completed or never wanted is left as it is.
 */
function withdrawnByRerouting(t: TaskSpec, r: Recipient, m: StayModel, replacedAt: number): TaskSpec[] {
  if (t.status !== 'requested' || t.code === 'makulering') return [t];
  t.status = 'cancelled';
  t.description = `${t.description ?? ''} (omdirigerat ${iso(replacedAt)})`.trim();
  return [t, makulering(t, replacedAt, reroutedReason(r, m))];
}

/**
 * The Tasks of a party the stay left, each marked so (`partyLeft`): answered, withdrawn or the makulering telling it,
 * they stay the party's own, but no longer show it the stay (its Encounter and Patient, which go on changing: the new
 * address in the municipality the patient moved to). Where the party is still a recipient in another role (told for
 * information), the Tasks of that role are not these, and still show it the stay.
 */
function left(tasks: TaskSpec[]): TaskSpec[] {
  for (const t of tasks) t.partyLeft = true;
  return tasks;
}

/**
 * All TaskSpecs for a folded stay. Withdrawn messages come back `cancelled` with a `makulering` beside them;
 * nothing that was sent disappears.
 */
export function deriveTasks(m: StayModel, agreement: Agreement): TaskSpec[] {
  if (m.admittedAt === undefined || m.recipients.length === 0) return [];
  const req = requirements(m, agreement);
  const tasks: TaskSpec[] = [];
  for (const r of m.recipients) {
    const own = notifiedTasks(m, agreement, r, req);
    const replacedAt = r.replacedAt;
    tasks.push(
      ...(replacedAt === undefined ? own : left(own.flatMap((t) => withdrawnByRerouting(t, r, m, replacedAt)))),
    );
  }
  tasks.push(...fvkTasks(m, agreement, req));
  tasks.push(...rejectionTasks(m));
  return tasks;
}

const earliest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/**
 * When the information transfer is due before the ready notice: under a readiness gate that counts criterion 4 (001
 * §3, "informationsöverföring har skett till de enheter som har fått ett inskrivningsmeddelande"), the first ready
 * report, held back or sent. From then each unit has its information transfer Task and the hospital its duty,
 * whatever moment the rule names (Västmanland's, from the law, is the discharge), so the hospital can report the
 * transfer to a unit by completing its duty, and a notice held back for it shows whom it waits for. Undefined under
 * any other agreement, and before a ready report.
 */
function readyReportedAt(m: StayModel, agreement: Agreement): number | undefined {
  const { gate, criteria } = agreement.readiness;
  if (!gate || !criteria.includes('information-transferred')) return undefined;
  return earliest(m.pendingReady?.at, m.ready[0]?.at);
}
