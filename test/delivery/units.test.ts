import { describe, expect, it } from 'vitest';
import { sign, signatureHeaders, verifySignature } from '../../src/delivery/signature';
import { CircuitBreakers } from '../../src/delivery/circuit-breaker';
import { backoffDelay } from '../../src/delivery/delivery.jobs';

describe('notification signature', () => {
  const now = new Date('2026-03-01T10:00:00Z');
  it('when timestamp, event id and body are signed, then the receiver verifies them and any change fails', () => {
    const h = signatureHeaders('s', 'sub:7', '{"a":1}', now);
    const headers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
    expect(h['X-Signature']).toBe(sign('s', Math.floor(now.getTime() / 1000), 'sub:7', '{"a":1}'));
    expect(verifySignature('s', headers, '{"a":1}', { now })).toEqual({ ok: true });
    expect(verifySignature('s', { ...headers, 'x-event-id': 'sub:8' }, '{"a":1}', { now }).ok).toBe(false);
    expect(verifySignature('s', headers, '{"a":2}', { now }).ok).toBe(false);
  });
  it('when a captured notification is replayed later, then it is outside the tolerance', () => {
    const h = signatureHeaders('s', 'sub:7', 'x', now);
    const headers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
    const later = new Date(now.getTime() + 10 * 60_000);
    expect(verifySignature('s', headers, 'x', { now: later })).toEqual({
      ok: false,
      reason: 'timestamp outside tolerance',
    });
  });
  it('when no secret is set, then no signature header is sent', () => {
    expect(signatureHeaders(undefined, 'e', 'b', now)['X-Signature']).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('when an endpoint fails threshold times, then it opens, lets one probe through after the pause, and closes on success', () => {
    let t = 0;
    const b = new CircuitBreakers({ threshold: 2, openMs: 100, now: () => t });
    expect(b.admit('e')).toBeUndefined();
    b.failure('e');
    b.failure('e');
    expect(b.state('e')).toBe('open');
    expect(b.admit('e')).toBe(100);
    t = 150;
    expect(b.admit('e')).toBeUndefined(); // the probe
    expect(b.admit('e')).toBeGreaterThan(150); // others wait for it
    b.success('e');
    expect(b.state('e')).toBe('closed');
    expect(b.admit('other')).toBeUndefined();
  });
});

describe('backoff', () => {
  it('when attempts grow, then the delay doubles with jitter and is capped at one hour', () => {
    for (let i = 0; i < 50; i++) {
      const d1 = backoffDelay(1, 1000);
      expect(d1).toBeGreaterThanOrEqual(500);
      expect(d1).toBeLessThanOrEqual(1000);
      const d4 = backoffDelay(4, 1000);
      expect(d4).toBeGreaterThanOrEqual(4000);
      expect(d4).toBeLessThanOrEqual(8000);
      expect(backoffDelay(40, 5000)).toBeLessThanOrEqual(3_600_000);
    }
  });
});
