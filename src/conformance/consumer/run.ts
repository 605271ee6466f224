import type { RunReport } from '../report';
import { GatewayDouble } from './gateway-double';
import { CONSUMER_SCENARIOS, runScenario, type ConsumerOptions } from './scenarios';

export interface ConsumerKitOptions extends Partial<ConsumerOptions> {
  /** The receiver's notification endpoint; without it the kit waits for the receiver to register a Subscription. */
  url?: string;
  secret?: string;
  payload?: 'full-resource' | 'id-only' | 'empty';
  shape?: 'history' | 'message';
  /** Port of the kit's gateway double (token, Subscription, $events); 0 = any free port. */
  port?: number;
  host?: string;
  /** How long to wait for a Subscription when no url is given. */
  waitMs?: number;
  only?: string[];
  skip?: string[];
  /** Called with the gateway double's base URL once it listens (to start a receiver pointing at it). */
  onListening?: (base: string) => void | Promise<void>;
}

/** Runs the consumer scenarios against one receiver and returns the per-scenario report. */
export async function runConsumerKit(k: ConsumerKitOptions): Promise<RunReport> {
  const gw = new GatewayDouble();
  const base = await gw.listen(k.port ?? 0, k.host ?? '127.0.0.1');
  try {
    await k.onListening?.(base);
    if (k.url) gw.useEndpoint(k.url, k.secret, k.payload, k.shape);
    const spec = await gw.waitForSubscription(k.waitMs ?? 120_000);
    const o: ConsumerOptions = {
      maxMs: k.maxMs ?? 2000,
      catchUpMs: k.catchUpMs ?? 5000,
      owner: k.owner ?? 'org-receiver',
    };
    const results = [];
    for (const s of CONSUMER_SCENARIOS) {
      if (k.only?.length && !k.only.includes(s.id)) continue;
      if (k.skip?.includes(s.id)) {
        results.push({
          id: s.id,
          title: s.title,
          outcome: 'skip' as const,
          reason: 'skipped with --skip',
          checks: [],
          ms: 0,
        });
        continue;
      }
      results.push(await runScenario(s, gw, o));
    }
    return { suite: 'svu-conformance-receiver', target: spec.endpoint, results };
  } finally {
    await gw.close();
  }
}
