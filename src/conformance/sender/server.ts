import { createServer, type Server } from 'node:http';
import type { Resource } from '@medplum/fhirtypes';
import { startMllpServer, type MllpServer } from '../../intake/hl7v2/mllp-server';
import { createLogger } from '../../platform/logger';
import type { MessageAnalysis, SenderSession } from './analyse';

export interface SenderEndpoints {
  httpPort: number;
  mllpPort: number;
  close(): Promise<void>;
}

/**
 * The sender kit's test endpoint: MLLP (the gateway's own listener) and HTTP (`POST /hl7v2`, `POST /fhir` with a
 * transaction Bundle, `POST|PUT /fhir/Encounter[/id]`, `POST|PUT /fhir/Patient[/id]`), plus `GET /report` (JSON of
 * every message and the per-stay summary). Nothing is stored or delivered.
 */
export async function startSenderEndpoints(
  session: SenderSession,
  o: { httpPort: number; mllpPort: number; host?: string; onMessage?: (a: MessageAnalysis) => void },
): Promise<SenderEndpoints> {
  const host = o.host ?? '127.0.0.1';
  const mllp: MllpServer = await startMllpServer({
    port: o.mllpPort,
    host,
    logger: createLogger(process.env.LOG_LEVEL ?? 'warn', 'svu-conformance-sender'),
    handle: async (message) => {
      const a = session.hl7(message, 'mllp');
      o.onMessage?.(a);
      return a.ackText ?? '';
    },
  });
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (req.method === 'GET' && path === '/report') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ messages: session.messages, stays: session.summary() }, null, 2));
          return;
        }
        if (req.method === 'POST' && path === '/hl7v2') {
          const a = session.hl7(body, 'http');
          o.onMessage?.(a);
          res.writeHead(200, { 'Content-Type': 'x-application/hl7-v2+er7' }).end(a.ackText);
          return;
        }
        if (
          (req.method === 'POST' || req.method === 'PUT') &&
          /^\/fhir(\/(Encounter|Patient)(\/[^/]+)?)?\/?$/.test(path)
        ) {
          let r: Resource;
          try {
            r = JSON.parse(body) as Resource;
          } catch {
            res.writeHead(400, { 'Content-Type': 'application/fhir+json' });
            res.end(
              JSON.stringify({
                resourceType: 'OperationOutcome',
                issue: [{ severity: 'error', code: 'structure', diagnostics: 'the body is not JSON' }],
              }),
            );
            return;
          }
          const id = /\/(?:Encounter|Patient)\/([^/]+)$/.exec(path)?.[1];
          if (id && r.resourceType !== 'Bundle') r = { ...r, id };
          const out = await session.fhir(r);
          for (const a of out) o.onMessage?.(a);
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(out, null, 2));
          return;
        }
        res
          .writeHead(404, { 'Content-Type': 'text/plain' })
          .end('sender kit: POST /hl7v2, POST /fhir, PUT /fhir/Encounter/<id>, GET /report\n');
      })().catch((err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`sender kit error: ${String(err)}`);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.httpPort, host, () => resolve());
  });
  const addr = http.address();
  return {
    httpPort: typeof addr === 'object' && addr ? addr.port : o.httpPort,
    mllpPort: mllp.port,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await mllp.close();
    },
  };
}
