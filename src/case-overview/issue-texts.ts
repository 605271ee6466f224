/**
 * The stay's warnings as the people following the case read them: the engine says them in the technical English of
 * an ACK's ERR segment (for EHR vendors and integration admins); the case overview says each in Swedish, naming the
 * organisation and what it did not get, with the technical text beside it.
 */
import { warningCode } from '../core/engine/issues';
import { SVU_TASK_CODE_INFO } from '../fhir/codes';
import { readUnconnected } from '../intake/stay/unconnected';

export interface IssueView {
  /** `warningCode`'s code (`other-warning` for one the overview has no words for, e.g. a fact held back). */
  code: string;
  /** In Swedish, for the people following the case. */
  text: string;
  /** The gateway's own text, as the hospital's ACK carried it. */
  detail: string;
}

const SWEDISH: Record<string, string> = {
  'consent-refused':
    'Patienten har inte samtyckt till att informationen lämnas (samtycke nej): inget inskrivningsmeddelande skickas. Dokumentera menprövningen om en görs.',
  'no-municipality':
    'Folkbokföringskommun (HL7 PID-11, i FHIR Patient.address.district) eller placerande kommun saknas: ingen kommun kan underrättas förrän ett meddelande anger den.',
  'no-primary-care':
    'Listad vårdcentral (HL7 PD1-3, i FHIR Patient.generalPractitioner) eller öppenvårdsenhet saknas: den regionfinansierade öppenvården kan inte underrättas förrän ett meddelande anger den.',
  'no-fvk-unit': 'Ingen enhet kan utse fast vårdkontakt: patienten saknar listad vårdcentral.',
  'no-estimated-discharge':
    'Beräknad tidpunkt för utskrivning saknas (HL7 PV2-9, i FHIR tillägget estimated-discharge-date): den ska finnas i inskrivningsmeddelandet och är en förutsättning för betalningsansvar.',
  'cancel-before-admission':
    'En makulering av inskrivningen kom innan någon inskrivning var känd: kontrollera vårdtillfällets nummer (PV1-19).',
  'no-admission':
    'Ingen inskrivning är känd för vårdtillfället: uppgifterna sparas och meddelandena väntar på inskrivningen (HL7 A01, eller A04 med PV1-2 I; i FHIR vårdtillfället pågående med period.start). Kontrollera vårdtillfällets nummer (PV1-19) om en inskrivning har skickats.',
};

const OTHER = 'Gatewayen kunde inte tillämpa en uppgift i meddelandena (se den tekniska texten).';

/** A Task code by its Swedish name (`Inskrivningsmeddelande`), lower case inside a sentence. */
function taskName(code: string): string {
  const display = (SVU_TASK_CODE_INFO as Record<string, { display: string } | undefined>)[code.trim()]?.display;
  return display ? display.charAt(0).toLowerCase() + display.slice(1) : code.trim();
}

/** The party as `unconnectedOwners` named it, in Swedish: `unit <HSA-id>` is an `enhet`. */
const partyName = (text: string): string => text.replace(/^unit /, 'enhet ');

export function issueView(detail: string): IssueView {
  const code = warningCode(detail);
  const notConnected = code === 'recipient-not-connected' ? readUnconnected(detail) : undefined;
  if (notConnected) {
    const what = notConnected.codes.map(taskName).join(', ');
    const text = `${partyName(notConnected.party)} är inte ansluten till gatewayen, så ingen kan ta emot ${what}: meddela dem på annat sätt.`;
    return { code, text: text.charAt(0).toUpperCase() + text.slice(1), detail };
  }
  return { code, text: SWEDISH[code] ?? OTHER, detail };
}
