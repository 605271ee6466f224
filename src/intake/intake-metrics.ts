import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../platform/logger';
import type { EngineIssue } from '../core/engine/issues';
import type { Hl7Outcome } from './hl7v2/process-message';

/** HL7 v2 intake counters on the process registry (created once per registry). */
export function intakeMetrics(registry: Registry): (outcome: Hl7Outcome, channel: string, seconds: number) => void {
  const messages =
    (registry.getSingleMetric('svu_hl7_messages_total') as Counter<'channel' | 'status' | 'ack'> | undefined) ??
    new Counter({
      name: 'svu_hl7_messages_total',
      help: 'HL7 v2 messages received, by channel (mllp/http), status when acknowledged (pending = stored, applied right after; ignored/rejected/error/duplicate) and ACK code',
      labelNames: ['channel', 'status', 'ack'],
      registers: [registry],
    });
  const latency =
    (registry.getSingleMetric('svu_hl7_ack_seconds') as Histogram<'channel'> | undefined) ??
    new Histogram({
      name: 'svu_hl7_ack_seconds',
      help: 'Time from receiving an HL7 v2 message to its ACK (after the commit of the raw message, or of its apply with HL7_ACK_AFTER=applied)',
      labelNames: ['channel'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  return (outcome, channel, seconds) => {
    messages.inc({ channel, status: outcome.duplicate ? 'duplicate' : outcome.status, ack: outcome.ackCode });
    latency.observe({ channel }, seconds);
  };
}

/** Apply-side metrics: time from receipt to the committed apply, outcomes, and the current backlog. */
export function applyMetrics(
  registry: Registry,
  backlog: () => number,
): (status: string, seconds: number | undefined) => void {
  const applied =
    (registry.getSingleMetric('svu_hl7_applied_total') as Counter<'status'> | undefined) ??
    new Counter({
      name: 'svu_hl7_applied_total',
      help: 'Stored HL7 v2 messages applied, by outcome (accepted/rejected/error/unrecorded)',
      labelNames: ['status'],
      registers: [registry],
    });
  const latency =
    (registry.getSingleMetric('svu_hl7_apply_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'svu_hl7_apply_seconds',
      help: 'Time from receiving an HL7 v2 message to the commit of its facts, Encounter and Tasks',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  if (!registry.getSingleMetric('svu_hl7_apply_backlog')) {
    new Gauge({
      name: 'svu_hl7_apply_backlog',
      help: 'HL7 v2 messages stored and acknowledged but not applied yet (this process)',
      registers: [registry],
      collect() {
        this.set(backlog());
      },
    });
  }
  return (status, seconds) => {
    applied.inc({ status });
    if (seconds !== undefined) latency.observe(seconds);
  };
}

/**
 * Engine warnings and rejected facts, on both intakes (HL7 v2 and FHIR): one JSON log line each (stay id,
 * source, code, fact kind: no personal data) and `svu_engine_warnings_total{code,source}`. Stay-level warnings
 * are counted on every apply that still has them; a rejected fact once, by the apply that brought it.
 */
export function engineIssueReporter(
  registry: Registry,
  logger: Logger,
): (stayId: string, source: string, issues: readonly EngineIssue[]) => void {
  const counter =
    (registry.getSingleMetric('svu_engine_warnings_total') as Counter<'code' | 'source'> | undefined) ??
    new Counter({
      name: 'svu_engine_warnings_total',
      help: 'Engine warnings and rejected facts reported by applies, by code and intake source (hl7/fhir)',
      labelNames: ['code', 'source'],
      registers: [registry],
    });
  return (stayId, source, issues) => {
    for (const i of issues) {
      counter.inc({ code: i.code, source });
      logger.warn('engine warning', { stayId, source, code: i.code, ...(i.factKind ? { factKind: i.factKind } : {}) });
    }
  };
}
