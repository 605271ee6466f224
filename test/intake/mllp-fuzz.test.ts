import { Hl7Message } from '@medplum/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adt, OBX } from '../mapping/adt-builder';
import { intakeHarness, type IntakeHarness } from './harness';
import { RawMllpClient } from '../support/mllp-raw';

const framed = (b: Buffer) => Buffer.concat([Buffer.from([0x0b]), b, Buffer.from([0x1c, 0x0d])]);
const noFraming = (b: Uint8Array) => Buffer.from(b.filter((x) => x !== 0x0b && x !== 0x1c));
const msaCode = (ack: string) => Hl7Message.parse(ack).getSegment('MSA')?.getField(1)?.toString();

describe('MLLP listener robustness (fast-check)', () => {
  let h: IntakeHarness;
  let client: RawMllpClient;
  beforeAll(async () => {
    h = await intakeHarness('pglite', { mllp: true, env: { MAX_BODY_BYTES: '65536' } });
    client = await RawMllpClient.connect(h.intake.mllpPort() ?? 0);
  });
  afterAll(async () => {
    client.close();
    await h.close();
  });

  const stillServes = async () => {
    client.write(framed(Buffer.from(adt({ event: 'A08', visit: 'FUZZ-OK', obx: [OBX.needs('ingen')] }))));
    expect(msaCode(await client.next())).toBe('AA');
  };

  it('when random bytes arrive in a frame, then each frame gets an AE/AR answer and the listener keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        client.write(framed(noFraming(bytes)));
        expect(['AE', 'AR']).toContain(msaCode(await client.next()));
      }),
      { numRuns: 60 },
    );
    await stillServes();
  });

  it('when a valid message is truncated anywhere, then every frame is answered with AA, AE or AR and the listener keeps serving', async () => {
    const full = adt({
      event: 'A01',
      visit: 'FUZZ-T',
      obx: [OBX.needs('socialtjanst'), OBX.ready('202601170900')],
      expected: '20260124',
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: full.length }), async (cut) => {
        client.write(framed(Buffer.from(full.slice(0, cut))));
        expect(['AA', 'AE', 'AR']).toContain(msaCode(await client.next()));
      }),
      { numRuns: 60 },
    );
    await stillServes();
  });

  it('when segments are dropped or encoding characters replaced, then every frame is answered', async () => {
    const segs = adt({ event: 'A01', visit: 'FUZZ-S', obx: [OBX.needs('socialtjanst')] }).split('\r');
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(segs.map((_, i) => i)),
        fc.string({ minLength: 4, maxLength: 4 }),
        async (keep, enc) => {
          const msg = keep.map((i) => segs[i]).join('\r');
          const swapped = msg.startsWith('MSH|^~\\&') ? `MSH|${enc}${msg.slice(8)}` : msg;
          client.write(framed(noFraming(Buffer.from(swapped))));
          expect(['AA', 'AE', 'AR']).toContain(msaCode(await client.next()));
        },
      ),
      { numRuns: 60 },
    );
    await stillServes();
  });

  it('when garbage precedes a frame, two frames share one TCP write, or a frame is split byte by byte, then each message is answered in order', async () => {
    const a = adt({ event: 'A08', visit: 'FUZZ-P', control: 'P-1' });
    const b = adt({ event: 'A08', visit: 'FUZZ-P', control: 'P-2' });
    client.write(Buffer.concat([Buffer.from('noise\r\n'), framed(Buffer.from(a)), framed(Buffer.from(b))]));
    expect(await client.next()).toContain('MSA|AA|P-1');
    expect(await client.next()).toContain('MSA|AA|P-2');
    const c = framed(Buffer.from(adt({ event: 'A08', visit: 'FUZZ-P', control: 'P-3' })));
    for (const byte of c) client.write(Buffer.from([byte]));
    expect(await client.next()).toContain('MSA|AA|P-3');
  });

  it('when a message comes in ISO 8859-1 (MSH-18 8859/1), then the text is decoded as Latin-1', async () => {
    const text = adt({ event: 'A01', visit: 'LATIN-1', control: 'L-1' }).replace('|P|2.5', '|P|2.5|||AL|NE|SWE|8859/1');
    client.write(framed(Buffer.from(text, 'latin1')));
    expect(msaCode(await client.next())).toBe('AA');
    const row = await h.db.query<{ raw: string }>('SELECT raw FROM hl7_message WHERE control_id = $1', ['L-1']);
    expect(row.rows[0]?.raw).toContain('Västerås');
  });

  it('when a message is larger than the limit, then AR too-large, the head is kept as rejected, and the listener keeps serving', async () => {
    const huge = adt({ event: 'A01', visit: 'FUZZ-H', control: 'HUGE-1', extra: [`NTE|1||${'x'.repeat(200_000)}`] });
    client.write(framed(Buffer.from(huge)));
    const ack = await client.next();
    expect(msaCode(ack)).toBe('AR');
    expect(ack).toContain('too-large');
    const row = await h.db.query<{ status: string }>('SELECT status FROM hl7_message WHERE control_id = $1', [
      'HUGE-1',
    ]);
    expect(row.rows[0]?.status).toBe('rejected');
    await stillServes();
  });
});
