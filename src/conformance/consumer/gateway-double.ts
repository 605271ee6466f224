import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import { parseSubscription, type SubscriptionSpec } from '../../subscriptions/subscription-model';
import {
  buildNotification,
  historyBundle,
  targetUrl,
  type NotificationEvent,
  type NotificationType,
} from '../../subscriptions/notification';
import { signatureHeaders } from '../../delivery/signature';

/** One `$events` call the receiver made (the kit checks catch-up with these). */
export interface EventsCall {
  at: number;
  since?: number;
  until?: number;
  bearer: boolean;
}

export interface Delivery {
  status: number;
  ms: number;
  error?: string;
}

export interface SendOptions {
  /** Sign with this secret instead of the subscription's (a forgery). */
  secret?: string;
  /** Shift the signature timestamp (seconds; negative = in the past). */
  timestampShift?: number;
  /** Reuse this event id (a repeat); default `<subscription>:<event number>` or `<subscription>:<type>:<uuid>`. */
  eventId?: string;
  /** Replace the body after signing (tampering). */
  tamper?: (body: string) => string;
  /** Reuse this exact body (a repeat sends the same bytes again). */
  body?: string;
  timeoutMs?: number;
}

/**
 * Plays the gateway's side for a receiver under test: the token endpoint and Subscription registration a
 * receiver uses on start, `$events` for catch-up, and notification delivery built and signed by the gateway's
 * own code (`buildNotification`, `signatureHeaders`), so the kit sends what the gateway sends.
 */
export class GatewayDouble {
  spec: SubscriptionSpec | undefined;
  readonly events = new Map<number, NotificationEvent>();
  readonly eventsCalls: EventsCall[] = [];
  /** Resources readable by id (`GET /fhir/<type>/<id>`), the latest version of each focus. */
  private readonly resources = new Map<string, Resource>();
  private server: Server | undefined;
  private registered: ((s: SubscriptionSpec) => void) | undefined;
  private lastNumber = 0;
  base = '';

  constructor(readonly canonical = 'https://svu-gateway.dev/fhir') {}

  async listen(port: number, host = '127.0.0.1', publicHost = host): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    const p = typeof addr === 'object' && addr ? addr.port : port;
    this.base = `http://${publicHost}:${p}`;
    return this.base;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** A receiver given directly by URL (no registration): the kit makes up the Subscription. */
  useEndpoint(endpoint: string, secret: string | undefined, payload = 'full-resource', shape = 'history'): void {
    const sub: Subscription = {
      resourceType: 'Subscription',
      id: `conformance-${randomUUID().slice(0, 8)}`,
      status: 'active',
      reason: 'svu-gateway conformance kit',
      criteria: `${this.canonical}/SubscriptionTopic/task-for-my-organisation`,
      extension: secret
        ? [{ url: 'https://svu-gateway.dev/fhir/StructureDefinition/subscription-secret', valueString: secret }]
        : undefined,
      channel: {
        type: 'rest-hook',
        endpoint,
        payload: 'application/fhir+json',
        ...({
          _payload: {
            extension: [
              {
                url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
                valueCode: payload,
              },
            ],
          },
        } as object),
        extension:
          shape === 'message'
            ? [{ url: 'https://svu-gateway.dev/fhir/StructureDefinition/notification-shape', valueCode: 'message' }]
            : undefined,
      },
    };
    this.spec = parseSubscription(sub, this.canonical);
  }

  /** Resolves when a receiver has registered its Subscription (the `npm run receiver` way of starting). */
  waitForSubscription(timeoutMs: number): Promise<SubscriptionSpec> {
    if (this.spec) return Promise.resolve(this.spec);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no Subscription registered at ${this.base}/fhir within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.registered = (s) => {
        clearTimeout(t);
        resolve(s);
      };
    });
  }

  /** Records an event as committed (the gateway's event log); `deliver` sends it, a simulated outage does not. */
  record(resource: Resource & { id: string }, action: 'create' | 'update' = 'create'): NotificationEvent {
    const ev: NotificationEvent = {
      eventNumber: ++this.lastNumber,
      timestamp: new Date().toISOString(),
      focusType: resource.resourceType,
      focusId: resource.id,
      action,
      resource,
    };
    this.events.set(ev.eventNumber, ev);
    this.resources.set(`${resource.resourceType}/${resource.id}`, resource);
    return ev;
  }

  get eventsSinceStart(): number {
    return this.lastNumber;
  }

  /** Builds and signs a notification exactly as the gateway's delivery does, then POSTs it. */
  async send(
    type: NotificationType,
    events: NotificationEvent[],
    o: SendOptions = {},
  ): Promise<Delivery & { eventId: string; body: string }> {
    const spec = this.spec;
    if (!spec) throw new Error('no receiver: give --url or let the receiver register a Subscription');
    const body =
      o.body ??
      JSON.stringify(
        buildNotification({
          spec,
          fhirBase: `${this.base}/fhir`,
          type,
          status: 'active',
          eventsSinceStart: this.lastNumber,
          events,
          now: new Date(),
        }),
      );
    const eventId =
      o.eventId ??
      (type === 'event-notification' && events.length
        ? `${spec.id}:${events[events.length - 1]!.eventNumber}`
        : `${spec.id}:${type}:${randomUUID()}`);
    const now = new Date(Date.now() + (o.timestampShift ?? 0) * 1000);
    const secret = o.secret ?? spec.secret;
    const headers = {
      'Content-Type': 'application/fhir+json',
      ...spec.headers,
      ...signatureHeaders(secret, eventId, body, now),
    };
    const sent = o.tamper ? o.tamper(body) : body;
    const t0 = Date.now();
    try {
      const res = await fetch(targetUrl(spec), {
        method: 'POST',
        headers,
        body: sent,
        signal: AbortSignal.timeout(o.timeoutMs ?? spec.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return { status: res.status, ms: Date.now() - t0, eventId, body };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { status: 0, ms: Date.now() - t0, error: e.cause?.code ?? e.name ?? e.message, eventId, body };
    }
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/fhir+json' }).end(JSON.stringify(body));
  }

  private outcome(res: ServerResponse, status: number, code: string, text: string): void {
    this.json(res, status, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code, diagnostics: text }],
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.base);
    const bearer = /^Bearer \S+/.test(String(req.headers.authorization ?? ''));
    if (req.method === 'POST' && url.pathname === '/auth/token') {
      if (!/^Basic /.test(String(req.headers.authorization ?? '')) && !/client_assertion=/.test(raw)) {
        this.json(res, 401, { error: 'invalid_client' });
        return;
      }
      this.json(res, 200, {
        access_token: randomBytes(16).toString('hex'),
        token_type: 'Bearer',
        expires_in: 300,
        scope: new URLSearchParams(raw).get('scope') ?? '',
      });
      return;
    }
    if (!url.pathname.startsWith('/fhir/')) return this.outcome(res, 404, 'not-found', `no route ${url.pathname}`);
    if (!bearer) return this.outcome(res, 401, 'login', 'Authorization: Bearer <token> is required');
    const path = url.pathname.slice('/fhir/'.length);
    if (req.method === 'POST' && path === 'Subscription') {
      let sub: Subscription;
      try {
        sub = { ...(JSON.parse(raw) as Subscription), id: `conformance-${randomUUID().slice(0, 8)}` };
        this.spec = parseSubscription(sub, this.canonical);
      } catch (err) {
        return this.outcome(res, 422, 'invalid', (err as Error).message);
      }
      const { extension, ...rest } = sub;
      const kept = extension?.filter((e) => !/subscription-secret$/.test(e.url));
      this.json(res, 201, { ...rest, ...(kept?.length ? { extension: kept } : {}) });
      this.registered?.(this.spec);
      return;
    }
    const m = /^Subscription\/([^/]+)(\/\$events)?$/.exec(path);
    if (m && this.spec && m[1] === this.spec.id) {
      if (req.method === 'DELETE') return void res.writeHead(204).end();
      if (req.method === 'GET' && m[2]) {
        const n = (k: string) => (url.searchParams.has(k) ? Number(url.searchParams.get(k)) : undefined);
        const since = n('eventsSinceNumber');
        const until = n('eventsUntilNumber');
        this.eventsCalls.push({ at: Date.now(), since, until, bearer });
        const lo = since ?? 1;
        const hi = until ?? this.lastNumber;
        const events = [...this.events.values()].filter((e) => e.eventNumber >= lo && e.eventNumber <= hi);
        return this.json(
          res,
          200,
          historyBundle({
            spec: this.spec,
            fhirBase: `${this.base}/fhir`,
            type: 'query-event',
            status: 'active',
            eventsSinceStart: this.lastNumber,
            events,
            now: new Date(),
          }),
        );
      }
    }
    const r = req.method === 'GET' ? this.resources.get(path) : undefined;
    if (r) return this.json(res, 200, r);
    return this.outcome(res, 404, 'not-found', `${req.method} /fhir/${path} is not known to the conformance kit`);
  }
}
