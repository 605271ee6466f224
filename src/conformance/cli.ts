/**
 * `npm run conformance -- receiver ...` (consumer kit) and `npm run conformance -- sender ...` (sender kit).
 * See docs/conformance.md.
 *
 *   receiver [--url <endpoint> --secret <hmac secret>] [--port 8180] [--host 127.0.0.1] [--junit file]
 *            [--max-ms 2000] [--catch-up-ms 5000] [--only a,b] [--skip a,b] [--wait-ms 120000]
 *     Without --url the kit waits for the receiver to register its Subscription at http://<host>:<port>/fhir
 *     (start the receiver with that as its gateway base), which also gives it the HMAC secret.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runConsumerKit } from './consumer/run';
import { failed, toJUnit, toText, type RunReport } from './report';

const USAGE = 'usage: npm run conformance -- receiver|sender [options]  (docs/conformance.md)';

function list(v: string | undefined): string[] | undefined {
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

function finish(report: RunReport, junit: string | undefined): void {
  console.log(toText(report));
  if (junit) writeFileSync(junit, toJUnit(report));
  process.exitCode = failed(report).length ? 1 : 0;
}

async function receiver(args: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      payload: { type: 'string', default: 'full-resource' },
      shape: { type: 'string', default: 'history' },
      port: { type: 'string', default: '8180' },
      host: { type: 'string', default: '127.0.0.1' },
      owner: { type: 'string', default: 'org-receiver' },
      junit: { type: 'string' },
      'max-ms': { type: 'string', default: '2000' },
      'catch-up-ms': { type: 'string', default: '5000' },
      'wait-ms': { type: 'string', default: '120000' },
      only: { type: 'string' },
      skip: { type: 'string' },
    },
  });
  const report = await runConsumerKit({
    url: a.url,
    secret: a.secret,
    payload: a.payload as 'full-resource',
    shape: a.shape as 'history',
    port: Number(a.port),
    host: a.host,
    owner: a.owner,
    maxMs: Number(a['max-ms']),
    catchUpMs: Number(a['catch-up-ms']),
    waitMs: Number(a['wait-ms']),
    only: list(a.only),
    skip: list(a.skip),
    onListening: (base) => {
      console.error(
        a.url
          ? `conformance kit: gateway double (token, $events) at ${base}/fhir; testing ${a.url}`
          : `conformance kit: waiting for a receiver to register its Subscription at ${base}/fhir ` +
              `(e.g. npm run receiver -- --gateway ${base})`,
      );
    },
  });
  finish(report, a.junit);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'receiver') return receiver(rest);
  if (cmd === 'sender') {
    const { senderCli } = await import('./sender/cli');
    return senderCli(rest);
  }
  console.error(USAGE);
  process.exitCode = 2;
}

main().catch((err: unknown) => {
  console.error(`conformance: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
});
