import type { Agreement } from '../agreements/agreement.schema';
import type { PatientRouting, StayFact } from '../stay/facts';
import { municipalityLabel } from '../municipalities/municipalities';
import { categorize } from '../triage/categories';
import { municipalityParty, primaryCareParty } from './parties';
import type { Party } from './types';
import { ESTIMATE_IS_MANDATORY } from './evaluate';
import { criterionCodes, fvkCriterionNote, missingCriteria } from '../triage/readiness';

/** A fact of one message, before it is bound to a stay. */
export type MessageFact = StayFact extends infer F ? (F extends StayFact ? Omit<F, 'stayId'> : never) : never;

/** A warning about one message that its sender can be told at once (ACK ERR severity W, FHIR OperationOutcome). */
export interface ForeseenIssue {
  /** Bounded code, the same as the engine issue's where there is one (`consent-refused`, `no-municipality`). */
  code: string;
  text: string;
  /** Where in the message (HL7 field path), when there is one. */
  path?: string;
}

const MUNICIPAL_NEEDS = new Set(['socialtjanst', 'kommunal-hsl']);

/**
 * What can be known from one message alone, without the stay it joins, about facts the engine will park
 * (ADR 024): the answer with the ACK when the ACK is sent on store, before the engine runs. Pure and cheap.
 * - `consent-refused`: needs with consent `nej` — no admission notification will be sent.
 * - `no-municipality`: municipal needs, but the message names no municipality of registration nor a placing one.
 * - `no-primary-care`: an admission whose needs call for region-funded outpatient care to be told under the
 *   agreement, and the message names no listed vårdcentral (PD1-3) nor outpatient unit.
 * - `recipient-not-connected`: the municipality or unit such needs call for is one `connected` (the adapter's look-up
 *   in the directory) says no Organization stands for: nobody can receive its notices through the gateway.
 * - `no-estimated-discharge`: an admission whose needs call for someone to be told carries no estimated discharge
 *   date (mandatory content of the admission notification, a precondition of payment).
 * - `ready-criteria-unconfirmed`: a ready notice under an agreement whose criteria gate it, and the message does
 *   not itself report every criterion: it is held back unless earlier messages of the stay reported the rest.
 * The engine's definitive outcome follows with the apply (`/admin/hl7`, the log, the Encounter's engine-issue
 * extension); this never claims more than the message shows.
 */
export function foreseeMessageIssues(
  facts: readonly MessageFact[],
  routing: PatientRouting | undefined,
  agreement: Agreement,
  connected: (party: Party) => boolean = () => true,
): ForeseenIssue[] {
  const out: ForeseenIssue[] = [];
  const notConnected = (path: string, what: string) =>
    out.push({
      code: 'recipient-not-connected',
      path,
      text: `${what} is not in the gateway's directory: nobody can receive its notices through the gateway; tell it another way`,
    });
  const needs = facts.flatMap((f) => (f.kind === 'needs-assessed' ? [f] : []));
  if (needs.some((f) => f.consent === 'nej')) {
    out.push({
      code: 'consent-refused',
      path: 'OBX-5 (samtycke)',
      text: 'consent refused (samtycke nej): no admission notification will be sent; record a harm assessment (menprovning) if one is made',
    });
  }
  // the needs assessed with consent: only they call for anyone to be told
  const told = needs.filter((f) => f.consent !== 'nej');
  const municipal = told.some((f) => f.needs.some((n) => MUNICIPAL_NEEDS.has(n)));
  const municipality = routing?.placingMunicipality ?? routing?.municipality;
  if (municipal && !municipality) {
    out.push({
      code: 'no-municipality',
      path: 'PID-11.9',
      text: 'municipal needs but no municipality of registration (PID-11.9) nor placing municipality: no municipality can be notified',
    });
  } else if (municipal && municipality && !connected(municipalityParty(municipality))) {
    notConnected(
      routing?.placingMunicipality ? 'OBX-5 (placerande-kommun)' : 'PID-11.9',
      municipalityLabel(municipality),
    );
  }
  const category =
    told.length > 0
      ? categorize(
          told.flatMap((f) => f.needs),
          told.at(-1)?.category,
        )
      : undefined;
  const admission = facts.some((f) => f.kind === 'admitted');
  const outpatientDue =
    category !== undefined &&
    agreement.categories[category].inTargetGroup &&
    agreement.categories[category].notify.includes('primary-care');
  if (outpatientDue && admission && !routing?.primaryCareUnit && !routing?.outpatientUnit) {
    out.push({
      code: 'no-primary-care',
      path: 'PD1-3',
      text: 'the admission names no listed primary-care unit (PD1-3) nor outpatient unit (oppenvardsenhet): region-funded outpatient care cannot be notified until a message names one',
    });
  }
  for (const [unit, path, what] of [
    [routing?.primaryCareUnit, 'PD1-3', 'the listed unit'],
    [routing?.outpatientUnit, 'OBX-5 (oppenvardsenhet)', 'the outpatient unit'],
  ] as const) {
    if (outpatientDue && unit && !connected(primaryCareParty(unit))) notConnected(path, `${what} ${unit}`);
  }
  // The engine's `no-estimated-discharge`, as far as the admission itself shows it: a notice goes out without it.
  if (told.length > 0 && admission && !facts.some((f) => f.kind === 'estimated-discharge-set')) {
    out.push({
      code: 'no-estimated-discharge',
      path: 'PV2-9',
      text: `the admission carries no estimated discharge date (PV2-9): ${ESTIMATE_IS_MANDATORY}; send it (A08) as soon as it is known`,
    });
  }
  if (facts.some((f) => f.kind === 'ready-for-discharge') && agreement.readiness.gate) {
    const reported = facts.flatMap((f) => (f.kind === 'readiness-criteria-met' ? f.criteria : []));
    const missing = missingCriteria(agreement.readiness.criteria, [...reported, 'physician-assessed']);
    if (missing.length > 0) {
      out.push({
        code: 'ready-criteria-unconfirmed',
        path: 'OBX-5 (utskrivningsklar-kriterier)',
        text: `ready notice: this message does not report the criteria ${criterionCodes(missing).join(', ')}; under agreement ${agreement.id} it is held back unless earlier messages reported them${fvkCriterionNote(missing)} (outcome in /admin/hl7)`,
      });
    }
  }
  return out;
}
