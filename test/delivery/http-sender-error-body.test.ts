import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_BODY_MAX_CHARS, sendNotification } from '../../src/delivery/http-sender';

describe('notification sender: the receiver answer', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function receiver(status: number, body: string): Promise<string> {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(status, { 'Content-Type': 'application/fhir+json' }).end(body));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }
  const send = (url: string) =>
    sendNotification({ url, body: '{}', headers: {}, eventId: 'e1', timeoutMs: 5000, now: new Date() });

  it('when the receiver refuses with an OperationOutcome, then the error keeps the start of its body', async () => {
    const outcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Okänd enhet i Task.owner' }],
    };
    const out = await send(await receiver(422, JSON.stringify(outcome, null, 2)));
    expect(out).toMatchObject({ ok: false, status: 422, permanent: true });
    expect(out.error).toMatch(/^HTTP 422: \{ "resourceType": "OperationOutcome",/);
    expect(out.error).toContain('Okänd enhet i Task.owner');
  });

  it('when the refusal body is long, then only its start is kept', async () => {
    const out = await send(await receiver(503, 'x'.repeat(100_000)));
    expect(out.error).toBe(`HTTP 503: ${'x'.repeat(ERROR_BODY_MAX_CHARS)}`);
  });

  it('when the receiver accepts, then there is no error', async () => {
    const out = await send(await receiver(200, 'fine'));
    expect(out).toMatchObject({ ok: true, status: 200 });
    expect(out.error).toBeUndefined();
  });
});
