/** Per-scenario results of a conformance run, as readable text and as JUnit XML (for CI). */
export type Outcome = 'pass' | 'fail' | 'skip';

export interface ScenarioResult {
  id: string;
  title: string;
  outcome: Outcome;
  /** Why it failed or was skipped; for a pass, what was observed. */
  reason: string;
  /** Each check made, in order, with what was seen. */
  checks: string[];
  ms: number;
}

export interface RunReport {
  suite: string;
  target: string;
  results: ScenarioResult[];
}

const MARK: Record<Outcome, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

export function failed(r: RunReport): ScenarioResult[] {
  return r.results.filter((x) => x.outcome === 'fail');
}

export function toText(r: RunReport): string {
  const lines = [`${r.suite} against ${r.target}`, ''];
  for (const x of r.results) {
    lines.push(`${MARK[x.outcome]}  ${x.id.padEnd(24)} ${x.title} (${x.ms} ms)`);
    if (x.outcome !== 'pass') lines.push(`      reason: ${x.reason}`);
    for (const c of x.checks) lines.push(`      - ${c}`);
  }
  const n = (o: Outcome) => r.results.filter((x) => x.outcome === o).length;
  lines.push('', `${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped of ${r.results.length}`);
  return lines.join('\n');
}

const esc = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function toJUnit(r: RunReport): string {
  const n = (o: Outcome) => r.results.filter((x) => x.outcome === o).length;
  const total = r.results.reduce((s, x) => s + x.ms, 0) / 1000;
  const cases = r.results.map((x) => {
    const head = `    <testcase classname="${esc(r.suite)}" name="${esc(`${x.id}: ${x.title}`)}" time="${x.ms / 1000}">`;
    const body =
      x.outcome === 'fail'
        ? `\n      <failure message="${esc(x.reason)}">${esc(x.checks.join('\n'))}</failure>\n    `
        : x.outcome === 'skip'
          ? `\n      <skipped message="${esc(x.reason)}"/>\n    `
          : '';
    return `${head}${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${r.results.length}" failures="${n('fail')}" skipped="${n('skip')}" time="${total}">`,
    `  <testsuite name="${esc(r.suite)}" tests="${r.results.length}" failures="${n('fail')}" skipped="${n('skip')}" time="${total}">`,
    `    <properties><property name="target" value="${esc(r.target)}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
