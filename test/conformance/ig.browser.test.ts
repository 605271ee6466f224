import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Resource, Task } from '@medplum/fhirtypes';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuide, type BuiltGuide } from '../../src/ig/build';
import { createValidator, type Validator } from '../../src/fhir/validator';
import { loadAgreements } from '../../src/agreements/load-agreements';
import { NAV } from '../../src/ig/html';

const CHROMIUM = '/usr/bin/chromium';

describe('implementation guide (npm run ig)', () => {
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
