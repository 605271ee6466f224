import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Bundle, CarePlan, Communication, Encounter, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { stayExtensions } from '../../src/fhir/encounter-extensions';
import { sipDraft } from '../../src/cli/party-resources';
import { openShell, type Shell } from '../http/shell-fixture';
import { uniquePrefix } from '../support/redis';
import {
  admission,
  needsCD,
  ok,
  partyClient,
  SKULTUNA,
  VASTERAS,
  withExtensions,
  type PartyClient,
} from '../sip/party-client';

const run = promisify(execFile);
const REPO = path.resolve('.');
const TSX = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const CLI = path.join(REPO, 'src/cli/party.ts');
const VC_SALA = 'Organization/vc-sala';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `npm run party -- ... print` as a child process against the gateway listening on an ephemeral port: the party's
 * own token, `GET /fhir/CarePlan/<id>/$print`, HTML or PDF written where asked; a party not on the plan is refused.
 */
describe('npm run party (a party’s own client as a child process): print, answer, comment', () => {
  let shell: Shell;
  let server: Server;
  let base: string;
  let dir: string;
  let plan: CarePlan;
  let stay: string;
  const c: Record<string, PartyClient> = {};

  const party = async (client: string, args: string[], cwd = REPO): Promise<Ran> => {
    try {
      const r = await run(process.execPath, ['--import', TSX, CLI, '--client', client, '--base', base, ...args], {
        cwd,
        timeout: 60_000,
        encoding: 'buffer',
        maxBuffer: 10_000_000,
      });
      return { code: 0, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('utf8') };
    } catch (e) {
      const err = e as { code: number; stdout: Buffer; stderr: Buffer };
      return { code: err.code, stdout: err.stdout.toString('latin1'), stderr: err.stderr.toString('utf8') };
    }
  };

  beforeAll(async () => {
    shell = await openShell({ full: true, env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'jonkoping' } });
    await loadDemoRegion(shell.db, systemRepository);
    for (const id of ['demo-ehr', 'demo-vasteras', 'demo-vc-skultuna'])
      c[id] = await partyClient(shell.gateway.app, id);
    // A stay, ready; the vårdcentral creates the SIP with Västerås invited; Västerås writes and signs its part.
    const bundle = admission('print-cli', '191212121212', '2026-11-28T08:00:00+01:00', needsCD());
    const r = ok(await c['demo-ehr']!.post('/fhir', bundle)) as Bundle;
    const id = /Encounter\/([^/]+)/.exec(r.entry?.[1]?.response?.location ?? '')?.[1] ?? '';
    stay = id;
    const enc = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${id}`)) as Encounter;
    ok(
      await c['demo-ehr']!.put(
        `/fhir/Encounter/${id}`,
        withExtensions(enc, stayExtensions({ readyAt: '2026-11-30T10:00:00+01:00' })),
      ),
    );
    const draft = sipDraft({
      author: SKULTUNA,
      invited: [VASTERAS],
      encounter: `Encounter/${id}`,
      subject: enc.subject!,
      meetingAt: '2026-12-01T10:00:00+01:00',
      place: 'home',
    });
    plan = ok(await c['demo-vc-skultuna']!.post('/fhir/CarePlan', draft), 201) as CarePlan;
    ok(
      await c['demo-vasteras']!.post(`/fhir/CarePlan/${plan.id}/$sign`, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'description', valueString: 'Hemtjänst tre besök per dag' },
          { name: 'contact', valueString: 'Anna Berg, 021-10 20 30' },
        ],
      }),
    );
    server = shell.gateway.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    dir = mkdtempSync(path.join(tmpdir(), 'svu-party-print-'));
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await shell?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when an invited party prints the plan as PDF with --out, then the file is a PDF and its name is printed', async () => {
    const file = path.join(dir, 'plan.pdf');
    const r = await party('demo-vasteras', ['print', plan.id!, '--pdf', '--out', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(file);
    const pdf = readFileSync(file);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(1000);
  }, 60_000);

  it('when the named care contact prints without --out, then HTML in Swedish goes to stdout and a PDF to sip-<id>.pdf', async () => {
    const html = await party('demo-vc-skultuna', ['print', plan.id!]);
    expect(html.code).toBe(0);
    const text = Buffer.from(html.stdout, 'latin1').toString('utf8');
    expect(text).toMatch(/^<!doctype html>/i);
    expect(text).toContain('Hemtjänst tre besök per dag');
    expect(text).toContain('Anna Berg, 021-10 20 30');
    expect(text).not.toContain('Organization/');
    const pdf = await party('demo-vc-skultuna', ['print', plan.id!, '--pdf'], dir);
    expect(pdf.code).toBe(0);
    expect(pdf.stdout.trim()).toBe(`sip-${plan.id!}.pdf`);
    const file = path.join(dir, `sip-${plan.id!}.pdf`);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file).subarray(0, 4).toString('latin1')).toBe('%PDF');
  }, 60_000);

  it('when a party not on the plan prints it, then it is refused: exit 1, the OperationOutcome printed, no file', async () => {
    const file = path.join(dir, 'sala.pdf');
    const r = await party('demo-sala', ['print', plan.id!, '--pdf', '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/\$print.*: 404/);
    const outcome = JSON.parse(r.stderr.slice(r.stderr.indexOf('{'))) as { resourceType: string };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('when a municipality acknowledges with the CLI, then a JSON Patch sets status received and a second ack changes nothing', async () => {
    const [notice] = await c['demo-vasteras']!.tasks({
      encounter: `Encounter/${stay}`,
      code: 'inskrivningsmeddelande',
    });
    expect(notice?.status).toBe('requested');
    const first = await party('demo-vasteras', ['ack', notice!.id!]);
    expect(first.code, first.stderr).toBe(0);
    const acked = JSON.parse(Buffer.from(first.stdout, 'latin1').toString('utf8')) as Task;
    expect(acked.status).toBe('received');
    expect(acked.description).toBe(notice!.description);
    const again = await party('demo-vasteras', ['ack', notice!.id!]);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(Buffer.from(again.stdout, 'latin1').toString('utf8')) as Task).meta?.versionId).toBe(
      acked.meta?.versionId,
    );
  }, 60_000);

  it('when a party answers and comments with the CLI, then the pure builders’ resources are accepted; a bad answer code is a usage error', async () => {
    const [notice] = await c['demo-vasteras']!.tasks({
      encounter: `Encounter/${stay}`,
      code: 'inskrivningsmeddelande',
    });
    expect(notice).toBeDefined();
    const answered = await party('demo-vasteras', ['answer', notice!.id!, 'ej-kand=false', 'boende=Lägenhet med hiss']);
    expect(answered.code, answered.stderr).toBe(0);
    const task = JSON.parse(Buffer.from(answered.stdout, 'latin1').toString('utf8')) as Task;
    expect(task.status).toBe('received');
    expect(task.output?.map((o) => [o.type.coding?.[0]?.code, o.valueBoolean ?? o.valueString])).toEqual([
      ['ej-kand', false],
      ['boende', 'Lägenhet med hiss'],
    ]);
    const bad = await party('demo-vasteras', ['answer', notice!.id!, 'hemma=ja']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('answer codes are ej-kand');
    // a command without the id it works on is a usage error naming it, not a 404 from `Encounter//$overview`
    const bare = await party('demo-vasteras', ['overview']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('overview needs <encounterId>');
    expect(bare.stderr).toContain('--help lists the commands');
    // --help lists every command with its arguments, on stdout, and needs no client
    const help = await party('demo-vasteras', ['--help']);
    expect(help.code).toBe(0);
    for (const command of ['tasks [encounterId]', 'ack <taskId>', 'take-over <carePlanId>', 'print <carePlanId>'])
      expect(help.stdout).toContain(command);
    const sent = await party('demo-vasteras', [
      'comment',
      stay,
      SKULTUNA,
      'hemkomst',
      'Hemtjänsten',
      'kan',
      'från',
      '14',
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    const comment = JSON.parse(Buffer.from(sent.stdout, 'latin1').toString('utf8')) as Communication;
    expect(comment).toMatchObject({
      status: 'in-progress',
      sender: { reference: VASTERAS },
      recipient: [{ reference: SKULTUNA }],
      payload: [{ contentString: 'Hemtjänsten kan från 14' }],
    });
  }, 60_000);

  it('when a municipality rejects its notice as not registered there, then the Task is rejected with the reason and the hospital gets korrigera-mottagare', async () => {
    const [notice] = await c['demo-vasteras']!.tasks({
      encounter: `Encounter/${stay}`,
      code: 'informationsoverforing',
    });
    const target =
      notice ??
      (await c['demo-vasteras']!.tasks({ encounter: `Encounter/${stay}`, code: 'inskrivningsmeddelande' }))[0];
    expect(target).toBeDefined();
    const r = await party('demo-vasteras', ['reject', target!.id!]);
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(Buffer.from(r.stdout, 'latin1').toString('utf8')) as Task;
    expect(task.status).toBe('rejected');
    expect(task.statusReason?.coding?.[0]?.code).toBe('ej-folkbokford');
    let fix: Task[] = [];
    for (let i = 0; i < 50 && fix.length === 0; i++) {
      fix = await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'korrigera-mottagare' });
      if (fix.length === 0) await new Promise((done) => setTimeout(done, 100));
    }
    expect(fix).toHaveLength(1);
    expect(fix[0]?.requester?.reference).toBe(VASTERAS);
    expect(fix[0]?.description).toMatch(/^Västerås stad har avvisat vårdtillfället/);
    const bad = await party('demo-vasteras', ['reject', target!.id!, 'Not A Code']);
    expect(bad.code).toBe(2);
  }, 60_000);

  it('when the patient is listed at another vårdcentral, then the unit the stay left cannot take the plan over with the CLI and the new one can, with its reason', async () => {
    // The hospital's EHR lists the patient at Sala vårdcentral: the stay is re-routed, Sala is the named care contact.
    const enc = ok(await c['demo-ehr']!.get(`/fhir/Encounter/${stay}`)) as Encounter;
    const patient = ok(await c['demo-ehr']!.get(`/fhir/${enc.subject!.reference!}`)) as Patient;
    const listed = { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0102' };
    ok(
      await c['demo-ehr']!.put(`/fhir/${enc.subject!.reference!}`, {
        ...patient,
        generalPractitioner: [{ identifier: listed }],
      }),
    );
    let duty: Task | undefined;
    for (let i = 0; i < 50 && !duty; i++) {
      duty = (await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'kallelse-sip' })).find(
        (t) => t.owner?.reference === VC_SALA && t.focus?.reference?.startsWith('Encounter/'),
      );
      if (!duty) await new Promise((done) => setTimeout(done, 100));
    }
    expect(duty, 'the invitation duty of the new vårdcentral').toBeDefined();
    const old = await party('demo-vc-skultuna', ['take-over', plan.id!]);
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/\$take-over: 403/);
    // the stay left it: told so, naming nobody the stay went to
    expect(old.stderr).toContain('has left your organisation');
    expect(old.stderr).not.toContain('Sala');
    const r = await party('demo-vc-sala', ['take-over', plan.id!, '--reason', 'Ny listning']);
    expect(r.code, r.stderr).toBe(0);
    const taken = JSON.parse(Buffer.from(r.stdout, 'latin1').toString('utf8')) as CarePlan;
    expect(taken.author).toEqual({ reference: VC_SALA, display: 'Sala vårdcentral' });
    expect(taken.activity?.map((a) => a.detail?.description)).toEqual(['Hemtjänst tre besök per dag']);
    expect(taken.note?.at(-1)?.text).toContain('Skäl: Ny listning.');
    const bad = await party('demo-vc-sala', ['take-over']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('take-over needs <carePlanId>');
  }, 60_000);

  it('when a vårdcentral rejects its admission notification with the CLI, then the reason by default is its own, ej-listad, and the hospital’s korrigera-mottagare names it', async () => {
    const [duty] = (
      await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'inskrivningsmeddelande' })
    ).filter((t) => t.owner?.reference === VC_SALA && t.status === 'requested');
    expect(duty, 'the admission notification of Sala vårdcentral').toBeDefined();
    const r = await party('demo-vc-sala', ['reject', duty!.id!]);
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(Buffer.from(r.stdout, 'latin1').toString('utf8')) as Task;
    expect(task.status).toBe('rejected');
    expect(task.statusReason?.coding?.[0]?.code).toBe('ej-listad');
    const fix = (await c['demo-ehr']!.tasks({ encounter: `Encounter/${stay}`, code: 'korrigera-mottagare' })).find(
      (t) => t.requester?.reference === VC_SALA,
    );
    expect(fix?.description).toMatch(
      /^Sala vårdcentral har avvisat vårdtillfället \(ej-listad\): rätta patientens listade vårdcentral/,
    );
  }, 60_000);
});
