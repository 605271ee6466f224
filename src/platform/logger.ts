import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

/** Context carried through a request or a job, so every log line names what caused it. */
export interface LogContext {
  requestId?: string;
  jobId?: string;
  [key: string]: string | number | undefined;
}

const store = new AsyncLocalStorage<LogContext>();

export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return store.run({ ...store.getStore(), ...ctx }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return store.getStore();
}

// Personnummer/samordningsnummer (10 or 12 digits, optional - or +) never reach a log line.
const PNR = /\b(?:19|20)?\d{6}[-+]?\d{4}\b/g;

/** Masks personal identity numbers in any string; names never go to log calls in the first place. */
export function redact(text: string): string {
  return text.replace(PNR, '[redacted-pnr]');
}

const redactFormat = winston.format((info) => {
  for (const [k, v] of Object.entries(info)) {
    if (typeof v === 'string') (info as Record<string, unknown>)[k] = redact(v);
  }
  if (typeof info.message === 'string') info.message = redact(info.message);
  return info;
});

const contextFormat = winston.format((info) => Object.assign(info, store.getStore() ?? {}));

export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
  child(meta: Record<string, unknown>): Logger;
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', service = 'svu-gateway'): Logger {
  const logger = winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(contextFormat(), redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
  skipDisabledLevels(logger);
  return logger;
}

/**
 * winston formats a line in full (context, redaction, timestamp, JSON) before its transport drops it for its
 * level: at LOG_LEVEL=warn each request's `http` access line was built and thrown away (≈ 1 % of the API's CPU per
 * Bundle, 2026-12-07). Each level's method now returns at once when no transport would write that level (read on
 * each call, so a changed level applies); a child logger inherits it and still writes with its own metadata.
 */
function skipDisabledLevels(logger: winston.Logger): void {
  const methods = logger as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of Object.keys(logger.levels)) {
    const write = methods[name];
    if (typeof write !== 'function') continue;
    methods[name] = function (this: winston.Logger, ...args: unknown[]) {
      return this.isLevelEnabled(name) ? write.apply(this, args) : this;
    };
  }
}

/** Process-wide default for code that has no logger injected (tests get a quiet one via LOG_LEVEL=error). */
export const log: Logger = createLogger();
