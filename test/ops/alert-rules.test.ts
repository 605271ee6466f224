import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string {
  return readdirSync(dir)
    .map((f) => path.join(dir, f))
    .map((p) => (statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? readFileSync(p, 'utf8') : ''))
    .join('\n');
}

describe('Prometheus alerting rules', () => {
  it('when a rule names a gateway metric, then the gateway exports a metric of that name', () => {
    const rules = readFileSync(path.join(root, 'docker/prometheus/alerts.yml'), 'utf8');
    const expressions = [...rules.matchAll(/expr: (\|\n(?:\s{10}.*\n)+|.*)/g)].map((m) => m[1]!).join('\n');
    const used = new Set(
      [...expressions.matchAll(/\b((?:svu|audit|http_request)_[a-z0-9_]+)/g)].map((m) =>
        m[1]!.replace(/_(bucket|count|sum)$/, ''),
      ),
    );
    expect(used.size).toBeGreaterThan(8);
    const src = sources(path.join(root, 'src'));
    const missing = [...used].filter((name) => !src.includes(`name: '${name}'`));
    expect(missing).toEqual([]);
  });
});
