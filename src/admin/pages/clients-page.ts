import type { PageContent } from './console-pages';

/**
 * The OAuth clients: each with its organisation's name, role, allowed scopes, how it authenticates, whether it may
 * get tokens and (admin clients) whether it sees protected identities in full; disable and enable; grant or withdraw
 * the protected-identity right (after a warning); a new client (an admin client with the right if asked, after the
 * same warning) with either a secret made in the browser
 * (crypto.getRandomValues) and shown once, or public keys (a JWKS pasted as JSON, private_key_jwt); new keys for a
 * client (rotation). Every change is a PUT to `/admin/api/clients/<id>` (src/auth/clients.routes.ts), so the API's
 * rules are the only rules: what it refuses (a key with private key material, a key it cannot use, the right for a
 * client that is no admin) is shown as it says it. A PUT naming no secret and no JWKS keeps the client's credentials;
 * one naming a JWKS replaces them. Text that is no JSON is refused before anything is sent. Every change is audited
 * by the API (an AuditEvent per PUT that changes the client, src/auth/client-audit.ts); the page says where to find
 * them.
 * (In this template literal `\\` stands for one backslash in the page's script.)
 */
export const CLIENTS_PAGE: PageContent = {
  title: 'clients.title',
  textPrefix: 'clients.',
  body: `<p id="done" class="ok" role="status"></p><div id="secretBox" hidden><p id="secretNote"></p><pre id="secret"></pre></div>
<table id="list"></table>
<p id="pidNote" class="bad" role="note" data-t="clients.pidNote"></p>
<p id="auditedNote" role="note" data-t="clients.audited"></p>
<form id="keys" hidden><h2 id="keysTitle"></h2><p data-t="clients.keysNote"></p>
<p><textarea id="newJwks" rows="8" cols="90" spellcheck="false" placeholder='{"keys": [{"kty": "EC", "crv": "P-384", "x": "…", "y": "…", "kid": "…"}]}'></textarea></p>
<p><button id="saveKeys" data-t="clients.saveKeys"></button> <button type="button" id="cancelKeys" data-t="clients.cancel"></button></p></form>
<h2 data-t="clients.new"></h2>
<form id="create"><p>
<label><span data-t="clients.clientId"></span> <input id="cid" size="20" required></label>
<label><span data-t="clients.organization"></span> <select id="org" required></select></label>
<label><span data-t="clients.role"></span> <select id="role"><option value="hospital" data-t="clients.role.hospital"></option>
<option value="municipality" data-t="clients.role.municipality"></option><option value="primary-care" data-t="clients.role.primary-care"></option>
<option value="admin" data-t="clients.role.admin"></option></select></label></p><p>
<label><span data-t="clients.scopes"></span> <input id="scopes" size="60" placeholder="system/Task.cruds system/Encounter.rs"></label>
<label><input type="checkbox" id="admin"> <span data-t="clients.admin"></span></label>
<label id="pidBox" hidden><input type="checkbox" id="pid"> <span data-t="clients.grantAtCreate"></span></label></p>
<p><label for="jwks" data-t="clients.jwks"></label><br>
<textarea id="jwks" rows="6" cols="90" spellcheck="false" placeholder='{"keys": [{"kty": "EC", "crv": "P-384", "x": "…", "y": "…", "kid": "…"}]}'></textarea></p>
<p><button id="go" data-t="clients.create"></button></p></form>`,
  script: `for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];
let orgs = [];
const orgName = (ref) => { const o = orgs.find((x) => x.reference === ref); return orgLabel(o && o.name, ref); };
const yesNo = (b) => T[b ? 'clients.yes' : 'clients.no'];
const button = (data, id, to, text) => '<button data-' + data + '="' + esc(id) + '" data-to="' + to + '">' + esc(T[text]) + '</button>';
let clients = [];
async function load() {
  try {
    clients = await api('/admin/api/clients');
    const rows = clients.map((c) => ({ clientId: c.clientId, organisation: orgName(c.organization), role: say('clients.role.', c.role),
      allowedScopes: c.allowedScopes.join(' '), admin: yesNo(c.admin), enabled: yesNo(!c.disabled), authMethods: c.authMethods.join(', '),
      protectedIdentity: c.role === 'admin' ? yesNo(c.protectedIdentity) : '', off: c.disabled, pid: c.protectedIdentity, mayHold: c.role === 'admin' }));
    table($('list'), rows, ['clientId', 'organisation', 'role', 'allowedScopes', 'admin', 'enabled', 'authMethods', 'protectedIdentity'],
      (r) => button('toggle', r.clientId, r.off ? 'enable' : 'disable', r.off ? 'clients.enable' : 'clients.disable') + ' ' +
        button('keys', r.clientId, '', 'clients.newKeys') +
        (r.mayHold ? ' ' + button('pid', r.clientId, r.pid ? 'withdraw' : 'grant', r.pid ? 'clients.withdraw' : 'clients.grant') : ''));
  } catch (e) { fail(e); }
}
// The client's settings as the API shows them, sent back with 'change' applied (its credentials stay unless 'change'
// names new ones).
async function update(id, change) {
  const c = await api('/admin/api/clients/' + encodeURIComponent(id));
  const { allowedScopes, organization, role, admin, protectedIdentity, disabled } = c;
  await api('/admin/api/clients/' + encodeURIComponent(id), 'PUT', { allowedScopes, organization, role, admin, protectedIdentity, disabled, ...change });
}
// Pasted keys as JSON; what is no JSON is said here, what is no usable JWKS the API says.
const jwksOf = (text) => { try { return JSON.parse(text); } catch (e) { throw new Error(T['clients.badJson'] + ' (' + e.message + ')'); } };
const reset = () => { clearError(); $('done').textContent = ''; $('secretBox').hidden = true; };
const done = (key, id) => { $('done').textContent = T[key].replace('{id}', id); };
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-toggle], button[data-pid], button[data-keys]');
  if (!b) return;
  reset();
  if (b.dataset.keys) {
    $('keys').hidden = false; $('keys').dataset.id = b.dataset.keys;
    $('keysTitle').textContent = T['clients.keysFor'].replace('{id}', b.dataset.keys);
    $('newJwks').focus();
    return;
  }
  const id = b.dataset.toggle || b.dataset.pid, to = b.dataset.to;
  if (to === 'disable' && !confirm(T['clients.confirmDisable'].replace('{id}', id))) return;
  if (to === 'grant' && !confirm(T['clients.confirmGrant'].replace('{id}', id))) return;
  const change = b.dataset.toggle ? { disabled: to === 'disable' } : { protectedIdentity: to === 'grant' };
  await update(id, change).then(() => done('clients.done.' + to, id)).catch(fail);
  load();
});
$('cancelKeys').onclick = () => { $('keys').hidden = true; $('newJwks').value = ''; };
$('keys').onsubmit = async (e) => {
  e.preventDefault();
  reset();
  const id = $('keys').dataset.id;
  try {
    await update(id, { jwks: jwksOf($('newJwks').value) });
    done('clients.done.keys', id);
    $('keys').hidden = true; $('newJwks').value = '';
  } catch (err) { fail(err); }
  load();
};
// The protected-identity right is offered for an admin client only (the only kind that can hold it).
const offerPid = () => { $('pidBox').hidden = $('role').value !== 'admin'; if ($('pidBox').hidden) $('pid').checked = false; };
$('role').onchange = offerPid;
// 32 random bytes, base64url: the secret the API hashes and never shows again.
const newSecret = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
$('create').onsubmit = async (e) => {
  e.preventDefault();
  reset();
  const id = $('cid').value.trim();
  try {
    // Public keys when pasted, else a secret shown once.
    const keys = $('jwks').value.trim() ? { jwks: jwksOf($('jwks').value) } : undefined;
    // A PUT to an existing id would change that client: a new one only.
    await load();
    if (clients.some((c) => c.clientId === id)) throw new Error(T['clients.exists'].replace('{id}', id));
    // The right at creation: the same warning as a grant; declined, nothing is sent.
    const protectedIdentity = $('pid').checked;
    if (protectedIdentity && !confirm(T['clients.confirmGrant'].replace('{id}', id))) return;
    const secret = keys ? undefined : newSecret();
    await api('/admin/api/clients/' + encodeURIComponent(id), 'PUT', { ...(keys || { secret }), organization: $('org').value, role: $('role').value,
      allowedScopes: $('scopes').value.split(/\\s+/).filter(Boolean), admin: $('admin').checked, protectedIdentity });
    if (keys) done('clients.createdKeys', id);
    else {
      $('secretNote').textContent = T['clients.created'].replace('{id}', id);
      $('secret').textContent = secret;
      $('secretBox').hidden = false;
    }
    $('create').reset();
    offerPid();
  } catch (err) { fail(err); }
  load();
};
api('/admin/api/organisations').then((list) => {
  orgs = list;
  $('org').innerHTML = orgs.map((o) => '<option value="' + esc(o.reference) + '">' + esc(orgLabel(o.name, o.reference)) + '</option>').join('');
}).catch(fail).then(load);`,
};
