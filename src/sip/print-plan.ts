/**
 * The SIP as the patient gets it on paper (003 step 4: "Patienten får en utskrift av vårdplanen"; step 5: what is
 * planned, who does it, contact details, when the follow-up is): plain Swedish, as HTML with a print style sheet
 * or as PDF (`print-pdf.ts`). Organisations are named, never referenced; the patient's address is never printed.
 * `printedPlan` reads what both show, in the reader's scope (a party not invited gets 404).
 */
import type { CarePlan, Patient, Provenance } from '@medplum/fhirtypes';
import type { AuthContext } from '../auth/auth-context';
import { readSipMeeting } from '../fhir/careplan';
import type { Db } from '../store/db.port';
import { createRepository } from '../store/repository.pg';
import { swedishMinute } from '../http/time-format';
import { orgName, placeText, SWEDISH_TIME } from './invitations';
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

/** What the printed plan says, in Swedish, ready for any rendering. */
export interface PrintedPlan {
  status: string;
  patientName: string;
  /** The named care contact's organisation and, when it wrote one, its contact. */
  fvk: string;
  meeting: string;
  parties: { name: string; services: string[]; contacts: string[]; signed: string }[];
  approval: string;
  followUp: string;
  /** Said once: the plan's times (`2026-05-08 13:00`) are Swedish time. */
  times: string;
}

export async function printedPlan(db: Db, auth: AuthContext, id: string, deps: SipDeps): Promise<PrintedPlan> {
  const plan = await createRepository(db, auth.access).read<CarePlan>('CarePlan', id);
  const sys = deps.repository(db);
  const provenances = await sys.search<Provenance>('Provenance', { target: `CarePlan/${id}`, _count: '200' });
  const state = signatureState(plan, provenances.resources);
  const names = new Map<string, string>();
  const author = orgRef(plan.author) ?? '';
  for (const p of new Set([...planParties(plan), ...(author ? [author] : [])])) names.set(p, await orgName(sys, p));
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
  const m = readSipMeeting(plan);
  const when = m.start ? (swedishMinute(m.start) ?? '') : 'Tid meddelas senare';
  return {
    status: STATUS[plan.status] ?? plan.status,
    patientName,
    fvk: `${names.get(author) ?? author}${authorContact ? `: ${authorContact}` : ''}`,
    meeting: `${when}${m.place ? ` ${placeText(m.place) ?? ''}` : ''}`,
    parties: planParties(plan).map((party) => {
      const parts = partOf(plan, party);
      const signed = state.signed.get(party);
      return {
        name: names.get(party) ?? party,
        services: parts.map((a) => a.detail?.description ?? '').filter(Boolean),
        contacts: parts.map((a) => a.detail?.performer?.[1]?.display ?? '').filter(Boolean),
        signed: signed ? `Signerad ${swedishMinute(signed) ?? signed}` : 'Ej signerad',
      };
    }),
    approval: state.approvedAt
      ? `Godkänd av ${await orgName(sys, state.approvedBy ?? '')} ${swedishMinute(state.approvedAt) ?? ''}`
      : 'Ännu inte godkänd av sjukhuset',
    followUp: 'Planen följs upp senast en månad efter mötet. Din fasta vårdkontakt hör av sig.',
    times: `Alla tider i planen är ${SWEDISH_TIME}.`,
  };
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5;color:#111}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.35rem .5rem;text-align:left;vertical-align:top}
.muted{color:#444}@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}
h2{break-after:avoid}tr{break-inside:avoid}}`;

export function planHtml(p: PrintedPlan): string {
  const rows = p.parties
    .map(
      (x) =>
        `<tr><td>${esc(x.name)}</td><td>${x.services.map(esc).join('<br>') || '<em>Ej ifylld ännu</em>'}</td><td>${x.contacts
          .map(esc)
          .join('<br>')}</td><td>${esc(x.signed)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Samordnad individuell plan (SIP)</title><style>${STYLE}</style></head>
<body>
<h1>Samordnad individuell plan (SIP)</h1>
<p class="muted">${esc(p.status)}</p>
${p.patientName ? `<p>Plan för: <strong>${esc(p.patientName)}</strong></p>` : ''}
<h2>Din fasta vårdkontakt</h2>
<p>${esc(p.fvk)}</p>
<h2>Möte</h2>
<p>${esc(p.meeting)}</p>
<h2>Vem gör vad</h2>
<table><thead><tr><th>Part</th><th>Insatser</th><th>Kontakt</th><th>Signering</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>${esc(p.approval)}</p>
<h2>Uppföljning</h2>
<p>${esc(p.followUp)}</p>
<p class="muted">${esc(p.times)}</p>
</body></html>
`;
}

/** The plan as HTML that prints well. */
export async function printablePlan(db: Db, auth: AuthContext, id: string, deps: SipDeps): Promise<string> {
  return planHtml(await printedPlan(db, auth, id, deps));
}
