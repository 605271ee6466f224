import type { Agreement } from '../core/agreements/agreement.schema';
import { getAgreement, loadAgreements } from '../agreements/load-agreements';
import type { AppContext, Capability, Role } from '../compose.types';
import { loadProfiles, type SenderProfile } from '../mapping/profile';
import { PgRepository } from '../store/repository.pg';
import type { Db } from '../store/db.port';
import type { FhirRepository, RepositoryHooks } from '../store/repository.port';
import { intakeAdminRoutes } from './admin.routes';
import { intakeHooks as buildHooks } from './fhir/intake-hooks';
import { createAdtApplier } from './hl7v2/apply-adt';
import { hl7Routes } from './hl7v2/hl7.routes';
import { startMllpServer, type MllpServer } from './hl7v2/mllp-server';
import { createHl7Processor, type Hl7Processor } from './hl7v2/process-message';
import type { StayApplierDeps } from './stay/apply-stay';
import { OrganizationCache } from './stay/party-resolver';
import { intakeMetrics } from './intake-metrics';

export interface IntakeServices {
  deps: StayApplierDeps;
  profiles: SenderProfile[];
  process: Hl7Processor;
  hooks: RepositoryHooks;
}

const services = new WeakMap<AppContext, IntakeServices>();

/**
 * Intake's repository: system scope, no hooks (its own writes must not re-enter intake), bound to the
 * caller's transaction (no savepoint per call: intake's whole message already runs in one savepoint).
 */
export const intakeRepository = (tx: Db): FhirRepository =>
  new PgRepository(tx, { system: true }, undefined, {}, { inTransaction: true });

/** One set of intake services per AppContext (the capability and the FHIR router's hook share it). */
export function intakeServices(ctx: AppContext): IntakeServices {
  const known = services.get(ctx);
  if (known) return known;
  let agreement: Promise<Agreement> | undefined;
  const deps: StayApplierDeps = {
    clock: ctx.clock,
    orgs: new OrganizationCache(),
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
  const processMessage = createHl7Processor({
    db: ctx.db,
    profiles,
    clock: ctx.clock,
    logger: ctx.logger,
    apply: createAdtApplier(deps, intakeRepository),
    maxChars: ctx.config.MAX_BODY_BYTES,
  });
  const process: Hl7Processor = async (raw, meta) => {
    const t0 = performance.now();
    const outcome = await processMessage(raw, meta);
    observe(outcome, meta.channel, (performance.now() - t0) / 1000);
    return outcome;
  };
  const s: IntakeServices = { deps, profiles, process, hooks: buildHooks(deps, intakeRepository) };
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
}

/** Ingestion: `POST /hl7v2`, the admin message view, the MLLP listener (role `mllp`). */
export function createIntakeCapability(ctx: AppContext): IntakeCapability {
  const s = intakeServices(ctx);
  let server: MllpServer | undefined;
  return {
    name: 'intake',
    process: s.process,
    mllpPort: () => server?.port,
    mountRoutes(app) {
      app.use(hl7Routes(s.process, ctx.config.MAX_BODY_BYTES));
      app.use(intakeAdminRoutes(ctx.db));
    },
    async start(roles: ReadonlySet<Role>) {
      if (!roles.has('mllp')) return;
      await s.deps.agreement();
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
      await server?.close();
      server = undefined;
    },
  };
}
