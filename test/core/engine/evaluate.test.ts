import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ev = (facts: Parameters<typeof evaluateStay>[0], id = 'vastmanland'): StayEvaluation =>
  evaluateStay(facts, getAgreement(A, id));
const task = (e: StayEvaluation, key: string): TaskSpec => {
  const t = e.tasks.find((x) => x.key === key);
  if (!t) throw new Error(`no task ${key}; have ${e.tasks.map((x) => x.key).join(', ')}`);
  return t;
};
/** The receivers' Tasks (the hospital's duties, `ansvar:` keys, are tested in duties.test.ts). */
const keys = (e: StayEvaluation): string[] => e.tasks.filter((t) => !t.key.startsWith('ansvar:')).map((t) => t.key);
const MUNI = 'municipality:1980';
const VC = `primary-care:${b.VC}`;
const ADM = '2026-05-04T10:00:00+02:00';

describe('admission notification (step 1)', () => {
  it('when a C+D patient is admitted, then both the municipality and the vårdcentral get an admission notification due 24 h after admission (001 §5.2.1, law 2 kap. 1–2 §)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl'])]);
    for (const owner of [MUNI, VC]) {
      const t = task(e, `inskrivningsmeddelande@${owner}`);
      expect(t).toMatchObject({
        code: 'inskrivningsmeddelande',
        requester: { kind: 'hospital', hsaId: b.HOSPITAL },
        responsible: { kind: 'hospital', hsaId: b.HOSPITAL },
        authoredOn: '2026-05-04T08:00:00.000Z',
        due: '2026-05-05T08:00:00.000Z',
        status: 'requested',
      });
      expect(t.deadlineRule).toMatchObject({
        agreement: 'vastmanland',
        source: { document: '001_72df90efc2697425.txt', section: '5.2.1' },
      });
    }
    expect(e.state).toMatchObject({
      category: 'C+D',
      inTargetGroup: true,
      status: 'in-progress',
      admittedAt: '2026-05-04T08:00:00.000Z',
    });
  });

  it('when the estimated discharge is known at admission, then the admission notification carries it (law 2 kap. 1–2 §, 001 §5.2.1)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst']), b.estimate(ADM, '2026-05-08')]);
    expect(task(e, `inskrivningsmeddelande@${MUNI}`).description).toMatch(
      /beräknad tidpunkt för utskrivning: 2026-05-08$/,
    );
    expect(e.tasks.some((t) => t.code === 'beraknad-utskrivning-andrad')).toBe(false);
  });

  it('when a FHIR sender gives the estimated discharge as a time with an offset, then the texts a person reads say it in Swedish time to the minute, as the SIP invitation does', () => {
    const e = ev([
      b.admitted(ADM),
      b.needs(ADM, ['socialtjanst']),
      b.estimate(ADM, '2026-05-08T10:00:00Z'),
      b.estimate('2026-05-05T09:00:00+02:00', '2026-05-09T12:00:00+02:00'),
    ]);
    expect(task(e, `inskrivningsmeddelande@${MUNI}`).description).toMatch(
      /beräknad tidpunkt för utskrivning: 2026-05-08 12:00 svensk tid$/,
    );
    const changed = e.tasks.filter((t) => t.code === 'beraknad-utskrivning-andrad' && t.owner.kind === 'municipality');
    expect(changed.map((t) => t.description)).toEqual([
      expect.stringMatching(/: 2026-05-09 12:00 svensk tid$/) as unknown as string,
    ]);
    expect(e.state.estimatedDischarge).toBe('2026-05-09T12:00:00+02:00');
  });

  it('when the physician finds the need only later, then the 24 h run from that assessment (001 §5.2.1)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['ingen']), b.needs('2026-05-06T15:30:00+02:00', ['socialtjanst'])]);
    expect(task(e, `inskrivningsmeddelande@${MUNI}`)).toMatchObject({
      authoredOn: '2026-05-06T13:30:00.000Z',
      due: '2026-05-07T13:30:00.000Z',
    });
    expect(e.state.assessedAt).toBe('2026-05-06T13:30:00.000Z');
  });

  it('when the patient needs nothing after discharge (category A), then no task arises: outside the target group (001 §3, 003, 002)', () => {
    const e = ev(
      [
        b.admitted(ADM),
        b.needs(ADM, ['ingen']),
        b.ready('2026-05-06T10:00:00+02:00'),
        b.discharged('2026-05-06T14:00:00+02:00'),
      ],
      'lag',
    );
    expect(e.tasks).toEqual([]);
    expect(e.state).toMatchObject({ category: 'A', inTargetGroup: false, status: 'finished' });
  });

  it('when only social services are needed (category C), then only the municipality is notified and no FVK or SIP arises (002)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst'])]);
    expect(keys(e)).toEqual([`inskrivningsmeddelande@${MUNI}`]);
  });

  it('when only region outpatient care is needed (category B), then the vårdcentral is notified, without FVK or SIP (002)', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const e = ev([b.admitted(ADM), b.needs(ADM, ['oppenvard']), r], 'lag');
    expect(keys(e)).toEqual([`inskrivningsmeddelande@${VC}`, `utskrivningsklar@${VC}#${r.id}`]);
  });

  it('when Jönköping has a patient with only outpatient needs, then nothing arises (003 Avgränsningar)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['oppenvard'])], 'jonkoping');
    expect(e.tasks).toEqual([]);
    expect(e.state.inTargetGroup).toBe(false);
  });

  it('when the patient was placed in housing by another municipality, then the placing municipality is responsible and the municipality of registration is also told, for information (003, law 5 kap. 2 §)', () => {
    const e = ev([b.admitted(ADM, { placingMunicipality: '0180' }), b.needs(ADM, ['socialtjanst'])]);
    expect(keys(e)).toEqual(['inskrivningsmeddelande@municipality:0180', `inskrivningsmeddelande@${MUNI}`]);
    const info = task(e, `inskrivningsmeddelande@${MUNI}`);
    expect(info).toMatchObject({ status: 'requested', owner: { kind: 'municipality' } });
    expect(info.due).toBeUndefined();
    expect(info.description).toMatch(/för kännedom: den placerande kommunen ansvarar/);
    expect(task(e, 'inskrivningsmeddelande@municipality:0180').due).toBeDefined();
    expect(e.tasks.filter((t) => t.key.startsWith('ansvar:')).map((t) => t.key)).not.toContain(
      `ansvar:inskrivningsmeddelande@${MUNI}`,
    );
  });

  it('when an agreement turns notifyRegisteredMunicipality off, then only the placing municipality is told', () => {
    const vm = getAgreement(A, 'vastmanland');
    const off = { ...vm, routing: { ...vm.routing, notifyRegisteredMunicipality: false } };
    const e = evaluateStay([b.admitted(ADM, { placingMunicipality: '0180' }), b.needs(ADM, ['socialtjanst'])], off);
    expect(keys(e)).toEqual(['inskrivningsmeddelande@municipality:0180']);
  });

  it('when the patient refuses consent, then nothing is sent; with a harm assessment (menprövning) it is (domain step 1)', () => {
    expect(ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst'], { consent: 'nej' })]).tasks).toEqual([]);
    expect(keys(ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst'], { consent: 'menprovning' })]))).toEqual([
      `inskrivningsmeddelande@${MUNI}`,
    ]);
  });

  it('when no vårdcentral is listed, then the municipality is still notified and a warning says why outpatient care is not (PD1-3)', () => {
    const e = ev([b.admitted(ADM, { primaryCareUnit: undefined }), b.needs(ADM, ['kommunal-hsl'])]);
    expect(keys(e)).toEqual([`inskrivningsmeddelande@${MUNI}`]);
    expect(e.warnings!.join(' ')).toMatch(/primary-care/);
  });

  it('when the municipality of registration comes after the admission, then the warning that it was missing is gone', () => {
    const LATER = '2026-05-04T12:00:00+02:00';
    const without = [b.admitted(ADM, { municipality: undefined }), b.needs(ADM, ['socialtjanst'])];
    expect(ev(without).warnings!.join(' ')).toMatch(/no municipality of registration/);
    const e = ev([...without, b.fact(LATER, { kind: 'patient-updated', patient: b.routing() })]);
    expect(keys(e)).toContain(`inskrivningsmeddelande@${MUNI}`);
    expect(e.warnings!.join(' ')).not.toMatch(/municipality/);
  });

  it('when the municipality rejects the case and the registration is corrected, then the old notification is cancelled and the right municipality notified (003 step 1a)', () => {
    const e = ev([
      b.admitted(ADM),
      b.needs(ADM, ['socialtjanst']),
      b.fact('2026-05-04T16:00:00+02:00', { kind: 'patient-updated', patient: { municipality: '1981' } }),
    ]);
    expect(task(e, `inskrivningsmeddelande@${MUNI}`).status).toBe('cancelled');
    expect(task(e, 'inskrivningsmeddelande@municipality:1981')).toMatchObject({
      status: 'requested',
      authoredOn: '2026-05-04T14:00:00.000Z',
      due: '2026-05-05T14:00:00.000Z',
    });
  });
});

describe('estimated discharge (step 3)', () => {
  it('when the estimate changes after the notification, then each notified unit gets beraknad-utskrivning-andrad; an unchanged repeat sends nothing (law 2 kap. 4 §, 003 Steg 2)', () => {
    const e = ev([
      b.admitted(ADM),
      b.needs(ADM, ['socialtjanst', 'kommunal-hsl']),
      b.estimate(ADM, '2026-05-08'),
      b.estimate('2026-05-05T09:00:00+02:00', '2026-05-08'),
      b.estimate('2026-05-06T09:00:00+02:00', '2026-05-11'),
    ]);
    const changed = e.tasks.filter((t) => t.code === 'beraknad-utskrivning-andrad');
    expect(changed.map((t) => t.owner)).toEqual([
      { kind: 'municipality', code: '1980' },
      { kind: 'primary-care', hsaId: b.VC },
    ]);
    expect(
      changed.every((t) => t.description!.includes('2026-05-11') && t.authoredOn === '2026-05-06T07:00:00.000Z'),
    ).toBe(true);
    expect(e.state.estimatedDischarge).toBe('2026-05-11');
  });

  it('when one message brings the needs (assessed earlier, OBX-14) and the first estimate, then the estimate is in the admission notification and nothing changed (law 2 kap. 1–2 §, 4 §)', () => {
    const sentAt = '2026-05-05T10:00:00+02:00';
    const together = [
      b.admitted(ADM),
      { ...b.needs('2026-05-05T08:00:00+02:00', ['socialtjanst', 'kommunal-hsl']), sentAt },
      { ...b.estimate(sentAt, '2026-05-08'), sentAt },
    ];
    const e = ev(together);
    for (const owner of [MUNI, VC]) {
      expect(task(e, `inskrivningsmeddelande@${owner}`).description).toMatch(/utskrivning: 2026-05-08$/);
    }
    expect(e.tasks.filter((t) => t.code === 'beraknad-utskrivning-andrad')).toEqual([]);
    // A change of the estimate told is a change.
    const moved = b.estimate('2026-05-06T09:00:00+02:00', '2026-05-11');
    const changed = ev([...together, moved]).tasks.filter((t) => t.code === 'beraknad-utskrivning-andrad');
    expect(changed.map((t) => t.key).sort()).toEqual([
      `beraknad-utskrivning-andrad@${MUNI}#${moved.id}`,
      `beraknad-utskrivning-andrad@${VC}#${moved.id}`,
    ]);
  });

  it('when the admission notification went out without an estimate, then the first estimate sent later still reaches each unit, said to be missing before (law 2 kap. 1–2 §)', () => {
    const first = b.estimate('2026-05-05T09:00:00+02:00', '2026-05-08');
    const e = ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst']), first]);
    expect(task(e, `inskrivningsmeddelande@${MUNI}`).description).not.toMatch(/2026-05-08/);
    expect(task(e, `beraknad-utskrivning-andrad@${MUNI}#${first.id}`).description).toMatch(
      /: 2026-05-08 \(saknades i inskrivningsmeddelandet\)$/,
    );
  });

  it('when an FVK is needed, then its deadline is the estimated discharge, before the patient leaves (law 2 kap. 5 §)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['kommunal-hsl']), b.estimate(ADM, '2026-05-08')]);
    expect(task(e, `utse-fast-vardkontakt@${VC}`)).toMatchObject({
      due: '2026-05-07T22:00:00.000Z',
      authoredOn: '2026-05-04T08:00:00.000Z',
    });
  });
});

describe('ready for discharge (step 6)', () => {
  const base = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl'])];

  it('when Västmanland gets a ready notice before all six criteria hold, then it is rejected listing what is missing (001 §3)', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const e = ev([...base, b.criteria('2026-05-06T09:00:00+02:00', ['written-information', 'medication-list']), r]);
    expect(e.rejected).toEqual([
      {
        factId: r.id,
        reason: expect.stringContaining('fast-vardkontakt, informationsoverforing, hjalpmedel') as string,
      },
    ]);
    expect(e.state.readyAt).toBeUndefined();
    expect(e.state.missingCriteria).toEqual(['fvk-appointed', 'information-transferred', 'assistive-devices']);
    expect(e.tasks.some((t) => t.code === 'utskrivningsklar')).toBe(false);
    expect(task(e, `kallelse-sip@${VC}`).due).toBeUndefined();
  });

  it('when the last criterion is met after a held-back ready notice, then utskrivningsklar activates at that moment (001 §3: "aktiveras först när alla sex kriterier är uppfyllda")', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const e = ev([
      ...base,
      b.criteria('2026-05-06T09:00:00+02:00', ['written-information', 'fvk-appointed', 'information-transferred']),
      r,
      b.criteria('2026-05-07T08:30:00+02:00', ['assistive-devices', 'medication-list']),
    ]);
    expect(e.state.readyAt).toBe('2026-05-07T06:30:00.000Z');
    expect(e.state.missingCriteria).toEqual([]); // the ready notice itself stands for the physician's assessment
    expect(task(e, `utskrivningsklar@${MUNI}#${r.id}`)).toMatchObject({
      authoredOn: '2026-05-07T06:30:00.000Z',
      status: 'requested',
    });
    expect(task(e, `kallelse-sip@${VC}`).due).toBe('2026-05-10T21:59:59.999Z'); // end of the third day, CEST
    // Once it went out it is no longer reported as held back (the ACK and /admin/hl7 would warn falsely).
    expect(e.rejected).toEqual([]);
    const held = ev([...base, r]);
    expect(held.rejected[0]!.reason).toMatch(/activates when/);
  });

  it('when a held-back ready notice is withdrawn before the criteria are met, then nothing activates later', () => {
    const e = ev([
      ...base,
      b.ready('2026-05-06T10:00:00+02:00'),
      b.withdrawn('2026-05-06T12:00:00+02:00'),
      b.criteria('2026-05-07T08:30:00+02:00', b.ALL_CRITERIA),
    ]);
    expect(e.state.readyAt).toBeUndefined();
    expect(e.tasks.some((t) => t.code === 'utskrivningsklar')).toBe(false);
  });

  it('when the same ready notice is read under Västmanland and under the law default, then "three days after" is the end of the third day there and the same clock time here (agreement setting)', () => {
    const r = b.ready('2026-05-06T16:00:00+02:00');
    const facts = [...base, b.criteria('2026-05-06T09:00:00+02:00', b.ALL_CRITERIA), r];
    expect(task(ev(facts), `kallelse-sip@${VC}`).due).toBe('2026-05-09T21:59:59.999Z');
    expect(task(ev(facts, 'lag'), `kallelse-sip@${VC}`).due).toBe('2026-05-09T14:00:00.000Z');
  });

  it('when all six criteria hold, then the ready notice goes to every notified unit and the SIP invitation is due at the end of the third day after it (001 §3, §5.2.2)', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const e = ev([...base, b.criteria('2026-05-06T09:00:00+02:00', b.ALL_CRITERIA), r]);
    expect(task(e, `utskrivningsklar@${MUNI}#${r.id}`)).toMatchObject({
      authoredOn: '2026-05-06T08:00:00.000Z',
      status: 'requested',
    });
    expect(task(e, `utskrivningsklar@${VC}#${r.id}`).status).toBe('requested');
    expect(task(e, `kallelse-sip@${VC}`)).toMatchObject({
      due: '2026-05-09T21:59:59.999Z', // 23:59:59.999 CEST on the third day
      deadlineRule: { rule: 'tasks.kallelse-sip.deadline', source: { section: '5.2.2' } },
    });
    expect(e.state.readyAt).toBe('2026-05-06T08:00:00.000Z');
    expect(e.state.missingCriteria).toEqual([]);
  });

  it('when criteria and the ready notice arrive in one batch with the same time, then the criteria count (process order at one instant)', () => {
    const at = '2026-05-06T10:00:00+02:00';
    const e = ev([
      ...base,
      b.fact(at, { kind: 'ready-for-discharge' }, 'a-ready'),
      b.fact(at, { kind: 'readiness-criteria-met', criteria: b.ALL_CRITERIA }, 'z-crit'),
    ]);
    expect(e.rejected).toEqual([]);
    expect(e.state.readyAt).toBeDefined();
  });

  it('when the law alone applies, then a ready notice needs no criteria list (SFS 2017:612)', () => {
    const e = ev([...base, b.ready('2026-05-06T10:00:00+02:00')], 'lag');
    expect(e.rejected).toEqual([]);
    expect(e.state.missingCriteria).toEqual([]);
  });

  it('when the SIP invitation runs over the March DST switch, then 3 calendar days keep the wall-clock time (001 §5.2.2)', () => {
    const e = ev(
      [
        b.admitted('2026-03-25T08:00:00+01:00'),
        b.needs('2026-03-25T08:00:00+01:00', ['kommunal-hsl']),
        b.ready('2026-03-27T14:00:00+01:00'),
      ],
      'lag',
    );
    expect(task(e, `kallelse-sip@${VC}`).due).toBe('2026-03-30T12:00:00.000Z'); // 14:00 CEST
  });

  it('when the ready status is withdrawn, then the ready notice is cancelled with a makulering and the SIP deadline stops; a new ready notice restarts it (avbrott i utskrivningsklar)', () => {
    const r1 = b.ready('2026-05-06T10:00:00+02:00');
    const w = b.withdrawn('2026-05-07T10:00:00+02:00');
    const stopped = ev([...base, r1, w], 'lag');
    expect(task(stopped, `utskrivningsklar@${MUNI}#${r1.id}`).status).toBe('cancelled');
    expect(task(stopped, `makulering:utskrivningsklar@${MUNI}#${r1.id}`)).toMatchObject({
      code: 'makulering',
      focusKey: `utskrivningsklar@${MUNI}#${r1.id}`,
      owner: { kind: 'municipality', code: '1980' },
      authoredOn: '2026-05-07T08:00:00.000Z',
    });
    expect(task(stopped, `kallelse-sip@${VC}`).due).toBeUndefined();
    expect(stopped.state.readyAt).toBeUndefined();

    const r2 = b.ready('2026-05-10T09:00:00+02:00');
    const restarted = ev([...base, r1, w, r2], 'lag');
    expect(task(restarted, `utskrivningsklar@${MUNI}#${r2.id}`).status).toBe('requested');
    expect(task(restarted, `utskrivningsklar@${MUNI}#${r1.id}`).status).toBe('cancelled');
    expect(task(restarted, `kallelse-sip@${VC}`).due).toBe('2026-05-13T07:00:00.000Z');
  });

  it('when a withdrawal comes without a ready status, then it is rejected', () => {
    const w = b.withdrawn('2026-05-07T10:00:00+02:00');
    expect(ev([...base, w], 'lag').rejected).toEqual([
      { factId: w.id, reason: expect.stringMatching(/not ready/) as string },
    ]);
  });

  it('when the ward says a well-functioning SIP exists, then no invitation arises (001 §5.2.2: new or changed needs)', () => {
    const e = ev([b.admitted(ADM), b.needs(ADM, ['kommunal-hsl'], { sipNeeded: false })], 'lag');
    expect(e.tasks.some((t) => t.code === 'kallelse-sip')).toBe(false);
    expect(e.tasks.some((t) => t.code === 'utse-fast-vardkontakt')).toBe(true);
  });
});
