/**
 * The case overview as a page a person reads (Swedish, organisations named, every time in Swedish time with its
 * offset, `2026-03-01 09:00:00 +01:00`, the console's formatter).
 */
import { SVU_TASK_CODE_INFO, COMMUNICATION_CATEGORY_INFO, TASK_OUTPUT_INFO } from '../fhir/codes';
import { placeText } from '../sip/invitations';
import { swedishTime } from '../http/time-format';
import { READINESS_CRITERIA } from '../core/triage/readiness';
import type { CaseOverview, CriterionView, ReadinessView } from './case-overview';

const FVK_CODE = READINESS_CRITERIA.find((c) => c.id === 'fvk-appointed')?.code;

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STATUS: Record<string, string> = {
  requested: 'Skickad',
  received: 'Kvitterad',
  accepted: 'Accepterad',
  rejected: 'Avvisad',
  'in-progress': 'Pågår',
  completed: 'Klar',
  cancelled: 'Makulerad',
  draft: 'Utkast',
  active: 'Gällande',
  'entered-in-error': 'Felregistrerad',
};
const BUSINESS: Record<string, string> = {
  'on-time': 'i tid',
  'due-soon': 'snart',
  overdue: 'försenad',
  escalated: 'eskalerad',
};
/** An Encounter's status (R4), as the stay's state reads in Swedish. */
const STAY_STATUS: Record<string, string> = {
  planned: 'planerat',
  arrived: 'anlänt',
  triaged: 'triagerat',
  'in-progress': 'pågår',
  onleave: 'på permission',
  finished: 'avslutat',
  cancelled: 'makulerat',
  'entered-in-error': 'felregistrerat',
  unknown: 'okänt läge',
};
const t = (iso: string | undefined) => esc(swedishTime(iso) ?? '');
const say = (code: string) => esc(STATUS[code] ?? code);

/** An answer as a person reads it: what it answers (the output code's text), then the value. */
const answerText = (a: { code: string; value: string }): string => {
  const label = TASK_OUTPUT_INFO[a.code as keyof typeof TASK_OUTPUT_INFO]?.display;
  return label ? `${esc(label)}: ${esc(a.value)}` : esc(a.value);
};

/** The SIP meeting: when and where it was called to, and whether it was held. */
function meetingText(m: NonNullable<CaseOverview['sip']>['meeting']): string {
  const called = m.at
    ? `Mötet är kallat till ${t(m.at)}${m.place ? ` ${esc(placeText(m.place) ?? m.place)}` : ''}.`
    : 'Mötets tid är inte bestämd.';
  return `${called} ${m.heldAt ? `Mötet hölls ${t(m.heldAt)}.` : 'Mötet har inte hållits än.'}`;
}

const criterionList = (list: readonly CriterionView[]) => list.map((c) => `${esc(c.text)} (${esc(c.code)})`).join('; ');

/** Where the stay stands on "utskrivningsklar": sent when, or held back since when and waiting for what. */
function readinessPart(r: ReadinessView): string {
  const state = r.readyAt
    ? `Meddelandet om utskrivningsklar skickades ${t(r.readyAt)}.`
    : r.heldBackSince
      ? `Meddelandet om utskrivningsklar från ${t(r.heldBackSince)} hålls inne enligt överenskommelsen tills alla kriterier är uppfyllda. Saknas: ${criterionList(r.missing)}.${
          r.missing.some((c) => c.code === FVK_CODE)
            ? ' Den fasta vårdkontakten räknas också som utsedd när öppenvårdsenheten anger den i sitt ärende.'
            : ''
        }`
      : 'Patienten är ännu inte utskrivningsklar.';
  const met = r.met.length > 0 ? `<p>Uppfyllda kriterier: ${criterionList(r.met)}.</p>` : '';
  const missing =
    !r.heldBackSince && !r.readyAt && r.missing.length > 0
      ? `<p>Kriterier som överenskommelsen kräver och som ännu saknas: ${criterionList(r.missing)}.</p>`
      : '';
  return `<p>${state}</p>${met}${missing}`;
}

export function overviewPage(o: CaseOverview): string {
  const parties = o.parties
    .map(
      (
        p,
      ) => `<h3>${esc(p.name)}</h3><table><thead><tr><th>Ärende</th><th>Motpart</th><th>Status</th><th>Tidsfrist</th><th>Kvitterad / utförd</th><th>Svar</th></tr></thead><tbody>
${p.tasks
  .map(
    (x) =>
      `<tr><td>${esc(SVU_TASK_CODE_INFO[x.code as keyof typeof SVU_TASK_CODE_INFO]?.display ?? x.title)}</td><td>${esc(x.counterpart ?? '')}</td><td>${say(x.status)}${
        x.businessStatus ? ` (${esc(BUSINESS[x.businessStatus] ?? x.businessStatus)})` : ''
      }</td><td>${t(x.deadline)}</td><td>${t(x.acknowledgedAt ?? x.doneAt)}</td><td>${x.answers.map(answerText).join('<br>')}</td></tr>`,
  )
  .join('\n')}</tbody></table>`,
    )
    .join('\n');
  const sip = o.sip
    ? `<p>${say(o.sip.status)}, fast vårdkontakt ${esc(o.sip.author)}. ${
        o.sip.approvedAt ? `Godkänd av sjukhuset ${t(o.sip.approvedAt)}.` : 'Ej godkänd av sjukhuset.'
      }</p><p>${meetingText(o.sip.meeting)}</p><ul>${o.sip.signatures
        .map(
          (s) =>
            `<li>${esc(s.name)}: ${s.signedAt ? `signerad ${t(s.signedAt)}` : s.withdrawn ? 'signaturen återtagen (delen ändrad)' : 'ej signerad'}</li>`,
        )
        .join('')}</ul>`
    : '<p>Ingen SIP ännu.</p>';
  const comments =
    o.comments.length === 0
      ? '<p>Inga kommentarer.</p>'
      : `<ul>${o.comments
          .map(
            (c) =>
              `<li><strong>${esc(COMMUNICATION_CATEGORY_INFO[c.category as keyof typeof COMMUNICATION_CATEGORY_INFO] ?? 'Kommentar')}</strong> från ${esc(c.from)} till ${esc(c.to.join(', '))} ${t(c.sent)}: ${esc(c.text)}${
                c.acknowledgedAt ? ` <em>(kvitterad ${t(c.acknowledgedAt)})</em>` : ''
              }</li>`,
          )
          .join('')}</ul>`;
  return `<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Ärendeöversikt</title><link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #aaa;padding:.3rem .5rem;text-align:left;vertical-align:top}</style></head><body>
<h1>Ärendeöversikt</h1>
<p>Vårdtillfälle ${o.encounter.visitNumber ? `${esc(o.encounter.visitNumber)} <small>(gatewayens id ${esc(o.encounter.id)})</small>` : esc(o.encounter.id)}${o.encounter.hospital ? ` på ${esc(o.encounter.hospital)}` : ''}: ${esc(
    STAY_STATUS[o.encounter.status] ?? o.encounter.status,
  )}${o.encounter.admittedAt ? `, inskriven ${t(o.encounter.admittedAt)}` : ''}${
    o.encounter.dischargedAt ? `, utskriven ${t(o.encounter.dischargedAt)}` : ''
  }</p>
<h2>Utskrivningsklar</h2>${readinessPart(o.readiness)}
<h2>Varningar</h2>${
    o.issues.length === 0
      ? '<p>Inga varningar.</p>'
      : `<p>Det här kunde gatewayen inte göra för vårdtillfället (så som sjukhuset fick veta i sin kvittens eller i svaret när vårdtillfället skrevs):</p><ul>${o.issues
          .map((i) => `<li>${esc(i.text)}<br><small lang="en">${esc(i.detail)}</small></li>`)
          .join('')}</ul>`
  }
<h2>Parternas ärenden</h2>${parties}
<h2>Samordnad individuell plan</h2>${sip}
<h2>Kommentarer</h2>${comments}
</body></html>
`;
}

/** The admin's case page for an id that names no stay (404). */
export function caseNotFoundPage(id: string): string {
  return `<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Ärendeöversikt</title><link rel="icon" href="data:,">
</head><body style="font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto"><h1>Ärendeöversikt</h1>
<p>Det finns inget vårdtillfälle med id <code>${esc(id)}</code>.</p><p><a href="/admin/resources?type=Encounter">Vårdtillfällen i resursbläddraren</a></p>
</body></html>`;
}
