import { Router } from 'express';
import { operationOutcome } from './errors';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** `GET /healthz`: the process is alive. `GET /readyz`: every dependency answers (503 OperationOutcome if not). */
export function healthRoutes(checks: readonly ReadinessCheck[], timeoutMs = 2000): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          await withTimeout(c.check(), timeoutMs, `${c.name} did not answer within ${timeoutMs} ms`);
          return { name: c.name, ok: true as const };
        } catch (err) {
          return { name: c.name, ok: false as const, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const down = results.filter((r) => !r.ok);
    if (down.length === 0) {
      res.json({ status: 'ready', checks: Object.fromEntries(results.map((r) => [r.name, 'up'])) });
      return;
    }
    const oo = operationOutcome(
      'transient',
      `Not ready: ${down.map((d) => d.name).join(', ')} unreachable`,
      down.map((d) => ({ path: d.name, message: `${d.name}: ${d.error ?? 'down'}` })),
    );
    res.status(503).type('application/fhir+json').send(JSON.stringify(oo));
  });
  return router;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
