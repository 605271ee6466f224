/**
 * What a party reads of a SIP, by every way in: the read, the searches (`encounter`, `_id`), `_revinclude` from the
 * stay, `_include` from its Tasks and signatures, `_history` and vread, `$print`, the case overview (`$overview`),
 * and a write. A party the plan no longer has (removed by the author, or the unit the stay left after `$take-over`)
 * gets what it gets for a plan that was never its own (ADR 047); its own signatures stay readable to it.
 */
import { expect } from 'vitest';
import type { Bundle, CarePlan, Provenance, Resource } from '@medplum/fhirtypes';
import { ok, type PartyClient } from './party-client';

/** An id no resource has: the answer for a plan never one's own. */
const NEVER = '01a24bf2-0000-7000-8000-000000000000';

const resources = (b: Resource): Resource[] =>
  ((b as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
const plansIn = (b: Resource): string[] =>
  resources(b)
    .filter((r) => r.resourceType === 'CarePlan')
    .map((r) => r.id ?? '');
const diagnostics = (r: { body: unknown }, id: string): string =>
  JSON.stringify(r.body).replaceAll(id, '<id>').replaceAll(NEVER, '<id>');

/** The plan's versions as the admin reads them (every one, newest first). */
export async function allVersions(admin: PartyClient, id: string): Promise<CarePlan[]> {
  return resources(ok(await admin.get(`/fhir/CarePlan/${id}/_history`))) as CarePlan[];
}

/** `c` reads the plan (the current version) by each way in: it is one of its parties. */
export async function expectReadsPlan(c: PartyClient, id: string, stay: string, who: string): Promise<void> {
  expect((ok(await c.get(`/fhir/CarePlan/${id}`)) as CarePlan).id, who).toBe(id);
  expect(plansIn(ok(await c.get('/fhir/CarePlan', { encounter: `Encounter/${stay}` }))), who).toEqual([id]);
  const rev = ok(await c.get('/fhir/Encounter', { _id: stay, _revinclude: 'CarePlan:encounter' }));
  expect(plansIn(rev), who).toEqual([id]);
  expect(plansIn(ok(await c.get(`/fhir/CarePlan/${id}/_history`))).length, who).toBeGreaterThan(1);
  expect((await c.get(`/fhir/CarePlan/${id}/$print`)).status, who).toBe(200);
  const overview = ok(await c.get(`/fhir/Encounter/${stay}/$overview`)) as unknown as { sip?: { id: string } };
  expect(overview.sip?.id, who).toBe(id);
}

/**
 * `c`, of the organisation `org`, reads nothing of the plan `id` of the stay `stay` any more, by any way in, and gets
 * what it gets for a plan that was never its own; it may not write it either (404). It still reads its own
 * Provenances (`own`: their ids), and only those. `versions`: every version of the plan (the admin's history).
 */
export async function expectReadsNothingOfPlan(
  c: PartyClient,
  org: string,
  id: string,
  stay: string,
  versions: readonly CarePlan[],
  own: readonly string[],
  /** `left`: the stay left the organisation too (re-routed away), so it no longer reads the stay either. */
  stayRead: 'reads' | 'left' = 'reads',
): Promise<void> {
  const read = await c.get(`/fhir/CarePlan/${id}`);
  const never = await c.get(`/fhir/CarePlan/${NEVER}`);
  expect([read.status, diagnostics(read, id)]).toEqual([404, diagnostics(never, NEVER)]);
  expect(plansIn(ok(await c.get('/fhir/CarePlan', { encounter: `Encounter/${stay}` })))).toEqual([]);
  expect(plansIn(ok(await c.get('/fhir/CarePlan', { _id: id })))).toEqual([]);
  // from the stay it still reads (its Tasks point to it; not one the stay left), and from the Tasks that focus the
  // plan (a removed party's cancelled invitation)
  const rev = ok(await c.get('/fhir/Encounter', { _id: stay, _revinclude: 'CarePlan:encounter' }));
  expect(resources(rev).map((r) => r.resourceType)).toEqual(stayRead === 'reads' ? ['Encounter'] : []);
  const inc = ok(await c.get('/fhir/Task', { focus: `CarePlan/${id}`, _include: 'Task:focus' }));
  expect(plansIn(inc)).toEqual([]);
  // no version, neither from before nor from after it left
  const history = await c.get(`/fhir/CarePlan/${id}/_history`);
  const neverHistory = await c.get(`/fhir/CarePlan/${NEVER}/_history`);
  expect([history.status, resources(history.body as Resource)]).toEqual([neverHistory.status, []]);
  expect(versions.length).toBeGreaterThan(1);
  for (const v of versions)
    expect((await c.get(`/fhir/CarePlan/${id}/_history/${v.meta?.versionId ?? ''}`)).status, v.meta?.versionId).toBe(
      404,
    );
  expect((await c.get(`/fhir/CarePlan/${id}/$print`)).status).toBe(404);
  const overview = await c.get(`/fhir/Encounter/${stay}/$overview`);
  expect(overview.status).toBe(stayRead === 'reads' ? 200 : 404);
  expect((overview.body as { sip?: unknown }).sip).toBeUndefined();
  // a write answers as for a plan it cannot see
  const latest = versions[0]!;
  expect((await c.put(`/fhir/CarePlan/${id}`, { ...latest, description: 'Ändrad' })).status).toBe(404);
  expect((await c.post(`/fhir/CarePlan/${id}/$sign`)).status).toBe(404);
  // its own signatures (and other Provenances naming it) stay; the others' do not show
  const provenances = resources(ok(await c.get('/fhir/Provenance', { target: `CarePlan/${id}`, _count: '100' })));
  expect(provenances.map((p) => p.id).sort()).toEqual([...own].sort());
  for (const p of provenances as Provenance[]) expect(p.agent.map((a) => a.who?.reference)).toContain(org);
  for (const p of own) expect((ok(await c.get(`/fhir/Provenance/${p}`)) as Provenance).id).toBe(p);
}
