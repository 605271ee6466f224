import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { foreseeMessageIssues, type MessageFact } from '../../../src/core/engine/foresee';

/** ADR 024: what one message alone shows the engine will park, for the ACK sent on store. */
let vastmanland: Agreement;
let jonkoping: Agreement;
beforeAll(async () => {
  const all = await loadAgreements();
  vastmanland = getAgreement(all, 'vastmanland');
  jonkoping = getAgreement(all, 'jonkoping');
});
const at = '2026-01-15T09:30:00Z';
const needs = (consent?: 'ja' | 'nej'): MessageFact => ({
  id: 'm#needs',
  at,
  kind: 'needs-assessed',
  needs: ['socialtjanst'],
  ...(consent ? { consent } : {}),
});
const ready: MessageFact = { id: 'm#ready', at, kind: 'ready-for-discharge' };
const codes = (facts: MessageFact[], routing: object | undefined, a: Agreement) =>
  foreseeMessageIssues(facts, routing, a).map((i) => i.code);

describe('foreseeMessageIssues', () => {
  it('when needs come with consent nej, then consent-refused (and no municipality warning for it)', () => {
    expect(codes([needs('nej')], {}, vastmanland)).toEqual(['consent-refused']);
  });
  it('when municipal needs come with no municipality nor placing municipality, then no-municipality', () => {
    expect(codes([needs('ja')], {}, vastmanland)).toEqual(['no-municipality']);
    expect(codes([needs('ja')], { municipality: '1980' }, vastmanland)).toEqual([]);
    expect(codes([needs('ja')], { placingMunicipality: '1981' }, vastmanland)).toEqual([]);
  });
  it('when the municipality is not in the directory, then recipient-not-connected names it by SCB’s name with its code; a code SCB does not list stays a code', () => {
    const outside = (code: string) => (party: { kind: string }) => party.kind !== 'municipality' || code !== '0180';
    const issues = foreseeMessageIssues([needs('ja')], { municipality: '0180' }, vastmanland, outside('0180'));
    expect(issues).toEqual([
      {
        code: 'recipient-not-connected',
        path: 'PID-11.9',
        text: "Stockholm (kommun 0180) is not in the gateway's directory: nobody can receive its notices through the gateway; tell it another way",
      },
    ]);
    const placing = foreseeMessageIssues([needs('ja')], { placingMunicipality: '2584' }, vastmanland, () => false);
    expect(placing).toEqual([
      expect.objectContaining({
        path: 'OBX-5 (placerande-kommun)',
        text: expect.stringMatching(/^Kiruna \(kommun 2584\) is not/),
      }),
    ]);
    const unlisted = foreseeMessageIssues([needs('ja')], { municipality: '1917' }, vastmanland, () => false);
    expect(unlisted[0]?.text).toMatch(/^kommun 1917 is not in the gateway's directory/);
  });
  it('when an admission calls for outpatient care to be told and names no vårdcentral nor outpatient unit, then no-primary-care', () => {
    const admitted: MessageFact = {
      id: 'm',
      at,
      kind: 'admitted',
      hospital: 'SE2321000172-DEMO0001',
      care: 'somatic',
      patient: { municipality: '1980' },
    };
    const both: MessageFact = { id: 'm#needs', at, kind: 'needs-assessed', needs: ['socialtjanst', 'kommunal-hsl'] };
    const edd: MessageFact = { id: 'm#edd', at, kind: 'estimated-discharge-set', date: '2026-01-22' };
    const issues = foreseeMessageIssues([admitted, both, edd], { municipality: '1980' }, vastmanland);
    expect(issues).toEqual([expect.objectContaining({ code: 'no-primary-care', path: 'PD1-3' })]);
    expect(
      codes([admitted, both, edd], { municipality: '1980', primaryCareUnit: 'SE2321000172-DEMO0101' }, vastmanland),
    ).toEqual([]);
    expect(
      codes([admitted, both, edd], { municipality: '1980', outpatientUnit: 'SE2321000172-DEMO0201' }, vastmanland),
    ).toEqual([]);
    // without its estimated discharge date the admission's notices go out without mandatory content
    expect(
      codes([admitted, both], { municipality: '1980', primaryCareUnit: 'SE2321000172-DEMO0101' }, vastmanland),
    ).toEqual(['no-estimated-discharge']);
    // an update without PD1 says nothing of the unit (no change): only the admission is judged
    expect(codes([both], { municipality: '1980' }, vastmanland)).toEqual([]);
    // consent refused: nobody is told, so no unit is missing
    expect(codes([admitted, { ...both, consent: 'nej' }], { municipality: '1980' }, vastmanland)).toEqual([
      'consent-refused',
    ]);
  });
  it('when a ready notice comes without the criteria under a gating agreement, then ready-criteria-unconfirmed naming the missing ones', () => {
    const issues = foreseeMessageIssues([ready], { municipality: '1980' }, vastmanland);
    expect(issues.map((i) => i.code)).toEqual(['ready-criteria-unconfirmed']);
    // named by the codes the sender reports them with, and where the named care contact's criterion comes from
    expect(issues[0]?.text).toContain('lakemedelslista');
    expect(issues[0]?.text).toContain('fast-vardkontakt is met too when the outpatient unit names');
    expect(issues[0]?.text).not.toContain('lakarbedomning');
  });
  it('when the message reports every criterion with the ready notice, or the agreement has no gate, then nothing', () => {
    const criteria: MessageFact = {
      id: 'm#criteria',
      at,
      kind: 'readiness-criteria-met',
      criteria: [
        'written-information',
        'fvk-appointed',
        'information-transferred',
        'assistive-devices',
        'medication-list',
      ],
    };
    expect(codes([criteria, ready], {}, vastmanland)).toEqual([]);
    expect(codes([ready], {}, jonkoping)).toEqual([]);
  });
});
