import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger';

/** Metadata that counts how often a log call read it (winston copies it into the line it formats). */
function countedMeta() {
  const seen = { reads: 0 };
  const meta = {
    get path() {
      seen.reads++;
      return '/fhir';
    },
  };
  return { meta: meta as Record<string, unknown>, seen };
}

describe('log lines below the level', () => {
  it('are not built at all, while lines at or above the level are, also through a child and after a level change', () => {
    const logger = createLogger('error');
    for (const t of (logger as unknown as { transports: { silent: boolean }[] }).transports) t.silent = true;
    const child = logger.child({ capability: 'test' });
    const below = countedMeta();
    logger.info('http', below.meta);
    logger.debug('http', below.meta);
    child.warn('http', below.meta);
    expect(below.seen.reads).toBe(0);

    const enabled = countedMeta();
    child.error('written', enabled.meta);
    expect(enabled.seen.reads).toBeGreaterThan(0);

    (logger as unknown as { level: string }).level = 'info';
    const raised = countedMeta();
    child.info('http', raised.meta);
    expect(raised.seen.reads).toBeGreaterThan(0);
  });
});
