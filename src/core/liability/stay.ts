import { z } from 'zod';

/**
 * One stay in a liability input file (contract "Payment liability file format"), one JSON object a line.
 * Optional fields beyond the contract are documented in docs/liability.md.
 */
const instant = z.iso.datetime({ offset: true, message: 'an ISO 8601 date-time with offset or Z' });
const kommunkod = z.string().regex(/^\d{4}$/, 'a four-digit municipality code');

export const stayInputSchema = z
  .object({
    id: z.string().min(1),
    /** Municipality of registration (kommunkod). */
    municipality: kommunkod,
    /** A municipality that placed the person in housing elsewhere; it pays instead (5 kap. 2 §). */
    placingMunicipality: kommunkod.nullable().optional(),
    care: z.enum(['somatic', 'psychiatric']),
    admittedAt: instant,
    /** When the ready-for-discharge notice was sent (the last one, after any withdrawal). */
    readyAt: instant.nullable().optional(),
    dischargedAt: instant.nullable().optional(),
    admissionNoticeSent: z.boolean(),
    estimatedDischargeDateSent: z.boolean(),
    readyNoticeSent: z.boolean(),
    sipRequired: z.boolean(),
    sipInvitationSent: z.boolean(),
    /** Optional: the discharge notice was sent (checked where the agreement requires it). */
    dischargeNoticeSent: z.boolean().optional(),
    /** Optional: 5 kap. 5 § — the patient could not leave because region outpatient services were missing. */
    outpatientServicesUnavailable: z.boolean().optional(),
    /** Optional: the patient category (002); category B (only region outpatient care) is never liable. */
    category: z.string().optional(),
    /** Optional: false = outside the agreement's target group (e.g. no consent, or a category outside it). */
    inTargetGroup: z.boolean().optional(),
    /**
     * Optional: earlier ready periods, each ended by a withdrawal of the ready status (*avbrott*) before `readyAt`.
     * Each is liable up to its withdrawal like a period ended by discharge; a new ready notice starts a new one.
     */
    withdrawnReadyPeriods: z
      .array(z.object({ readyAt: instant, withdrawnAt: instant }).strict())
      .optional()
      .refine((ps) => !ps || ps.every((x) => Date.parse(x.withdrawnAt) >= Date.parse(x.readyAt)), {
        message: 'a withdrawn ready period ends before it starts',
      }),
  })
  .loose()
  .refine((s) => !s.readyAt || !s.dischargedAt || Date.parse(s.dischargedAt) >= Date.parse(s.readyAt), {
    message: 'dischargedAt is before readyAt',
    path: ['dischargedAt'],
  });

export type StayInput = z.infer<typeof stayInputSchema>;

export class LiabilityInputError extends Error {
  constructor(
    message: string,
    /** 1-based line number in the input file, when known. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'LiabilityInputError';
  }
}

/** Parse NDJSON text into stays; a malformed line throws naming its line number. Blank lines are skipped. */
export function parseStaysNdjson(text: string): StayInput[] {
  const stays: StayInput[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const n = i + 1;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new LiabilityInputError(`line ${n}: not valid JSON (${(e as Error).message})`, n);
    }
    const r = stayInputSchema.safeParse(json);
    if (!r.success) {
      const why = r.error.issues.map((is) => `${is.path.map(String).join('.') || '(line)'}: ${is.message}`);
      throw new LiabilityInputError(`line ${n}: ${why.join('; ')}`, n);
    }
    if (seen.has(r.data.id)) throw new LiabilityInputError(`line ${n}: duplicate stay id "${r.data.id}"`, n);
    seen.add(r.data.id);
    stays.push(r.data);
  }
  return stays;
}
