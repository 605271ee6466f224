/** Builds HL7 v2.5 ADT messages for tests (fictional patients; valid-checksum personnummer). */
export const PNR_VASTERAS = '193803129828';
export const PNR_SALA = '194512249816';
export const PNR_PSYK = '195207089839';
export const SAMNR = '194108689847';
export const HOSPITAL = 'SE2321000172-DEMO0001';

export interface AdtOptions {
  event: string;
  control?: string;
  app?: string;
  facility?: string;
  messageType?: string;
  pnr?: string;
  /** CX-4 of PID-3 (assigning authority); CX-5 type code is `PNR` unless `pidType` is given. */
  pidAuthority?: string;
  pidType?: string;
  patientClass?: string;
  ward?: string;
  visit?: string;
  admit?: string;
  discharge?: string;
  evnTime?: string;
  municipality?: string;
  listedUnit?: string;
  protection?: string;
  expected?: string;
  service?: string;
  obx?: string[];
  extra?: string[];
  noPv1?: boolean;
}

let seq = 0;

export function adt(o: AdtOptions): string {
  const control = o.control ?? `T${++seq}-${Math.random().toString(36).slice(2, 8)}`;
  const app = o.app ?? 'EHR';
  const facility = o.facility ?? HOSPITAL;
  const type = o.messageType ?? 'ADT';
  const evn = o.evnTime ?? '20260115103500';
  const pv1 = ['PV1', '1', o.patientClass ?? 'I', o.ward ?? 'MED21', '', '', '', 'SE2321000172-P0001^Lind^Erik'];
  pv1[10] = o.service ?? '';
  pv1[19] = o.visit ?? 'V-1';
  pv1[44] = o.admit ?? '20260115103000';
  pv1[45] = o.discharge ?? '';
  const pd1 = ['PD1', '', '', o.listedUnit ? `VC^^^^^^^^^${o.listedUnit}` : ''];
  pd1[12] = o.protection ?? '';
  const segs = [
    `MSH|^~\\&|${app}|${facility}|SVU|SVU-GATEWAY|${evn}||${type}^${o.event}^ADT_A01|${control}|P|2.5`,
    `EVN|${o.event}|${evn}`,
    `PID|1||${o.pnr ?? PNR_VASTERAS}^^^${o.pidAuthority ?? 'SE'}^${o.pidType ?? 'PNR'}||Andersson^Karin||19380312|F|||Vasagatan 12^^Västerås^^72215^SE^H^^${o.municipality ?? '1980'}`,
    Array.from(pd1, (v) => v ?? '').join('|'),
    ...(o.noPv1 ? [] : [Array.from(pv1, (v) => v ?? '').join('|')]),
    ...(o.expected ? [`PV2|||||||||${o.expected}`] : []),
    ...(o.obx ?? []).map((x, i) => `OBX|${i + 1}|${x}||||||F`),
    ...(o.extra ?? []),
  ];
  return segs.join('\r');
}

/** The six readiness criteria (seed 001 §3) by their HL7 codes. */
export const ALL_CRITERIA_CODES = [
  'lakarbedomning',
  'skriftlig-information',
  'fast-vardkontakt',
  'informationsoverforing',
  'hjalpmedel',
  'lakemedelslista',
];

export const OBX = {
  needs: (...v: string[]) => `CWE|behov^Behov^SVU||${v.join('~')}`,
  consent: (v: string) => `CWE|samtycke^Samtycke^SVU||${v}`,
  sip: (v: string) => `CWE|sip-behov^SIP^SVU||${v}`,
  ready: (ts: string) => `TS|utskrivningsklar^Utskrivningsklar^SVU||${ts}`,
  criteria: (...v: string[]) => `CWE|utskrivningsklar-kriterier^Kriterier^SVU||${v.join('~')}`,
  withdrawn: () => `CWE|utskrivningsklar-avbrott^Avbrott^SVU||ja`,
  lpt: (v: string) => `CWE|oppen-tvangsvard^Öppen tvångsvård^SVU||${v}`,
  outpatientUnit: (hsa: string) => `ST|oppenvardsenhet^Öppenvårdsenhet^SVU||${hsa}`,
  placing: (code: string) => `ST|placerande-kommun^Placerande kommun^SVU||${code}`,
};

/** `behov` with OBX-14 = the time of the physician's assessment. */
export const needsAssessedAt = (ts: string, ...v: string[]): string =>
  `OBX|1|CWE|behov^Behov^SVU||${v.join('~')}||||||F|||${ts}`;

/** Sets field `n` of the segments named `seg` (for fields the builder has no option for: PID-29/30, PV1-36). */
export const withField = (msg: string, seg: string, n: number, value: string): string =>
  msg
    .split('\r')
    .map((s) => {
      if (!s.startsWith(`${seg}|`)) return s;
      const f = s.split('|');
      while (f.length <= n) f.push('');
      f[n] = value;
      return f.join('|');
    })
    .join('\r');

/** The message with PID-29/30: the patient died at `at`. */
export const died = (msg: string, at: string): string => withField(withField(msg, 'PID', 29, at), 'PID', 30, 'Y');
