import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intakeHarness, type IntakeHarness } from './harness';

const run = promisify(execFile);

describe('npm run send-hl7 (fixtures over MLLP)', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await intakeHarness('pglite', { mllp: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it('when the fixture feeds are sent in one file, then each ACK is printed with its reason, the exit code says some failed, and the command ends without waiting out its timeout', async () => {
    // One process for all fixtures: starting tsx costs seconds.
    const dir = mkdtempSync(path.join(tmpdir(), 'svu-hl7-'));
    const file = path.join(dir, 'all.hl7');
    const feeds = ['vasteras-stay', 'sala-cosmic', 'rejected'].map((f) =>
      readFileSync(`test/fixtures/hl7/${f}.hl7`, 'utf8'),
    );
    writeFileSync(file, feeds.join('\n\n'));
    let out = '';
    let code = 0;
    try {
      out = (
        await run(
          process.execPath,
          // An ACK timeout longer than the test's own limit: a timer left running after the last ACK (as
          // @medplum/hl7's own is) keeps the command alive past the limit, and it is killed without its exit code.
          [
            '--import',
            'tsx',
            'src/cli/send-hl7.ts',
            file,
            '--port',
            String(h.intake.mllpPort()),
            '--timeout',
            '600000',
          ],
          { timeout: 25_000 },
        )
      ).stdout;
    } catch (e) {
      const err = e as { code: number; stdout: string };
      ({ code, stdout: out } = err);
    }
    const lines = out.trim().split('\n');
    expect(lines.filter((l) => l.includes('MSA|AA|')).length).toBe(8);
    expect(out).toContain('invalid-personnummer');
    expect(out).toContain('unknown-ward');
    expect(out).toContain('unknown-event');
    expect(lines.at(-1)).toBe('8 of 10 acknowledged AA');
    expect(code).toBe(1);
  });
});
