import type { PageId } from './layout';
import type { TextKey } from './i18n';

/** A page's body and script; the layout adds the navigation, heading and shared helpers. */
export interface PageContent {
  title: TextKey;
  textPrefix: string;
  body: string;
  script: string;
}

const overview: PageContent = {
  title: 'overview.title',
  textPrefix: 'overview.',
  body: `<table id="ov"></table><h2 id="qh"></h2><table id="queues"></table>`,
  script: `$('qh').textContent = T['overview.queues'];
api('/admin/api/overview').then((ov) => {
  // Subscriptions per status as words ('aktiv: 3 · avstängd: 1'), not an object; a number of seconds as a span.
  const value = (k, v) => k === 'subscriptions' && v && typeof v === 'object' ? Object.entries(v).map(([s, n]) => say('common.sub.', s) + ': ' + n).join(' · ')
    : k.endsWith('Seconds') ? span(v) : v;
  const flat = Object.entries(ov).filter(([k]) => k !== 'queues').map(([k, v]) => ({ key: C[k] || k, value: value(k, v) }));
  table($('ov'), flat, ['key', 'value']);
  table($('queues'), ov.queues, ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed']);
}).catch(fail);`,
};

const delivery: PageContent = {
  title: 'delivery.title',
  textPrefix: 'delivery.',
  body: `<p id="done" class="ok" role="status"></p><h2 id="h-ep"></h2><table id="ep"></table><h2 id="h-dl"></h2><table id="dl"></table>
<h2 id="h-rc"></h2><table id="rc"></table>`,
  script: `$('h-ep').textContent = T['delivery.endpoints']; $('h-dl').textContent = T['delivery.deadLetters'];
$('h-rc').textContent = T['delivery.recent'];
let subs = [];
const orgOfSub = (id) => { const s = subs.find((x) => x.id === id); return s ? orgLabel(s.organizationName, s.organization) : ''; };
const orgOfEndpoint = (ep) => { const s = subs.find((x) => x.endpoint && (ep === x.endpoint || x.endpoint.startsWith(ep))); return s ? orgLabel(s.organizationName, s.organization) : ''; };
async function load() {
  try {
    subs = await api('/admin/api/subscriptions');
    const eps = (await api('/admin/api/endpoints')).map((e) => ({ organisation: orgOfEndpoint(e.endpoint), ...e, breaker: say('delivery.breaker.', e.breaker.state) }));
    table($('ep'), eps, ['organisation', 'endpoint', 'attempts', 'failures', 'lastSuccess', 'lastError', 'breaker']);
    const dls = (await api('/admin/api/dead-letters')).map((d) => ({ organisation: orgOfSub(d.subscriptionId), ...d }));
    table($('dl'), dls, ['id', 'organisation', 'focus', 'endpoint', 'reason', 'parkedBehind', 'at'],
      (r) => '<button data-a="replay" data-id="' + esc(r.id) + '">' + esc(T['delivery.replay']) + '</button> <button data-a="discard" data-id="' + esc(r.id) + '">' + esc(T['delivery.discard']) + '</button>');
    const recent = (await api('/admin/api/deliveries?_count=50')).map((d) => ({ organisation: orgOfSub(d.subscriptionId), ...d,
      kind: say('delivery.kind.', d.kind), status: say('delivery.status.', d.status) }));
    table($('rc'), recent, ['at', 'organisation', 'kind', 'endpoint', 'attempt', 'status', 'httpStatus', 'error']);
  } catch (e) { fail(e); }
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-a]');
  if (!b) return;
  if (b.dataset.a === 'discard' && !confirm(T['delivery.confirmDiscard'])) return;
  $('done').textContent = '';
  // What was done, once the API says so (the row then leaves the list).
  const done = await api('/admin/api/dead-letters/' + b.dataset.id + '/' + b.dataset.a, 'POST').catch(fail);
  if (done) $('done').textContent = T['delivery.done.' + b.dataset.a].replace('{id}', b.dataset.id);
  load();
});
load();`,
};

const subscriptions: PageContent = {
  title: 'subs.title',
  textPrefix: 'subs.',
  body: `<div id="groups"></div>`,
  script: `api('/admin/api/subscriptions').then((rows) => {
  const groups = new Map();
  for (const r of rows.map((x) => ({ ...x, status: say('common.sub.', x.status) }))) {
    const k = orgLabel(r.organizationName, r.organization) || '—';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  $('groups').innerHTML = [...groups.keys()].map((k, i) => '<h2>' + esc(k) + '</h2><table id="g' + i + '"></table>').join('') || esc(T['common.none']);
  [...groups.values()].forEach((g, i) => table($('g' + i), g, ['id', 'status', 'criteria', 'criteriaProblem', 'endpoint', 'eventsSinceStart', 'consecutiveFailures', 'lastError', 'lastSentAt']));
}).catch(fail);`,
};

const resources: PageContent = {
  title: 'resources.title',
  textPrefix: 'resources.',
  body: `<p class="muted" id="audited"></p>
<p><label><span id="l-type"></span> <select id="type"><option>Encounter</option><option>Task</option><option>CarePlan</option>
<option>Patient</option></select></label><label><span id="l-id"></span> <input id="rid" size="38"></label>
<button id="show"></button></p><table id="list"></table><div id="one"></div>`,
  script: `$('audited').textContent = T['common.audited']; $('l-type').textContent = T['resources.type'];
$('l-id').textContent = T['resources.id']; $('show').textContent = T['resources.show'];
// An organisation in a summary: the Reference's display, else the directory's name (organizationNames from the
// API), else 'okänd organisation (Organization/x)' (orgLabel), never a bare reference.
const org = (ref, names) => ref && (ref.display || orgLabel(ref.reference && names[ref.reference], ref.reference));
const label = (r, names) => r.resourceType === 'Patient' ? (r.name && r.name[0] ? [r.name[0].family, ...(r.name[0].given || [])].join(' ') : '')
  : r.resourceType === 'Task' ? [r.code && (r.code.text || (r.code.coding && r.code.coding[0] && r.code.coding[0].code)), org(r.owner, names)].filter(Boolean).join(' → ')
  : r.resourceType === 'Encounter' ? [r.identifier && r.identifier[0] && r.identifier[0].value, org(r.serviceProvider, names)].filter(Boolean).join(' · ')
  : (r.title || '');
async function one(type, id) {
  const { resource, history } = await api('/admin/api/resources/' + type + '/' + encodeURIComponent(id));
  $('one').innerHTML = '<h2>' + esc(type + '/' + id) + '</h2><pre>' + esc(JSON.stringify(resource, null, 2)) + '</pre><h3>' + esc(T['resources.history']) + '</h3>' +
    history.map((h) => '<details><summary>v' + esc(h.versionId) + ' · ' + esc(h.lastUpdated) + ' · ' + esc(h.method) + '</summary><pre>' + esc(JSON.stringify(h.resource, null, 2)) + '</pre></details>').join('');
}
async function show() {
  try {
    clearError();
    const type = $('type').value, id = $('rid').value.trim();
    history.replaceState(null, '', '?type=' + type + (id ? '&id=' + encodeURIComponent(id) : ''));
    if (id) { $('list').innerHTML = ''; await one(type, id); return; }
    const { resources, organizationNames } = await api('/admin/api/resources/' + type + '?_count=30');
    $('one').innerHTML = '';
    table($('list'), resources.map((r) => ({ id: r.id, version: r.meta && r.meta.versionId, lastUpdated: r.meta && r.meta.lastUpdated, status: r.status, summary: label(r, organizationNames || {}) })),
      ['id', 'version', 'lastUpdated', 'status', 'summary'], null, (r) => r.id);
  } catch (e) { fail(e); }
}
$('list').addEventListener('click', (e) => { const tr = e.target.closest('tr[data-id]'); if (tr) one($('type').value, tr.dataset.id).catch(fail); });
$('show').onclick = show;
const qs = new URLSearchParams(location.search);
if (qs.get('type')) $('type').value = qs.get('type');
if (qs.get('id')) $('rid').value = qs.get('id');
show();`,
};

const sessions: PageContent = {
  title: 'sessions.title',
  textPrefix: 'sessions.',
  body: `<table id="list"></table>`,
  script: `async function load() {
  try {
    const { current, sessions } = await api('/admin/api/sessions');
    table($('list'), sessions.map((s) => ({ ...s, current: s.id === current ? '✔' : '' })),
      ['current', 'clientId', 'createdAt', 'lastSeenAt', 'expiresAt', 'remote', 'userAgent'],
      (s) => '<button data-revoke="' + esc(s.id) + '"' + (s.id === current ? ' data-own="1"' : '') + '>' + esc(T['sessions.revoke']) + '</button>');
  } catch (e) { fail(e); }
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-revoke]');
  if (!b) return;
  // Whoever uses the session is logged out at once (the admin's own one: this page too).
  if (!confirm(T[b.dataset.own ? 'sessions.confirmRevokeOwn' : 'sessions.confirmRevoke'])) return;
  await api('/admin/api/sessions/' + b.dataset.revoke + '/revoke', 'POST').catch(fail);
  load();
});
load();`,
};

export const PAGES: Record<Exclude<PageId, 'hl7' | 'clients' | 'deadlines' | 'holidays'>, PageContent> = {
  overview,
  delivery,
  subscriptions,
  resources,
  sessions,
};
