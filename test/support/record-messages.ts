import pg from 'pg';
import { vi } from 'vitest';

/**
 * Records into `sent` the text of every message node-postgres sends (one per round trip): a message carrying
 * statements held before its own (PgTx's `AfterLeads`, ADR 042–043) as their texts and its own joined by `;\n`.
 * Undo with `vi.restoreAllMocks()`.
 */
export function recordMessages(sent: string[]): void {
  const query = Reflect.get(pg.Client.prototype, 'query') as (this: pg.Client, ...args: unknown[]) => unknown;
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; leads?: { config: { text: string } }[] };
    const text = typeof first === 'string' ? first : (first.text ?? '');
    const leads = typeof first === 'string' ? undefined : first.leads;
    sent.push(leads ? [...leads.map((l) => l.config.text), text].join(';\n') : text);
    return query.apply(this, args);
  });
}
