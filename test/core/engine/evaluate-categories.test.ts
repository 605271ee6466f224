import { beforeAll, describe, expect, it } from 'vitest';
import { getAgreement, loadAgreements } from '../../../src/agreements/load-agreements';
import type { Agreement } from '../../../src/core/agreements/agreement.schema';
import { deadlinesOverHolidays } from '../../../src/core/calendar';
import { evaluateStay } from '../../../src/core/engine/evaluate';
import type { Need, PatientCategory } from '../../../src/core/stay/facts';
import * as b from './stay-builder';

let A: Map<string, Agreement>;
beforeAll(async () => {
  A = await loadAgreements();
});

const ADM = '2026-05-04T10:00:00+02:00';
const READY = '2026-05-06T10:00:00+02:00';
const OUT = '2026-05-08T10:00:00+02:00';

/** Which codes arise per owner kind for a full stay (admitted → ready → discharged), by category (002 table). */
const rows: [string, Need[], PatientCategory | undefined, Record<string, string[]>][] = [
  ['A', ['ingen'], undefined, {}],
  [
    'B',
    ['oppenvard'],
    undefined,
    {
      'primary-care': [
        'avsluta-arende',
        'informationsoverforing',
        'inskrivningsmeddelande',
        'utskrivningsklar',
        'utskrivningsmeddelande',
      ],
    },
  ],
  [
    'C',
    ['socialtjanst'],
    undefined,
    {
      municipality: [
        'avsluta-arende',
        'informationsoverforing',
        'inskrivningsmeddelande',
        'utskrivningsklar',
        'utskrivningsmeddelande',
      ],
    },
  ],
  ...(['D', 'B+C', 'C+D', 'E'] as const).map(
    (cat): [string, Need[], PatientCategory | undefined, Record<string, string[]>] => [
      cat,
      cat === 'D' ? ['kommunal-hsl'] : cat === 'B+C' ? ['oppenvard', 'socialtjanst'] : ['socialtjanst', 'kommunal-hsl'],
      cat === 'E' ? 'E' : undefined,
      {
        municipality: [
          'avsluta-arende',
          'informationsoverforing',
          'inskrivningsmeddelande',
          'utskrivningsklar',
          'utskrivningsmeddelande',
        ],
        'primary-care': [
          'avsluta-arende',
          'informationsoverforing',
          'inskrivningsmeddelande',
          'kallelse-sip',
          'utse-fast-vardkontakt',
          'utskrivningsklar',
          'utskrivningsmeddelande',
        ],
      },
    ],
  ),
];

describe('which tasks arise per patient category (002 table: notified units, FVK, SIP, ready notice)', () => {
  it.each(rows)(
    'when a category %s stay runs from admission to discharge, then the tasks per owner follow the table (002)',
    (_cat, needs, category, expected) => {
      const facts = [
        b.admitted(ADM),
        b.fact(ADM, { kind: 'needs-assessed', needs, ...(category ? { category } : {}) }),
        b.ready(READY),
        b.discharged(OUT),
      ];
      const e = evaluateStay(facts, getAgreement(A, 'lag'));
      const got: Record<string, string[]> = {};
      const receivers = e.tasks.filter((t) => !t.key.startsWith('ansvar:'));
      for (const t of receivers) (got[t.owner.kind] ??= []).push(t.code);
      for (const k of Object.keys(got)) got[k]!.sort();
      expect(got).toEqual(expected);
      expect(receivers.every((t) => t.status === 'requested')).toBe(true);
    },
  );
});

describe('time of day and holidays', () => {
  it('when a patient is admitted at 03:00, then the admission notification is due 03:00 the next day: sent regardless of time of day (000, 001 §5.2.1)', () => {
    const at = '2026-12-24T03:00:00+01:00';
    const e = evaluateStay([b.admitted(at), b.needs(at, ['socialtjanst'])], getAgreement(A, 'vastmanland'));
    expect(e.tasks[0]!.due).toBe('2026-12-25T02:00:00.000Z');
  });

  it('when a patient is ready on Maundy Thursday, then the SIP invitation falls due on Easter Day and the holiday report lists it (001 §5: deadlines run over holidays)', () => {
    const facts = [
      b.admitted('2026-03-30T10:00:00+02:00'),
      b.needs('2026-03-30T10:00:00+02:00', ['kommunal-hsl']),
      b.ready('2026-04-02T15:00:00+02:00'),
    ];
    const e = evaluateStay(facts, getAgreement(A, 'lag'));
    const sip = e.tasks.find((t) => t.code === 'kallelse-sip')!;
    expect(sip.due).toBe('2026-04-05T13:00:00.000Z');
    const report = deadlinesOverHolidays(
      e.tasks,
      '2026-03-30',
      14,
      getAgreement(A, 'lag').holidays.majorHolidayMinDays,
    );
    expect(report).toHaveLength(1);
    expect(report[0]!.period).toMatchObject({ start: '2026-04-03', end: '2026-04-06' });
    expect(report[0]!.due.map((t) => t.code)).toEqual(['kallelse-sip']);
  });
});

describe('Jönköping (003)', () => {
  it('when Jönköping needs a named care contact, then the vårdcentral (vårdsamordnare) is asked and invites to SVPL within 3 days of ready (003 Steg 3)', () => {
    const facts = [b.admitted(ADM), b.needs(ADM, ['socialtjanst', 'kommunal-hsl']), b.ready(READY)];
    const e = evaluateStay(facts, getAgreement(A, 'jonkoping'));
    const fvk = e.tasks.find((t) => t.code === 'utse-fast-vardkontakt')!;
    expect(fvk.owner).toEqual({ kind: 'primary-care', hsaId: b.VC });
    expect(fvk.description).toMatch(/vårdsamordnare/);
    const sip = e.tasks.find((t) => t.code === 'kallelse-sip')!;
    expect(sip).toMatchObject({
      due: '2026-05-09T08:00:00.000Z',
      description: expect.stringContaining('SVPL') as string,
    });
    expect(sip.deadlineRule?.source.document).toBe('003_1fdf470bc4864968.txt');
  });
});

describe('agreements loaded from AGREEMENTS_DIR (contract: second-long deadlines for tests and demos)', () => {
  it('when the fast-demo agreement is used, then deadlines are seconds after the fact and the Västmanland gate still applies', async () => {
    const fast = getAgreement(await loadAgreements({ extraDir: 'test/fixtures/agreements' }), 'fast-demo');
    const at = '2026-05-04T10:00:00Z';
    const e = evaluateStay(
      [
        b.admitted(at),
        b.needs(at, ['kommunal-hsl']),
        b.criteria('2026-05-04T10:00:05Z', b.ALL_CRITERIA),
        b.ready('2026-05-04T10:00:10Z'),
      ],
      fast,
    );
    const due = Object.fromEntries(e.tasks.map((t) => [t.code, t.due]));
    expect(due.inskrivningsmeddelande).toBe('2026-05-04T10:00:30.000Z');
    expect(due['utse-fast-vardkontakt']).toBe('2026-05-04T10:00:20.000Z');
    expect(due['kallelse-sip']).toBe('2026-05-04T10:01:10.000Z');
    expect(e.tasks.find((t) => t.code === 'inskrivningsmeddelande')!.deadlineRule?.agreement).toBe('fast-demo');
  });
});
