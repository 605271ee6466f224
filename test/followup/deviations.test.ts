import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, OperationOutcome, Parameters, Subscription, Task } from '@medplum/fhirtypes';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import { systemRepository } from '../../src/compose';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { dashboardData } from '../../src/followup/dashboard/dashboard-data.pg';
import { DEVIATION_REPORT_SYSTEM } from '../../src/followup/deviations/deviation-report';
import { loadIndicatorRows } from '../../src/followup/indicators/indicator-rows.pg';
import { reviewAccess } from '../../src/followup/log-review/log-review.pg';
import { startReceiver, waitFor, type TestReceiver } from '../delivery/helpers';
import { openShell, type Shell } from '../http/shell-fixture';
import {
  admission,
  HOSPITAL,
  needsCD,
  ok,
  partyClient,
  SALA,
  SKULTUNA,
  VASTERAS,
  type PartyClient,
} from '../sip/party-client';
import { testDatabases } from '../support/db';
import { uniquePrefix } from '../support/redis';

/** The agreement the dashboard reads under (Västmanland's, with its readiness gate). */
const VASTMANLAND = getAgreement(await loadAgreements(), 'vastmanland');

const report = (responsible: string, kind: string, severity: string, description: string): Parameters => ({
  resourceType: 'Parameters',
  parameter: [
    { name: 'responsible', valueReference: { reference: responsible } },
    { name: 'kind', valueCode: kind },
    { name: 'severity', valueCode: severity },
    { name: 'description', valueString: description },
  ],
});

const owners = (b: Bundle) => (b.entry ?? []).map((e) => (e.resource as Task).owner?.reference).sort();

describe.each(testDatabases())('deviations reported by people (001 §5.3) on %s', (kind) => {
  let shell: Shell;
  let hospitalHears: TestReceiver;
  let vasterasHears: TestReceiver;
  const c: Record<string, PartyClient> = {};
  let encounter: Encounter;
  let path: string;

  const deviationsAt = (r: TestReceiver) =>
    r
      .events()
      .flatMap((e) => (e.json.entry ?? []).map((x) => x.resource as Task | undefined))
      .filter((t) => t?.resourceType === 'Task' && t.code?.coding?.[0]?.code === 'avvikelse');

  beforeAll(async () => {
    shell = await openShell({ kind, full: true, env: { QUEUE_PREFIX: uniquePrefix() } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const cap of shell.gateway.capabilities) await cap.start?.(new Set(['api', 'worker'] as const));
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-sala', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
    hospitalHears = await startReceiver();
    vasterasHears = await startReceiver();
    for (const [client, org, rcv] of [
      ['demo-ehr', HOSPITAL, hospitalHears],
      ['demo-vasteras', VASTERAS, vasterasHears],
    ] as const) {
      const sub: Subscription = {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'deviations reach the principal',
        criteria: `Task?owner=${org}`,
        channel: { type: 'rest-hook', endpoint: rcv.url, payload: 'application/fhir+json' },
      };
      const created = ok(await c[client]!.post('/fhir/Subscription', sub), 201) as Subscription;
      // Events are numbered only for an active Subscription: wait for its handshake, or a report made before it
      // would never reach this principal.
      await waitFor(
        async () =>
          ((await c[client]!.get(`/fhir/Subscription/${created.id}`)).body as Subscription).status === 'active',
        15_000,
        `${client}'s Subscription active`,
      );
    }
    const bundle = admission('deviation-1', '194001011230', '2026-12-01T08:00:00+01:00', needsCD());
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    encounter = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    path = `/fhir/Encounter/${id}/$report-deviation`;
    // The stay's parties exist once the hospital's notices went out.
    await waitFor(async () => (await c['demo-vasteras']!.tasks({ encounter: `Encounter/${id}` })).length > 0, 15_000);
  }, 120_000);
  afterAll(async () => {
    await hospitalHears?.close();
    await vasterasHears?.close();
    await shell?.close();
  });

  it('when the municipality reports a serious deviation against the hospital, then both principals get it at once', async () => {
    const body = report(
      HOSPITAL,
      'informationsoverforing',
      'allvarlig',
      'Epikris och läkemedelslista saknades vid hemkomst.',
    );
    const b = ok(await c['demo-vasteras']!.post(path, body), 201) as Bundle;
    expect(owners(b)).toEqual([HOSPITAL, VASTERAS, SKULTUNA].sort());
    const tasks = (b.entry ?? []).map((e) => e.resource as Task);
    const group = tasks[0]?.groupIdentifier?.value;
    for (const t of tasks) {
      expect(t).toMatchObject({
        code: { coding: [{ code: 'avvikelse' }] },
        priority: 'urgent',
        requester: { reference: HOSPITAL },
        encounter: { reference: `Encounter/${encounter.id}` },
        groupIdentifier: { system: DEVIATION_REPORT_SYSTEM, value: group },
        reasonCode: { coding: [{ code: 'informationsoverforing' }] },
      });
      // Texts name organisations, not references.
      expect(t.description).toContain('Västerås');
      expect(t.description).not.toContain('Organization/');
    }
    await waitFor(() => deviationsAt(hospitalHears).length > 0 && deviationsAt(vasterasHears).length > 0, 15_000);
    expect(deviationsAt(hospitalHears)[0]?.description).toContain('Epikris och läkemedelslista saknades');
  });

  it('when the hospital answers its deviation, then its Task is completed with the answer; another party cannot', async () => {
    const [mine] = await c['demo-ehr']!.tasks({
      encounter: `Encounter/${encounter.id}`,
      code: 'avvikelse',
      owner: HOSPITAL,
    });
    expect(mine).toBeDefined();
    const answer: Task = {
      ...mine!,
      status: 'completed',
      note: [...(mine!.note ?? []), { text: 'Rutinen för epikris vid helg ses över; svar till kommunen.' }],
    };
    const saved = ok(await c['demo-ehr']!.put(`/fhir/Task/${mine!.id}`, answer)) as Task;
    expect(saved.status).toBe('completed');
    const other = await c['demo-vasteras']!.put(`/fhir/Task/${mine!.id}`, { ...mine, status: 'cancelled' });
    expect([403, 404]).toContain(other.status);
  });

  it('when a minor deviation is reported, then only the responsible party and the reporter get it', async () => {
    const body = report(VASTERAS, 'inskrivningsmeddelande', 'ovrig', 'Kvittens kom först efter två dagar.');
    const b = ok(await c['demo-ehr']!.post(path, body), 201) as Bundle;
    expect(owners(b)).toEqual([HOSPITAL, VASTERAS].sort());
    expect((b.entry?.[0]?.resource as Task).priority).toBe('routine');
  });

  it('when a party outside the stay reports or reads, then the stay is not known to it', async () => {
    const r = await c['demo-sala']!.post(path, report(HOSPITAL, 'annan', 'allvarlig', 'x'));
    expect(r.status).toBe(404);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(await c['demo-sala']!.tasks({ code: 'avvikelse' })).toEqual([]);
    const vc = await c['demo-vc-skultuna']!.tasks({ code: 'avvikelse' });
    expect(vc.every((t) => t.owner?.reference === SKULTUNA)).toBe(true);
  });

  it('when the responsible party is not a party of the stay, is the reporter, or the input is wrong, then 4xx says why', async () => {
    const cases: [Parameters, number, string][] = [
      [report(SALA, 'annan', 'ovrig', 'x'), 422, 'not a party of this stay'],
      [report(VASTERAS, 'annan', 'ovrig', 'x'), 422, 'another party than the reporter'],
      [report(HOSPITAL, 'vet-ej', 'ovrig', 'x'), 422, 'kind'],
      [report(HOSPITAL, 'annan', 'kritisk', 'x'), 422, 'severity'],
      [report(HOSPITAL, 'annan', 'ovrig', ' '), 400, 'description'],
    ];
    for (const [body, status, text] of cases) {
      const r = await c['demo-vasteras']!.post(path, body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(JSON.stringify(r.body)).toContain(text);
    }
    // The party is named by its name; the element stays in the expression.
    const outsider = (await c['demo-vasteras']!.post(path, report(SALA, 'annan', 'ovrig', 'x')))
      .body as OperationOutcome;
    expect(outsider.issue[0]?.diagnostics).toBe('Sala kommun is not a party of this stay');
    expect(outsider.issue[1]?.expression).toEqual(["Parameters.parameter.where(name = 'responsible').valueReference"]);
  });

  it('when the month’s indicators and dashboard are read, then each report counts once, per responsible party and kind', async () => {
    const agreement = getAgreement(await loadAgreements(), 'vastmanland');
    const rows = await loadIndicatorRows(shell.db, agreement, '2026-12');
    const manual = rows.deviations.filter((d) => d.kind === 'informationsoverforing');
    expect(manual).toHaveLength(1);
    expect(manual[0]?.responsible).toBe(HOSPITAL);
    expect(
      rows.deviations.filter((d) => d.kind === 'inskrivningsmeddelande' && d.responsible === VASTERAS),
    ).toHaveLength(1);
    const region = await dashboardData(shell.db, VASTMANLAND, '2026-12', 1);
    expect(region.deviations).toEqual([2]);
    const sala = await dashboardData(shell.db, VASTMANLAND, '2026-12', 1, { municipality: '1981', owners: [SALA] });
    expect(sala.deviations).toEqual([0]);
    const vasteras = await dashboardData(shell.db, VASTMANLAND, '2026-12', 1, {
      municipality: '1980',
      owners: [VASTERAS],
    });
    expect(vasteras.deviations).toEqual([2]);
  });

  it('when notifications were delivered, then log review names the subscriber, its organisation by name and the patient each exposed', async () => {
    const patient = encounter.subject?.reference ?? '';
    await waitFor(
      async () =>
        (await reviewAccess(shell.db, { accessor: 'demo-vasteras', limit: 500 })).some(
          (r) => r.interaction === 'notification' && r.patient === patient,
        ),
      15_000,
      'a delivered notification in the log review',
    );
    const rows = await reviewAccess(shell.db, { accessor: 'demo-vasteras', patient, limit: 500 });
    const n = rows.find((r) => r.interaction === 'notification')!;
    expect(n).toMatchObject({
      organisation: 'Västerås stad',
      accessor: 'demo-vasteras',
      tenant: VASTERAS,
      action: 'R',
      outcome: '0',
    });
    expect(n.what).toMatch(/^Task\//);
    // Sala was never notified about this patient.
    expect(
      (await reviewAccess(shell.db, { accessor: 'demo-sala', patient, limit: 500 })).filter(
        (r) => r.interaction === 'notification',
      ),
    ).toEqual([]);
  });

  it('when an admin reads a raw HL7 message of the stay, then log review shows the admin read that patient', async () => {
    const patient = encounter.subject?.reference ?? '';
    const ins = await shell.db.query<{ id: string }>(
      `INSERT INTO hl7_message (sender, control_id, event, raw, channel, status, stay_id)
       VALUES ('EHR/VS', 'raw-view-1', 'ADT^A01', 'MSH|^~\\&|EHR|VS|||20261201080000||ADT^A01|raw-view-1|P|2.5', 'http', 'accepted', $1)
       RETURNING id`,
      [encounter.id],
    );
    const admin = await partyClient(shell.gateway.app, 'demo-admin');
    const before = (await reviewAccess(shell.db, { patient, accessor: 'demo-admin', limit: 500 })).length;
    ok(await admin.get(`/admin/api/hl7/messages/${ins.rows[0]!.id}`));
    const list = await admin.get('/admin/api/hl7/messages', { stay: encounter.id ?? '', include: 'raw' });
    expect(list.status).toBe(200);
    const rows = await reviewAccess(shell.db, { patient, accessor: 'demo-admin', limit: 500 });
    expect(rows.length).toBe(before + 2);
    expect(rows[0]).toMatchObject({ accessor: 'demo-admin', patient, action: 'R', interaction: 'read' });
    // Without the raw text, nothing personal was shown: not audited as a read of the patient.
    ok(await admin.get('/admin/api/hl7/messages', { stay: encounter.id ?? '' }));
    expect((await reviewAccess(shell.db, { patient, accessor: 'demo-admin', limit: 500 })).length).toBe(before + 2);
  });
});
