import { afterEach, describe, expect, it } from 'vitest';
import { runConsumerKit } from '../../src/conformance/consumer/run';
import { CONSUMER_SCENARIOS } from '../../src/conformance/consumer/scenarios';
import { toJUnit, toText, type RunReport } from '../../src/conformance/report';
import { startBrokenReceiver } from './support/broken-receiver';
import { startChild, TSX } from './support/child';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

const outcomes = (r: RunReport) => Object.fromEntries(r.results.map((x) => [x.id, x.outcome]));

describe('consumer kit', () => {
  it('passes every scenario against npm run receiver (the gateway-side reference receiver)', async () => {
    let child: ReturnType<typeof startChild> | undefined;
    const report = await runConsumerKit({
      waitMs: 25_000,
      onListening: (base) => {
        child = startChild(TSX, ['src/cli/receiver.ts', '--gateway', base, '--port', '18710']);
        stops.push(child.stop);
      },
    });
    const text = toText(report);
    expect(report.results.map((r) => r.id)).toEqual(CONSUMER_SCENARIOS.map((s) => s.id));
    expect(
      report.results.filter((r) => r.outcome !== 'pass'),
      `${text}\n${child?.output()}`,
    ).toEqual([]);
    expect(child?.output()).toMatch(/caught up events \d+–\d+ with \$events/);
  }, 45_000);

  it('passes every scenario against the Python reference receiver (receivers/python/receiver.py)', async () => {
    let child: ReturnType<typeof startChild> | undefined;
    const report = await runConsumerKit({
      waitMs: 25_000,
      onListening: (base) => {
        child = startChild('python3', ['receivers/python/receiver.py', '--gateway', base, '--port', '18711']);
        stops.push(child.stop);
      },
    });
    expect(
      report.results.filter((r) => r.outcome !== 'pass'),
      `${toText(report)}\n${child?.output()}`,
    ).toEqual([]);
    expect(report.results).toHaveLength(CONSUMER_SCENARIOS.length);
    expect(child?.output()).toMatch(/refused \S+: bad signature/);
    expect(child?.output()).toMatch(/repeat of \S+: already accepted/);
  }, 45_000);

  it('fails exactly repeat and bad-signature against a receiver that ignores signatures and 500s on repeats', async () => {
    const report = await runConsumerKit({
      waitMs: 5000,
      onListening: async (base) => {
        const r = await startBrokenReceiver(base);
        stops.push(r.close);
      },
    });
    const failedIds = report.results.filter((r) => r.outcome === 'fail').map((r) => r.id);
    expect(failedIds, toText(report)).toEqual(['repeat', 'bad-signature']);
    const byId = Object.fromEntries(report.results.map((r) => [r.id, r]));
    expect(byId['repeat']!.reason).toMatch(/HTTP 500.*5xx makes the gateway retry/);
    expect(byId['bad-signature']!.reason).toMatch(/signed with the wrong secret: accepted with HTTP 200/);
    const xml = toJUnit(report);
    expect(xml).toMatch(/<testsuite name="svu-conformance-receiver" tests="15" failures="2" skipped="0"/);
    expect((xml.match(/<failure /g) ?? []).length).toBe(2);
  }, 30_000);

  it('given a URL without a secret, skips the signature scenario and fails catch-up when nobody calls $events', async () => {
    const r = await startBrokenReceiver(undefined); // registers nowhere; the kit is given its URL
    stops.push(r.close);
    const report = await runConsumerKit({
      url: r.url,
      only: ['admission', 'bad-signature', 'catch-up'],
      catchUpMs: 500,
    });
    expect(outcomes(report)).toEqual({ admission: 'pass', 'bad-signature': 'skip', 'catch-up': 'fail' });
  }, 30_000);
});
