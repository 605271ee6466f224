import { readFileSync } from 'node:fs';
import type { Bundle, Encounter, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intakeHooks } from '../../src/intake';
import { createRepository } from '../../src/store/repository.pg';
import type { Db } from '../../src/store/db.port';
import type { FhirRepository } from '../../src/store/repository.port';
import { testDatabases } from '../support/db';
import { codeOf, dutyTask, hospitalApi, intakeHarness, receiverTask, type IntakeHarness } from './harness';

const PNR = 'http://electronichealth.se/identifier/personnummer';

const bundle = (): Bundle =>
  JSON.parse(readFileSync(new URL('../fixtures/fhir/admission-bundle.json', import.meta.url), 'utf8')) as Bundle;

describe.each(testDatabases())('FHIR push (Encounter versions → facts) on %s', (kind) => {
  let h: IntakeHarness;
  let api: FhirRepository;
  let enc: Encounter;
  let EHR: { author: string; authorOrganization: string };
  beforeAll(async () => {
    h = await intakeHarness(kind);
    ({ api, EHR } = hospitalApi(h));
  });
  afterAll(async () => {
    await h.close();
  });
  const tasks = async (): Promise<Task[]> => h.tasks(enc.id ?? '');
  const outboxCount = async () => (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]?.n;

  it('when a transaction Bundle with Patient + Encounter arrives, then an inskrivningsmeddelande Task for Västerås is due 24 h after admission', async () => {
    const out = await api.processBundle(bundle(), EHR);
    expect(out.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
    enc = (await h.repo.search<Encounter>('Encounter', { identifier: 'urn:oid:1.2.752.129.2.1.2.1|FHIR-VS-2026-0001' }))
      .resources[0] as Encounter;
    const all = await tasks();
    expect(receiverTask(all, 'inskrivningsmeddelande')?.owner?.reference).toBe(`Organization/${h.vasteras.id}`);
    expect(receiverTask(all, 'inskrivningsmeddelande')?.for?.identifier?.system).toBe(
      'http://electronichealth.se/identifier/personnummer',
    );
    const duty = dutyTask(all, 'inskrivningsmeddelande');
    expect(Date.parse(duty?.restriction?.period?.end ?? '')).toBe(Date.parse('2026-01-16T10:30:00+01:00'));
  });

  it('when the same Bundle arrives again, then nothing changes', async () => {
    const before = await outboxCount();
    const tasksBefore = await tasks();
    await api.processBundle(bundle(), EHR);
    expect(await outboxCount()).toBe(before);
    expect(await tasks()).toEqual(tasksBefore);
  });

  it('when the Encounter is updated to finished with period.end, then an utskrivningsmeddelande Task is created', async () => {
    const cur = await api.read<Encounter>('Encounter', enc.id ?? '');
    await api.update<Encounter>(
      { ...cur, status: 'finished', period: { ...cur.period, end: '2026-01-20T14:00:00+01:00' } },
      EHR,
    );
    expect((await tasks()).map(codeOf)).toContain('utskrivningsmeddelande');
  });

  it('when the discharge is taken back (finished → in-progress), then the discharge notice is withdrawn', async () => {
    const cur = await api.read<Encounter>('Encounter', enc.id ?? '');
    await api.update<Encounter>({ ...cur, status: 'in-progress', period: { start: cur.period?.start } }, EHR);
    const discharge = receiverTask(await tasks(), 'utskrivningsmeddelande');
    expect(discharge?.status).toBe('cancelled');
  });

  it("when only the Patient's municipality is corrected, then the open stay is re-routed: Västerås withdrawn, Sala notified", async () => {
    const patientRef = enc.subject?.reference ?? '';
    const patient = await api.read<Patient>('Patient', patientRef.split('/')[1] ?? '');
    const home = patient.address?.[0] ?? {};
    await api.update<Patient>({ ...patient, address: [{ ...home, city: 'Sala', district: '1981' }] }, EHR);
    const notices = (await tasks()).filter((t) => codeOf(t) === 'inskrivningsmeddelande');
    const owner = (t: Task) => t.owner?.reference;
    expect(notices.find((t) => owner(t) === `Organization/${h.vasteras.id}`)?.status).toBe('cancelled');
    expect(notices.find((t) => owner(t) === `Organization/${h.sala.id}`)?.status).toBe('requested');
    // Writing the same Patient again changes nothing.
    const before = await outboxCount();
    await api.update<Patient>(await api.read<Patient>('Patient', patient.id ?? ''), EHR);
    expect(await outboxCount()).toBe(before);
  });

  it('when the Encounter is cancelled, then the Tasks are cancelled and makulering Tasks are created', async () => {
    const cur = await api.read<Encounter>('Encounter', enc.id ?? '');
    await api.update<Encounter>({ ...cur, status: 'entered-in-error' }, EHR);
    const all = await tasks();
    expect(receiverTask(all, 'inskrivningsmeddelande')?.status).toBe('cancelled');
    expect(all.filter((t) => codeOf(t) === 'makulering').length).toBeGreaterThan(0);
  });

  it('when an outpatient Encounter (class AMB) is written, then no facts are derived', async () => {
    const amb = await api.create<Encounter>(
      {
        resourceType: 'Encounter',
        status: 'in-progress',
        class: { code: 'AMB' },
        period: { start: '2026-01-15T10:00:00+01:00' },
      },
      EHR,
    );
    expect((await h.db.query('SELECT 1 FROM stay_fact WHERE stay_id = $1', [amb.id])).rows).toEqual([]);
  });

  it("when an admission's Patient is written in the same Bundle, then intake takes it from the write (no read); an Encounter alone reads it once (and the store checks it may point to it)", async () => {
    // Reads (statements that write nothing) whose parameters name the Patient's id.
    const seen: unknown[][] = [];
    const counting = (inner: Db): Db => ({
      kind: inner.kind,
      query: (sql, params) => {
        if (!/\b(INSERT|UPDATE|DELETE)\b/.test(sql)) seen.push([...(params ?? [])]);
        return inner.query(sql, params);
      },
      transaction: (fn) => inner.transaction((tx) => fn(counting(tx))),
    });
    const organization = `Organization/${h.hospital.id ?? ''}`;
    const scope = { role: 'hospital' as const, clientId: 'demo-ehr', organization };
    const counted = createRepository(counting(h.db), scope, intakeHooks(h.ctx));
    const b = bundle();
    const [pe, ee] = b.entry ?? [];
    (pe!.resource as Patient).identifier = [{ system: PNR, value: '194512249817' }];
    pe!.request!.url = `Patient?identifier=${PNR}|194512249817`;
    (ee!.resource as Encounter).identifier = [{ system: 'urn:oid:1.2.752.129.2.1.2.1', value: 'FHIR-VS-2026-0042' }];
    ee!.request!.url = 'Encounter?identifier=urn:oid:1.2.752.129.2.1.2.1|FHIR-VS-2026-0042';
    const out = await counted.processBundle(b, EHR);
    const patientId = out.entry?.[0]?.resource?.id ?? '';
    const encounterId = out.entry?.[1]?.resource?.id ?? '';
    const naming = (id: string) => seen.filter((params) => params.some((v) => String(v).includes(id))).length;
    expect(naming(patientId)).toBe(0);
    const notice = receiverTask(await h.tasks(encounterId), 'inskrivningsmeddelande');
    expect(notice?.for?.identifier).toEqual({ system: PNR, value: '194512249817' });

    seen.length = 0;
    const second = await counted.create<Encounter>(
      {
        ...(ee!.resource as Encounter),
        identifier: [{ system: 'urn:oid:1.2.752.129.2.1.2.1', value: 'FHIR-VS-2026-0043' }],
        subject: { reference: `Patient/${patientId}` },
      },
      EHR,
    );
    // once by intake, once by the store's check that the hospital may point its stay to that Patient
    // (`assertTargetsReadable`: a stay of another hospital's patient would open it through the derived Tasks)
    expect(naming(patientId)).toBe(2);
    const again = receiverTask(await h.tasks(second.id ?? ''), 'inskrivningsmeddelande');
    expect(again?.for?.identifier).toEqual({ system: PNR, value: '194512249817' });
    expect(again?.owner?.reference).toBe(`Organization/${h.vasteras.id}`);
  });
});
