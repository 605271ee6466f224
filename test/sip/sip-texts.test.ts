import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Encounter, Organization, Task } from '@medplum/fhirtypes';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { createRepository } from '../../src/store/repository.pg';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import { pdfText } from './pdf-text';
import request from 'supertest';
import {
  admission,
  HOSPITAL,
  needsCD,
  ok,
  partyClient,
  sipDraft,
  SKULTUNA,
  VASTERAS,
  withExtensions,
  type PartyClient,
} from './party-client';

/** An Organization the directory holds without a name (a unit registered before its name was known). */
const NAMELESS = 'Organization/namnlos-enhet';

/**
 * What people read of a SIP (the invitation Task's text, the printed plan): its times are Swedish time to the minute
 * and say so once (`2026-12-02 10:00`, the console's formatter src/http/time-format.ts), and an organisation the
 * directory has no name for reads as the console says it, `okänd organisation (Organization/x)`, not a bare reference.
 */
describe.each(testDatabases())('the texts of a SIP on %s', (kind) => {
  let shell: Shell;
  const c: Record<string, PartyClient> = {};
  let plan: CarePlan;

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'jonkoping' } });
    await loadDemoRegion(shell.db, systemRepository);
    await createRepository(shell.db, { system: true }).update<Organization>({
      resourceType: 'Organization',
      id: NAMELESS.slice('Organization/'.length),
      active: true,
    });
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
    const bundle = admission('sip-texts', '191212121212', '2026-11-28T08:00:00+01:00', needsCD());
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    let encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    encounter = ok(
      await c['demo-ehr']!.put(
        `/fhir/Encounter/${id}`,
        withExtensions(encounter, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' })),
      ),
    ) as Encounter;
    // Jönköping: the hospital initiates the SIP (meeting 2026-12-02T10:00:00+01:00, at home).
    plan = ok(
      await c['demo-ehr']!.post('/fhir/CarePlan', sipDraft(encounter, HOSPITAL, [SKULTUNA, VASTERAS, NAMELESS])),
      201,
    ) as CarePlan;
  });
  afterAll(async () => shell?.close());

  it('when a party reads its invitation, then the meeting is in Swedish time, said once, from the named hospital', async () => {
    const [invite] = await c['demo-vasteras']!.tasks({ focus: `CarePlan/${plan.id}` });
    expect(invite?.description).toBe(
      'Kallelse till SIP-möte den 2026-12-02 10:00 svensk tid i bostaden, från Västmanlands sjukhus Västerås. ' +
        'Kvittera kallelsen utan dröjsmål och skriv er del av planen.',
    );
  });

  it('when a party the directory has no name for is invited, then its invitation carries no bare reference as its name', async () => {
    const sys = createRepository(shell.db, { system: true });
    const found = await sys.search<Task>('Task', { focus: `CarePlan/${plan.id}`, owner: NAMELESS });
    expect(found.resources).toHaveLength(1);
    expect(found.resources[0]?.owner).toEqual({ reference: NAMELESS });
    expect(found.resources[0]?.description).toContain('från Västmanlands sjukhus Västerås.');
  });

  it('when the plan is printed, then the nameless party is an unknown organisation and its times are said to be Swedish time', async () => {
    const html = await c['demo-ehr']!.get(`/fhir/CarePlan/${plan.id}/$print`);
    expect(html.status).toBe(200);
    expect(html.text).toContain(`<td>okänd organisation (${NAMELESS})</td>`);
    expect(html.text).not.toMatch(new RegExp(`>${NAMELESS}<`));
    expect(html.text).toContain('<p>2026-12-02 10:00 i bostaden</p>');
    expect(html.text).toContain('Alla tider i planen är svensk tid.');
    const pdf = await request(shell.gateway.app)
      .get(`/fhir/CarePlan/${plan.id}/$print`)
      .query({ _format: 'pdf' })
      .auth(c['demo-ehr']!.token, { type: 'bearer' })
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (x: Buffer) => chunks.push(x));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(pdf.status).toBe(200);
    const text = pdfText(pdf.body as Buffer);
    expect(text).toContain(`okänd organisation (${NAMELESS})`);
    expect(text).toContain('2026-12-02 10:00 i bostaden');
    expect(text).toContain('Alla tider i planen är svensk tid.');
  });
});
