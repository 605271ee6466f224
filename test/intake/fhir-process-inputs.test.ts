import type { Encounter } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../src/agreements/load-agreements';
import type { Agreement } from '../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../src/core/engine/evaluate';
import { EXTENSION } from '../../src/fhir/constants';
import { factsFromEncounterChange } from '../../src/intake/fhir/encounter-diff';

/** Issue 13 §5–6: every fact has a FHIR input (Encounter extensions), and the first estimate is no change. */
let vastmanland: Agreement;
beforeAll(async () => {
  vastmanland = getAgreement(await loadAgreements(), 'vastmanland');
});
const enc = (version: string, updated: string, more: Partial<Encounter> = {}): Encounter => ({
  resourceType: 'Encounter',
  id: 'e1',
  meta: { versionId: version, lastUpdated: updated },
  status: 'in-progress',
  class: { code: 'IMP' },
  period: { start: '2026-01-15T09:30:00Z' },
  serviceProvider: { identifier: { system: 'urn:oid:1.2.752.29.4.19', value: 'SE2321000172-DEMO0001' } },
  ...more,
});
const needs = { url: EXTENSION.needs, valueCoding: { code: 'socialtjanst' } };
const ctx = { routing: { municipality: '1980' }, now: '2026-01-15T10:00:00Z' };
const facts = (versions: Encounter[]) =>
  versions.flatMap((v, i) => factsFromEncounterChange(versions[i - 1], v, ctx)).map((f) => ({ ...f, stayId: 'e1' }));
const codes = (vs: Encounter[]) =>
  evaluateStay(facts(vs), vastmanland).tasks.filter((t) => !t.key.startsWith('ansvar:'));

describe('FHIR Encounter inputs for the process facts', () => {
  it('when an admission already carries an estimated discharge date, then no "changed estimate" Task', () => {
    const est = { url: EXTENSION.estimatedDischargeDate, valueDateTime: '2026-01-24' };
    const tasks = codes([enc('1', '2026-01-15T10:05:00Z', { extension: [needs, est] })]);
    expect(tasks.map((t) => t.code)).toEqual(['inskrivningsmeddelande']);
  });

  it('when the six criteria and the ready time are set as extensions, then an utskrivningsklar Task (Västmanland)', () => {
    const criteria = [
      'lakarbedomning',
      'skriftlig-information',
      'fast-vardkontakt',
      'informationsoverforing',
      'hjalpmedel',
      'lakemedelslista',
    ].map((c) => ({ url: EXTENSION.readinessCriteria, valueCode: c }));
    const v1 = enc('1', '2026-01-15T10:05:00Z', { extension: [needs] });
    const ready = { url: EXTENSION.readyForDischarge, valueDateTime: '2026-01-17T09:00:00Z' };
    const v2 = enc('2', '2026-01-17T09:05:00Z', { extension: [needs, ready] });
    expect(codes([v1, v2]).map((t) => t.code)).not.toContain('utskrivningsklar');
    const v3 = enc('3', '2026-01-17T11:00:00Z', { extension: [needs, ready, ...criteria] });
    expect(codes([v1, v2, v3]).map((t) => t.code)).toContain('utskrivningsklar');
  });

  it('when consent is nej, then the needs fact says so and nothing is sent; a warning says why', () => {
    const nej = { url: EXTENSION.consent, valueCode: 'nej' };
    const e = evaluateStay(facts([enc('1', '2026-01-15T10:05:00Z', { extension: [needs, nej] })]), vastmanland);
    expect(e.tasks).toEqual([]);
    expect(e.warnings?.join(' ')).toMatch(/consent/i);
  });

  it('when LPT 7 a §, the outpatient unit and the placing municipality are set, then the facts carry them', () => {
    const v1 = enc('1', '2026-01-15T10:05:00Z', {
      extension: [
        needs,
        { url: EXTENSION.compulsoryOutpatientCare, valueBoolean: true },
        { url: EXTENSION.outpatientUnit, valueString: 'SE2321000172-PSYK1' },
        { url: EXTENSION.placingMunicipality, valueString: '1981' },
      ],
    });
    const f = factsFromEncounterChange(undefined, v1, ctx);
    expect(f.find((x) => x.kind === 'compulsory-outpatient-care')).toMatchObject({ planned: true });
    expect(f.find((x) => x.kind === 'patient-updated')).toMatchObject({
      patient: { outpatientUnit: 'SE2321000172-PSYK1', placingMunicipality: '1981' },
    });
  });

  it('when a later version leaves out the placing municipality the previous one had, then it is withdrawn and the municipality of registration is responsible again', () => {
    const placing = { url: EXTENSION.placingMunicipality, valueString: '1981' };
    const v1 = enc('1', '2026-01-15T10:05:00Z', { extension: [needs, placing] });
    const v2 = enc('2', '2026-01-16T09:00:00Z', { extension: [needs] });
    expect(factsFromEncounterChange(v1, v2, ctx)).toEqual([
      expect.objectContaining({
        kind: 'patient-updated',
        at: '2026-01-16T09:00:00Z',
        patient: { municipality: '1980', placingMunicipality: null },
      }),
    ]);
    // A version that keeps it, or one after a version without it, withdraws nothing.
    expect(
      factsFromEncounterChange(v1, enc('2', '2026-01-16T09:00:00Z', { extension: [needs, placing] }), ctx),
    ).toEqual([]);
    expect(factsFromEncounterChange(v2, enc('3', '2026-01-17T09:00:00Z', { extension: [needs] }), ctx)).toEqual([]);
    const live = (t: { owner: { kind: string }; status: string; code: string }) =>
      t.owner.kind === 'municipality' && t.status === 'requested' && t.code === 'inskrivningsmeddelande';
    const owners = (vs: Encounter[]) =>
      codes(vs)
        .filter(live)
        .map((t) => (t.owner.kind === 'municipality' ? t.owner.code : ''))
        .sort();
    expect(owners([v1])).toEqual(['1980', '1981']);
    expect(owners([v1, v2])).toEqual(['1980']);
  });

  it('when a later version leaves out the outpatient unit the previous one had, then it is withdrawn: its Tasks get a makulering and the listed vårdcentral alone is told and appoints the FVK', () => {
    const listed = { routing: { municipality: '1980', primaryCareUnit: 'SE2321000172-VC1' }, now: ctx.now };
    const unit = { url: EXTENSION.outpatientUnit, valueString: 'SE2321000172-PSYK1' };
    // municipal and region care (category D): the vårdcentral is told and appoints the FVK
    const hsl = { url: EXTENSION.needs, valueCoding: { code: 'kommunal-hsl' } };
    const v1 = enc('1', '2026-01-15T10:05:00Z', { extension: [needs, hsl, unit] });
    const v2 = enc('2', '2026-01-16T09:00:00Z', { extension: [needs, hsl] });
    expect(factsFromEncounterChange(v1, v2, listed)).toEqual([
      expect.objectContaining({
        kind: 'patient-updated',
        at: '2026-01-16T09:00:00Z',
        patient: { municipality: '1980', primaryCareUnit: 'SE2321000172-VC1', outpatientUnit: null },
      }),
    ]);
    // A version that keeps it, or one after a version without it, withdraws nothing.
    expect(
      factsFromEncounterChange(v1, enc('2', '2026-01-16T09:00:00Z', { extension: [needs, hsl, unit] }), listed),
    ).toEqual([]);
    expect(factsFromEncounterChange(v2, enc('3', '2026-01-17T09:00:00Z', { extension: [needs, hsl] }), listed)).toEqual(
      [],
    );
    const tasks = (vs: Encounter[]) =>
      evaluateStay(
        vs.flatMap((v, i) => factsFromEncounterChange(vs[i - 1], v, listed)).map((f) => ({ ...f, stayId: 'e1' })),
        vastmanland,
      ).tasks.filter((t) => !t.key.startsWith('ansvar:') && t.owner.kind === 'primary-care');
    const open = (vs: Encounter[]) =>
      tasks(vs)
        .filter((t) => t.status === 'requested')
        .map((t) => `${t.code}@${t.owner.kind === 'primary-care' ? t.owner.hsaId : ''}`)
        .sort();
    expect(open([v1])).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande@SE2321000172-PSYK1', 'utse-fast-vardkontakt@SE2321000172-VC1']),
    );
    const after = open([v1, v2]);
    expect(after.filter((t) => t.endsWith('PSYK1') && !t.startsWith('makulering'))).toEqual([]);
    expect(after).toEqual(
      expect.arrayContaining(['inskrivningsmeddelande@SE2321000172-VC1', 'utse-fast-vardkontakt@SE2321000172-VC1']),
    );
    // (the engine also withdraws the FVK Tasks the unit would have had; the reconciler drops those never stored)
    expect(tasks([v1, v2]).map((t) => t.key)).toContain(
      'makulering:inskrivningsmeddelande@primary-care:SE2321000172-PSYK1',
    );
  });

  it('when the Encounter finishes with discharge disposition exp, then the patient died (not a discharge)', () => {
    const v1 = enc('1', '2026-01-15T10:05:00Z', { extension: [needs] });
    const v2 = enc('2', '2026-01-18T04:00:00Z', {
      status: 'finished',
      period: { start: '2026-01-15T09:30:00Z', end: '2026-01-18T03:15:00Z' },
      hospitalization: { dischargeDisposition: { coding: [{ code: 'exp' }] } },
    });
    expect(factsFromEncounterChange(v1, v2, ctx).map((x) => x.kind)).toEqual(['died']);
  });
});

describe('warnings about a stay', () => {
  it('when a notified stay has no estimated discharge date, then a warning says it is mandatory; with one, none', () => {
    const without = evaluateStay(facts([enc('1', '2026-01-15T10:05:00Z', { extension: [needs] })]), vastmanland);
    expect(without.warnings?.join(' ')).toMatch(/estimated discharge date/);
    const est = { url: EXTENSION.estimatedDischargeDate, valueDateTime: '2026-01-24' };
    const withEst = evaluateStay(facts([enc('1', '2026-01-15T10:05:00Z', { extension: [needs, est] })]), vastmanland);
    expect(withEst.warnings?.join(' ') ?? '').not.toMatch(/estimated discharge date/);
  });
});
