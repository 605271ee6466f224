import type { Request } from 'express';

/** The admin console's languages: Swedish (default) and English. */
export type Lang = 'sv' | 'en';
export const LANG_COOKIE = 'svu_admin_lang';

const sv = {
  'app.title': 'svu-gateway · administration',
  'nav.overview': 'Översikt',
  'nav.delivery': 'Leveranser',
  'nav.hl7': 'HL7-meddelanden',
  'nav.subscriptions': 'Prenumerationer',
  'nav.resources': 'Resurser',
  'nav.queues': 'Köer (Bull Board)',
  'nav.sessions': 'Sessioner',
  'nav.dashboard': 'Uppföljning',
  'nav.metrics': 'Mätvärden',
  'nav.logout': 'Logga ut',
  'nav.signedInAs': 'Inloggad som',
  'login.title': 'Logga in',
  'login.lead': 'Logga in med klient-id och hemlighet för en adminklient.',
  'login.clientId': 'Klient-id',
  'login.secret': 'Hemlighet',
  'login.submit': 'Logga in',
  'login.failed': 'Inloggningen misslyckades: okänd klient, fel hemlighet eller saknade adminrättigheter.',
  'login.loggedOut': 'Du är utloggad.',
  'login.limited': 'För många misslyckade inloggningar: vänta en stund och försök igen.',
  'login.oidc': 'Logga in med organisationens inloggning (OIDC)',
  'login.or': 'eller med en adminklient:',
  'overview.title': 'Översikt',
  'overview.queues': 'Köer',
  'delivery.title': 'Leveranser',
  'delivery.endpoints': 'Mottagare (senaste timmen)',
  'delivery.deadLetters': 'Döda brev (dead-letter queue)',
  'delivery.recent': 'Senaste leveransförsök',
  'delivery.replay': 'Skicka igen',
  'delivery.discard': 'Kasta',
  'delivery.confirmDiscard': 'Kasta notifieringen? Mottagaren får den aldrig.',
  'hl7.title': 'HL7 v2-meddelanden',
  'hl7.from': 'Från',
  'hl7.to': 'Till',
  'hl7.sender': 'Avsändare',
  'hl7.event': 'Händelse',
  'hl7.status': 'Status',
  'hl7.visit': 'Vårdtillfälle (PV1-19)',
  'hl7.pnr': 'Personnummer',
  'hl7.search': 'Sök',
  'hl7.older': 'Äldre',
  'hl7.any': 'alla',
  'hl7.segments': 'Segment',
  'hl7.produced': 'Resultat',
  'hl7.warnings': 'Varningar från motorn',
  'hl7.encounter': 'Vårdkontakt',
  'hl7.created': 'Skapade uppgifter',
  'hl7.changed': 'Ändrade uppgifter',
  'hl7.cancelled': 'Makulerade uppgifter',
  'hl7.noOutcome': 'Inget resultat registrerat för meddelandet.',
  'hl7.reprocess': 'Bearbeta igen',
  'subs.title': 'Prenumerationer per organisation',
  'subs.organization': 'Organisation',
  'resources.title': 'Resurser (endast läsning)',
  'resources.type': 'Typ',
  'resources.id': 'Id (tomt = senaste)',
  'resources.show': 'Visa',
  'resources.history': 'Historik',
  'sessions.title': 'Inloggade sessioner',
  'sessions.revoke': 'Återkalla',
  'common.none': 'Inga rader.',
  'common.loading': 'Hämtar …',
  'common.error': 'Fel',
  'common.audited': 'Visning av personuppgifter loggas (AuditEvent).',
} as const;

export type TextKey = keyof typeof sv;

const en: Record<TextKey, string> = {
  'app.title': 'svu-gateway · administration',
  'nav.overview': 'Overview',
  'nav.delivery': 'Delivery',
  'nav.hl7': 'HL7 messages',
  'nav.subscriptions': 'Subscriptions',
  'nav.resources': 'Resources',
  'nav.queues': 'Queues (Bull Board)',
  'nav.sessions': 'Sessions',
  'nav.dashboard': 'Follow-up',
  'nav.metrics': 'Metrics',
  'nav.logout': 'Log out',
  'nav.signedInAs': 'Signed in as',
  'login.title': 'Log in',
  'login.lead': 'Log in with the client id and secret of an admin client.',
  'login.clientId': 'Client id',
  'login.secret': 'Secret',
  'login.submit': 'Log in',
  'login.failed': 'Login failed: unknown client, wrong secret or no admin rights.',
  'login.loggedOut': 'You are logged out.',
  'login.limited': 'Too many failed logins: wait a while and try again.',
  'login.oidc': "Log in with your organisation's sign-in (OIDC)",
  'login.or': 'or with an admin client:',
  'overview.title': 'Overview',
  'overview.queues': 'Queues',
  'delivery.title': 'Delivery',
  'delivery.endpoints': 'Receivers (last hour)',
  'delivery.deadLetters': 'Dead letters',
  'delivery.recent': 'Latest delivery attempts',
  'delivery.replay': 'Replay',
  'delivery.discard': 'Discard',
  'delivery.confirmDiscard': 'Discard the notification? The receiver will never get it.',
  'hl7.title': 'HL7 v2 messages',
  'hl7.from': 'From',
  'hl7.to': 'To',
  'hl7.sender': 'Sender',
  'hl7.event': 'Event',
  'hl7.status': 'Status',
  'hl7.visit': 'Visit number (PV1-19)',
  'hl7.pnr': 'Personnummer',
  'hl7.search': 'Search',
  'hl7.older': 'Older',
  'hl7.any': 'any',
  'hl7.segments': 'Segments',
  'hl7.produced': 'What it produced',
  'hl7.warnings': 'Engine warnings',
  'hl7.encounter': 'Encounter',
  'hl7.created': 'Tasks created',
  'hl7.changed': 'Tasks changed',
  'hl7.cancelled': 'Tasks cancelled',
  'hl7.noOutcome': 'No outcome recorded for this message.',
  'hl7.reprocess': 'Process again',
  'subs.title': 'Subscriptions per organisation',
  'subs.organization': 'Organisation',
  'resources.title': 'Resources (read-only)',
  'resources.type': 'Type',
  'resources.id': 'Id (empty = newest)',
  'resources.show': 'Show',
  'resources.history': 'History',
  'sessions.title': 'Signed-in sessions',
  'sessions.revoke': 'Revoke',
  'common.none': 'No rows.',
  'common.loading': 'Loading …',
  'common.error': 'Error',
  'common.audited': 'Views of personal data are logged (AuditEvent).',
};

const TEXTS: Record<Lang, Record<TextKey, string>> = { sv, en };

export function t(lang: Lang, key: TextKey): string {
  return TEXTS[lang][key];
}

/** The texts of one page's script, by key (embedded as JSON in the page). */
export function texts(lang: Lang, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(TEXTS[lang]).filter(([k]) => k.startsWith(prefix) || k.startsWith('common.')),
  );
}

/** `?lang=` wins (and the page sets the cookie), else the cookie, else Swedish. */
export function langOf(req: Request): Lang {
  const q = req.query.lang;
  if (q === 'sv' || q === 'en') return q;
  const m = new RegExp(`(?:^|;\\s*)${LANG_COOKIE}=(sv|en)(?:;|$)`).exec(req.get('cookie') ?? '');
  return (m?.[1] as Lang | undefined) ?? 'sv';
}
