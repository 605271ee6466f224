import type { Encounter, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { adt, OBX, type AdtOptions } from '../mapping/adt-builder';
import { testDatabases } from '../support/db';
import { ackCode, codeOf, intakeHarness, receiverTask, type IntakeHarness } from './harness';

const VISIT_SYSTEM = 'https://svu-gateway.dev/fhir/NamingSystem/hl7v2-visit/EHR-SE2321000172-DEMO0001';
const stayId = (visit: string) => encounterIdFor(VISIT_SYSTEM, visit);

/** Comparable snapshot of a stay: Encounter status/period and each Task's code, owner, status and deadline. */
async function snapshot(h: IntakeHarness, visit: string) {
  const enc = await h.repo.read<Encounter>('Encounter', stayId(visit));
  const tasks = (await h.tasks(stayId(visit)))
    .map((t: Task) => ({
      // Task keys name the fact that caused them (message control ids differ between feeds): compare the obligation.
      key: t.identifier?.[0]?.value?.split('|')[1]?.split('#')[0],
      code: codeOf(t),
      status: t.status,
      due: t.restriction?.period?.end,
      owner: t.owner?.reference ?? t.owner?.identifier?.value,
    }))
    .sort((a, b) => String(a.key).localeCompare(String(b.key)));
  return {
    status: enc.status,
    start: enc.period?.start,
    end: enc.period?.end,
    location: enc.location?.[0]?.location?.display,
    tasks,
  };
}

describe.each(testDatabases())('stay sequences (all trigger events, order, replays) on %s', (kind) => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness(kind);
  });
  afterAll(async () => {
    await h.close();
  });

  const send = async (o: AdtOptions) => {
    const ack = await h.send(adt(o));
    expect(ackCode(ack), ack.toString()).toBe('AA');
  };
  const admit = (visit: string, extra: Partial<AdtOptions> = {}) =>
    send({ event: 'A01', visit, obx: [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')], ...extra });

  it('when A02 transfers, then the Encounter location is the new ward; A12 cancels it back', async () => {
    await admit('S-A02');
    await send({ event: 'A02', visit: 'S-A02', ward: 'KIR45', evnTime: '20260116090000' });
    expect((await snapshot(h, 'S-A02')).location).toBe('KIR45');
    await send({ event: 'A12', visit: 'S-A02', ward: 'MED21', evnTime: '20260116100000' });
    expect((await snapshot(h, 'S-A02')).location).toBe('MED21');
  });

  it('when A08 sets an estimated discharge and ready-for-discharge, then the Encounter carries them', async () => {
    await admit('S-A08');
    await send({
      event: 'A08',
      visit: 'S-A08',
      expected: '20260124',
      obx: [OBX.needs('socialtjanst'), OBX.ready('202601170900')],
      evnTime: '20260117091500',
    });
    const enc = await h.repo.read<Encounter>('Encounter', stayId('S-A08'));
    const urls = (enc.extension ?? []).map((e) => e.url.split('/').pop());
    expect(urls).toContain('estimated-discharge-date');
  });

  it('when A21 then A22 arrive, then the Encounter is on leave and back in progress', async () => {
    await admit('S-LOA');
    await send({ event: 'A21', visit: 'S-LOA', evnTime: '20260116120000' });
    expect((await snapshot(h, 'S-LOA')).status).toBe('onleave');
    await send({ event: 'A22', visit: 'S-LOA', evnTime: '20260116180000' });
    expect((await snapshot(h, 'S-LOA')).status).toBe('in-progress');
  });

  it('when A52 cancels a leave, then in progress; A53 cancels the return, then on leave again', async () => {
    await admit('S-A52');
    await send({ event: 'A21', visit: 'S-A52', evnTime: '20260116120000' });
    await send({ event: 'A52', visit: 'S-A52', evnTime: '20260116121000' });
    expect((await snapshot(h, 'S-A52')).status).toBe('in-progress');
    await send({ event: 'A53', visit: 'S-A52', evnTime: '20260116122000' });
    expect((await snapshot(h, 'S-A52')).status).toBe('onleave');
  });

  it('when A13 cancels a discharge, then the Encounter is in progress again and the discharge notice is withdrawn', async () => {
    await admit('S-A13');
    await send({ event: 'A03', visit: 'S-A13', discharge: '20260120140000', evnTime: '20260120140500' });
    await send({ event: 'A13', visit: 'S-A13', evnTime: '20260120150000' });
    const s = await snapshot(h, 'S-A13');
    expect(s.status).toBe('in-progress');
    expect(s.end).toBeUndefined();
    const discharge = s.tasks.find((t) => t.code === 'utskrivningsmeddelande' && !t.key?.startsWith('ansvar:'));
    if (discharge) expect(discharge.status).toBe('cancelled');
  });

  it('when A13 cancels a discharge, then what no longer applies is cancelled with a makulering to its owner and what still applies keeps its link to the hospital duty, unchanged', async () => {
    await admit('S-A13B', { expected: '20260120' });
    await send({ event: 'A03', visit: 'S-A13B', discharge: '20260120140000', evnTime: '20260120140500' });
    const before = await h.tasks(stayId('S-A13B'));
    const infoBefore = receiverTask(before, 'informationsoverforing');
    expect(infoBefore?.basedOn?.[0]?.reference).toMatch(/^Task\//);
    await send({ event: 'A13', visit: 'S-A13B', evnTime: '20260120150000' });
    const after = await h.tasks(stayId('S-A13B'));
    const byId = new Map(after.map((t) => [t.id, t]));
    // Information transfer is still due before the real discharge: the receiver's Task is not sent again, and the
    // hospital's duty it is based on stays open (its same-day deadline waits for the next discharge).
    const info = receiverTask(after, 'informationsoverforing');
    expect(info?.meta?.versionId).toBe(infoBefore?.meta?.versionId);
    expect(info?.basedOn).toEqual(infoBefore?.basedOn);
    const duty = byId.get(info?.basedOn?.[0]?.reference?.replace('Task/', ''));
    expect(duty).toMatchObject({ status: 'requested', owner: { reference: `Organization/${h.hospital.id}` } });
    expect(duty?.restriction?.period?.end).toBeUndefined();
    // Closing the case never comes before discharge: withdrawn like the discharge notice, with a makulering each.
    const makuleringOf = (t: Task | undefined) =>
      after.find((m) => codeOf(m) === 'makulering' && m.focus?.reference === `Task/${t?.id}`);
    for (const code of ['avsluta-arende', 'utskrivningsmeddelande']) {
      const withdrawn = receiverTask(after, code);
      expect(withdrawn?.status, code).toBe('cancelled');
      expect(makuleringOf(withdrawn), code).toMatchObject({
        status: 'requested',
        owner: withdrawn?.owner,
        requester: { reference: `Organization/${h.hospital.id}` },
      });
    }
  });

  it('when A04 for an inpatient arrives, then it admits like A01', async () => {
    await send({ event: 'A04', visit: 'S-A04', obx: [OBX.needs('socialtjanst')] });
    const s = await snapshot(h, 'S-A04');
    expect(s.status).toBe('in-progress');
    expect(s.tasks.map((t) => t.code)).toContain('inskrivningsmeddelande');
  });

  it('when A05 pre-admits an inpatient, then facts are kept but no admission notice is sent', async () => {
    await send({ event: 'A05', visit: 'S-A05', expected: '20260201' });
    const facts = await h.db.query<{ kind: string }>('SELECT kind FROM stay_fact WHERE stay_id = $1', [
      stayId('S-A05'),
    ]);
    expect(facts.rows.map((r) => r.kind)).toEqual(['estimated-discharge-set']);
    expect((await h.tasks(stayId('S-A05'))).map(codeOf)).not.toContain('inskrivningsmeddelande');
    expect((await h.repo.read<Encounter>('Encounter', stayId('S-A05'))).status).toBe('planned');
  });

  it('when A03 arrives before A08 (out of order), then the end state equals the in-order one', async () => {
    const a01: AdtOptions = { event: 'A01', obx: [OBX.needs('socialtjanst')] };
    const a08: AdtOptions = {
      event: 'A08',
      obx: [OBX.needs('socialtjanst')],
      expected: '20260124',
      evnTime: '20260117091500',
    };
    const a03: AdtOptions = { event: 'A03', discharge: '20260120140000', evnTime: '20260120140500' };
    const orders: [string, AdtOptions[]][] = [
      ['S-ORD-1', [a01, a08, a03]],
      ['S-ORD-2', [a01, a03, a08]],
      ['S-ORD-3', [a03, a08, a01]],
    ];
    for (const [visit, order] of orders) {
      for (const m of order) await send({ ...m, visit });
    }
    const one = await snapshot(h, 'S-ORD-1');
    expect(one.status).toBe('finished');
    expect(await snapshot(h, 'S-ORD-2')).toEqual(one);
    expect(await snapshot(h, 'S-ORD-3')).toEqual(one);
  });

  it('when A13 arrives after A03 and then the feed is replayed, then nothing changes on the replay', async () => {
    const msgs = [
      adt({ event: 'A01', visit: 'S-REP', control: 'R-1', obx: [OBX.needs('socialtjanst')] }),
      adt({ event: 'A03', visit: 'S-REP', control: 'R-2', discharge: '20260120140000', evnTime: '20260120140500' }),
      adt({ event: 'A13', visit: 'S-REP', control: 'R-3', evnTime: '20260120150000' }),
    ];
    for (const m of msgs) expect(ackCode(await h.send(m))).toBe('AA');
    const first = await snapshot(h, 'S-REP');
    const outbox = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    for (const m of msgs) expect(ackCode(await h.send(m))).toBe('AA');
    expect(await snapshot(h, 'S-REP')).toEqual(first);
    expect((await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]?.n).toBe(
      outbox.rows[0]?.n,
    );
  });

  it('when an owner completed a Task, then later messages never touch it', async () => {
    await admit('S-DONE');
    const notice = (await h.tasks(stayId('S-DONE'))).find((t) => codeOf(t) === 'inskrivningsmeddelande');
    const done = await h.repo.update<Task>({ ...(notice as Task), status: 'completed' });
    await send({ event: 'A11', visit: 'S-DONE', evnTime: '20260115120000' });
    const after = await h.repo.read<Task>('Task', done.id ?? '');
    expect(after.status).toBe('completed');
    expect(after.meta?.versionId).toBe(done.meta?.versionId);
  });

  it('when the municipality has no Organization in the store, then the Task owner is a logical reference by kommunkod', async () => {
    await admit('S-LOGICAL', { municipality: '1984' });
    const notice = receiverTask(await h.tasks(stayId('S-LOGICAL')), 'inskrivningsmeddelande');
    expect(notice?.owner).toMatchObject({ identifier: { system: 'urn:oid:1.2.752.129.2.2.1.17', value: '1984' } });
    expect(notice?.owner?.reference).toBeUndefined();
  });

  it('when many messages for one stay are processed concurrently, then the result equals sequential processing', async () => {
    const feed = (visit: string) => [
      adt({ event: 'A01', visit, obx: [OBX.needs('socialtjanst')] }),
      adt({
        event: 'A08',
        visit,
        expected: '20260124',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl')],
        evnTime: '20260116100000',
      }),
      adt({ event: 'A02', visit, ward: 'KIR45', evnTime: '20260117100000' }),
      adt({ event: 'A03', visit, discharge: '20260120140000', evnTime: '20260120140500' }),
    ];
    for (const m of feed('S-SEQ')) expect(ackCode(await h.send(m))).toBe('AA');
    const acks = await Promise.all(feed('S-PAR').map((m) => h.send(m)));
    expect(acks.map(ackCode)).toEqual(['AA', 'AA', 'AA', 'AA']);
    expect(await snapshot(h, 'S-PAR')).toEqual(await snapshot(h, 'S-SEQ'));
  });
});
