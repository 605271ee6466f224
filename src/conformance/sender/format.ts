import type { MessageAnalysis, SenderSession, StayChange } from './analyse';

/** What a message did to one stay: its facts, the Tasks it made new or changed, warnings and missing content. */
function stayLines(a: Omit<StayChange, 'stay'>, indent: string): string[] {
  const lines: string[] = [];
  for (const f of a.facts) lines.push(`${indent}fact ${f.kind} at ${f.at} ${f.detail}`);
  for (const r of a.rejectedFacts) lines.push(`${indent}fact not used: ${r.reason}`);
  const changed = new Set(a.changedTasks);
  for (const t of a.tasks.filter((x) => changed.has(x.key)))
    lines.push(`${indent}task ${t.code} → ${t.owner} ${t.status}${t.due ? ` due ${t.due}` : ''}`);
  for (const w of a.engineWarnings) lines.push(`${indent}warning: ${w}`);
  for (const m of a.missing) lines.push(`${indent}MISSING ${m}`);
  return lines;
}

/** A sender's readable view of one message: what it meant, what it caused, what is missing. */
export function formatMessage(a: MessageAnalysis): string {
  const head = `#${a.seq} ${a.channel} ${a.id}${a.event ? ` ${a.event}` : ''}${a.profile ? ` (profile ${a.profile})` : ''} → ${a.ack}`;
  const lines = [head];
  if (a.error) lines.push(`  refused: ${a.error}`);
  if (a.ignored) lines.push(`  ignored: ${a.ignored}`);
  for (const n of a.notes ?? []) lines.push(`  note: ${n}`);
  for (const u of a.unknownCodes) lines.push(`  UNKNOWN CODE ${u.code}${u.path ? ` at ${u.path}` : ''}: ${u.text}`);
  const several = a.reachedStays && a.reachedStays.length > 1 ? a.reachedStays : undefined;
  if (several)
    for (const r of several) {
      lines.push(`  stay: ${r.stay}`);
      lines.push(...stayLines(r, '    '));
    }
  else {
    if (a.stay) lines.push(`  stay: ${a.stay}`);
    lines.push(...stayLines(a, '  '));
  }
  return lines.join('\n');
}

export function formatSummary(s: SenderSession): string {
  const lines = ['', 'Summary per stay:'];
  for (const st of s.summary()) {
    const open = st.tasks.filter((t) => t.status === 'requested').length;
    lines.push(`  ${st.stay}: ${st.status}, ${st.tasks.length} Tasks (${open} requested)`);
    for (const m of st.missing) lines.push(`    MISSING ${m}`);
  }
  const all = s.messages;
  const n = (p: (a: MessageAnalysis) => boolean) => all.filter(p).length;
  lines.push(
    `${all.length} messages: ${n((a) => a.ack === 'AA')} AA, ${n((a) => a.ack !== 'AA')} AE/AR, ` +
      `${n((a) => a.unknownCodes.length > 0)} with unknown codes, ` +
      `${s.summary().filter((x) => x.missing.length > 0).length} stays with missing mandatory content`,
  );
  return lines.join('\n');
}
