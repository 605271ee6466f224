import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CarePlan, Communication, Provenance, Resource, StructureDefinition, Task } from '@medplum/fhirtypes';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuide, type BuiltGuide } from '../../src/ig/build';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { CODE_SYSTEM, TASK_OUTPUT_CODES } from '../../src/fhir/constants';
import { derivedStatus, signatureState } from '../../src/sip/sip-plan';
import { NAV } from '../../src/ig/html';
import { CHROMIUM, skipBrowser } from '../support/chromium';

describe.skipIf(skipBrowser)('implementation guide (npm run ig)', () => {
  let out: string;
  let guide: BuiltGuide;
  let browser: Browser;
  let validator: Validator;

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'svu-ig-'));
    guide = await buildGuide(out);
    validator = await createValidator();
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('every example in the guide validates against the profiles; a broken one does not', () => {
    const files = readdirSync(path.join(out, 'examples'));
    expect(files.length).toBe(guide.examples.length);
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const r = JSON.parse(readFileSync(path.join(out, 'examples', f), 'utf8')) as Resource;
      expect(
        validator.check(r).filter((i) => i.severity === 'error'),
        f,
      ).toEqual([]);
    }
    const task = JSON.parse(readFileSync(path.join(out, 'examples', 'task-makulering.json'), 'utf8')) as Task;
    delete task.focus; // a makulering must name what it cancels (svu-task-2)
    expect(validator.check(task).length).toBeGreaterThan(0);
  });

  const example = <T extends Resource>(id: string): T =>
    JSON.parse(readFileSync(path.join(out, 'examples', `${id}.json`), 'utf8')) as T;
  const all = (): Resource[] => guide.examples.map((e) => example(e.id));

  it('every resource profile in profiles/ has an example that claims it and validates against it', () => {
    const profiles = readdirSync('profiles')
      .filter((f) => f.startsWith('StructureDefinition-'))
      .map((f) => JSON.parse(readFileSync(path.join('profiles', f), 'utf8')) as StructureDefinition)
      .filter((sd) => sd.kind === 'resource' && sd.derivation === 'constraint');
    expect(profiles.map((p) => p.type).sort()).toEqual(
      expect.arrayContaining(['CarePlan', 'Communication', 'Encounter', 'Provenance', 'Task']),
    );
    const missing = profiles.filter((p) => !all().some((r) => r.meta?.profile?.includes(p.url)));
    expect(
      missing.map((p) => p.name),
      'profiles without an example in src/ig/examples.ts or collaboration-examples.ts',
    ).toEqual([]);
    for (const p of profiles)
      for (const r of all().filter((x) => x.meta?.profile?.includes(p.url)))
        expect(validator.check(r, p.url), `${r.id ?? ''} against ${p.name ?? ''}`).toEqual([]);
  });

  it('the collaboration examples cover every answer code, both signature kinds, a comment and the Tasks the flow derives', () => {
    const outputs = all()
      .filter((r): r is Task => r.resourceType === 'Task')
      .flatMap((t) => (t.output ?? []).flatMap((o) => o.type.coding ?? []))
      .filter((c) => c.system === CODE_SYSTEM.taskOutput)
      .map((c) => c.code);
    expect(new Set(outputs)).toEqual(new Set(TASK_OUTPUT_CODES));
    const codes = all()
      .filter((r): r is Task => r.resourceType === 'Task')
      .map((t) => t.code?.coding?.[0]?.code);
    expect(codes).toEqual(
      expect.arrayContaining(['kallelse-sip', 'korrigera-mottagare', 'sip-uppfoljning', 'sip-skriftlig-plan']),
    );
    const rejected = example<Task>('task-rejected');
    expect(rejected.status).toBe('rejected');
    expect(rejected.statusReason?.coding?.[0]).toMatchObject({
      system: CODE_SYSTEM.taskStatusReason,
      code: 'ej-folkbokford',
    });
    // The hospital's Task names the unit that rejected as requester, and in its text with the code and what to correct.
    expect(example<Task>('task-correct-routing')).toMatchObject({
      owner: { reference: 'Organization/vastmanlands-sjukhus-vasteras' },
      requester: { reference: 'Organization/kommun-1981' },
      description:
        'Sala kommun har avvisat vårdtillfället (ej-folkbokford): rätta folkbokföringskommun eller placerande kommun så att meddelandena går till rätt mottagare',
    });
    // One month after the meeting (2026-01-21 13:00 Stockholm), the agreement's rule.
    expect(example<Task>('task-sip-follow-up').restriction?.period?.end).toBe('2026-02-21T12:00:00.000Z');
    const comment = example<Communication>('communication-comment');
    expect(comment.category?.[0]?.coding?.[0]?.code).toBe('hemkomst');
  });

  it('the example SIP is active because its signatures hold; a changed part would withdraw one', () => {
    const plan = example<CarePlan>('careplan-sip');
    const provs = ['provenance-signature', 'provenance-signature-vc', 'provenance-approval'].map((id) =>
      example<Provenance>(id),
    );
    expect(provs.map((p) => p.activity?.coding?.[0]?.code)).toEqual(['signering', 'signering', 'godkannande']);
    expect(plan.status).toBe('active');
    const state = signatureState(plan, provs);
    expect(state.missing).toEqual([]);
    expect(state.approvedAt).toBeDefined();
    expect(derivedStatus(plan, state)).toBe('active');
    const changed: CarePlan = {
      ...plan,
      activity: (plan.activity ?? []).map((a) =>
        a.detail?.performer?.[0]?.reference === 'Organization/kommun-1980'
          ? { ...a, detail: { ...a.detail, description: 'Hemtjänst fyra besök per dag' } }
          : a,
      ),
    };
    const after = signatureState(changed, provs);
    expect(after.withdrawn).toEqual(['Organization/kommun-1980']);
    expect(after.approvedAt).toBeUndefined();
    expect(derivedStatus(changed, after)).toBe('draft');
  });

  it('renders in Chromium: navigation, profile element tables, examples marked valid, a process table per agreement', async () => {
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(String(e)));
    for (const [file] of NAV) {
      const res = await p.goto(`file://${path.join(out, file)}`);
      expect(res?.ok() ?? true, file).toBe(true);
      const links = await p.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')));
      expect(links, file).toEqual(NAV.map(([f]) => f));
    }
    await p.goto(`file://${path.join(out, 'profiles.html')}`);
    const encounterRows = await p.$$eval('#svuencounter table.elements tbody tr', (rs) => rs.length);
    expect(encounterRows).toBeGreaterThan(10);
    const taskText = await p.$eval('#svutask', (s) => s.textContent ?? '');
    expect(taskText).toContain('Task.restriction');
    await p.goto(`file://${path.join(out, 'examples.html')}`);
    const valid = await p.$$eval('[data-valid]', (ps) => ps.map((x) => x.getAttribute('data-valid')));
    expect(valid.length).toBe(guide.examples.length);
    expect(valid.every((v) => v === 'true')).toBe(true);
    const index = await p.$$eval('table.example-index tbody tr a', (as) => as.map((a) => a.getAttribute('href')));
    expect(index).toEqual(guide.examples.map((e) => `#${e.id}`));
    for (const id of ['careplan-sip', 'provenance-signature', 'communication-comment', 'task-answers'])
      expect(await p.$eval(`#${id} pre`, (x) => x.textContent ?? ''), id).toContain('"resourceType"');
    await p.goto(`file://${path.join(out, 'agreements.html')}`);
    const ids = [...(await loadAgreements()).keys()];
    for (const id of ids) {
      const rows = await p.$$eval(`#agreement-${id} table.process tbody tr`, (rs) =>
        rs.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      expect(rows.length, id).toBeGreaterThan(3);
      const admission = rows.find((r) => r[0]!.startsWith('inskrivningsmeddelande'));
      expect(admission?.[2], id).toMatch(/^the hospital, to send it/);
    }
    const vm = await p.$$eval('#agreement-vastmanland table.process tbody tr', (rs) =>
      rs.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(vm.find((r) => r[0]!.startsWith('kallelse-sip'))?.[3]).toBe('P3D (end-of-day) from ready');
    await p.goto(`file://${path.join(out, 'hl7v2.html')}`);
    expect(await p.$$eval('section[id^="profile-"]', (s) => s.length)).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    await p.close();
  }, 60_000);
});
