import { describe, expect, it } from 'vitest';
import { stopCapabilities } from '../../src/compose';
import type { Capability } from '../../src/compose.types';
import type { Logger } from '../../src/platform/logger';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, meta?: Record<string, unknown>) =>
    lines.push(`${level} ${msg} ${JSON.stringify(meta ?? {})}`);
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

describe('stopping the capabilities', () => {
  it('when the gateway stops, then every capability drains (in reverse order) before any of them stops', async () => {
    const order: string[] = [];
    const cap = (name: string, drains: boolean): Capability => ({
      name,
      ...(drains ? { drain: async () => void order.push(`drain ${name}`) } : {}),
      stop: async () => void order.push(`stop ${name}`),
    });
    // As in compose: delivery is built before deadlines, whose handler its outbox consumers run.
    await stopCapabilities([cap('delivery', true), cap('deadlines', false), cap('sip', true)], recordingLogger([]));
    expect(order).toEqual(['drain sip', 'drain delivery', 'stop sip', 'stop deadlines', 'stop delivery']);
  });

  it('when a drain or a stop fails, then it is logged with the capability and the others still stop', async () => {
    const order: string[] = [];
    const lines: string[] = [];
    await stopCapabilities(
      [
        { name: 'a', stop: async () => void order.push('stop a') },
        {
          name: 'b',
          drain: () => Promise.reject(new Error('redis gone')),
          stop: () => Promise.reject(new Error('still gone')),
        },
      ],
      recordingLogger(lines),
    );
    expect(order).toEqual(['stop a']);
    expect(lines).toEqual([
      'error capability drain failed {"capability":"b","error":"Error: redis gone"}',
      'error capability stop failed {"capability":"b","error":"Error: still gone"}',
    ]);
  });
});
