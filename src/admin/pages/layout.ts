import { columnLabels, LANG_COOKIE, t, texts, type Lang, type TextKey } from './i18n';
import { TIME_SCRIPT } from '../../http/time-format';
import { DURATION_SCRIPT } from './duration';

export type PageId =
  'overview' | 'delivery' | 'hl7' | 'subscriptions' | 'clients' | 'deadlines' | 'holidays' | 'resources' | 'sessions';

const NAV: readonly [PageId | 'queues' | 'dashboard' | 'metrics', string, TextKey][] = [
  ['overview', '/admin', 'nav.overview'],
  ['delivery', '/admin/delivery', 'nav.delivery'],
  ['hl7', '/admin/hl7', 'nav.hl7'],
  ['subscriptions', '/admin/subscriptions', 'nav.subscriptions'],
  ['clients', '/admin/clients', 'nav.clients'],
  ['deadlines', '/admin/deadlines', 'nav.deadlines'],
  ['holidays', '/admin/holidays', 'nav.holidays'],
  ['resources', '/admin/resources', 'nav.resources'],
  ['queues', '/admin/queues/', 'nav.queues'],
  ['dashboard', '/admin/dashboard', 'nav.dashboard'],
  ['sessions', '/admin/sessions', 'nav.sessions'],
  ['metrics', '/metrics', 'nav.metrics'],
];

export function esc(v: string | number | null | undefined): string {
  return String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:0;color:#222}main{padding:1rem 2rem;max-width:90rem}
nav{background:#1d3557;padding:.5rem 2rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
nav a{color:#f1faee;text-decoration:none}nav a.on{font-weight:bold;border-bottom:2px solid #f1faee}
nav .right{margin-left:auto;color:#cdd;display:flex;gap:.75rem;align-items:center}nav button{cursor:pointer}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f4f4f4}.bad{color:#b00}.ok{color:#070}.muted{color:#777}
tr[data-id]{cursor:pointer}tr[data-id]:hover{background:#f4f6ff}pre{background:#f6f6f6;padding:.75rem;white-space:pre-wrap;
word-break:break-all}label{margin-right:.75rem}details{margin:.2rem 0}summary{cursor:pointer}.seg{font-family:monospace}td button{white-space:nowrap}`;

/**
 * Script helpers every page shares: `T` (texts), `api` (same-origin JSON with the CSRF header), `esc`, `table` (an
 * instant in a cell is shown in Swedish time with its offset: `when`, see src/http/time-format.ts) and `orgLabel`
 * (an organisation's name, or `okänd organisation (Organization/x)` when the directory has none).
 */
const HELPERS = `${TIME_SCRIPT}${DURATION_SCRIPT}
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const api = async (path, method = 'GET', json) => {
  const headers = { 'X-SVU-Admin': '1', ...(json === undefined ? {} : { 'Content-Type': 'application/json' }) };
  const r = await fetch(path, { method, credentials: 'same-origin', headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
  if (r.status === 401) { location.href = '/admin/login?next=' + encodeURIComponent(location.pathname + location.search); throw new Error('401'); }
  const body = await r.json().catch(() => ({}));
  // An OperationOutcome's every issue (a refused registration names each rule it breaks).
  const issues = (body.issue || []).map((i) => i.diagnostics).filter(Boolean).join('; ');
  if (!r.ok && r.status !== 409) throw new Error(path + ': HTTP ' + r.status + ' ' + (body.error || body.reason || issues));
  return body;
};
// A number of seconds as a person reads it ('3 min 20 s', '1 dygn 4 h'): DURATION_SCRIPT's duration.
const span = (s) => duration(s, T['common.day']);
const cell = (v) => isInstant(v) ? '<time datetime="' + esc(v) + '">' + esc(when(v)) + '</time>' : esc(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
const table = (el, rows, cols, extra, idOf) => {
  if (!rows.length) { el.innerHTML = '<tr><td class="muted">' + esc(T['common.none']) + '</td></tr>'; return; }
  el.innerHTML = '<tr>' + cols.map((c) => '<th data-col="' + esc(c) + '">' + esc(C[c] || c) + '</th>').join('') + (extra ? '<th></th>' : '') + '</tr>' +
    rows.map((r) => '<tr' + (idOf ? ' data-id="' + esc(idOf(r)) + '"' : '') + '>' + cols.map((c) => '<td>' + cell(r[c]) + '</td>').join('') +
      (extra ? '<td>' + extra(r) + '</td>' : '') + '</tr>').join('');
};
// An organisation as a person reads it: its directory name, or plainly unknown with the reference to look it up by.
const orgLabel = (name, ref) => name || (ref ? T['common.unknownOrg'] + ' (' + ref + ')' : '');
// A new search or view starts without the previous one's error.
const clearError = () => { $('err').hidden = true; };
// A code as a person reads it: the text under prefix + code, else the code itself.
const say = (prefix, code) => T[prefix + code] || code;
const fail = (e) => { const el = $('err'); el.textContent = T['common.error'] + ': ' + e.message; el.hidden = false; };
`;

export interface PageOptions {
  lang: Lang;
  active: PageId;
  title: TextKey;
  /** The signed-in client (shown in the bar), when known. */
  clientId?: string;
  /** HTML of the page body (below the heading). */
  body: string;
  /** The page's own script (runs after HELPERS). */
  script: string;
  /** Text key prefix of the strings the script needs. */
  textPrefix: string;
  /** The current path and query, for the language links. */
  self: string;
}

function langLink(self: string, to: Lang, label: string, current: Lang): string {
  const u = new URL(self, 'http://x');
  u.searchParams.set('lang', to);
  return to === current ? `<b>${label}</b>` : `<a href="${esc(u.pathname + u.search)}" lang="${to}">${label}</a>`;
}

function navLinks(lang: Lang, active: string): string {
  return NAV.map(
    ([id, href, key]) =>
      `<a href="${href}"${id === active ? ' class="on"' : ''} data-nav="${id}">${esc(t(lang, key))}</a>`,
  ).join('');
}

/**
 * The console's navigation bar for a page with styles of its own and Swedish text only (the follow-up dashboard, a
 * case overview): the same links, styled inline (no script, so a page without scripts can carry it), always in
 * Swedish like the page around it, without the language switch. `margin` places it (default: across a body with a
 * 2rem margin).
 */
export function consoleNavBar(active: 'dashboard' | 'case', margin = '-2rem -2rem 1.5rem'): string {
  const links = NAV.map(
    ([id, href, key]) =>
      `<a href="${href}" data-nav="${id}" style="color:#f1faee;text-decoration:none${id === active ? ';font-weight:bold;border-bottom:2px solid #f1faee' : ''}">${esc(t('sv', key))}</a>`,
  ).join('');
  return `<nav id="consoleNav" lang="sv" style="background:#1d3557;padding:.5rem 2rem;margin:${margin};display:flex;gap:1rem;flex-wrap:wrap">${links}</nav>`;
}

/** `html` (a page of its own) with `consoleNavBar(active, margin)` first in its body. */
export function withConsoleNav(html: string, active: 'dashboard' | 'case', margin?: string): string {
  return html.replace(/<body\b[^>]*>/, (body) => body + consoleNavBar(active, margin));
}

/** One admin page: the navigation bar (all pages, language switch, logout), the heading and the body. */
export function renderPage(o: PageOptions): string {
  const nav = navLinks(o.lang, o.active);
  const who = o.clientId ? `<span>${esc(t(o.lang, 'nav.signedInAs'))} <b id="who">${esc(o.clientId)}</b></span>` : '';
  return `<!doctype html>
<html lang="${o.lang}"><head><meta charset="utf-8"><title>${esc(t(o.lang, o.title))} · svu-gateway</title>
<meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>
<nav>${nav}<span class="right">${who}${langLink(o.self, 'sv', 'Svenska', o.lang)} ${langLink(o.self, 'en', 'English', o.lang)}
<form method="post" action="/admin/logout"><button id="logout">${esc(t(o.lang, 'nav.logout'))}</button></form></span></nav>
<main><h1>${esc(t(o.lang, o.title))}</h1><p id="err" class="bad" hidden></p>
${o.body}</main>
<script>const T = ${JSON.stringify(texts(o.lang, o.textPrefix)).replace(/</g, '\\u003c')};
const C = ${JSON.stringify(columnLabels(o.lang)).replace(/</g, '\\u003c')};${HELPERS}
${o.script}</script></body></html>`;
}

/** `Set-Cookie` value remembering the language for the console's pages. */
export function langCookie(lang: Lang): string {
  return `${LANG_COOKIE}=${lang}; Path=/admin; SameSite=Strict; Max-Age=31536000`;
}
