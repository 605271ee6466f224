import type { Agreement } from '../core/agreements/agreement.schema';
import { getAgreement, loadAgreements } from '../agreements/load-agreements';
import type { AppContext, Capability, Role } from '../compose.types';
import { loadProfiles, type SenderProfile } from '../mapping/profile';
import { PgRepository } from '../store/repository.pg';
import type { Db } from '../store/db.port';
import type { RepositoryHooks } from '../store/repository.port';
import { intakeAdminRoutes } from './admin.routes';
import { intakeHooks as buildHooks } from './fhir/intake-hooks';
import { sendingHospital } from './hl7v2/apply-stays';
import { applyMessages } from './hl7v2/apply-messages';
import { hl7Routes } from './hl7v2/hl7.routes';
import { startMllpServer, type MllpServer } from './hl7v2/mllp-server';
import {
  ApplyQueue,
  type ApplicableMessage,
  type ApplyJob,
  type ApplyOutcome,
  type ReceiveMeta,
} from './hl7v2/apply-queue';
import { MessageLog } from './hl7v2/message-log';
import { createHl7Processor, type Hl7Processor } from './hl7v2/process-message';
import { recoverPending, reprocessMessage } from './hl7v2/recover-pending';
import type { StayApplierDeps } from './stay/apply-stay';
import { OrganizationCache } from './stay/party-resolver';
import {
  backfillCriteriaByEngine,
  backfillFvkAppointedRerouted,
  backfillInformationTransferred,
  backfillInformationTransferRerouted,
} from './stay/information-transferred-backfill';
import { backfillRejectedByAnother } from './fhir/rejected-by-another-backfill';
import { backfillSipInvitationMet } from './stay/sip-invitation-met-backfill';
import { backfillStaysLeft } from './stay/stays-left-backfill';
import { applyMetrics, engineIssueReporter, intakeMetrics } from './intake-metrics';
import { localDate } from '../core/calendar';
import { foreseeMessageIssues } from '../core/engine/foresee';
import { municipalityParty, primaryCareParty } from '../core/engine/parties';

export interface IntakeServices {
  deps: StayApplierDeps;
  profiles: SenderProfile[];
  process: Hl7Processor;
  hooks: RepositoryHooks;
  log: MessageLog;
  queue: ApplyQueue;
  /** Called when a stored message's apply is committed (benchmarks and tests observe it). */
  onApplied: Set<(job: ApplyJob, outcome: ApplyOutcome | undefined) => void>;
}

const services = new WeakMap<AppContext, IntakeServices>();

/**
 * Intake's repository: system scope, no hooks (its own writes must not re-enter intake), bound to the
 * caller's transaction (no savepoint per call: intake's whole message already runs in one savepoint).
 */
export const intakeRepository = (tx: Db): PgRepository =>
  new PgRepository(tx, { system: true }, undefined, {}, { inTransaction: true });

/** One set of intake services per AppContext (the capability and the FHIR router's hook share it). */
export function intakeServices(ctx: AppContext): IntakeServices {
  const known = services.get(ctx);
  if (known) return known;
  let agreement: Promise<Agreement> | undefined;
  const deps: StayApplierDeps = {
    clock: ctx.clock,
    orgs: new OrganizationCache(),
    issues: engineIssueReporter(ctx.metrics, ctx.logger),
    agreement: () => {
      agreement ??= loadAgreements({ extraDir: ctx.config.AGREEMENTS_DIR }).then((m) =>
        getAgreement(m, ctx.config.AGREEMENT),
      );
      agreement.catch(() => {
        agreement = undefined;
      });
      return agreement;
    },
  };
  const profiles = loadProfiles();
  const observe = intakeMetrics(ctx.metrics);
  const apply = (tx: Db, jobs: readonly Pick<ApplyJob, 'mapped' | 'meta'>[]) =>
    applyMessages(tx, intakeRepository(tx), deps, jobs);
  const onApplied = new Set<(job: ApplyJob, outcome: ApplyOutcome | undefined) => void>();
  // Bound below, once the queue (which the metrics read) and the processor (which waits on the queue) exist.
  const late: {
    observeApply?: (status: string, seconds: number | undefined) => void;
    resolveAck?: (id: number, outcome: ApplyOutcome | undefined) => void;
  } = {};
  const queue = new ApplyQueue({
    db: ctx.db,
    apply,
    logger: ctx.logger,
    // PGlite runs one transaction at a time: more lanes would only queue on its connection.
    lanes: ctx.db.kind === 'pglite' ? 1 : ctx.config.HL7_APPLY_LANES,
    batch: ctx.config.HL7_APPLY_BATCH,
    // With the ACK after the apply the sender waits for it: no lingering then.
    lingerMs: ctx.config.HL7_ACK_AFTER === 'stored' ? ctx.config.HL7_APPLY_LINGER_MS : 0,
    backlog: ctx.config.HL7_APPLY_BACKLOG,
    onApplied(job, outcome) {
      late.observeApply?.(
        outcome?.status ?? 'unrecorded',
        outcome && job.receivedAt !== undefined ? (performance.now() - job.receivedAt) / 1000 : undefined,
      );
      late.resolveAck?.(job.id, outcome);
      for (const f of onApplied) f(job, outcome);
    },
  });
  late.observeApply = applyMetrics(ctx.metrics, () => queue.size);
  // Over HTTP a hospital client may only send its own stays: checked before the message is stored and acknowledged.
  const precheck = async (mapped: ApplicableMessage, meta: ReceiveMeta): Promise<void> => {
    await sendingHospital(intakeRepository(ctx.db), deps, { mapped, meta }, ctx.clock.now().getTime());
  };
  const log = new MessageLog(ctx.db);
  const processMessage = createHl7Processor({
    profiles,
    clock: ctx.clock,
    logger: ctx.logger,
    log,
    queue,
    ackAfter: ctx.config.HL7_ACK_AFTER,
    precheck,
    maxChars: ctx.config.MAX_BODY_BYTES,
    // Without the agreement (it failed to load) nothing is foreseen: the apply reports what the engine finds.
    foresee: async (mapped) => {
      const agreement = await deps.agreement().catch(() => undefined);
      if (!agreement) return [];
      const routing = mapped.patient.routing;
      // the units the message names, looked up in the directory (cached; misses for 2 s): is anyone there to tell?
      const named = [
        ...[routing?.placingMunicipality ?? routing?.municipality].flatMap((c) => (c ? [municipalityParty(c)] : [])),
        ...[routing?.primaryCareUnit, routing?.outpatientUnit].flatMap((u) => (u ? [primaryCareParty(u)] : [])),
      ];
      const known =
        named.length > 0 && mapped.facts.some((f) => f.kind === 'needs-assessed')
          ? await deps.orgs.resolver(intakeRepository(ctx.db), named, ctx.clock.now().getTime())
          : undefined;
      return foreseeMessageIssues(mapped.facts, routing, agreement, (p) => !known || !!known(p)?.reference);
    },
  });
  late.resolveAck = processMessage.applied;
  const process: Hl7Processor = async (raw, meta) => {
    const t0 = performance.now();
    const outcome = await processMessage(raw, meta);
    observe(outcome, meta.channel, (performance.now() - t0) / 1000);
    return outcome;
  };
  const s: IntakeServices = {
    deps,
    profiles,
    process,
    hooks: buildHooks(deps, intakeRepository),
    log,
    queue,
    onApplied,
  };
  services.set(ctx, s);
  return s;
}

/** The RepositoryHooks the integrator passes to the FHIR router's repository (FHIR push → stay facts). */
export function intakeHooks(ctx: AppContext): RepositoryHooks {
  return intakeServices(ctx).hooks;
}

export interface IntakeCapability extends Capability {
  /** The MLLP port actually bound (after start with role `mllp`; useful with MLLP_PORT=0). */
  mllpPort(): number | undefined;
  process: Hl7Processor;
  /** Resolves when every message received so far is stored and applied (tests, benchmarks, shutdown). */
  settled(): Promise<void>;
  /** Hands stored-but-unapplied messages to the apply queue now (also runs at start and every 30 s). */
  recover(olderThanSeconds?: number): Promise<number>;
  services: IntakeServices;
}

const RECOVER_EVERY_MS = 30_000;

/** Ingestion: `POST /hl7v2`, the admin message view, the MLLP listener (role `mllp`). */
/**
 * The one-off re-applies at the first start after an upgrade (`reapplyStaysOnce`), with their log line: the stays
 * re-routed before their left parties' Tasks were tagged (0.17.0), the stays whose information transfer was reported
 * per unit (the dashboard's time from the engine, migration 175), the stays whose SIP invitation duty was
 * completed before it carried the invitation's time, the stays whose summary holds the engine's times (its mark
 * cleared where late facts showed no criterion dropped, ADR 056), and the stays re-routed after a report of the
 * information transfer or of the named care contact (the dashboard's time from the engine when the re-routing dropped
 * criterion 4, or criterion 3, migration 176). And one that
 * applies no stay: the Tasks an admin rejected before 0.20.0, tagged `rejected-by-another` (ADR 053).
 */
const ONE_OFF_REAPPLIES = [
  [backfillStaysLeft, 'stays a party left applied again: its Tasks tagged stay-left'],
  [backfillInformationTransferred, 'stays with a transfer reported per unit applied again: summary from the engine'],
  [backfillSipInvitationMet, 'stays with a SIP invitation met before 0.19.0 applied again: the duty has its time'],
  // before the two re-routed one-offs: on a store older than 0.21.0 they apply (and mark or not) their stays with
  // this version's code, so it would only apply those stays a second time
  [backfillCriteriaByEngine, 'stays with the engine’s criteria times applied again: marked only while one is dropped'],
  [
    backfillInformationTransferRerouted,
    'stays re-routed after an information transfer applied again: summary from the engine',
  ],
  [backfillFvkAppointedRerouted, 'stays re-routed after a named care contact applied again: summary from the engine'],
  [backfillRejectedByAnother, 'Tasks another than their owner rejected before 0.20.0 tagged rejected-by-another'],
] as const;

export function createIntakeCapability(ctx: AppContext): IntakeCapability {
  const s = intakeServices(ctx);
  let server: MllpServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  const recover = (olderThanSeconds = RECOVER_EVERY_MS / 1000): Promise<number> =>
    recoverPending(ctx.db, s.queue, s.profiles, localDate(ctx.clock.now().getTime()), { olderThanSeconds });
  return {
    name: 'intake',
    process: s.process,
    services: s,
    mllpPort: () => server?.port,
    async settled() {
      await s.log.idle();
      await s.queue.idle();
    },
    recover,
    mountRoutes(app) {
      app.use(hl7Routes(s.process, ctx.config.MAX_BODY_BYTES));
      app.use(
        intakeAdminRoutes(ctx.db, s.profiles, (id) =>
          reprocessMessage(ctx.db, s.queue, s.profiles, localDate(ctx.clock.now().getTime()), id),
        ),
      );
    },
    async start(roles: ReadonlySet<Role>) {
      if (!roles.has('mllp') && !roles.has('api')) return;
      await s.deps.agreement();
      // Once per store, after an upgrade: stays applied again so what the engine now writes reaches them.
      for (const [backfill, message] of ONE_OFF_REAPPLIES) {
        const stays = await backfill(ctx.db, intakeRepository, s.deps);
        if (stays > 0) ctx.logger.info(message, { stays });
      }
      // Messages acknowledged before a crash or restart but never applied.
      await recover(0);
      timer = setInterval(() => {
        recover().catch((e: unknown) =>
          ctx.logger.error('pending hl7 messages could not be recovered', { err: (e as Error).message }),
        );
      }, RECOVER_EVERY_MS);
      timer.unref();
      if (!roles.has('mllp')) return;
      server = await startMllpServer({
        port: ctx.config.MLLP_PORT,
        host: ctx.config.HOST,
        logger: ctx.logger,
        maxFrameBytes: ctx.config.MAX_BODY_BYTES,
        handle: async (text, remote) => (await s.process(text, { channel: 'mllp', remote })).ack,
        onTooLarge: async (head, remote) =>
          (await s.process(head, { channel: 'mllp', remote, truncatedFrom: ctx.config.MAX_BODY_BYTES + 1 })).ack,
      });
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await server?.close();
      server = undefined;
      // Finish what is being applied; what is still queued stays pending in the store for the next start.
      await s.log.idle();
      await s.queue.stop();
    },
  };
}
