/** Minimal HTML helpers for the implementation guide (static pages, no scripts). */
export const esc = (s: string | number | boolean | undefined | null): string =>
  String(s ?? '').replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export function table(headers: string[], rows: string[][], cls = ''): string {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export const NAV: [string, string][] = [
  ['index.html', 'Overview'],
  ['profiles.html', 'Profiles'],
  ['terminology.html', 'Code systems'],
  ['examples.html', 'Examples'],
  ['subscriptions.html', 'Subscriptions and notifications'],
  ['hl7v2.html', 'HL7 v2 conventions'],
  ['agreements.html', 'Process per agreement'],
];

const CSS = `body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;line-height:1.45}
header{background:#0b4f6c;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem 1.5rem;max-width:80rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;vertical-align:top;text-align:left}th{background:#eef3f6}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:.8rem;max-height:30rem}code{font-size:.9em}
.ok{color:#176d2c;font-weight:600}`;

export function page(file: string, title: string, body: string): string {
  const nav = NAV.map(([f, t]) => `<a href="${f}"${f === file ? ' aria-current="page"' : ''}>${esc(t)}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · svu-gateway implementation guide</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head>
<body><header><strong>svu-gateway</strong> implementation guide · <nav>${nav}</nav></header>
<main><h1>${esc(title)}</h1>
${body}
</main></body></html>
`;
}
