/**
 * `npm run ig` — the implementation guide as a static HTML site (default `dist-ig/`), generated from the
 * project's own artefacts: `profiles/` (StructureDefinitions, CodeSystems, ValueSets), the examples in
 * `src/ig/examples.ts` (each validated with the gateway's validator; the build fails on an invalid one), the
 * Subscription topics and notification shapes (built by the delivery code), `mappings/` (HL7 v2 sender
 * profiles) and `agreements/` (the process per agreement: tasks, owners, deadlines, sources).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CodeSystem, ElementDefinition, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { createValidator } from '../fhir/validator';
import { getAgreement, loadAgreements } from '../agreements/load-agreements';
import type { Agreement } from '../core/agreements/agreement.schema';
import { loadProfiles, type SenderProfile } from '../mapping/profile';
import { TOPICS } from '../subscriptions/topics';
import { projectDir } from '../platform/project-dir';
import { examples, type Example } from './examples';
import { collaborationExamples, EXAMPLE_AGREEMENT } from './collaboration-examples';
import { esc, page, slug, table } from './html';

const ROOT = projectDir('.', import.meta.url);
const CANONICAL = 'https://svu-gateway.dev/fhir';

function readJsonDir<T>(dir: string, prefix: string): T[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as T);
}

function typeText(e: ElementDefinition): string {
  return (e.type ?? [])
    .map((t) => {
      const prof = [...(t.profile ?? []), ...(t.targetProfile ?? [])].map((p) => p.split('/').pop()).join(', ');
      return prof ? `${t.code}(${prof})` : (t.code ?? '');
    })
    .join(' | ');
}

function elementRows(sd: StructureDefinition): string[][] {
  const diff = sd.differential?.element ?? [];
  return diff.map((e) => {
    const fixed = Object.entries(e).find(([k]) => k.startsWith('fixed') || k.startsWith('pattern'));
    const binding = e.binding?.valueSet ? `${e.binding.strength}: ${e.binding.valueSet.split('/').pop()}` : '';
    const rules = (e.constraint ?? []).map((c) => `${c.key}: ${c.human}`).join('<br>');
    return [
      `<code>${esc(e.id ?? e.path)}</code>`,
      esc(e.min !== undefined || e.max !== undefined ? `${e.min ?? ''}..${e.max ?? ''}` : ''),
      esc(typeText(e)),
      e.mustSupport ? 'yes' : '',
      esc(e.short ?? '') +
        (fixed ? `<br>fixed <code>${esc(JSON.stringify(fixed[1]))}</code>` : '') +
        (binding ? `<br>binding ${esc(binding)}` : '') +
        (rules ? `<br>${esc(rules).replace(/&lt;br&gt;/g, '<br>')}` : ''),
    ];
  });
}

function profilesPage(sds: StructureDefinition[]): string {
  const resources = sds.filter((s) => s.type !== 'Extension');
  const exts = sds.filter((s) => s.type === 'Extension');
  const section = (s: StructureDefinition) =>
    `<section id="${slug(s.name ?? s.id ?? '')}"><h2>${esc(s.title ?? s.name)}</h2>
<p>${esc(s.description)}</p><p>Canonical <code>${esc(s.url)}</code> · base ${esc(s.baseDefinition?.split('/').pop())}</p>
${table(['Element', 'Card.', 'Type', 'Must support', 'Meaning'], elementRows(s), 'elements')}</section>`;
  const index = table(
    ['Profile', 'Of', 'Description'],
    sds.map((s) => [`<a href="#${slug(s.name ?? s.id ?? '')}">${esc(s.name)}</a>`, esc(s.type), esc(s.description)]),
  );
  return `${index}<h2>Resource profiles</h2>${resources.map(section).join('\n')}<h2>Extensions</h2>${exts.map(section).join('\n')}`;
}

function terminologyPage(css: CodeSystem[], vss: ValueSet[]): string {
  const cs = css.map(
    (c) => `<section id="${slug(c.id ?? '')}"><h2>${esc(c.title ?? c.name)}</h2><p>${esc(c.description)}</p>
<p>System <code>${esc(c.url)}</code></p>
${table(
  ['Code', 'Display', 'Definition'],
  (c.concept ?? []).map((k) => [`<code>${esc(k.code)}</code>`, esc(k.display), esc(k.definition)]),
  'concepts',
)}</section>`,
  );
  const vs = table(
    ['ValueSet', 'Includes'],
    vss.map((v) => [`<code>${esc(v.url)}</code>`, esc((v.compose?.include ?? []).map((i) => i.system).join(', '))]),
  );
  return `${cs.join('\n')}<h2>Value sets</h2>${vs}`;
}

function examplesPage(list: (Example & { issues: number })[]): string {
  const index = table(
    ['Example', 'Resource', 'Profile'],
    list.map((e) => [
      `<a href="#${e.id}">${esc(e.title)}</a>`,
      esc(e.resource.resourceType),
      esc((e.profile ?? e.resource.meta?.profile?.[0] ?? 'R4 base').split('/').pop()),
    ]),
    'example-index',
  );
  return `<p>Each example is built by the code that writes such a resource in the gateway (the engine, the SIP
operations, the party client) and validated with the gateway's validator when the guide is built.</p>${index}\n${list
    .map(
      (e) => `<section id="${e.id}"><h2>${esc(e.title)}</h2><p>${esc(e.description)}</p>
<p class="ok" data-valid="${e.issues === 0}">Validated with the gateway's validator: ${e.issues === 0 ? 'valid' : `${e.issues} issues`}</p>
<pre>${esc(JSON.stringify(e.resource, null, 2))}</pre></section>`,
    )
    .join('\n')}`;
}

function subscriptionsPage(list: Example[]): string {
  const topics = table(
    ['Topic canonical (Subscription.criteria)', 'Resource', 'When'],
    TOPICS.map((t) => [`<code>${esc(t.url(CANONICAL))}</code>`, esc(t.resourceType), esc(t.title)]),
  );
  const headers = table(
    ['Header', 'Value'],
    [
      [
        '<code>X-Event-Id</code>',
        esc('<subscription id>:<event number>; handshake/heartbeat: <subscription id>:<type>:<uuid>'),
      ],
      ['<code>X-Signature-Timestamp</code>', 'Unix seconds when signed'],
      ['<code>X-Signature</code>', esc('lowercase hex HMAC-SHA256(secret, "<timestamp>.<event id>.<raw body>")')],
    ],
  );
  const shapes = list
    .filter((e) => e.id.startsWith('notification-'))
    .map((e) => `<li><a href="examples.html#${e.id}">${esc(e.title)}</a></li>`)
    .join('');
  return `<h2>Topics</h2>${topics}
<h2>Channel</h2><p>R4 rest-hook (or the topic-based R4 form of the Subscriptions Backport IG). The secret is given in the
extension <code>${CANONICAL}/StructureDefinition/subscription-secret</code> and never returned on read.</p>
<h2>Signature headers</h2>${headers}
<p>A receiver answers 2xx quickly and processes later; refuses a bad or stale signature (older than 5 minutes)
with 401; answers 2xx to an event id it already processed (a retry) without processing it again; and catches up
gaps in <code>event-number</code> with <code>GET /fhir/Subscription/&lt;id&gt;/$events?eventsSinceNumber=&amp;eventsUntilNumber=</code>.
<code>npm run conformance -- receiver</code> checks all of this against an endpoint.</p>
<h2>Notification shapes</h2><ul>${shapes}</ul>`;
}

function hl7Page(profiles: SenderProfile[]): string {
  const generic = `<h2>Generic conventions</h2>${table(
    ['Where', 'What'],
    [
      ['PID-3', 'personnummer / samordningsnummer (assigning authority or type code says which)'],
      ['PID-11.9', 'municipality code (kommunkod) of registration'],
      ['PD1-3', 'listed primary-care unit (HSA-id)'],
      ['PV1-2', '<code>I</code> = inpatient'],
      ['PV1-44 / PV1-45', 'admit / discharge time'],
      ['PV2-9', 'expected discharge date'],
      ['PID-29 + PID-30 = Y, or PV1-36 = 20', 'death'],
      ['OBX-3 = <code>&lt;code&gt;^&lt;text&gt;^SVU</code>', 'process facts, per profile below'],
    ],
  )}`;
  const sections = profiles.map((p) => {
    const events = table(
      ['Trigger', 'Fact', 'Inpatient only', 'Meaning'],
      Object.entries(p.events).map(([ev, r]) => [
        `<code>${esc(ev)}</code>`,
        esc(r.fact),
        r.inpatientOnly ? 'yes' : '',
        esc(r.description ?? ''),
      ]),
    );
    const fields = table(
      ['Field', 'Read from (first present)'],
      Object.entries(p.fields).map(([k, v]) => [esc(k), esc(Array.isArray(v) ? v.join(', ') : String(v))]),
    );
    const rows = table(
      ['Row', 'Source', 'Type', 'Target', 'Code map', 'Meaning'],
      p.rows.map((r) => {
        const src = r as unknown as { obx?: { code: string; system: string }; path?: string };
        return [
          esc(r.id),
          src.obx
            ? `<code>OBX ${esc(src.obx.code)}^…^${esc(src.obx.system)}</code>`
            : `<code>${esc(src.path ?? '')}</code>`,
          esc(r.type),
          esc(r.target),
          r.codeMap
            ? esc(
                Object.entries(p.codeMaps[r.codeMap] ?? {})
                  .map(([k, v]) => `${k}→${String(v)}`)
                  .join(', '),
              )
            : '',
          esc(r.description ?? ''),
        ];
      }),
    );
    return `<section id="profile-${esc(p.id)}"><h2>Sender profile ${esc(p.id)}: ${esc(p.title ?? '')}</h2>
<p>Matches MSH-3 ${esc(p.match.sendingApplication.join(', ') || '—')} or MSH-4 ${esc(p.match.sendingFacility.join(', ') || '—')}.</p>
<h3>Events</h3>${events}<h3>Fields</h3>${fields}<h3>Content rows</h3>${rows}</section>`;
  });
  return `${generic}${sections.join('\n')}
<p>Test a feed against a profile with <code>npm run conformance -- sender --profile mappings/&lt;file&gt;.json</code>.</p>`;
}

function ownerText(a: Agreement, to: string): string {
  if (to === 'notified')
    return 'the hospital, to send it (the deadline is its duty); each notified receiver (municipality, vårdcentral) then owns its own Task and acknowledges it';
  if (to === 'hospital') return 'the hospital';
  const fvk =
    a.fvk.owner === 'primary-care'
      ? 'primary care (vårdcentral)'
      : 'the municipal nurse if home health care, else primary care';
  return `the named care contact (FVK): ${fvk}`;
}

function agreementsPage(agreements: Agreement[]): string {
  const index = table(
    ['Agreement', 'Name'],
    agreements.map((a) => [`<a href="#agreement-${esc(a.id)}">${esc(a.id)}</a>`, esc(a.name)]),
  );
  const sections = agreements.map((a) => {
    const rows = Object.entries(a.tasks).map(([code, r]) => {
      const d = r.deadline;
      return [
        `<code>${esc(code)}</code>${r.enabled ? '' : ' (off)'}`,
        esc(r.when.join(' or ')),
        esc(ownerText(a, r.to)),
        d ? esc(`${d.after} (${d.kind}) from ${d.from}`) : 'none set',
        esc(r.description),
        esc(`${r.source.document} ${r.source.section ?? ''}`) +
          (r.source.note ? `<br><small>${esc(r.source.note)}</small>` : ''),
      ];
    });
    return `<section id="agreement-${esc(a.id)}"><h2>${esc(a.name)} (<code>${esc(a.id)}</code>)</h2><p>${esc(a.description ?? '')}</p>
${table(['Task', 'Arises at', 'Who must act by the deadline', 'Deadline', 'What', 'Source'], rows, 'process')}</section>`;
  });
  return `${index}${sections.join('\n')}`;
}

function indexPage(counts: Record<string, number>): string {
  return `<p>How hospitals, municipalities and primary care connect to svu-gateway, the HL7 FHIR R4 gateway for coordinated
discharge from inpatient care (SFS 2017:612). Generated from the project's artefacts by <code>npm run ig</code>.</p>
${table(
  ['Section', 'Contents'],
  [
    ['<a href="profiles.html">Profiles</a>', `${counts.profiles} StructureDefinitions with their elements`],
    ['<a href="terminology.html">Code systems</a>', `${counts.codeSystems} CodeSystems, ${counts.valueSets} ValueSets`],
    ['<a href="examples.html">Examples</a>', `${counts.examples} examples, each validated`],
    ['<a href="subscriptions.html">Subscriptions and notifications</a>', `${TOPICS.length} topics, signing, shapes`],
    ['<a href="hl7v2.html">HL7 v2 conventions</a>', `${counts.senderProfiles} sender profiles`],
    [
      '<a href="agreements.html">Process per agreement</a>',
      `${counts.agreements} agreements: tasks, owners, deadlines`,
    ],
  ],
)}
<h2>Conformance kit</h2><p><code>npm run conformance -- receiver</code> tests a receiving endpoint;
<code>npm run conformance -- sender</code> shows what a sending EHR's messages mean. See docs/conformance.md.</p>`;
}

export interface BuiltGuide {
  out: string;
  files: string[];
  examples: { id: string; issues: string[] }[];
}

export async function buildGuide(out: string): Promise<BuiltGuide> {
  const profilesDir = path.join(ROOT, 'profiles');
  const sds = readJsonDir<StructureDefinition>(profilesDir, 'StructureDefinition-');
  const css = readJsonDir<CodeSystem>(profilesDir, 'CodeSystem-');
  const vss = readJsonDir<ValueSet>(profilesDir, 'ValueSet-');
  const validator = await createValidator();
  const agreementMap = await loadAgreements();
  const all = [...examples(), ...collaborationExamples(getAgreement(agreementMap, EXAMPLE_AGREEMENT))];
  const exs = all.map((e) => {
    const issues = validator.check(e.resource, e.profile).filter((i) => i.severity === 'error');
    return { ...e, issues: issues.length, messages: issues.map((i) => `${i.path ?? ''}: ${i.message}`) };
  });
  const bad = exs.filter((e) => e.issues > 0);
  if (bad.length)
    throw new Error(`invalid examples: ${bad.map((e) => `${e.id} (${e.messages.join('; ')})`).join(', ')}`);
  const agreements = [...agreementMap.values()];
  const senderProfiles = loadProfiles();
  mkdirSync(out, { recursive: true });
  const pages: [string, string, string][] = [
    [
      'index.html',
      'svu-gateway implementation guide',
      indexPage({
        profiles: sds.length,
        codeSystems: css.length,
        valueSets: vss.length,
        examples: exs.length,
        senderProfiles: senderProfiles.length,
        agreements: agreements.length,
      }),
    ],
    ['profiles.html', 'Profiles', profilesPage(sds)],
    ['terminology.html', 'Code systems and value sets', terminologyPage(css, vss)],
    ['examples.html', 'Examples', examplesPage(exs)],
    ['subscriptions.html', 'Subscriptions and notifications', subscriptionsPage(exs)],
    ['hl7v2.html', 'HL7 v2 conventions and sender profiles', hl7Page(senderProfiles)],
    ['agreements.html', 'Process per agreement', agreementsPage(agreements)],
  ];
  for (const [file, title, body] of pages) writeFileSync(path.join(out, file), page(file, title, body));
  mkdirSync(path.join(out, 'examples'), { recursive: true });
  for (const e of exs)
    writeFileSync(path.join(out, 'examples', `${e.id}.json`), `${JSON.stringify(e.resource, null, 2)}\n`);
  return {
    out,
    files: pages.map(([f]) => f),
    examples: exs.map((e) => ({ id: e.id, issues: e.messages })),
  };
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  const { values: a } = parseArgs({ options: { out: { type: 'string', default: 'dist-ig' } } });
  buildGuide(path.resolve(a.out))
    .then((g) =>
      console.log(`implementation guide: ${g.files.length} pages, ${g.examples.length} valid examples in ${g.out}`),
    )
    .catch((err: unknown) => {
      console.error(`ig: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    });
}
