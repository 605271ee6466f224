/**
 * The integration admin's HL7 v2 message browser (`/admin/hl7`): counts per status, the newest messages with a
 * status / sender / event filter and paging, a message's raw text (segments on their own lines), and "Process again"
 * for rejected or failed ones. It holds no data itself: it calls the JSON admin API with the admin token the user
 * pastes (kept in sessionStorage only), so the page can be served without a token.
 */
export const HL7_ADMIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>svu-gateway · HL7 messages</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
.rejected,.error{color:#b00}.pending{color:#a60}.accepted{color:#070}tr[data-id]{cursor:pointer}tr[data-id]:hover{background:#f8f8ff}
pre{background:#f6f6f6;padding:.75rem;white-space:pre-wrap;word-break:break-all}.counts span{margin-right:1.5rem}button{cursor:pointer}</style>
</head><body>
<h1>HL7 v2 messages</h1>
<p><label>Admin token <input id="tok" size="60" type="password"></label> <button id="go">Load</button>
 · <a href="/admin/delivery">Delivery</a> · <a href="/admin/queues/">Queues</a> · <a href="/metrics">Metrics</a></p>
<p class="counts" id="counts"></p>
<p><label>Status <select id="status"><option value="">any</option><option>pending</option><option>accepted</option>
<option>ignored</option><option>rejected</option><option>error</option></select></label>
<label>Sender <input id="sender" size="28" placeholder="EHR/SE2321000172-…"></label>
<label>Event <input id="event" size="5" placeholder="A01"></label>
<button id="filter">Show</button> <span id="msg"></span></p>
<table id="list"></table>
<p><button id="more" hidden>Older</button></p>
<div id="one"></div>
<script>
const $ = (id) => document.getElementById(id);
$('tok').value = sessionStorage.getItem('svu-admin-token') || '';
const api = async (path, method = 'GET') => {
  const r = await fetch(path, { method, headers: { Authorization: 'Bearer ' + $('tok').value } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok && r.status !== 409) throw new Error(path + ': HTTP ' + r.status + (body.reason ? ' ' + body.reason : ''));
  return body;
};
const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const COLS = ['id', 'receivedAt', 'sender', 'event', 'controlId', 'status', 'ackCode', 'errorCode', 'errorReason', 'stayId'];
let next = '';
function query() {
  const q = new URLSearchParams();
  for (const k of ['status', 'sender', 'event']) if ($(k).value) q.set(k, $(k).value.trim());
  return q;
}
function rows(messages) {
  return messages.map((m) => '<tr data-id="' + esc(m.id) + '">' + COLS.map((c) =>
    '<td class="' + (c === 'status' ? esc(m.status) : '') + '">' + esc(c === 'receivedAt' ? String(m[c]).replace('T', ' ').slice(0, 19) : m[c]) + '</td>').join('') + '</tr>').join('');
}
async function load(append) {
  sessionStorage.setItem('svu-admin-token', $('tok').value);
  $('msg').textContent = '';
  try {
    const s = await api('/admin/api/hl7/summary');
    $('counts').innerHTML = Object.entries(s.byStatus).map(([k, v]) => '<span class="' + esc(k) + '">' + esc(k) + ': <b>' + esc(v.count) + '</b></span>').join('');
    const q = query();
    if (append && next) for (const [k, v] of new URLSearchParams(next)) q.set(k, v);
    const page = await api('/admin/api/hl7/messages?' + q);
    const head = '<tr>' + COLS.map((c) => '<th>' + c + '</th>').join('') + '</tr>';
    $('list').innerHTML = append ? $('list').innerHTML + rows(page.messages) : head + rows(page.messages);
    next = page.next || '';
    $('more').hidden = !next;
  } catch (e) { $('msg').textContent = String(e); $('msg').className = 'error'; }
}
function outcomeHtml(o) {
  if (!o) return '';
  const list = (label, xs) => xs.length ? '<li>' + label + ': ' + xs.map(esc).join(', ') + '</li>' : '';
  return '<h3>Outcome</h3><ul class="outcome">' +
    o.warnings.map((w) => '<li class="warning">' + esc(w.code) + ': ' + esc(w.text) + '</li>').join('') +
    (o.encounter ? '<li>Encounter/' + esc(o.encounter.id) + ' version ' + esc(o.encounter.version) + '</li>' : '') +
    list('Tasks created', o.tasks.created) + list('Tasks changed', o.tasks.changed) + list('Tasks cancelled', o.tasks.cancelled) +
    '</ul>';
}
async function show(id) {
  try {
    const m = await api('/admin/api/hl7/messages/' + encodeURIComponent(id));
    const again = m.status === 'rejected' || m.status === 'error';
    $('one').innerHTML = '<h2>Message ' + esc(m.id) + ' <small class="' + esc(m.status) + '">' + esc(m.status) + '</small></h2>' +
      (m.errorReason ? '<p class="error">' + esc(m.errorCode) + ': ' + esc(m.errorReason) + '</p>' : '') +
      outcomeHtml(m.outcome) +
      (again ? '<p><button id="again" data-id="' + esc(m.id) + '">Process again</button></p>' : '') +
      '<pre>' + esc(String(m.raw).split(/\\r\\n|\\r|\\n/).join('\\n')) + '</pre>';
  } catch (e) { $('msg').textContent = String(e); }
}
document.addEventListener('click', async (e) => {
  const tr = e.target.closest('tr[data-id]');
  if (tr) return show(tr.dataset.id);
  const b = e.target.closest('#again');
  if (!b) return;
  const r = await api('/admin/api/hl7/messages/' + b.dataset.id + '/reprocess', 'POST').catch((err) => ({ reason: String(err) }));
  await load(false);
  await show(b.dataset.id);
  $('msg').className = r.status === 'pending' || r.status === 'ignored' ? '' : 'error';
  $('msg').textContent = 'Message ' + b.dataset.id + ': ' + (r.status === 'pending' ? 'queued to be applied' : r.status || '') + (r.reason ? ' — ' + r.reason : '');
});
$('go').onclick = () => load(false);
$('filter').onclick = () => load(false);
$('more').onclick = () => load(true);
if ($('tok').value) load(false);
</script></body></html>`;
