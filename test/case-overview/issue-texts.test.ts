import { describe, expect, it } from 'vitest';
import { issueView } from '../../src/case-overview/issue-texts';

describe('the case overview says the stay warnings in Swedish', () => {
  it('when a party is not connected, then it names the party and the notices by their Swedish names', () => {
    const detail =
      "recipient not connected: kommun 0180 is not in the gateway's directory, so nobody can receive its inskrivningsmeddelande, kallelse-sip; tell it another way";
    expect(issueView(detail)).toEqual({
      code: 'recipient-not-connected',
      text: 'Kommun 0180 är inte ansluten till gatewayen, så ingen kan ta emot inskrivningsmeddelande, kallelse till samordnad individuell planering: meddela dem på annat sätt.',
      detail,
    });
  });

  it('when a vårdcentral is not connected, then it is an enhet with its HSA-id', () => {
    const v = issueView(
      "recipient not connected: unit SE2321000172-VC9999 is not in the gateway's directory, so nobody can receive its utse-fast-vardkontakt; tell it another way",
    );
    expect(v.text).toBe(
      'Enhet SE2321000172-VC9999 är inte ansluten till gatewayen, så ingen kan ta emot utse fast vårdkontakt: meddela dem på annat sätt.',
    );
  });

  it('when the engine warns of something known, then the Swedish text says it and the technical text stays beside it', () => {
    const detail =
      'no listed primary-care unit (PD1-3) nor outpatient unit (oppenvardsenhet): cannot notify region-funded outpatient care';
    const v = issueView(detail);
    expect(v.code).toBe('no-primary-care');
    expect(v.text).toMatch(
      /^Listad vårdcentral \(HL7 PD1-3, i FHIR Patient\.generalPractitioner\) eller öppenvårdsenhet saknas/,
    );
    expect(v.detail).toBe(detail);
    // a FHIR sender reads it too: the element it sends is named beside the HL7 field
    expect(
      issueView('no estimated discharge date (PV2-9 or the estimated-discharge-date extension): it is mandatory').text,
    ).toMatch(/^Beräknad tidpunkt för utskrivning saknas \(HL7 PV2-9, i FHIR tillägget estimated-discharge-date\)/);
    expect(issueView('consent refused (samtycke nej): no admission notification is sent').text).toMatch(
      /^Patienten har inte samtyckt/,
    );
  });

  it('when the text is one it has no words for (a fact held back), then it says so and keeps the technical text', () => {
    const v = issueView('ready: not an ISO 8601 time: "2026-13-01"');
    expect(v).toEqual({
      code: 'other-warning',
      text: 'Gatewayen kunde inte tillämpa en uppgift i meddelandena (se den tekniska texten).',
      detail: 'ready: not an ISO 8601 time: "2026-13-01"',
    });
  });
});
