import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config';

describe('secrets from files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'svu-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when X_FILE names a file, then X is its content without the trailing newline', () => {
    const file = path.join(dir, 'database_url');
    writeFileSync(file, 'postgres://svu:s3cret@db:5432/svu\n');
    expect(loadConfig({ DATABASE_URL_FILE: file }).DATABASE_URL).toBe('postgres://svu:s3cret@db:5432/svu');
  });

  it('when both X and X_FILE are set, or the file is missing, then one line names the setting', () => {
    const file = path.join(dir, 'redis_url');
    writeFileSync(file, 'redis://r:6379');
    expect(() => loadConfig({ REDIS_URL: 'redis://x:6379', REDIS_URL_FILE: file })).toThrow(
      /^Invalid configuration: set REDIS_URL or REDIS_URL_FILE, not both$/,
    );
    expect(() => loadConfig({ REDIS_URL_FILE: path.join(dir, 'absent') })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL_FILE: path.join(dir, 'absent') })).toThrow(/REDIS_URL_FILE=.*cannot be read/);
  });
});
