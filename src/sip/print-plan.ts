/**
 * The SIP as the patient gets it on paper (003 step 4: "Patienten får en utskrift av vårdplanen"; step 5: what is
 * planned, who does it, contact details, when the follow-up is): plain Swedish HTML with a print style sheet.
 * Organisations are named, never referenced; the patient's address is never printed.
 */
import type { CarePlan, Patient, Provenance } from '@medplum/fhirtypes';
import type { AuthContext } from '../auth/auth-context';
import { readSipMeeting } from '../fhir/careplan';
import type { Db } from '../store/db.port';
import { createRepository } from '../store/repository.pg';
import { localTime, orgName, placeText } from './invitations';
import type { SipDeps } from './sip-hooks';
import { orgRef, partOf, planParties, signatureState } from './sip-plan';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STATUS: Record<string, string> = {
  draft: 'Utkast: alla parter har ännu inte signerat',
  active: 'Gällande: alla parter har signerat och sjukhuset har godkänt',
  completed: 'Avslutad',
  revoked: 'Återkallad',
};

const STYLE = `body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5;color:#111}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.35rem .5rem;text-align:left;vertical-align:top}
.muted{color:#444}@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}
h2{break-after:avoid}tr{break-inside:avoid}}`;

export async function printablePlan(db: Db, auth: AuthContext, id: string, deps: SipDeps): Promise<string> {
  const plan = await createRepository(db, auth.access).read<CarePlan>('CarePlan', id);
  const sys = deps.repository(db);
  const provenances = await sys.search<Provenance>('Provenance', { target: `CarePlan/${id}`, _count: '200' });
  const state = signatureState(plan, provenances.resources);
  const names = new Map<string, string>();
  for (const p of planParties(plan)) names.set(p, await orgName(sys, p));
  const author = orgRef(plan.author) ?? '';
  const authorContact = partOf(plan, author)[0]?.detail?.performer?.[1]?.display;
  let patientName = '';
  const pref = plan.subject?.reference;
  if (pref?.startsWith('Patient/')) {
    try {
      const p = await sys.read<Patient>('Patient', pref.slice('Patient/'.length));
      const n = p.name?.[0];
      patientName = [...(n?.given ?? []), n?.family ?? ''].join(' ').trim();
    } catch {
      patientName = '';
    }
  }
  const meeting = readSipMeeting(plan);
  const rows = planParties(plan)
    .map((party) => {
      const parts = partOf(plan, party);
      const services = parts.map((a) => esc(a.detail?.description ?? '')).join('<br>') || '<em>Ej ifylld ännu</em>';
      const contact = parts.map((a) => esc(a.detail?.performer?.[1]?.display ?? '')).join('<br>');
      const signed = state.signed.get(party);
      return `<tr><td>${esc(names.get(party) ?? party)}</td><td>${services}</td><td>${contact}</td><td>${
        signed ? `Signerad ${esc(localTime(signed) ?? signed)}` : 'Ej signerad'
      }</td></tr>`;
    })
    .join('\n');
  const approved = state.approvedAt
    ? `Godkänd av ${esc(await orgName(sys, state.approvedBy ?? ''))} ${esc(localTime(state.approvedAt) ?? '')}`
    : 'Ännu inte godkänd av sjukhuset';
  return `<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Samordnad individuell plan (SIP)</title><style>${STYLE}</style></head>
<body>
<h1>Samordnad individuell plan (SIP)</h1>
<p class="muted">${esc(STATUS[plan.status] ?? plan.status)}</p>
${patientName ? `<p>Plan för: <strong>${esc(patientName)}</strong></p>` : ''}
<h2>Din fasta vårdkontakt</h2>
<p>${esc(names.get(author) ?? author)}${authorContact ? `: ${esc(authorContact)}` : ''}</p>
<h2>Möte</h2>
<p>${meeting.start ? esc(localTime(meeting.start) ?? '') : 'Tid meddelas senare'}${
    meeting.place ? ` ${esc(placeText(meeting.place) ?? '')}` : ''
  }</p>
<h2>Vem gör vad</h2>
<table><thead><tr><th>Part</th><th>Insatser</th><th>Kontakt</th><th>Signering</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>${approved}</p>
<h2>Uppföljning</h2>
<p>Planen följs upp senast en månad efter mötet. Din fasta vårdkontakt hör av sig.</p>
</body></html>
`;
}
