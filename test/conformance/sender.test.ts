import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Task } from '@medplum/fhirtypes';
import { Hl7Client } from '@medplum/hl7';
import { Hl7Message } from '@medplum/core';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { splitHl7Messages } from '../../src/intake/hl7v2/split-messages';
import { readTaskKey } from '../../src/fhir/task';
import { loadProfiles } from '../../src/mapping/profile';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { SenderSession } from '../../src/conformance/sender/analyse';
import { startSenderEndpoints } from '../../src/conformance/sender/server';
import { uniquePrefix } from '../support/redis';
import { testDatabases } from '../support/db';
import { openShell, type Shell } from '../http/shell-fixture';
import { partyClient } from '../sip/party-client';
import { encounterIdFor } from '../../src/intake/hl7v2/apply-adt';
import { formatMessage } from '../../src/conformance/sender/format';
import { adt, OBX, withField, type AdtOptions } from '../mapping/adt-builder';

const FEED = 'test/fixtures/hl7/vasteras-stay.hl7';
const feed = () => splitHl7Messages(readFileSync(FEED, 'utf8'));

async function session(): Promise<SenderSession> {
  return new SenderSession(loadProfiles(), getAgreement(await loadAgreements(), 'vastmanland'));
}

/** The Tasks as `<task key> <status>`, the engine's key being the Task's task-key identifier. */
const line = (key: string, status: string) => `${key} ${status}`;

const NEEDS = [OBX.needs('socialtjanst', 'kommunal-hsl'), OBX.consent('ja')];
/** An A31 as hospitals send it: no visit (PV1 empty), the person's data in PID/PD1. */
const a31 = (o: Omit<AdtOptions, 'event'>): string =>
  adt({ ...o, event: 'A31', noPv1: true, extra: ['PV1|1|N', ...(o.extra ?? [])] });
/** `a31` recording a death (PID-29 time, PID-30 Y). */
const died = (o: Omit<AdtOptions, 'event'>, at: string): string =>
  withField(withField(a31(o), 'PID', 29, at), 'PID', 30, 'Y');

describe.each(testDatabases())('sender kit against what the gateway really derives on %s', (kind) => {
  let shell: Shell;
  beforeAll(async () => {
    shell = await openShell({
      kind,
      full: true,
      env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland', HL7_ACK_AFTER: 'applied' },
    });
    await loadDemoRegion(shell.db, systemRepository);
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api'] as const));
  });
  afterAll(async () => shell.close());

  it('reports for test/fixtures/hl7/vasteras-stay.hl7 the same Tasks (key and status) the gateway stores', async () => {
    const ehr = await partyClient(shell.gateway.app, 'demo-ehr');
    for (const msg of feed()) {
      const r = await request(shell.gateway.app)
        .post('/hl7v2')
        .set('Content-Type', 'x-application/hl7-v2+er7')
        .auth(ehr.token, { type: 'bearer' })
        .send(msg);
      expect(r.text).toContain('MSA|AA');
    }
    const stored = (await systemRepository(shell.db).search<Task>('Task', { _count: '500' })).resources;
    const gateway = stored
      .map((t) => [readTaskKey(t), t.status] as const)
      .filter(([k]) => k !== undefined)
      .map(([k, s]) => line(k!.key, s))
      .sort();
    expect(gateway.length).toBeGreaterThan(5);

    const s = await session();
    for (const msg of feed()) expect(s.hl7(msg).ack).toBe('AA');
    const [stay] = s.summary();
    // the gateway never stores a Task that was withdrawn before it was sent (planTasks); the kit lists it cancelled
    const kit = stay!.tasks
      .filter((t) => t.status !== 'cancelled')
      .map((t) => line(t.key, t.status))
      .sort();
    expect(kit).toEqual(gateway);
    expect(stay!.missing).toEqual([]);
    // facts per message: admission with needs and estimate, then update with ready, then discharge
    expect(s.messages.map((m) => m.facts.map((f) => f.kind).join(','))).toEqual([
      'admitted,needs-assessed,estimated-discharge-set',
      expect.stringContaining('ready-for-discharge'),
      'discharged',
    ]);
  }, 60_000);

  /**
   * Sends each message to the gateway and to the kit; after each, the kit reports the Tasks the gateway stores for the
   * stay (the kit also lists those withdrawn before they were sent, which the gateway never stores).
   */
  async function sendBoth(messages: string[]): Promise<SenderSession> {
    const ehr = await partyClient(shell.gateway.app, 'demo-ehr');
    const s = await session();
    for (const msg of messages) {
      const r = await request(shell.gateway.app)
        .post('/hl7v2')
        .set('Content-Type', 'x-application/hl7-v2+er7')
        .auth(ehr.token, { type: 'bearer' })
        .send(msg);
      expect(r.text).toContain('MSA|AA');
      expect(s.hl7(msg).ack).toBe('AA');
      const [stay] = s.summary();
      const [system, value] = [stay!.stay.slice(0, stay!.stay.lastIndexOf('|')), stay!.stay.split('|').pop()!];
      const stored = await systemRepository(shell.db).search<Task>('Task', {
        encounter: `Encounter/${encounterIdFor(system, value)}`,
        _count: '200',
      });
      const gateway = stored.resources.map((t) => line(readTaskKey(t)!.key, t.status)).sort();
      const kit = stay!.tasks.map((t) => line(t.key, t.status));
      expect(gateway.length).toBeGreaterThan(1);
      expect(gateway.filter((g) => !kit.includes(g))).toEqual([]);
      expect(kit.filter((k) => !gateway.includes(k) && !k.endsWith(' cancelled'))).toEqual([]);
    }
    return s;
  }

  it('an outpatient unit reported beside the listed vårdcentral, then withdrawn (OBX `oppenvardsenhet` ""): the kit reports the one makulering the gateway sends it', async () => {
    const pnr = '194105149803';
    const listedUnit = 'SE2321000172-DEMO0101';
    const psyk = 'SE2321000172-PSYK1';
    const s = await sendBoth([
      adt({
        event: 'A01',
        visit: 'KIT-OPV',
        pnr,
        listedUnit,
        expected: '20260122',
        obx: [OBX.needs('socialtjanst', 'kommunal-hsl', 'oppenvard'), OBX.consent('ja'), OBX.outpatientUnit(psyk)],
        control: 'KIT-OPV-1',
      }),
      adt({
        event: 'A08',
        visit: 'KIT-OPV',
        pnr,
        listedUnit,
        obx: [OBX.outpatientUnit('""')],
        control: 'KIT-OPV-2',
        evnTime: '20260116080000',
      }),
    ]);
    const withdrawal = s.messages[1]!;
    expect(withdrawal.tasks.filter((t) => t.code === 'makulering').map((t) => line(t.key, t.status))).toEqual([
      line(`makulering:inskrivningsmeddelande@primary-care:${psyk}`, 'requested'),
    ]);
  }, 60_000);

  it('an A01 (municipality 1980), an A31 moving the person to 1981 and an A31 recording the death: after each the kit reports the Tasks the gateway stores', async () => {
    const pnr = '195207089839';
    const listedUnit = 'SE2321000172-DEMO0101';
    const feed = [
      adt({ event: 'A01', visit: 'KIT-A31', pnr, obx: NEEDS, expected: '20260122', listedUnit, control: 'KIT-A31-1' }),
      a31({ pnr, municipality: '1981', control: 'KIT-A31-2', evnTime: '20260116080000' }),
      died({ pnr, municipality: '1981', control: 'KIT-A31-3', evnTime: '20260117090000' }, '20260117085000'),
    ];
    const s = await sendBoth(feed);
    const [, move, death] = s.messages;
    expect(move!.facts.map((f) => f.kind)).toEqual(['patient-updated']);
    expect(move!.reachedStays?.map((r) => r.stay)).toEqual([move!.stay]);
    const changed = (a: typeof move) =>
      a!.tasks.filter((t) => a!.changedTasks.includes(t.key)).map((t) => line(t.key, t.status));
    expect(changed(move)).toEqual(
      expect.arrayContaining([
        line('inskrivningsmeddelande@municipality:1980', 'cancelled'),
        line('makulering:inskrivningsmeddelande@municipality:1980', 'requested'),
        line('inskrivningsmeddelande@municipality:1981', 'requested'),
      ]),
    );
    expect(death!.facts.map((f) => f.kind)).toEqual(['died']);
    expect(changed(death).some((t) => t.startsWith('avsluta-arende@municipality:1981'))).toBe(true);
    expect(changed(death)).toContain(line(`kallelse-sip@primary-care:${listedUnit}`, 'cancelled'));
    expect(s.summary()[0]!.status).toBe('deceased');
    expect(formatMessage(move!)).toMatch(/task makulering → municipality:1980 requested/);
  }, 60_000);
});

describe('sender kit flags', () => {
  it('a feed without estimates or needs: each stay misses that mandatory content', async () => {
    const s = await session();
    const stripped = feed().map((m) =>
      m
        .split(/\r\n|\r|\n/)
        .filter((seg) => !seg.startsWith('PV2') && !/^OBX\|\d+\|\w+\|behov\^/.test(seg))
        .join('\r'),
    );
    for (const m of stripped) s.hl7(m);
    const first = s.messages[0]!;
    expect(first.ack).toBe('AA');
    expect(first.missing.join('\n')).toMatch(/no estimated discharge date/);
    expect(first.missing.join('\n')).toMatch(/no needs assessment/);
    expect(first.missing.join('\n')).not.toMatch(/no municipality/);
    expect(s.summary()[0]!.missing).toHaveLength(2);
  });

  it('unknown codes, refusals and repeats in test/fixtures/hl7/rejected.hl7 and a repeated message', async () => {
    const s = await session();
    const out = splitHl7Messages(readFileSync('test/fixtures/hl7/rejected.hl7', 'utf8')).map((m) => s.hl7(m));
    expect(out.map((a) => a.ack)).toEqual(['AE', 'AA', 'AR']);
    expect(out[0]!.error).toMatch(/PID-3/);
    expect(out[1]!.unknownCodes.map((u) => u.code)).toEqual(['unknown-ward']);
    expect(out[1]!.ackText).toMatch(/ERR\|.*\|W/);
    const again = s.hl7(feed()[0]!);
    const repeat = s.hl7(feed()[0]!);
    expect(again.changedTasks.length).toBeGreaterThan(0);
    expect(repeat.ignored).toMatch(/repeat of MSH-10/);
    expect(repeat.changedTasks).toEqual([]);
  });

  it('an A31 for a person without an open stay in the replay updates the Patient only', async () => {
    const s = await session();
    const a = s.hl7(a31({ pnr: '194512249816', municipality: '1981', control: 'NOSTAY-1' }));
    expect(a.ack).toBe('AA');
    expect(a.facts).toEqual([]);
    expect(a.reachedStays).toEqual([]);
    expect(a.notes).toEqual(['no open stay of this patient in the replay: the Patient only']);
    expect(formatMessage(a)).toMatch(/note: no open stay of this patient in the replay: the Patient only/);
    // a discharged stay and a stay at another hospital are not reached either (as at the gateway)
    s.hl7(adt({ event: 'A01', visit: 'DONE', pnr: '194512249816', obx: NEEDS, control: 'NOSTAY-2' }));
    s.hl7(adt({ event: 'A03', visit: 'DONE', pnr: '194512249816', discharge: '20260116100000', control: 'NOSTAY-3' }));
    const other = 'SE2321000999-OTHER1';
    s.hl7(adt({ event: 'A01', visit: 'ELSEWHERE', pnr: '194512249816', obx: NEEDS, facility: other }));
    const b = s.hl7(a31({ pnr: '194512249816', municipality: '1980', control: 'NOSTAY-4' }));
    expect(b.reachedStays).toEqual([]);
    expect(b.notes).toEqual(['no open stay of this patient in the replay: the Patient only']);
  });

  it('an A31 reaching two open stays reports each; protected identity and an unchanged routing are said', async () => {
    const s = await session();
    const pnr = '194910130832';
    s.hl7(adt({ event: 'A01', visit: 'TWO-1', pnr, obx: NEEDS, control: 'TWO-1' }));
    s.hl7(adt({ event: 'A01', visit: 'TWO-2', pnr, obx: NEEDS, control: 'TWO-2' }));
    const a = s.hl7(a31({ pnr, municipality: '1981', control: 'TWO-3' }));
    expect(a.reachedStays?.map((r) => r.stay.split('|').pop())).toEqual(['TWO-1', 'TWO-2']);
    expect(a.stay).toBeUndefined();
    expect(a.facts.map((f) => f.kind)).toEqual(['patient-updated', 'patient-updated']);
    for (const r of a.reachedStays ?? [])
      expect(r.changedTasks).toContain('makulering:inskrivningsmeddelande@municipality:1980');
    const text = formatMessage(a);
    expect(text.match(/^ {2}stay: .*\|TWO-\d$/gm)).toHaveLength(2);
    expect(text.match(/^ {4}task makulering → municipality:1980 requested$/gm)).toHaveLength(2);
    const same = s.hl7(a31({ pnr, municipality: '1981', protection: 'Y', control: 'TWO-4' }));
    expect(same.reachedStays).toEqual([]);
    expect(same.notes).toEqual([
      'the Patient gets protected identity: every record of the person is labelled, the address hidden',
      'neither the municipality nor the listed unit changed and no death: the open stays are not changed',
    ]);
  });

  it('over MLLP and FHIR: the endpoint answers ACKs and reports each message at GET /report', async () => {
    const s = await session();
    const ep = await startSenderEndpoints(s, { httpPort: 0, mllpPort: 0 });
    try {
      const client = new Hl7Client({ host: '127.0.0.1', port: ep.mllpPort });
      const ack = await client.sendAndWait(Hl7Message.parse(feed()[0]!.replace(/\n/g, '\r')));
      await client.close();
      expect(ack.getSegment('MSA')?.getField(1)?.toString()).toBe('AA');
      expect(ack.getSegment('MSA')?.getField(3)?.toString()).toBe('Analysed by the sender kit (not stored)');
      const enc = {
        resourceType: 'Encounter',
        status: 'in-progress',
        class: { code: 'IMP' },
        subject: { reference: 'Patient/p1' },
        period: { start: '2026-01-15T10:00:00+01:00' },
        serviceProvider: { identifier: { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0001' } },
      };
      const r = await fetch(`http://127.0.0.1:${ep.httpPort}/fhir/Encounter/e1`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify(enc),
      });
      expect(r.status).toBe(200);
      const report = (await (await fetch(`http://127.0.0.1:${ep.httpPort}/report`)).json()) as {
        messages: { channel: string; facts: { kind: string }[]; missing: string[] }[];
      };
      expect(report.messages.map((m) => m.channel)).toEqual(['mllp', 'fhir']);
      expect(report.messages[1]!.facts.map((f) => f.kind)).toContain('admitted');
      expect(report.messages[1]!.missing.join('\n')).toMatch(/no municipality/);
    } finally {
      await ep.close();
    }
  });
});
