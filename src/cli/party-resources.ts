/**
 * The resources a party's client writes in the collaboration flow, built without I/O: an answer on a Task
 * (`Task.output` with a code of svu-task-output and the value type the code asks for), a comment
 * (`Communication`) and the SIP draft the named care contact creates. `npm run party` sends them; the
 * implementation guide shows them as examples (`src/ig/examples.ts`), so the two cannot drift apart.
 */
import type { CarePlan, Communication, Group, Patient, Reference, TaskOutput } from '@medplum/fhirtypes';
import { TASK_OUTPUT_INFO } from '../fhir/codes';
import {
  CODE_SYSTEM,
  COMMUNICATION_CATEGORIES,
  EXTENSION,
  PROFILE,
  TASK_OUTPUT_CODES,
  type CommunicationCategory,
  type TaskOutputCode,
} from '../fhir/constants';

const isOutputCode = (c: string): c is TaskOutputCode => (TASK_OUTPUT_CODES as readonly string[]).includes(c);

/** One answer as `Task.output`; throws on a code outside svu-task-output. Booleans: `true`/`ja` are true. */
export function taskAnswer(code: string, value: string): TaskOutput {
  if (!isOutputCode(code)) throw new Error(`answer codes are ${TASK_OUTPUT_CODES.join(', ')}, not '${code}'`);
  const info = TASK_OUTPUT_INFO[code];
  const type = { coding: [{ system: CODE_SYSTEM.taskOutput, code, display: info.display }] };
  if (info.value === 'boolean') return { type, valueBoolean: value === 'true' || value === 'ja' };
  if (info.value === 'dateTime') return { type, valueDateTime: value };
  return { type, valueString: value };
}

/** `<code>=<value>` (the CLI's form) as `Task.output`. */
export function taskAnswerOf(pair: string): TaskOutput {
  const at = pair.indexOf('=');
  if (at < 0) throw new Error(`an answer is <code>=<value>, not '${pair}'`);
  return taskAnswer(pair.slice(0, at), pair.slice(at + 1));
}

export interface CommentInput {
  /** `Organization/<id>` of the sender (the client's own organisation). */
  sender: string;
  /** `Organization/<id>` of the recipient. */
  recipient: string;
  encounter: string;
  subject?: Reference<Patient | Group>;
  category: string;
  text: string;
  sent: string;
}

/** A comment to another party of the stay, `in-progress` until the recipient acknowledges it. */
export function commentResource(c: CommentInput): Communication {
  if (!(COMMUNICATION_CATEGORIES as readonly string[]).includes(c.category))
    throw new Error(`comment categories are ${COMMUNICATION_CATEGORIES.join(', ')}, not '${c.category}'`);
  const category = c.category as CommunicationCategory;
  return {
    resourceType: 'Communication',
    meta: { profile: [PROFILE.communication] },
    status: 'in-progress',
    category: [{ coding: [{ system: CODE_SYSTEM.communicationCategory, code: category }] }],
    ...(c.subject ? { subject: c.subject } : {}),
    encounter: { reference: c.encounter },
    sent: c.sent,
    sender: { reference: c.sender },
    recipient: [{ reference: c.recipient }],
    payload: [{ contentString: c.text }],
  };
}

export interface SipDraftInput {
  /** `Organization/<id>` of the author (the named care contact, or the hospital where the agreement lets it). */
  author: string;
  invited: string[];
  encounter: string;
  subject: Reference<Patient | Group>;
  meetingAt?: string;
  /** `home`, `ward` or a place in words. */
  place: string;
}

/** The SIP as the author creates it: draft, the author and the invited parties as contributors, the meeting. */
export function sipDraft(d: SipDraftInput): CarePlan {
  const extension: NonNullable<CarePlan['extension']> = [];
  if (d.meetingAt) extension.push({ url: EXTENSION.meetingTime, valueDateTime: d.meetingAt });
  extension.push({ url: EXTENSION.meetingPlace, valueString: d.place });
  return {
    resourceType: 'CarePlan',
    meta: { profile: [PROFILE.carePlan] },
    status: 'draft',
    intent: 'plan',
    category: [{ coding: [{ system: CODE_SYSTEM.carePlanCategory, code: 'sip' }] }],
    title: 'Samordnad individuell plan (SIP)',
    subject: d.subject,
    encounter: { reference: d.encounter },
    author: { reference: d.author },
    contributor: [{ reference: d.author }, ...d.invited.map((reference) => ({ reference }))],
    extension,
  };
}
