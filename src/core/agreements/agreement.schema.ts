import { z } from 'zod';

/**
 * A regional agreement (överenskommelse) as data. Every rule carries `source: {document, section}` naming
 * the seed file (e.g. `001_72df90efc2697425.txt`) or the law (`SFS 2017:612`) it comes from. A new region
 * is a new JSON file in `agreements/`, not code (docs/engine.md).
 */

export const sourceSchema = z
  .object({
    document: z.string().min(1).describe('Seed file name (e.g. `001_72df90efc2697425.txt`) or `SFS 2017:612`'),
    section: z.string().min(1).describe('Section, step or page in that document'),
    note: z.string().optional().describe('What is taken from the source, or that this is our default'),
  })
  .strict();
export type Source = z.infer<typeof sourceSchema>;

/** ISO 8601 duration with an optional sign: `PT24H`, `P3D`, `P1M`, `PT30S`, `-PT4H`, `P0D`. */
export const ISO_DURATION = /^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
export const durationSchema = z.string().regex(ISO_DURATION, 'an ISO 8601 duration such as PT24H, P3D, P1M or PT30S');

/**
 * How a duration is added: `elapsed` = exact elapsed time (P1D = 24 h); `calendar-days` = the same wall-clock
 * time that many calendar days/months later in the agreement's time zone (DST-safe); `end-of-day` = the end of
 * the local day reached by adding the duration (P0D = the same day).
 */
export const deadlineKindSchema = z.enum(['elapsed', 'calendar-days', 'end-of-day']);
export type DeadlineKind = z.infer<typeof deadlineKindSchema>;

/** Moments of a stay a task can arise at, or a deadline can run from. */
export const anchorSchema = z.enum([
  /** Admission, or the later physician assessment that put the patient in the target group (per recipient). */
  'notification',
  'admission',
  'estimated-discharge',
  'estimated-discharge-changed',
  'ready',
  'discharge',
  'sip-meeting',
  'death',
]);
export type Anchor = z.infer<typeof anchorSchema>;

export const deadlineSchema = z
  .object({
    after: durationSchema,
    kind: deadlineKindSchema,
    from: anchorSchema,
    source: sourceSchema,
  })
  .strict()
  .refine((d) => d.kind !== 'elapsed' || !/[YM]/.test(d.after.split('T')[0] ?? ''), {
    message: 'years and months have no fixed length: use kind calendar-days or end-of-day',
    path: ['kind'],
  });
export type DeadlineSpec = z.infer<typeof deadlineSchema>;

/** Who owns (must act on) a task: each notified party, the named care contact, or the hospital itself. */
export const taskOwnerSchema = z.enum(['notified', 'fvk', 'hospital']);

/** Conditions from the patient category (seed 002) that must hold for the task to arise. */
export const taskRequirementSchema = z.enum(['fvk', 'sip', 'ready-notice']);

export const taskRuleSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The task arises at the first of these moments that has happened. */
    when: z.array(anchorSchema).min(1),
    to: taskOwnerSchema,
    requires: z.array(taskRequirementSchema).default([]),
    deadline: deadlineSchema.optional(),
    description: z.string().min(1),
    source: sourceSchema,
  })
  .strict();
export type TaskRule = z.infer<typeof taskRuleSchema>;

const criterionSchema = z.enum([
  'physician-assessed',
  'written-information',
  'fvk-appointed',
  'information-transferred',
  'assistive-devices',
  'medication-list',
]);

export const categoryRuleSchema = z
  .object({
    inTargetGroup: z.boolean(),
    /** Units that get the admission notification. */
    notify: z.array(z.enum(['municipality', 'primary-care'])),
    fvk: z.boolean(),
    sip: z.boolean(),
    readyNotice: z.enum(['yes', 'if-admission-notice', 'no']),
    source: sourceSchema,
  })
  .strict();
export type CategoryRule = z.infer<typeof categoryRuleSchema>;

export const ladderStepSchema = z
  .object({
    id: z.string().min(1),
    at: z.object({ offset: durationSchema, from: z.enum(['deadline', 'authored']) }).strict(),
    kind: z.enum(['reminder', 'overdue', 'escalation', 'deviation']),
    /** Who gets the notice: the Task's owner, the owner's head of unit, the requester, or both principals. */
    to: z.enum(['owner', 'owner-head-of-unit', 'requester', 'both-principals']),
    description: z.string().optional(),
    source: sourceSchema,
  })
  .strict();
export type LadderStep = z.infer<typeof ladderStepSchema>;

/** The codes an agreement rules, in process order (the order a stay's Task writes at one moment follow). */
const taskCodes = [
  'inskrivningsmeddelande',
  'beraknad-utskrivning-andrad',
  'utse-fast-vardkontakt',
  'kallelse-sip',
  'utskrivningsklar',
  'informationsoverforing',
  'utskrivningsmeddelande',
  'sip-uppfoljning',
  'avsluta-arende',
] as const;
export type RuledTaskCode = (typeof taskCodes)[number];
export const RULED_TASK_CODES: readonly RuledTaskCode[] = taskCodes;

export const agreementSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    extends: z.string().optional(),
    name: z.string().min(1),
    region: z.object({ name: z.string(), countyCode: z.string().optional() }).strict(),
    description: z.string().optional(),
    timeZone: z.literal('Europe/Stockholm').default('Europe/Stockholm'),
    sources: z.array(z.object({ document: z.string(), title: z.string() }).strict()).default([]),
    tasks: z.object(
      Object.fromEntries(taskCodes.map((c) => [c, taskRuleSchema])) as Record<RuledTaskCode, typeof taskRuleSchema>,
    ),
    readiness: z
      .object({
        /** When true, the ready notice is rejected until every listed criterion is met (Västmanland). */
        gate: z.boolean(),
        criteria: z.array(criterionSchema),
        source: sourceSchema,
      })
      .strict()
      .refine((r) => !r.gate || r.criteria.length > 0, {
        message: 'a readiness gate needs at least one criterion',
        path: ['criteria'],
      }),
    fvk: z
      .object({
        owner: z.enum(['primary-care', 'municipal-nurse-if-home-health-care']),
        source: sourceSchema,
      })
      .strict(),
    categories: z
      .object({
        A: categoryRuleSchema,
        B: categoryRuleSchema,
        C: categoryRuleSchema,
        D: categoryRuleSchema,
        'B+C': categoryRuleSchema,
        'C+D': categoryRuleSchema,
        E: categoryRuleSchema,
      })
      .strict(),
    /**
     * The SIP as a shared plan (src/sip): who may create it and invite to it (the named care contact's organisation,
     * and where the agreement says so also the hospital), and by when each invited party must acknowledge its
     * invitation (`kallelse-sip`, "utan dröjsmål"). `working-days` = the end of the n-th next Swedish working day.
     */
    sipPlan: z
      .object({
        createdBy: z.array(z.enum(['fvk', 'hospital'])).min(1),
        acknowledgeWithin: z
          .object({
            after: durationSchema,
            kind: z.enum(['elapsed', 'calendar-days', 'end-of-day', 'working-days']),
            source: sourceSchema,
          })
          .strict(),
        source: sourceSchema,
      })
      .strict()
      .optional(),
    /** LPT 7 a §: discharge to compulsory outpatient psychiatric care needs a coordinated plan first. */
    compulsoryOutpatientCare: z.object({ planDeadline: deadlineSchema, source: sourceSchema }).strict(),
    escalation: z
      .object({ steps: z.array(ladderStepSchema).min(1), source: sourceSchema })
      .strict()
      .refine((e) => new Set(e.steps.map((s) => s.id)).size === e.steps.length, {
        message: 'ladder step ids must be unique',
        path: ['steps'],
      }),
    holidays: z
      .object({
        /** Deadlines keep running on calendar days over holidays (001 §5). */
        deadlinesRunOverHolidays: z.boolean(),
        /** A run of at least this many consecutive non-working days is a "major holiday" (storhelg). */
        majorHolidayMinDays: z.number().int().min(2),
        source: sourceSchema,
      })
      .strict(),
    /**
     * Routing of the municipality's messages. With a placing municipality (placerande kommun) that one is
     * responsible and gets the messages; `notifyRegisteredMunicipality` also tells the municipality of
     * registration with an admission notification for information (no deadline, no duty of its own).
     */
    routing: z.object({ notifyRegisteredMunicipality: z.boolean(), source: sourceSchema }).strict(),
    /** Owned by the liability capability (`src/core/liability/payment-model.ts`); validated by the loader. */
    payment: z.unknown(),
  })
  .strict();

export type AgreementInput = z.input<typeof agreementSchema>;
export type Agreement = z.infer<typeof agreementSchema>;
