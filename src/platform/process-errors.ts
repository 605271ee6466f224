import { redact, type Logger } from './logger';

const describe = (reason: unknown): string =>
  reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : String(reason);

/**
 * What the process does with an error nothing caught (Medplum's server does the same):
 * - a promise rejected with no handler (a fire-and-forget call in a library, a timer's callback) is logged at
 *   ERROR with its stack and the process keeps serving: without this, Node 20 ends the process, and in the split
 *   layout the whole gateway with it, over an error that concerned one call;
 * - an exception thrown out of a callback leaves the process in an unknown state: it is logged at ERROR and
 *   `fatal` stops the gateway (closing what it can, exit code 1) so its supervisor starts a fresh one.
 * Logged through the gateway's logger once there is one (JSON, personnummer redacted), else as one JSON line.
 */
export function watchProcessErrors(logger: () => Logger | undefined, fatal: (reason: string) => void): void {
  const log = (message: string, error: unknown) => {
    const l = logger();
    if (l) l.error(message, { error: describe(error) });
    else console.error(JSON.stringify({ level: 'error', message, error: redact(describe(error)) }));
  };
  process.on('unhandledRejection', (reason) => log('unhandled promise rejection; the process keeps running', reason));
  process.on('uncaughtException', (err) => {
    log('uncaught exception; the process stops', err);
    fatal('uncaught exception');
  });
}
