import { t, type Lang } from './i18n';
import { esc } from './layout';

/** The login form of the admin console (client id and secret of an admin client); no data in it. */
export function loginPage(lang: Lang, next: string, state?: 'failed' | 'out' | 'limited', oidc = false): string {
  const sso = oidc
    ? `<p><a class="sso" id="oidc" href="/admin/oidc/login?next=${encodeURIComponent(next)}">${esc(t(lang, 'login.oidc'))}</a></p><p class="or">${esc(t(lang, 'login.or'))}</p>`
    : '';
  const note =
    state === 'limited'
      ? `<p class="bad" id="limited">${esc(t(lang, 'login.limited'))}</p>`
      : state === 'failed'
        ? `<p class="bad" id="failed">${esc(t(lang, 'login.failed'))}</p>`
        : state === 'out'
          ? `<p id="out">${esc(t(lang, 'login.loggedOut'))}</p>`
          : '';
  const other: Lang = lang === 'sv' ? 'en' : 'sv';
  const switchHref = `/admin/login?lang=${other}&next=${encodeURIComponent(next)}`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${esc(t(lang, 'login.title'))} · svu-gateway</title>
<style>body{font:15px system-ui,sans-serif;display:flex;justify-content:center;margin-top:10vh;color:#222}
form{display:grid;gap:.6rem;min-width:22rem}input{font:inherit;padding:.4rem}button{font:inherit;padding:.5rem;cursor:pointer}
.bad{color:#b00}.sso{display:block;text-align:center;padding:.5rem;border:1px solid #245;background:#245;color:#fff;text-decoration:none}.or{color:#666;text-align:center}</style></head><body><main>
<h1>svu-gateway</h1><h2>${esc(t(lang, 'login.title'))}</h2><p>${esc(t(lang, 'login.lead'))}</p>${note}
${sso}<form method="post" action="/admin/login">
<input type="hidden" name="next" value="${esc(next)}">
<label>${esc(t(lang, 'login.clientId'))}<br><input name="client_id" id="client_id" autocomplete="username" required></label>
<label>${esc(t(lang, 'login.secret'))}<br><input name="client_secret" id="client_secret" type="password" autocomplete="current-password" required></label>
<button type="submit" id="submit">${esc(t(lang, 'login.submit'))}</button></form>
<p><a href="${esc(switchHref)}" lang="${other}">${other === 'en' ? 'English' : 'Svenska'}</a></p>
</main></body></html>`;
}
