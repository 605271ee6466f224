import { createServer, type Server } from 'node:http';

/**
 * A deliberately broken municipal receiver for the consumer kit's own test: it registers a Subscription like a
 * real one and catches up with $events, but it never checks X-Signature and answers 500 to an event id it has
 * already seen. The kit must fail exactly `repeat` and `bad-signature` against it.
 */
export async function startBrokenReceiver(
  gatewayBase: string | undefined,
): Promise<{ url: string; close: () => Promise<void> }> {
  const seen = new Set<string>();
  let last = 0;
  let subId = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-event-id'] ?? '');
      if (seen.has(id)) return void res.writeHead(500).end('duplicate key');
      seen.add(id);
      res.writeHead(200).end();
      const n = Number(/:(\d+)$/.exec(id)?.[1] ?? NaN);
      if (Number.isFinite(n)) {
        if (gatewayBase && last && n > last + 1)
          void fetch(
            `${gatewayBase}/fhir/Subscription/${subId}/$events?eventsSinceNumber=${last + 1}&eventsUntilNumber=${n - 1}`,
            {
              headers: { Authorization: 'Bearer broken' },
            },
          );
        last = Math.max(last, n);
      }
      void Buffer.concat(chunks);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/notify`;
  if (!gatewayBase) return { url, close: () => closeServer(server) };
  const res = await fetch(`${gatewayBase}/fhir/Subscription`, {
    method: 'POST',
    headers: { Authorization: 'Bearer broken', 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'broken receiver',
      criteria: 'https://svu-gateway.dev/fhir/SubscriptionTopic/task-for-my-organisation',
      extension: [
        { url: 'https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret', valueString: 's3cret' },
      ],
      channel: { type: 'rest-hook', endpoint: url, payload: 'application/fhir+json' },
    }),
  });
  subId = ((await res.json()) as { id: string }).id;
  return {
    url,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
}
