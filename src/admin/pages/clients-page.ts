import type { PageContent } from './console-pages';

/**
 * The OAuth clients: each with its organisation's name, role, allowed scopes and whether it may get tokens; disable
 * and enable; a new client with a secret made in the browser (crypto.getRandomValues) and shown once. Every change
 * is a PUT to `/admin/api/clients/<id>` (src/auth/clients.routes.ts), so the API's rules are the only rules: what it
 * refuses is shown as it says it. A PUT naming no secret keeps the client's credentials.
 * (In this template literal `\\` stands for one backslash in the page's script.)
 */
export const CLIENTS_PAGE: PageContent = {
  title: 'clients.title',
  textPrefix: 'clients.',
  body: `<p id="done" class="ok" role="status"></p><div id="secretBox" hidden><p id="secretNote"></p><pre id="secret"></pre></div>
<table id="list"></table>
<h2 data-t="clients.new"></h2>
<form id="create"><p>
<label><span data-t="clients.clientId"></span> <input id="cid" size="20" required></label>
<label><span data-t="clients.organization"></span> <select id="org" required></select></label>
<label><span data-t="clients.role"></span> <select id="role"><option value="hospital" data-t="clients.role.hospital"></option>
<option value="municipality" data-t="clients.role.municipality"></option><option value="primary-care" data-t="clients.role.primary-care"></option>
<option value="admin" data-t="clients.role.admin"></option></select></label></p><p>
<label><span data-t="clients.scopes"></span> <input id="scopes" size="60" placeholder="system/Task.cruds system/Encounter.rs"></label>
<label><input type="checkbox" id="admin"> <span data-t="clients.admin"></span></label>
<button id="go" data-t="clients.create"></button></p></form>`,
  script: `for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
let orgs = [];
const orgName = (ref) => { const o = orgs.find((x) => x.reference === ref); return orgLabel(o && o.name, ref); };
const yesNo = (b) => T[b ? 'clients.yes' : 'clients.no'];
let clients = [];
async function load() {
  try {
    clients = await api('/admin/api/clients');
    const rows = clients.map((c) => ({ clientId: c.clientId, organisation: orgName(c.organization), role: say('clients.role.', c.role),
      allowedScopes: c.allowedScopes.join(' '), admin: yesNo(c.admin), enabled: yesNo(!c.disabled), authMethods: c.authMethods.join(', '), off: c.disabled }));
    table($('list'), rows, ['clientId', 'organisation', 'role', 'allowedScopes', 'admin', 'enabled', 'authMethods'],
      (r) => '<button data-toggle="' + esc(r.clientId) + '" data-to="' + (r.off ? 'enable' : 'disable') + '">' + esc(T[r.off ? 'clients.enable' : 'clients.disable']) + '</button>');
  } catch (e) { fail(e); }
}
// The client's settings as the API shows them, sent back with only 'disabled' changed (its credentials stay).
async function toggle(id, to) {
  const c = await api('/admin/api/clients/' + encodeURIComponent(id));
  const { allowedScopes, organization, role, admin, protectedIdentity } = c;
  await api('/admin/api/clients/' + encodeURIComponent(id), 'PUT', { allowedScopes, organization, role, admin, protectedIdentity, disabled: to === 'disable' });
  $('done').textContent = T['clients.done.' + to].replace('{id}', id);
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-toggle]');
  if (!b) return;
  const id = b.dataset.toggle, to = b.dataset.to;
  if (to === 'disable' && !confirm(T['clients.confirmDisable'].replace('{id}', id))) return;
  clearError(); $('done').textContent = ''; $('secretBox').hidden = true;
  await toggle(id, to).catch(fail);
  load();
});
// 32 random bytes, base64url: the secret the API hashes and never shows again.
const newSecret = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
$('create').onsubmit = async (e) => {
  e.preventDefault();
  clearError(); $('done').textContent = ''; $('secretBox').hidden = true;
  const id = $('cid').value.trim();
  try {
    // A PUT to an existing id would change that client: a new one only.
    await load();
    if (clients.some((c) => c.clientId === id)) throw new Error(T['clients.exists'].replace('{id}', id));
    const secret = newSecret();
    await api('/admin/api/clients/' + encodeURIComponent(id), 'PUT', { secret, organization: $('org').value, role: $('role').value,
      allowedScopes: $('scopes').value.split(/\\s+/).filter(Boolean), admin: $('admin').checked });
    $('secretNote').textContent = T['clients.created'].replace('{id}', id);
    $('secret').textContent = secret;
    $('secretBox').hidden = false;
    $('create').reset();
  } catch (err) { fail(err); }
  load();
};
api('/admin/api/organisations').then((list) => {
  orgs = list;
  $('org').innerHTML = orgs.map((o) => '<option value="' + esc(o.reference) + '">' + esc(orgLabel(o.name, o.reference)) + '</option>').join('');
}).catch(fail).then(load);`,
};
