import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import { warningCode } from '../../../src/core/engine/issues';
import type { StayEvaluation, TaskSpec } from '../../../src/core/engine/types';
import * as b from './stay-builder';

let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});
const ev = (facts: Parameters<typeof evaluateStay>[0], id = 'lag'): StayEvaluation =>
  evaluateStay(facts, getAgreement(A, id));
const task = (e: StayEvaluation, key: string): TaskSpec => {
  const t = e.tasks.find((x) => x.key === key);
  if (!t) throw new Error(`no task ${key}; have ${e.tasks.map((x) => x.key).join(', ')}`);
  return t;
};
const MUNI = 'municipality:1980';
const VC = `primary-care:${b.VC}`;
const ADM = '2026-05-04T10:00:00+02:00';
const base = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl']), b.estimate(ADM, '2026-05-08')];

describe('discharge (steps 7, 8, 11)', () => {
  it('when the patient is discharged, then the discharge notice and information transfer are due the same day, and each unit closes its case after (002, 000, 003)', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const d = b.discharged('2026-05-08T11:00:00+02:00');
    const e = ev([...base, r, d]);
    for (const owner of [MUNI, VC]) {
      expect(task(e, `utskrivningsmeddelande@${owner}#${d.id}`)).toMatchObject({
        due: '2026-05-08T21:59:59.999Z',
        authoredOn: '2026-05-08T09:00:00.000Z',
      });
      expect(task(e, `informationsoverforing@${owner}`)).toMatchObject({ due: '2026-05-08T21:59:59.999Z' });
      expect(task(e, `avsluta-arende@${owner}#${d.id}`)).toMatchObject({
        status: 'requested',
        authoredOn: '2026-05-08T09:00:00.000Z',
      });
    }
    expect(e.state).toMatchObject({
      status: 'finished',
      dischargedAt: '2026-05-08T09:00:00.000Z',
      readyAt: '2026-05-06T08:00:00.000Z',
    });
  });

  it('when nothing is discharged yet, then no case can be closed (003: never before discharge)', () => {
    expect(ev([...base, b.ready('2026-05-06T10:00:00+02:00')]).tasks.some((t) => t.code === 'avsluta-arende')).toBe(
      false,
    );
  });

  it('when a category C patient is discharged without any planning, then the discharge notice is still sent (003 Steg 4)', () => {
    const d = b.discharged('2026-05-05T11:00:00+02:00');
    const e = ev([b.admitted(ADM), b.needs(ADM, ['socialtjanst']), d], 'jonkoping');
    expect(task(e, `utskrivningsmeddelande@${MUNI}#${d.id}`).status).toBe('requested');
  });

  it('when Gävleborg has a patient ready, then information transfer is due the day the patient is ready (002 Vårdens informationsöverföring)', () => {
    const e = ev([...base, b.ready('2026-05-06T10:00:00+02:00')], 'gavleborg');
    expect(task(e, `informationsoverforing@${MUNI}`)).toMatchObject({
      authoredOn: '2026-05-06T08:00:00.000Z',
      due: '2026-05-06T21:59:59.999Z',
      deadlineRule: { agreement: 'gavleborg', source: { document: '002_d91d85c2693ace0a.txt' } },
    });
  });

  it('when Gävleborg discharges without a ready notice, then information transfer is due the discharge day (002)', () => {
    const d = b.discharged('2026-05-07T11:00:00+02:00');
    const e = ev([...base, d], 'gavleborg');
    expect(task(e, `informationsoverforing@${MUNI}`).due).toBe('2026-05-07T21:59:59.999Z');
  });

  it('when the discharge is cancelled, then the discharge notice is cancelled with a makulering and a new discharge sends a new one (A13)', () => {
    const d1 = b.discharged('2026-05-08T11:00:00+02:00');
    const c = b.fact('2026-05-08T12:00:00+02:00', { kind: 'discharge-cancelled' });
    const afterCancel = ev([...base, d1, c]);
    expect(afterCancel.state.status).toBe('in-progress');
    expect(afterCancel.state.dischargedAt).toBeUndefined();
    expect(task(afterCancel, `utskrivningsmeddelande@${MUNI}#${d1.id}`).status).toBe('cancelled');
    expect(task(afterCancel, `avsluta-arende@${MUNI}#${d1.id}`).status).toBe('cancelled');
    expect(task(afterCancel, `makulering:utskrivningsmeddelande@${MUNI}#${d1.id}`)).toMatchObject({
      code: 'makulering',
      status: 'requested',
      focusKey: `utskrivningsmeddelande@${MUNI}#${d1.id}`,
      authoredOn: '2026-05-08T10:00:00.000Z',
    });
    // Closing the case waits for a discharge: withdrawn like the discharge notice, with a makulering.
    expect(task(afterCancel, `makulering:avsluta-arende@${MUNI}#${d1.id}`)).toMatchObject({
      code: 'makulering',
      status: 'requested',
      owner: { kind: 'municipality', code: '1980' },
      focusKey: `avsluta-arende@${MUNI}#${d1.id}`,
      authoredOn: '2026-05-08T10:00:00.000Z',
    });
    // The information transfer stays wanted, but its same-day deadline waits for the real discharge; the hospital's
    // duty stays (open, no deadline) and the receiver's Task keeps its link to it.
    expect(task(afterCancel, `informationsoverforing@${MUNI}`)).toMatchObject({
      status: 'requested',
      dutyKey: `ansvar:informationsoverforing@${MUNI}`,
    });
    expect(task(afterCancel, `informationsoverforing@${MUNI}`).due).toBeUndefined();
    expect(task(afterCancel, `ansvar:informationsoverforing@${MUNI}`)).toMatchObject({
      status: 'requested',
      owner: { kind: 'hospital', hsaId: b.HOSPITAL },
      deadlineRule: { agreement: 'lag', rule: 'tasks.informationsoverforing.deadline' },
    });
    expect(task(afterCancel, `ansvar:informationsoverforing@${MUNI}`).due).toBeUndefined();
    const d2 = b.discharged('2026-05-09T10:00:00+02:00');
    const again = ev([...base, d1, c, d2]);
    expect(task(again, `utskrivningsmeddelande@${MUNI}#${d2.id}`).status).toBe('requested');
    expect(again.state.dischargedAt).toBe('2026-05-09T08:00:00.000Z');
    expect(task(again, `informationsoverforing@${MUNI}`).due).toBe('2026-05-09T21:59:59.999Z');
    expect(task(again, `ansvar:informationsoverforing@${MUNI}`).due).toBe('2026-05-09T21:59:59.999Z');
    expect(task(again, `avsluta-arende@${MUNI}#${d2.id}`).status).toBe('requested');
  });

  it('when a discharge cancellation has no discharge, then it is rejected', () => {
    const c = b.fact('2026-05-08T12:00:00+02:00', { kind: 'discharge-cancelled' });
    expect(ev([...base, c]).rejected).toEqual([{ factId: c.id, reason: 'no discharge to cancel' }]);
  });

  it('when a SIP meeting is held, then its follow-up is due one month later (003 Steg 6)', () => {
    const e = ev(
      [
        ...base,
        b.discharged('2026-05-08T11:00:00+02:00'),
        b.fact('2026-05-12T13:00:00+02:00', { kind: 'sip-meeting-held' }),
      ],
      'jonkoping',
    );
    expect(task(e, `sip-uppfoljning@${VC}`)).toMatchObject({
      due: '2026-06-12T11:00:00.000Z',
      deadlineRule: { source: { document: '003_1fdf470bc4864968.txt', section: 'Uppföljning, Steg 6' } },
    });
    expect(e.state.sipMeetingAt).toBe('2026-05-12T11:00:00.000Z');
  });
});

describe('cancellation of the admission (A11)', () => {
  it('when the admission is cancelled, then everything sent comes back cancelled with one makulering per recipient, history kept', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const cancel = b.fact('2026-05-06T12:00:00+02:00', { kind: 'admission-cancelled' });
    const later = b.discharged('2026-05-07T10:00:00+02:00');
    const e = ev([...base, r, cancel, later]);
    expect(e.state).toMatchObject({ status: 'cancelled', cancelledAt: '2026-05-06T10:00:00.000Z' });
    const nonMak = e.tasks.filter((t) => t.code !== 'makulering' && !t.key.startsWith('ansvar:'));
    expect(nonMak.length).toBeGreaterThan(4);
    expect(nonMak.every((t) => t.status === 'cancelled')).toBe(true);
    // What the hospital did send stays met: its duties are history, not withdrawn.
    const duties = e.tasks.filter((t) => t.key.startsWith('ansvar:'));
    expect(duties.length).toBeGreaterThan(0);
    expect(duties.every((t) => t.status === 'completed')).toBe(true);
    const maks = e.tasks.filter((t) => t.code === 'makulering');
    expect(maks.map((t) => t.focusKey)).toEqual([`inskrivningsmeddelande@${MUNI}`, `inskrivningsmeddelande@${VC}`]);
    expect(maks.every((t) => t.status === 'requested' && t.authoredOn === '2026-05-06T10:00:00.000Z')).toBe(true);
    expect(e.rejected).toEqual([{ factId: later.id, reason: 'ignored: the admission was cancelled' }]);
    expect(e.warnings ?? []).not.toContainEqual(expect.stringMatching(/^admission cancelled before/));
  });

  it('when an admission is cancelled that was never admitted here, then the stay is cancelled and a warning says so', () => {
    const cancel = b.fact('2026-05-06T12:00:00+02:00', { kind: 'admission-cancelled' });
    const e = ev([cancel]);
    expect(e.state.status).toBe('cancelled');
    expect(e.tasks).toEqual([]);
    const w = (e.warnings ?? []).filter((x) => x.startsWith('admission cancelled before any admission is known'));
    expect(w.map(warningCode)).toEqual(['cancel-before-admission']);
    // the A01 arrives late but is earlier: the cancellation follows an admission, no warning
    expect(ev([b.admitted(ADM), cancel]).warnings ?? []).not.toContainEqual(
      expect.stringMatching(/^admission cancelled before/),
    );
  });
});

describe('facts of a stay whose admission never came', () => {
  it('when an A08 of a visit arrives with its needs and no admission is known, then the facts are kept, nothing is sent, and a warning says the stay waits for its admission', () => {
    const update = b.fact('2026-05-04T12:00:00+02:00', { kind: 'patient-updated', patient: b.routing() });
    const e = ev([update, b.needs('2026-05-04T12:00:00+02:00', ['socialtjanst']), b.estimate(ADM, '2026-05-08')]);
    expect(e.tasks).toEqual([]);
    expect((e.warnings ?? []).map(warningCode)).toContain('no-admission');
    expect(e.warnings).toContainEqual(expect.stringMatching(/^no admission known for the stay: .*PV1-19/));
    // the A01 arrives late: the notices go out and the warning is gone
    const admittedLate = ev([update, b.admitted(ADM), b.needs(ADM, ['socialtjanst'])]);
    expect(admittedLate.tasks.map((t) => t.key)).toContain(`inskrivningsmeddelande@${MUNI}`);
    expect((admittedLate.warnings ?? []).map(warningCode)).not.toContain('no-admission');
    // a cancellation of a visit never admitted says so with its own warning only
    const cancelled = ev([update, b.fact('2026-05-06T12:00:00+02:00', { kind: 'admission-cancelled' })]);
    expect((cancelled.warnings ?? []).map(warningCode)).toEqual(['cancel-before-admission']);
  });
});

describe('leave, transfer, death, psychiatric care', () => {
  it('when the patient is on leave, then the status says so, deadlines keep running and discharge from leave works', () => {
    const e1 = ev([...base, b.fact('2026-05-05T10:00:00+02:00', { kind: 'leave-started' })]);
    expect(e1.state.status).toBe('on-leave');
    expect(task(e1, `inskrivningsmeddelande@${MUNI}`).due).toBe('2026-05-05T08:00:00.000Z');
    const e2 = ev([
      ...base,
      b.fact('2026-05-05T10:00:00+02:00', { kind: 'leave-started' }),
      b.discharged('2026-05-06T10:00:00+02:00'),
    ]);
    expect(e2.state.status).toBe('finished');
    const ended = ev([
      ...base,
      b.fact('2026-05-05T10:00:00+02:00', { kind: 'leave-started' }),
      b.fact('2026-05-06T10:00:00+02:00', { kind: 'leave-ended' }),
    ]);
    expect(ended.state.status).toBe('in-progress');
  });

  it('when the patient moves to another hospital and to psychiatric care, then the state follows and later messages come from the new hospital', () => {
    const t = b.fact('2026-05-05T10:00:00+02:00', {
      kind: 'transferred',
      hospital: 'SE-H2',
      ward: 'PSY-1',
      care: 'psychiatric',
    });
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const e = ev([...base, t, r]);
    expect(e.state).toMatchObject({ hospital: 'SE-H2', ward: 'PSY-1', care: 'psychiatric' });
    expect(task(e, `utskrivningsklar@${MUNI}#${r.id}`).requester).toEqual({ kind: 'hospital', hsaId: 'SE-H2' });
    expect(task(e, `inskrivningsmeddelande@${MUNI}`).requester).toEqual({ kind: 'hospital', hsaId: b.HOSPITAL });
  });

  it('when the patient dies, then open planning obligations lapse and each unit closes its case', () => {
    const died = b.fact('2026-05-06T03:00:00+02:00', { kind: 'died' });
    const e = ev([...base, died]);
    expect(e.state).toMatchObject({ status: 'deceased', diedAt: '2026-05-06T01:00:00.000Z' });
    expect(task(e, `utse-fast-vardkontakt@${VC}`).status).toBe('cancelled');
    expect(task(e, `kallelse-sip@${VC}`).status).toBe('cancelled');
    expect(task(e, `inskrivningsmeddelande@${MUNI}`).status).toBe('requested');
    expect(task(e, `avsluta-arende@${MUNI}#${died.id}`)).toMatchObject({
      status: 'requested',
      description: expect.stringContaining('avlidit') as string,
    });
    expect(e.tasks.some((t) => t.code === 'utskrivningsmeddelande')).toBe(false);
  });

  it('when the message reporting the death repeats the patient, needs and estimate (dated after it), then none is rejected; a changed value still is', () => {
    const died = b.fact('2026-05-06T03:00:00+02:00', { kind: 'died' }, 'msg#died');
    const sent = '2026-05-06T08:00:00+02:00';
    const snapshot = [
      b.fact(sent, { kind: 'patient-updated', patient: b.routing() }, 'msg#patient-updated'),
      b.needs(sent, ['kommunal-hsl', 'socialtjanst']),
      b.estimate(sent, '2026-05-08'),
      b.fact('2026-05-06T03:00:00+02:00', { kind: 'died' }, 'again#died'),
    ];
    const e = ev([...base, died, ...snapshot]);
    expect(e.state).toMatchObject({ status: 'deceased', diedAt: '2026-05-06T01:00:00.000Z' });
    expect(e.rejected).toEqual([]);
    const moved = b.estimate(sent, '2026-05-11');
    const other = b.fact(sent, { kind: 'patient-updated', patient: b.routing({ municipality: '1981' }) });
    expect(ev([...base, died, moved, other]).rejected).toEqual([
      { factId: other.id, reason: 'ignored: the patient has died' },
      { factId: moved.id, reason: 'ignored: the patient has died' },
    ]);
  });

  it('when a death is reported after a plain discharge of the same time, then the death replaces the discharge', () => {
    const at = '2026-05-06T03:00:00+02:00';
    const dis = b.fact(at, { kind: 'discharged' }, 'dis');
    const died = b.fact(at, { kind: 'died' }, 'died-later');
    const e = ev([...base, dis, died]);
    expect(e.state).toMatchObject({ status: 'deceased', diedAt: '2026-05-06T01:00:00.000Z' });
    expect(e.state.dischargedAt).toBeUndefined();
    expect(e.rejected).toEqual([]);
    expect(task(e, `utskrivningsmeddelande@${MUNI}#${dis.id}`).status).toBe('cancelled');
    expect(task(e, `kallelse-sip@${VC}`).status).toBe('cancelled');
    expect(task(e, `avsluta-arende@${MUNI}#${died.id}`).status).toBe('requested');
    // A death after the discharge is still outside the stay.
    const later = b.fact('2026-05-07T03:00:00+02:00', { kind: 'died' }, 'died-at-home');
    const e2 = ev([...base, dis, later]);
    expect(e2.state.status).toBe('finished');
    expect(e2.rejected.map((r) => r.reason)).toEqual(['death after discharge is outside the stay']);
  });

  it('when a psychiatric patient is to be discharged to compulsory outpatient care, then a coordinated plan is due before discharge (LPT 7 a §, 001 §5.2.3)', () => {
    const psy = [
      b.admitted(ADM, {}, 'psychiatric'),
      b.needs(ADM, ['oppenvard'], { sipNeeded: false }),
      b.estimate(ADM, '2026-05-20'),
      b.fact('2026-05-10T10:00:00+02:00', { kind: 'compulsory-outpatient-care', planned: true }),
    ];
    const e = ev(psy, 'vastmanland');
    expect(task(e, `kallelse-sip@${VC}`)).toMatchObject({
      due: '2026-05-19T22:00:00.000Z',
      description: expect.stringContaining('7 a § LPT') as string,
      deadlineRule: { rule: 'compulsoryOutpatientCare.planDeadline', source: { section: '5.2.3' } },
    });
    expect(e.state).toMatchObject({ care: 'psychiatric', compulsoryOutpatientCare: true });
  });

  it('when region outpatient services are unavailable, then the state records it (law 5 kap. 5 §, for payment)', () => {
    const e = ev([
      ...base,
      b.fact('2026-05-06T10:00:00+02:00', { kind: 'outpatient-services-unavailable', unavailable: true }),
    ]);
    expect(e.state.outpatientServicesUnavailable).toBe(true);
  });
});

describe('Gävleborg: named care contact (002)', () => {
  it('when the patient already has municipal home health care, then the municipal nurse is FVK and invites to SIP', () => {
    const e = ev(
      [b.admitted(ADM, { homeHealthCare: true }), b.needs(ADM, ['kommunal-hsl']), b.ready('2026-05-06T10:00:00+02:00')],
      'gavleborg',
    );
    expect(task(e, 'utse-fast-vardkontakt@municipal-nurse:1980').owner).toEqual({
      kind: 'municipal-nurse',
      municipality: '1980',
    });
    expect(task(e, 'kallelse-sip@municipal-nurse:1980').due).toBe('2026-05-09T08:00:00.000Z');
    expect(e.tasks.some((t) => t.key === `kallelse-sip@${VC}`)).toBe(false);
  });

  it('when there is no home health care, then the vårdcentral appoints the FVK as elsewhere', () => {
    const e = ev([b.admitted(ADM, { homeHealthCare: false }), b.needs(ADM, ['kommunal-hsl'])], 'gavleborg');
    expect(task(e, `utse-fast-vardkontakt@${VC}`).owner).toEqual({ kind: 'primary-care', hsaId: b.VC });
  });

  it('when Västmanland has a patient with home health care, then the vårdcentral is still FVK (001 §5.2.2)', () => {
    const e = ev([b.admitted(ADM, { homeHealthCare: true }), b.needs(ADM, ['kommunal-hsl'])], 'vastmanland');
    expect(task(e, `utse-fast-vardkontakt@${VC}`).code).toBe('utse-fast-vardkontakt');
  });
});

describe('robustness', () => {
  it('when facts arrive before the admission is known, then nothing is derived yet and the ready notice is rejected', () => {
    const r = b.ready('2026-05-06T10:00:00+02:00');
    const e = ev([b.needs(ADM, ['socialtjanst']), r]);
    expect(e.tasks).toEqual([]);
    expect(e.rejected.map((x) => x.factId)).toEqual([r.id]);
  });

  it('when a fact of another stay or with a bad time slips in, then it is rejected and changes nothing', () => {
    const other = b.fact(ADM, { kind: 'died' }, 'other', 'stay-2');
    const bad = b.fact('yesterday', { kind: 'died' }, 'bad');
    const e = ev([...base, other, bad]);
    expect(e.state.status).toBe('in-progress');
    expect(e.rejected.map((x) => x.factId).sort()).toEqual(['bad', 'other']);
  });

  it('when more facts arrive, then the keys of tasks that already existed stay the same (adapters reconcile by key)', () => {
    const first = ev(base);
    const more = ev([...base, b.ready('2026-05-06T10:00:00+02:00'), b.discharged('2026-05-08T10:00:00+02:00')]);
    const moreKeys = new Set(more.tasks.map((t) => t.key));
    for (const t of first.tasks) expect(moreKeys.has(t.key), t.key).toBe(true);
  });
});
