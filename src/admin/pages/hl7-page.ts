import type { PageContent } from './console-pages';

/**
 * The HL7 v2 message browser: search by time range, sender, event, status, visit number and personnummer; a
 * message's segments as a tree (segment → field → component), what it produced (the `outcome` the intake
 * records: Encounter version, Tasks created/changed/cancelled, engine warnings) and "process again".
 * (In this template literal `\\` stands for one backslash in the page's script.)
 */
export const HL7_PAGE: PageContent = {
  title: 'hl7.title',
  textPrefix: 'hl7.',
  body: `<p class="muted" id="audited"></p><p id="counts"></p>
<form id="search"><p>
<label><span data-t="hl7.from"></span> <input type="datetime-local" id="from"></label>
<label><span data-t="hl7.to"></span> <input type="datetime-local" id="to"></label>
<label><span data-t="hl7.status"></span> <select id="status"><option value="" data-t="hl7.any"></option><option value="pending" data-t="hl7.st.pending"></option>
<option value="accepted" data-t="hl7.st.accepted"></option><option value="ignored" data-t="hl7.st.ignored"></option>
<option value="rejected" data-t="hl7.st.rejected"></option><option value="error" data-t="hl7.st.error"></option></select></label></p><p>
<label><span data-t="hl7.sender"></span> <input id="sender" size="26" placeholder="MSH-3 (/MSH-4)"></label>
<label><span data-t="hl7.event"></span> <input id="event" size="5" placeholder="A01"></label>
<label><span data-t="hl7.visit"></span> <input id="visit" size="14"></label>
<label><span data-t="hl7.pnr"></span> <input id="pnr" size="14" placeholder="ÅÅÅÅMMDD-NNNN"></label>
<button id="go" data-t="hl7.search"></button></p></form>
<table id="list"></table><p><button id="more" hidden data-t="hl7.older"></button></p><div id="one"></div>`,
  script: `for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
$('audited').textContent = T['common.audited'];
let next = '';
// A message's status as a person reads it (the stored code where there is no text for it).
const statusText = (s) => say('hl7.st.', s);
const FIELDS = ['from', 'to', 'status', 'sender', 'event', 'visit', 'pnr'];
function query() {
  const q = new URLSearchParams({ limit: '50' });
  for (const k of FIELDS) {
    let v = $(k).value.trim();
    if (!v) continue;
    if (k === 'from' || k === 'to') v = fromStockholm(v);
    q.set(k, v);
  }
  return q;
}
async function load(append) {
  try {
    clearError();
    const s = await api('/admin/api/hl7/summary');
    $('counts').innerHTML = Object.entries(s.byStatus).map(([k, v]) => esc(statusText(k)) + ': <b>' + esc(v.count) + '</b>').join(' · ');
    const q = query();
    if (append && next) for (const [k, v] of new URLSearchParams(next)) q.set(k, v);
    const page = await api('/admin/api/hl7/messages?' + q);
    // The sending organisation by name (MSH-3/MSH-4 where the directory has none), the visit number (PV1-19).
    const rows = page.messages.map((m) => ({ ...m, sender: m.senderName || m.sender, status: statusText(m.status) }));
    const cols = ['id', 'receivedAt', 'sender', 'event', 'controlId', 'status', 'ackCode', 'visitNumber', 'errorReason'];
    if (append) { const t = document.createElement('table'); table(t, rows, cols, null, (m) => m.id); $('list').append(...[...t.rows].slice(1)); }
    else table($('list'), rows, cols, null, (m) => m.id);
    next = page.next || '';
    $('more').hidden = !next;
  } catch (e) { fail(e); }
}
// Segment → field → repetition → component, numbered as HL7 numbers them (MSH-1 is the field separator).
function tree(raw) {
  return String(raw).split(/\\r\\n|\\r|\\n/).filter(Boolean).map((seg) => {
    const name = seg.slice(0, 3);
    const parts = seg.split('|');
    const fields = name === 'MSH' ? ['|', ...parts.slice(1)] : parts.slice(1);
    const items = fields.map((f, i) => {
      if (!f) return '';
      const comps = f.split('~').flatMap((rep) => rep.split('^'));
      const inner = comps.length > 1 ? '<ul>' + comps.map((c, j) => c ? '<li>' + esc(name + '-' + (i + 1) + '.' + (j + 1)) + ': ' + esc(c) + '</li>' : '').join('') + '</ul>' : '';
      return '<li>' + esc(name + '-' + (i + 1)) + ': <span class="seg">' + esc(f) + '</span>' + inner + '</li>';
    }).join('');
    return '<details class="seg-node"><summary class="seg">' + esc(name) + '</summary><ul>' + items + '</ul></details>';
  }).join('');
}
function produced(o) {
  if (!o) return '<p class="muted">' + esc(T['hl7.noOutcome']) + '</p>';
  const list = (k, ids) => ids && ids.length ? '<li>' + esc(T[k]) + ': ' + ids.map((id) => '<a href="/admin/resources?type=Task&id=' + encodeURIComponent(id.replace(/^Task\\//, '')) + '">' + esc(id) + '</a>').join(', ') + '</li>' : '';
  const enc = o.encounter ? '<li>' + esc(T['hl7.encounter']) + ': <a href="/admin/resources?type=Encounter&id=' + encodeURIComponent(o.encounter.id) + '">Encounter/' + esc(o.encounter.id) + '</a> v' + esc(o.encounter.version) +
    ' · <a id="caseLink" href="/admin/cases/' + encodeURIComponent(o.encounter.id) + '">' + esc(T['hl7.case']) + '</a></li>' : '';
  const warn = o.warnings && o.warnings.length ? '<li>' + esc(T['hl7.warnings']) + ':<ul>' + o.warnings.map((w) => '<li><code>' + esc(w.code) + '</code> ' + esc(w.text) + '</li>').join('') + '</ul></li>' : '';
  const t = o.tasks || {};
  const items = enc + list('hl7.created', t.created) + list('hl7.changed', t.changed) + list('hl7.cancelled', t.cancelled) + warn;
  return items ? '<ul id="outcome">' + items + '</ul>' : '<p class="muted">' + esc(T['hl7.noOutcome']) + '</p>';
}
async function show(id) {
  try {
    clearError();
    const m = await api('/admin/api/hl7/messages/' + encodeURIComponent(id));
    const again = (m.status === 'rejected' || m.status === 'error') && !m.correctedBy;
    $('one').innerHTML = '<h2>#' + esc(m.id) + ' · ' + esc(m.event) + ' · ' + esc(statusText(m.status)) + '</h2>' +
      '<p id="sentBy">' + esc(m.senderName || m.sender) + ' · ' + esc(when(m.receivedAt)) + (m.visitNumber ? ' · PV1-19 ' + esc(m.visitNumber) : '') + '</p>' +
      (m.errorReason ? '<p class="bad">' + esc(m.errorCode) + ': ' + esc(m.errorReason) + '</p>' : '') +
      (m.correctedBy ? '<p id="correctedBy">' + esc(T['hl7.correctedBy']) + ' <a href="#" data-show="' + esc(m.correctedBy) + '">#' + esc(m.correctedBy) + '</a></p>' : '') +
      (again ? '<p><button id="again" data-id="' + esc(m.id) + '">' + esc(T['hl7.reprocess']) + '</button></p>' : '') +
      '<p id="againResult" role="status"></p>' +
      '<h3>' + esc(T['hl7.produced']) + '</h3>' + produced(m.outcome) +
      '<h3>' + esc(T['hl7.segments']) + '</h3><div id="tree">' + tree(m.raw) + '</div>';
  } catch (e) { fail(e); }
}
document.addEventListener('click', async (e) => {
  const tr = e.target.closest('tr[data-id]');
  if (tr) return show(tr.dataset.id);
  const to = e.target.closest('a[data-show]');
  if (to) { e.preventDefault(); return show(to.dataset.show); }
  const b = e.target.closest('#again');
  if (!b) return;
  const id = b.dataset.id;
  b.disabled = true;
  try {
    // What became of it (queued, rejected again and why, not allowed now), shown below the message's heading.
    const out = await api('/admin/api/hl7/messages/' + encodeURIComponent(id) + '/reprocess', 'POST');
    await load(false);
    await show(id);
    $('againResult').textContent = (T['hl7.reprocessed.' + out.status] || out.status) + (out.reason ? ': ' + out.reason : '');
  } catch (err) { fail(err); b.disabled = false; }
});
$('search').onsubmit = (e) => { e.preventDefault(); load(false); };
$('more').onclick = () => load(true);
load(false);`,
};
