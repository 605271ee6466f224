/**
 * The region dashboard (`/admin/dashboard`): open / due-soon / overdue / escalated Tasks per party, ready days per
 * municipality and month (a uPlot line chart, the library served from node_modules at /admin/assets/), deviations
 * per month, and a drill-down to the stays of one municipality's month. It holds no data itself. With a pasted token
 * (sessionStorage only) it calls `/fhir/$followup-dashboard`, which answers the region for an admin and a
 * municipality's own view for its client; without one it calls `/admin/api/dashboard` with the admin console's
 * session cookie. Served at `/admin/dashboard` (console) and `/followup/dashboard` (municipal staff, token only).
 * For the region's controller (admin token or console session) it also shows the agreement what-if: a month
 * under two agreements, liability per municipality and deadlines per step side by side (`/admin/api/what-if/*`).
 * Times are Swedish time with their offset (`when`, the console's formatter in src/http/time-format.ts).
 */
import { TIME_SCRIPT } from '../../http/time-format';

export const DASHBOARD_PAGE = `<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>svu-gateway · Uppföljning</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/uplot.min.css">
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}td:first-child,th:first-child{text-align:left}
th{background:#f4f4f4}.overdue{color:#b00}.escalated{color:#b00;font-weight:600}.due-soon{color:#a60}
section{margin-bottom:2rem}tr[data-m]{cursor:pointer}tr[data-m]:hover{background:#f8f8ff}</style>
<script src="assets/uplot.iife.min.js"></script>
</head><body>
<h1>Uppföljning · utskrivning från slutenvård</h1>
<p><label>Token (kommunens klient; tomt = inloggad i adminkonsolen) <input id="tok" size="50" type="password"></label>
<label>Till och med <input id="to" size="8" placeholder="YYYY-MM"></label>
<label>Kommun <input id="mun" size="5" placeholder="alla"></label>
<button id="go">Visa</button> <span id="msg"></span></p>
<section><h2>Öppna uppgifter med tidsfrist per part</h2><table id="parties"></table></section>
<section><h2>Utskrivningsklara dagar per kommun och månad</h2><div id="ready"></div><table id="readyTable"></table></section>
<section><h2>Avvikelser per månad</h2><div id="dev"></div></section>
<section><h2>Vårdtillfällen</h2><p id="drillTitle">Klicka på en kommuns månad ovan.</p><table id="stays"></table></section>
<section id="whatIf" hidden><h2>Tänk om: samma månad under en annan överenskommelse</h2>
<p><label>Månad <input id="wiMonth" size="8" placeholder="YYYY-MM"></label>
<label>Överenskommelse <select id="wiBase"></select></label>
<label>Jämför med <select id="wiAlt"></select></label>
<label>Dagbelopp (kr, för år utan nationellt belopp) <input id="wiAmount" size="7" placeholder="tabellen"></label>
<button id="wiGo">Jämför</button> <span id="wiMsg"></span></p>
<h3>Betalningsansvar per kommun</h3><table id="wiLiability"></table>
<h3>Tidsfrister per steg (vårdtillfällen inskrivna under månaden)</h3><table id="wiDeadlines"></table></section>
<script>${TIME_SCRIPT}
const $ = (id) => document.getElementById(id);
$('tok').value = sessionStorage.getItem('svu-admin-token') || '';
$('to').value = new Date().toISOString().slice(0, 7);
const local = (iso) => (iso ? when(iso) : '–');
// A municipality by its directory name, else SCB's name with the code (the API gives both); 'kommun <kommunkod>' for a code SCB does not list (the API then gives the code).
const munName = (m) => (m.name && m.name !== m.municipality ? m.name : 'kommun ' + m.municipality);
const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
// With a token: the /fhir operation (scoped by the token). Without: the admin API with the console's session cookie.
const api = async (op, query) => {
  const tok = $('tok').value.trim();
  const path = tok ? '/fhir/$followup-' + op + '?' + query : '/admin/api/' + op.replace('dashboard-stays', 'dashboard/stays') + '?' + query;
  const r = await fetch(path, tok ? { headers: { Authorization: 'Bearer ' + tok } } : { credentials: 'same-origin' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
};
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const seconds = (m) => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5)) - 1, 1) / 1000;
let charts = [];
function chart(el, title, months, series) {
  const opts = { title, width: Math.min(1000, window.innerWidth - 80), height: 260,
    scales: { x: { time: true } }, axes: [{}, {}],
    series: [{ label: 'Månad' }].concat(series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))) };
  charts.push(new uPlot(opts, [months.map(seconds)].concat(series.map((s) => s.values)), el));
}
async function load() {
  sessionStorage.setItem('svu-admin-token', $('tok').value);
  $('msg').textContent = '';
  charts.forEach((c) => c.destroy()); charts = [];
  const q = new URLSearchParams({ to: $('to').value, months: '12' });
  if ($('mun').value) q.set('municipality', $('mun').value.trim());
  try {
    // /fhir/$followup-dashboard answers the region for an admin token and a municipality's own view for its token.
    const d = await api('dashboard', q);
    $('parties').innerHTML = '<tr><th>Part</th><th>I tid</th><th>Snart förfallen</th><th>Försenad</th><th>Eskalerad</th></tr>' +
      d.parties.map((p) => '<tr><td>' + esc(p.name) + '</td><td>' + p['on-time'] + '</td><td class="due-soon">' + p['due-soon'] +
        '</td><td class="overdue">' + p.overdue + '</td><td class="escalated">' + p.escalated + '</td></tr>').join('');
    chart($('ready'), 'Dagar (medel)', d.months, d.readyDays.map((s) => ({ label: munName(s), values: s.readyDays })));
    $('readyTable').innerHTML = '<tr><th>Kommun</th>' + d.months.map((m) => '<th>' + m + '</th>').join('') + '</tr>' +
      d.readyDays.map((s) => '<tr><td>' + esc(munName(s)) + '</td>' + s.readyDays.map((v, i) =>
        '<td data-mun="' + esc(s.municipality) + '" data-name="' + esc(munName(s)) + '" data-month="' + d.months[i] + '" style="cursor:pointer">' + (v === null ? '–' : v + ' (' + s.stays[i] + ')') + '</td>').join('') + '</tr>').join('');
    chart($('dev'), 'Avvikelser', d.months, [{ label: 'Avvikelser', values: d.deviations }]);
    $('msg').textContent = 'Hämtad ' + when(new Date().toISOString());
    whatIfSetup();
  } catch (e) { $('msg').textContent = String(e); }
}
$('readyTable').addEventListener('click', async (ev) => {
  const td = ev.target.closest('td[data-mun]');
  if (!td) return;
  const list = await api('dashboard-stays', new URLSearchParams({ municipality: td.dataset.mun, month: td.dataset.month }));
  // The municipality by its directory name, else SCB's name with the kommunkod; the kommunkod alone for a code SCB does not list.
  $('drillTitle').textContent = td.dataset.name + ', ' + td.dataset.month + ': ' + list.length + ' vårdtillfällen';
  $('stays').innerHTML = '<tr><th>Vårdtillfälle</th><th>Utskrivningsklar</th><th>Utskriven</th><th>Dagar</th></tr>' +
    list.map((s) => '<tr><td>' + esc(s.stayId) + '</td><td>' + esc(local(s.readyAt)) + '</td><td>' + esc(local(s.dischargedAt)) + '</td><td>' + s.readyDays + '</td></tr>').join('');
});
// What-if (the region's controller only): shown when the admin API answers (an admin token, or the console
// session); a municipality's token gets 403 there and the panel stays hidden.
const kr = (v) => Number(v).toLocaleString('sv-SE', { maximumFractionDigits: 0 }) + ' kr';
const signed = (v, f) => (v > 0 ? '+' : '') + f(v);
const num = (v) => Number(v).toLocaleString('sv-SE', { maximumFractionDigits: 2 });
async function adminJson(path) {
  const tok = $('tok').value.trim();
  const r = await fetch(path, tok ? { headers: { Authorization: 'Bearer ' + tok } } : { credentials: 'same-origin' });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.issue && body.issue[0] && body.issue[0].diagnostics) || path + ': HTTP ' + r.status);
  return body;
}
async function whatIfSetup() {
  const list = await adminJson('/admin/api/what-if/agreements').catch(() => undefined);
  $('whatIf').hidden = !list;
  if (!list || $('wiBase').options.length) return;
  const options = list.agreements.map((a) => '<option value="' + esc(a.id) + '">' + esc(a.id) + ' · ' + esc(a.name) + '</option>').join('');
  $('wiBase').innerHTML = options; $('wiAlt').innerHTML = options;
  $('wiBase').value = list.default;
  $('wiAlt').value = (list.agreements.find((a) => a.id !== list.default) || list.agreements[0]).id;
  $('wiMonth').value = $('to').value;
}
async function whatIf() {
  const q = new URLSearchParams({ month: $('wiMonth').value.trim(), agreement: $('wiBase').value, alternative: $('wiAlt').value });
  if ($('wiAmount').value.trim()) q.set('daily-amount', $('wiAmount').value.trim());
  const a = $('wiBase').value, b = $('wiAlt').value;
  $('wiMsg').textContent = '';
  const [liability, deadlines] = await Promise.allSettled([
    adminJson('/admin/api/what-if/liability?' + q), adminJson('/admin/api/what-if/deadlines?' + q)]);
  if (liability.status === 'fulfilled') {
    const x = liability.value;
    $('wiLiability').innerHTML = '<tr><th>Kommun</th><th>Dagar ' + esc(a) + '</th><th>Belopp ' + esc(a) + '</th><th>Dagar ' + esc(b) +
      '</th><th>Belopp ' + esc(b) + '</th><th>Skillnad</th></tr>' +
      x.municipalities.map((m) => '<tr><td>' + esc(munName(m)) + '</td><td>' + num(m.base.days) + '</td><td>' + kr(m.base.amount) + '</td><td>' +
        num(m.alternative.days) + '</td><td>' + kr(m.alternative.amount) + '</td><td class="' + (m.difference.amount > 0 ? 'overdue' : '') + '">' +
        signed(m.difference.amount, kr) + '</td></tr>').join('') +
      '<tr><th>Totalt</th><th></th><th>' + kr(x.total.base) + '</th><th></th><th>' + kr(x.total.alternative) + '</th><th>' + signed(x.total.difference, kr) + '</th></tr>';
  } else $('wiLiability').innerHTML = '<tr><td class="overdue">Betalningsansvar: ' + esc(liability.reason.message) + '</td></tr>';
  if (deadlines.status === 'fulfilled') {
    const x = deadlines.value;
    $('wiDeadlines').innerHTML = '<tr><th>Steg</th><th>I tid ' + esc(a) + '</th><th>Missade ' + esc(a) + '</th><th>Öppna ' + esc(a) +
      '</th><th>I tid ' + esc(b) + '</th><th>Missade ' + esc(b) + '</th><th>Öppna ' + esc(b) + '</th><th>Skillnad missade</th></tr>' +
      x.rows.map((r) => '<tr><td>' + esc(r.name) + '</td><td>' + r.base.met + '</td><td>' + r.base.missed + '</td><td>' + r.base.open + '</td><td>' +
        r.alternative.met + '</td><td>' + r.alternative.missed + '</td><td>' + r.alternative.open + '</td><td class="' +
        (r.difference.missed > 0 ? 'overdue' : '') + '">' + signed(r.difference.missed, String) + '</td></tr>').join('');
    $('wiMsg').textContent = x.stays + ' vårdtillfällen inskrivna ' + x.month;
  } else $('wiDeadlines').innerHTML = '<tr><td class="overdue">Tidsfrister: ' + esc(deadlines.reason.message) + '</td></tr>';
}
$('wiGo').addEventListener('click', whatIf);
$('go').addEventListener('click', load);
if ($('tok').value || location.pathname.startsWith('/admin/')) load();
</script></body></html>`;
