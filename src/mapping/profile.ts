import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { projectDir } from '../platform/project-dir';

/**
 * A sender profile: how one sending system (selected by MSH-3/MSH-4) writes the stay into HL7 v2.5 ADT.
 * Profiles are data in `mappings/*.json`; `src/mapping/adt-to-facts.ts` interprets them.
 *
 * Field paths are `SEG-field[.component[.subcomponent]]` (1-based, as in HL7 documentation), e.g. `PID-11.9`.
 * Where a list of paths is given, the first non-empty value wins.
 */
const fieldPath = z.string().regex(/^[A-Z][A-Z0-9]{2}-\d+(?:\.\d+){0,2}$/, 'expected a path like PID-11.9');
const paths = z.array(fieldPath).min(1);

export const FACT_KINDS_FROM_EVENTS = [
  'admitted',
  'transferred',
  'discharged',
  'admission-cancelled',
  'discharge-cancelled',
  'leave-started',
  'leave-ended',
  'patient-updated',
] as const;

const eventRule = z
  .object({
    /** The stay fact the trigger event itself stands for; `none` = only the content (OBX, PV2) facts. */
    fact: z.enum([...FACT_KINDS_FROM_EVENTS, 'none']),
    /** Ignore (ACK AA, no facts) unless PV1-2 is an inpatient class. */
    inpatientOnly: z.boolean().default(false),
    /** Also derive the content facts (needs, consent, estimated discharge, ready) from the message. */
    content: z.boolean().default(true),
    /**
     * The event is about the person, not a visit (A31 update person information): PV1 may be missing or empty; the
     * Patient is updated and its open stays get the change (a `patient-updated` or `died` fact each). Only with fact
     * `patient-updated` and without content.
     */
    patientOnly: z.boolean().default(false),
    description: z.string().optional(),
  })
  .refine(
    (e) => !e.patientOnly || (e.fact === 'patient-updated' && !e.content && !e.inpatientOnly),
    'a patientOnly event has fact patient-updated, content false and inpatientOnly false',
  );

/** Targets a row can fill. */
export const ROW_TARGETS = [
  'needs',
  'consent',
  'sipNeeded',
  'readyAt',
  'readyWithdrawn',
  'estimatedDischarge',
  /** Readiness criteria that now hold (contract Ingestion 4, seed 001 §3), coded, repeatable. */
  'readinessCriteria',
  /** Compulsory outpatient psychiatric care planned (LPT 7 a §), coded yes/no. */
  'compulsoryOutpatientCare',
  /** HSA-id of a psychiatric or specialist outpatient unit (region-funded unit besides/instead of the vårdcentral). */
  'outpatientUnit',
  /** Kommunkod of the municipality that placed the person elsewhere. */
  'placingMunicipality',
  /** The patient already has municipal home health care (hemsjukvård), coded yes/no (Gävleborg: FVK = municipal nurse). */
  'homeHealthCare',
] as const;
export type RowTarget = (typeof ROW_TARGETS)[number];

const row = z
  .object({
    id: z.string(),
    target: z.enum(ROW_TARGETS),
    /** An OBX segment whose OBX-3 has this code (component 1) and coding system (component 3). */
    obx: z.object({ code: z.string(), system: z.string().optional() }).optional(),
    /** Or a field anywhere in the message (e.g. a Z-segment or PV2-9). */
    field: fieldPath.optional(),
    /** How to read the value: a coded value (through `codeMap`), a time stamp, a date, a plain string. */
    type: z.enum(['code', 'TS', 'DT', 'ST']),
    /** Name of a code map in `codeMaps` (for `type: code`). */
    codeMap: z.string().optional(),
    description: z.string().optional(),
  })
  .refine((r) => (r.obx ? 1 : 0) + (r.field ? 1 : 0) === 1, 'a row has exactly one of obx or field')
  .refine((r) => r.type !== 'code' || r.codeMap !== undefined, 'a coded row needs a codeMap');

export const profileSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string(),
  /** Selected when MSH-3.1 (application) or MSH-4.1 (facility) is one of these; the `generic` profile is the fallback. */
  match: z.object({
    sendingApplication: z.array(z.string()).default([]),
    sendingFacility: z.array(z.string()).default([]),
  }),
  /** HSA-id of the hospital (care provider): by facility code (from `facilityPaths`), else `defaultHsaId`. */
  hospital: z.object({
    facilityPaths: paths,
    byFacility: z.record(z.string(), z.string()).default({}),
    defaultHsaId: z.string().optional(),
  }),
  /** Identifier system of PV1-19 (visit number) as Encounter.identifier; `{sender}` is replaced. */
  visitNumberSystem: z.string(),
  personIdentifier: z.object({
    path: z.string().regex(/^PID-3$/),
    personnummer: z.object({ authorities: z.array(z.string()), typeCodes: z.array(z.string()) }),
    samordningsnummer: z.object({ authorities: z.array(z.string()), typeCodes: z.array(z.string()) }),
  }),
  fields: z.object({
    visitNumber: paths,
    patientClass: paths,
    inpatientClasses: z.array(z.string()).min(1),
    ward: paths,
    wardName: z.array(fieldPath).default([]),
    attendingId: z.array(fieldPath).default([]),
    attendingFamily: z.array(fieldPath).default([]),
    attendingGiven: z.array(fieldPath).default([]),
    admitTime: paths,
    dischargeTime: paths,
    eventTime: paths,
    municipality: paths,
    listedUnit: z.array(fieldPath).default([]),
    birthDate: paths,
    gender: z.array(fieldPath).default([]),
    hospitalService: z.array(fieldPath).default([]),
    /** Date/time of death (PID-29) and the death indicator (PID-30, `Y`). */
    deathTime: z.array(fieldPath).default(['PID-29']),
    deathIndicator: z.array(fieldPath).default(['PID-30']),
    /** Discharge disposition (PV1-36); a value in `expiredDispositions` means the patient died. */
    dischargeDisposition: z.array(fieldPath).default(['PV1-36']),
  }),
  /** PV1-36 values that mean the patient died (HL7 table 0112: `20` expired). */
  expiredDispositions: z.array(z.string()).default(['20']),
  /** Hospital service (PV1-10) codes that mean psychiatric care; everything else is somatic. */
  psychiatricServices: z.array(z.string()).default([]),
  /**
   * Protected identity: a field whose value maps to an HL7 Sweden security label code, or to `null`: the sender
   * states the person is not protected (the label is lifted, as by the HL7 null `""`). An empty field says nothing
   * (the Patient's label stays as it is).
   */
  protectedIdentity: z
    .array(
      z.object({
        field: fieldPath,
        map: z.record(z.string(), z.enum(['skyddadFolkbokforing', 'sekretessmarkering']).nullable()),
      }),
    )
    .default([]),
  /** Known ward codes (PV1-3.1) with names; a ward not listed is accepted with a warning (contract Ingestion 5). */
  wards: z.record(z.string(), z.object({ name: z.string(), hsaId: z.string().optional() })).default({}),
  events: z.record(z.string().regex(/^A\d{2}$/), eventRule),
  rows: z.array(row),
  codeMaps: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.boolean()]))),
});

export type SenderProfile = z.infer<typeof profileSchema>;
export type ProfileRow = SenderProfile['rows'][number];

const MAPPINGS_DIR = projectDir('mappings', import.meta.url);

/** Loads and validates every `*.json` profile in `dir` (default `mappings/`); throws naming the file. */
export function loadProfiles(dir: string = MAPPINGS_DIR): SenderProfile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((f) => {
    const parsed = profileSchema.safeParse(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`mappings/${f}: ${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
    }
    for (const r of parsed.data.rows) {
      if (r.codeMap && !parsed.data.codeMaps[r.codeMap]) {
        throw new Error(`mappings/${f}: row ${r.id} names unknown codeMap ${r.codeMap}`);
      }
    }
    return parsed.data;
  });
}

/** The profile for a sender: the first whose application or facility matches, else `generic`. */
export function selectProfile(profiles: SenderProfile[], app: string, facility: string): SenderProfile {
  const hit = profiles.find(
    (p) => p.match.sendingApplication.includes(app) || p.match.sendingFacility.includes(facility),
  );
  const fallback = profiles.find((p) => p.id === 'generic');
  const chosen = hit ?? fallback;
  if (!chosen) throw new Error('no sender profile matches and mappings/generic.json is missing');
  return chosen;
}
