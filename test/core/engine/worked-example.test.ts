import { describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import * as b from './stay-builder';

describe('docs/engine.md worked example: a new region is a file', () => {
  it('when uppsala.json (extends lag) is loaded from an extra folder, then its overrides apply and the rest comes from the law', async () => {
    const all = await loadAgreements({ extraDir: 'test/fixtures/agreements-example' });
    const u = getAgreement(all, 'uppsala');
    expect(u.tasks.inskrivningsmeddelande.deadline?.after).toBe('PT24H'); // inherited from lag
    const adm = '2026-05-04T09:00:00+02:00';
    const e = evaluateStay(
      [b.admitted(adm, { homeHealthCare: true }), b.needs(adm, ['kommunal-hsl']), b.ready('2026-05-05T10:00:00+02:00')], // Tuesday
      u,
    );
    const sip = e.tasks.find((t) => t.code === 'kallelse-sip')!;
    expect(sip.owner).toEqual({ kind: 'municipal-nurse', municipality: '1980' });
    expect(sip.due).toBe('2026-05-07T21:59:59.999Z'); // Thursday 23:59:59.999 Stockholm
    expect(sip.deadlineRule).toMatchObject({
      agreement: 'uppsala',
      source: { document: 'uppsala-2019.pdf', section: '4.3' },
    });
    expect(e.tasks.find((t) => t.code === 'informationsoverforing')!.due).toBe('2026-05-05T21:59:59.999Z');
  });
});
