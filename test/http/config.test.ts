import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { loadConfig, ConfigError } from '../../src/config/config';

describe('configuration errors', () => {
  it('when a setting is invalid, then loadConfig names the variable in one line', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT="eighty"/);
    expect(() => loadConfig({ TOKEN_TTL_SECONDS: '1' })).toThrow(/TOKEN_TTL_SECONDS/);
  });

  it('when a setting is set to the empty string, then it counts as unset and its default applies', () => {
    const c = loadConfig({ DATABASE_URL: '', PORT: '', LOG_LEVEL: '' });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.PORT).toBe(8080);
  });

  it('when the process starts with a bad setting, then it prints one line naming it and exits 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'api'], {
      env: { ...process.env, REDIS_URL: 'not a url', NODE_ENV: 'test' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/REDIS_URL/);
  });
});
