/**
 * A small page for integration admins: overview, failing endpoints, dead letters with replay/discard.
 * It calls the JSON admin API with a bearer token the admin pastes (kept in sessionStorage only).
 */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>svu-gateway · delivery</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}th{background:#f4f4f4}.bad{color:#b00}button{cursor:pointer}</style>
</head><body>
<h1>Delivery</h1>
<p><label>Admin token <input id="tok" size="60" type="password"></label> <button id="go">Load</button>
 · <a href="/admin/queues/">Queues (Bull Board)</a> · <a href="/metrics">Metrics</a></p>
<h2>Overview</h2><pre id="ov"></pre>
<h2>Endpoints (last hour)</h2><table id="ep"></table>
<h2>Dead letters</h2><table id="dl"></table>
<script>
const $ = (id) => document.getElementById(id);
$('tok').value = sessionStorage.getItem('svu-admin-token') || '';
const api = async (path, method = 'GET') => {
  const r = await fetch(path, { method, headers: { Authorization: 'Bearer ' + $('tok').value } });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
};
const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const table = (el, rows, cols, extra) => {
  el.innerHTML = '<tr>' + cols.map((c) => '<th>' + c + '</th>').join('') + (extra ? '<th></th>' : '') + '</tr>' +
    rows.map((r) => '<tr>' + cols.map((c) => '<td>' + esc(typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c]) + '</td>').join('') +
      (extra ? '<td>' + extra(r) + '</td>' : '') + '</tr>').join('');
};
async function load() {
  sessionStorage.setItem('svu-admin-token', $('tok').value);
  try {
    $('ov').textContent = JSON.stringify(await api('/admin/api/overview'), null, 2);
    table($('ep'), await api('/admin/api/endpoints'), ['endpoint', 'attempts', 'failures', 'lastSuccess', 'lastError', 'breaker']);
    table($('dl'), await api('/admin/api/dead-letters'), ['id', 'subscriptionId', 'eventNumber', 'focus', 'endpoint', 'reason', 'parkedBehind', 'at'],
      (r) => '<button data-a="replay" data-id="' + r.id + '">Replay</button> <button data-a="discard" data-id="' + r.id + '">Discard</button>');
  } catch (e) { $('ov').textContent = String(e); $('ov').className = 'bad'; }
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-a]');
  if (!b) return;
  await api('/admin/api/dead-letters/' + b.dataset.id + '/' + b.dataset.a, 'POST').catch((err) => alert(err));
  load();
});
$('go').onclick = load;
if ($('tok').value) load();
</script></body></html>`;
