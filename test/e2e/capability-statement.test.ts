import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CapabilityStatement, StructureDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { capabilityStatement } from '../../src/fhir-api/capability-statement';
import { createValidator } from '../../src/fhir/validator';
import { TOPICS } from '../../src/subscriptions/topics';

/**
 * Issue 13 §5: the CapabilityStatement says what the gateway serves. The operations are found in the route
 * tables themselves (every `/fhir/…/$name` string in src/), so a new route without its entry fails here.
 */
const SRC = new URL('../../src/', import.meta.url).pathname;
const PROFILES = new URL('../../profiles/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `[type or '', operation]` of every express route registered for a FHIR operation: `'/fhir/CarePlan/:id/$sign'`, `'/fhir/$log-review'`. */
function servedOperations(): [string, string][] {
  const out = new Set<string>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const route =
      /\.(?:get|post|put|patch|delete|all)\(\s*['`]\/fhir\/(?:([A-Z][A-Za-z]+)\/(?::id\/)?)?\$([a-z][a-z-]*)['`]/g;
    for (const m of text.matchAll(route)) {
      out.add(`${m[1] ?? ''}|${m[2] ?? ''}`);
    }
  }
  return [...out].sort().map((k) => k.split('|') as [string, string]);
}

const cs: CapabilityStatement = capabilityStatement('http://localhost:8080/fhir');
const rest = cs.rest?.[0];
const resourceOf = (type: string) => rest?.resource?.find((r) => r.type === type);

describe('CapabilityStatement', () => {
  const served = servedOperations();

  it('finds the routes it checks (the scan works)', () => {
    expect(served).toContainEqual(['CarePlan', 'sign']);
    expect(served).toContainEqual(['Subscription', 'events']);
    expect(served).toContainEqual(['', 'log-review']);
    expect(served.length).toBeGreaterThanOrEqual(10);
  });

  it.each(served)('when the router serves %s/$%s, then the CapabilityStatement lists it', (type, name) => {
    const ops = type ? resourceOf(type)?.operation : rest?.operation;
    expect(ops?.map((o) => o.name)).toContain(name);
    expect(ops?.find((o) => o.name === name)?.definition).toMatch(
      /^https:\/\/svu-gateway\.dev\/fhir\/OperationDefinition\//,
    );
  });

  it('when a profile in profiles/ constrains a resource, then that resource lists it as supportedProfile', () => {
    const defs = readdirSync(PROFILES)
      .filter((f) => f.startsWith('StructureDefinition-'))
      .map((f) => JSON.parse(readFileSync(join(PROFILES, f), 'utf8')) as StructureDefinition)
      .filter((sd) => sd.kind === 'resource');
    expect(defs.length).toBeGreaterThanOrEqual(5);
    for (const sd of defs) expect(resourceOf(sd.type)?.supportedProfile, sd.type).toContain(sd.url);
  });

  it('when a client looks for subscription topics, then the Subscription resource names every topic canonical', () => {
    const topics = (resourceOf('Subscription')?.extension ?? []).map((e) => e.valueCanonical);
    expect(topics).toEqual(TOPICS.map((t) => t.url('https://svu-gateway.dev/fhir')));
  });

  it('when validated as an R4 CapabilityStatement, then it is valid', async () => {
    const validator = await createValidator();
    expect(() => validator.validate(cs)).not.toThrow();
  });
});
