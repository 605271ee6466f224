/**
 * The indicators as FHIR R4 `Measure` definitions and monthly `MeasureReport`s (summary), so other tools can
 * read them; and as CSV. One MeasureReport per indicator and month; each unit (municipality, hospital,
 * vårdcentral, responsible party) is a stratum, named by its organisation's name where the store knows it.
 */
import type { Measure, MeasureReport, MeasureReportGroupStratifierStratum } from '@medplum/fhirtypes';
import type { Dimension, IndicatorId, IndicatorValue } from '../../core/indicators/compute-indicators';
import { CANONICAL_BASE } from '../../fhir/constants';

interface Definition {
  title: string;
  description: string;
  scoring: 'proportion' | 'continuous-variable' | 'cohort';
  unit: string;
  source: string;
}

export const INDICATORS: Record<IndicatorId, Definition> = {
  'ready-days': {
    title: 'Utskrivningsklara dagar i genomsnitt',
    description:
      'Average calendar days from the ready-for-discharge notice to discharge, stays discharged in the month.',
    scoring: 'continuous-variable',
    unit: 'd',
    source: '004 Mål och indikatorer; 001 §7',
  },
  'step-timeliness': {
    title: 'Andel steg i tid per ansvarig part',
    description: 'Share of Tasks with a deadline in the month done by the deadline, per owner and Task code.',
    scoring: 'proportion',
    unit: '1',
    source: '003 Uppföljning',
  },
  'step-lateness-median': {
    title: 'Försening, median (timmar)',
    description: 'Median lateness in hours of the late Tasks with a deadline in the month, per owner and code.',
    scoring: 'continuous-variable',
    unit: 'h',
    source: '003 Uppföljning',
  },
  'step-lateness-p90': {
    title: 'Försening, 90:e percentilen (timmar)',
    description: '90th percentile of lateness in hours of the late Tasks with a deadline in the month.',
    scoring: 'continuous-variable',
    unit: 'h',
    source: '003 Uppföljning',
  },
  deviations: {
    title: 'Avvikelser per part och slag',
    description:
      'Deviations that occurred in the month (local time), whatever the stay: deviation steps of the deadline ladder that fired (at their due time) and deviations reported by a party, each once, per responsible party and the step that was missed (or the kind reported).',
    scoring: 'cohort',
    unit: '1',
    source: '001 §5.3; 003',
  },
  'readmission-30d-65plus': {
    title: 'Återinskrivning inom 30 dagar, 65 år och äldre',
    description: 'Share of stays of people 65+ discharged in the month followed by a new admission within 30 days.',
    scoring: 'proportion',
    unit: '1',
    source: '004 Mål och indikatorer',
  },
  'sip-within-deadline': {
    title: 'SIP hållen inom tidsfristen',
    description: 'Share of stays needing a SIP, discharged in the month, whose SIP meeting was held by the deadline.',
    scoring: 'proportion',
    unit: '1',
    source: '003 SIP; 001',
  },
};

export const measureUrl = (id: IndicatorId): string => `${CANONICAL_BASE}/Measure/${id}`;

export function measures(): Measure[] {
  return (Object.entries(INDICATORS) as [IndicatorId, Definition][]).map(([id, d]) => ({
    resourceType: 'Measure',
    id,
    url: measureUrl(id),
    name: id.replace(/[^A-Za-z0-9]/g, '_'),
    title: d.title,
    status: 'active',
    description: d.description,
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: d.scoring }] },
    usage: `Source: ${d.source}`,
  }));
}

const DIMENSIONS: Dimension[] = ['municipality', 'hospital', 'primary-care', 'party'];

function monthPeriod(month: string): { start: string; end: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { start: `${month}-01`, end: `${month}-${String(last).padStart(2, '0')}` };
}

function stratum(v: IndicatorValue, name: (unit: string) => string): MeasureReportGroupStratifierStratum {
  const label = v.detail ? `${name(v.unit)} · ${v.detail}` : name(v.unit);
  const population = [{ code: { text: 'denominator' }, count: v.denominator }];
  if (v.numerator !== undefined) population.push({ code: { text: 'numerator' }, count: v.numerator });
  return {
    value: { coding: [{ code: v.detail ? `${v.unit}|${v.detail}` : v.unit }], text: label },
    population,
    measureScore: { value: v.value, unit: INDICATORS[v.indicator].unit },
  };
}

/** One summary MeasureReport per indicator for the month; `name` turns a unit code/reference into a name. */
export function measureReports(month: string, values: IndicatorValue[], name: (u: string) => string): MeasureReport[] {
  return (Object.keys(INDICATORS) as IndicatorId[]).map((id) => {
    const mine = values.filter((v) => v.indicator === id);
    const stratifier = DIMENSIONS.filter((d) => mine.some((v) => v.dimension === d)).map((d) => ({
      code: [{ text: d }],
      stratum: mine.filter((v) => v.dimension === d).map((v) => stratum(v, name)),
    }));
    return {
      resourceType: 'MeasureReport',
      id: `${id}-${month}`,
      status: 'complete',
      type: 'summary',
      measure: measureUrl(id),
      period: monthPeriod(month),
      group: [{ code: { text: INDICATORS[id].title }, stratifier }],
    };
  });
}

const cell = (v: string | number): string => {
  const s = String(v);
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function indicatorsCsv(values: IndicatorValue[], name: (u: string) => string): string {
  const head = 'indicator;month;dimension;unit;name;detail;value;numerator;denominator';
  const rows = values.map((v) =>
    [v.indicator, v.month, v.dimension, v.unit, name(v.unit), v.detail, v.value, v.numerator ?? '', v.denominator]
      .map(cell)
      .join(';'),
  );
  return `${[head, ...rows].join('\r\n')}\r\n`;
}
