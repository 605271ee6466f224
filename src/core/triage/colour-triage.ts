import type { Need } from '../stay/facts';

/** Colour of the planning answers (Gävleborg, seed 002 "Färg som stöd för FVK, inte styrande"). */
export type TriageColour = 'blue' | 'green' | 'yellow' | 'red';

export interface PlanningAnswers {
  needs: readonly Need[];
  /** Are the services after discharge the same as before admission, or new/changed? */
  change: 'unchanged' | 'new-or-changed';
  /** Extensive new/changed services. */
  extensive?: boolean;
  /** A SIP already exists. */
  hasSip?: boolean;
}

export interface TriageAdvice {
  colour: TriageColour;
  /** What the colour suggests for the SIP meeting — guidance for the FVK, never binding. */
  sip: 'none' | 'after-discharge' | 'near-discharge' | 'at-discharge-or-ward';
  /** Suggested window for the meeting in days relative to going home, when the colour gives one. */
  window?: { fromDays: number; toDays: number };
  advice: string;
}

/**
 * Guidance only (002: "individuell bedömning gäller alltid"):
 * - blue: only social services → no coordination, no SIP;
 * - green: unchanged existing services → SIP created/updated in the home 1–3 weeks after discharge;
 * - yellow: new/changed services → SIP close to going home, within 1–6 days;
 * - red: extensive new/changed services → start the SIP process directly at going home, or on the ward.
 */
export function triageColour(a: PlanningAnswers): TriageAdvice {
  const relevant = a.needs.filter((n) => n !== 'ingen');
  if (relevant.length > 0 && relevant.every((n) => n === 'socialtjanst')) {
    return { colour: 'blue', sip: 'none', advice: 'Endast behov av insatser från socialtjänsten: ingen SIP.' };
  }
  if (a.change === 'new-or-changed' && a.extensive) {
    return {
      colour: 'red',
      sip: 'at-discharge-or-ward',
      window: { fromDays: 0, toDays: 0 },
      advice:
        'Omfattande nya/förändrade insatser: inled SIP-processen i direkt anslutning till hemgång eller på sjukhus.',
    };
  }
  if (a.change === 'new-or-changed') {
    return {
      colour: 'yellow',
      sip: 'near-discharge',
      window: { fromDays: 1, toDays: 6 },
      advice: 'Nya/förändrade insatser: upprätta eller följ upp SIP i nära anslutning till hemgång, inom 1–6 dagar.',
    };
  }
  return {
    colour: 'green',
    sip: 'after-discharge',
    window: { fromDays: 7, toDays: 21 },
    advice: a.hasSip
      ? 'Oförändrade insatser: uppdatera befintlig SIP, i hemmet 1–3 veckor efter utskrivning.'
      : 'Oförändrade insatser: upprätta SIP efter utskrivning, i hemmet 1–3 veckor efter utskrivning.',
  };
}
