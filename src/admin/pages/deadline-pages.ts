import { SVU_TASK_CODE_INFO } from '../../fhir/codes';
import type { PageContent } from './console-pages';

/** Task code → its Swedish display, for the due-soon list (the API gives the code). */
const TASK_NAMES = JSON.stringify(
  Object.fromEntries(Object.entries(SVU_TASK_CODE_INFO).map(([code, info]) => [code, info.display])),
).replace(/</g, '\\u003c');

/** The `organisations` of the directory as `{ reference, name }` (`/admin/api/organisations`), then `then`. */
const ORGS = `let orgs = [];
const orgName = (ref) => { const o = orgs.find((x) => x.reference === ref); return orgLabel(o && o.name, ref); };
for (const el of document.querySelectorAll('[data-t]')) el.textContent = T[el.dataset.t];`;

/**
 * Open Tasks whose deadline falls soon (`/admin/api/deadlines/due-soon`: one organisation's, or without `organization`
 * the whole region's in one call and one AuditEvent): per organisation, by name, each Task's kind, its deadline in
 * Swedish time, its owner's name and a link to the stay's case page.
 */
export const DEADLINES_PAGE: PageContent = {
  title: 'deadlines.title',
  textPrefix: 'deadlines.',
  body: `<p class="muted" id="audited"></p><form id="pick"><p>
<label><span data-t="deadlines.organization"></span> <select id="org"><option value="" data-t="deadlines.all"></option></select></label>
<label><span data-t="deadlines.within"></span> <select id="within"><option value="PT24H" data-t="deadlines.within.PT24H"></option>
<option value="P3D" data-t="deadlines.within.P3D"></option><option value="P7D" data-t="deadlines.within.P7D"></option>
<option value="P30D" data-t="deadlines.within.P30D"></option></select></label>
<button id="show" data-t="deadlines.show"></button></p></form><p id="total"></p><div id="groups"></div>`,
  script: `${ORGS}
$('audited').textContent = T['common.audited'];
const TASKS = ${TASK_NAMES};
const caseLink = (enc) => enc ? '<a href="/admin/cases/' + encodeURIComponent(String(enc).replace(/^Encounter\\//, '')) + '">' + esc(T['deadlines.case']) + '</a>' : '';
async function show() {
  try {
    clearError();
    const org = $('org').value, within = $('within').value;
    history.replaceState(null, '', '?' + new URLSearchParams({ ...(org ? { organization: org } : {}), within }));
    const answer = await api('/admin/api/deadlines/due-soon?' + new URLSearchParams({ ...(org ? { organization: org } : {}), within }));
    // one organisation's list, or the region's (one read) grouped by the organisation that owns each Task
    const shown = org ? [answer] : answer.organisations;
    $('total').textContent = T['deadlines.total'].replace('{n}', answer.total) +
      (answer.truncated ? ' ' + T['deadlines.truncated'].replace('{n}', answer.total) : '');
    const heading = (l) => l.organization ? orgLabel(l.name !== l.organization && l.name, l.organization) : T['common.unknownOrg'];
    $('groups').innerHTML = shown.map((l, i) => '<h2>' + esc(heading(l)) + '</h2><table id="g' + i + '"></table>').join('') ||
      '<p class="muted">' + esc(T['common.none']) + '</p>';
    shown.forEach((l, i) => table($('g' + i), l.items.map((x) => ({ task: TASKS[x.code] || x.code, deadline: x.deadline,
      owner: x.owner ? orgLabel(x.ownerName !== x.owner && x.ownerName, x.owner) : '', state: say('deadlines.state.', x.state), encounter: x.encounter })),
      ['task', 'deadline', 'owner', 'state'], (r) => caseLink(r.encounter)));
  } catch (e) { fail(e); }
}
$('pick').onsubmit = (e) => { e.preventDefault(); show(); };
const qs = new URLSearchParams(location.search);
api('/admin/api/organisations').then((list) => {
  orgs = list;
  $('org').insertAdjacentHTML('beforeend', orgs.map((o) => '<option value="' + esc(o.reference) + '">' + esc(orgLabel(o.name, o.reference)) + '</option>').join(''));
  if (qs.get('organization')) $('org').value = qs.get('organization');
  if (qs.get('within')) $('within').value = qs.get('within');
  return show();
}).catch(fail);`,
};

/**
 * The holiday calendar of a year (`/admin/api/holidays?year=`, computed: src/core/calendar/swedish-holidays.ts) and
 * its major holidays with the open deadlines falling in each (`/admin/api/deadlines/holidays`, asked period by
 * period). Read-only: the calendar is computed, no API changes it.
 */
export const HOLIDAYS_PAGE: PageContent = {
  title: 'holidays.title',
  textPrefix: 'holidays.',
  body: `<p id="lead" data-t="holidays.lead"></p><form id="pick"><p><label><span data-t="holidays.year"></span>
<input id="year" type="number" min="2000" max="2100" step="1"></label> <button id="show" data-t="holidays.show"></button></p></form>
<h2 data-t="holidays.days"></h2><table id="days"></table><h2 data-t="holidays.periods"></h2><table id="periods"></table>`,
  script: `${ORGS}
const WEEKDAY = new Intl.DateTimeFormat(document.documentElement.lang === 'en' ? 'en-GB' : 'sv-SE', { weekday: 'long', timeZone: 'UTC' });
const weekday = (date) => WEEKDAY.format(new Date(date + 'T00:00:00Z'));
const nextDay = (date) => new Date(Date.parse(date + 'T00:00:00Z') + 86400000).toISOString().slice(0, 10);
const perOwner = (byOwner) => Object.entries(byOwner || {}).map(([ref, n]) => (ref === 'unknown' ? T['common.unknownOrg'] : orgName(ref)) + ': ' + n).join(' · ');
async function show() {
  try {
    clearError();
    const year = Number($('year').value);
    history.replaceState(null, '', '?year=' + year);
    const cal = await api('/admin/api/holidays?year=' + year);
    table($('days'), cal.holidays.map((h) => ({ date: h.date, weekday: weekday(h.date), name: h.name, kind: say('holidays.kind.', h.kind) })), ['date', 'weekday', 'name', 'kind']);
    // The major holidays of the year, one report each: the API answers the first one on or after 'from'.
    const periods = [];
    for (let from = year + '-01-01'; periods.length < 20;) {
      const r = await api('/admin/api/deadlines/holidays?' + new URLSearchParams({ from, days: '366' }));
      if (!r.period || r.period.start > year + '-12-31') break;
      if (r.period.end >= year + '-01-01') periods.push(r);
      from = nextDay(r.period.end);
    }
    table($('periods'), periods.map((r) => ({ start: r.period.start, end: r.period.end, days: r.period.days, holidays: r.period.holidays.join(', '),
      total: r.total, byOwner: perOwner(r.byOwner) })), ['start', 'end', 'days', 'holidays', 'total', 'byOwner']);
  } catch (e) { fail(e); }
}
$('pick').onsubmit = (e) => { e.preventDefault(); show(); };
$('year').value = new URLSearchParams(location.search).get('year') || when(new Date().toISOString()).slice(0, 4);
api('/admin/api/organisations').then((list) => { orgs = list; }).catch(fail).then(show);`,
};
