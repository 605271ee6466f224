import type { StoreLiability } from './store-liability';

/** One CSV field: quoted when it holds a separator, a quote or a line break (RFC 4180). */
function field(v: string | number): string {
  const s = String(v);
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const line = (xs: (string | number)[]): string => xs.map(field).join(';');

/**
 * The invoice basis as CSV (semicolon-separated, as Swedish spreadsheets read it): one row per stay with its
 * billable days and amount share, a total row per municipality, then one row per correction against the
 * month's last report. Stay ids are Encounter ids; no personal data. The municipality's name is the last column
 * (added after the others, so a sheet that reads the columns by position keeps working).
 */
export function invoiceCsv(r: StoreLiability): string {
  const rows = [
    line([
      'agreement',
      'month',
      'municipality',
      'row',
      'stay',
      'days',
      'billableDays',
      'basis',
      'amount',
      'reason',
      'municipalityName',
    ]),
  ];
  for (const m of r.municipalities) {
    for (const s of m.stays) {
      const amount = r.dailyRateMissing ? '' : Math.round(s.billableDays * r.dailyRate * 100) / 100;
      rows.push(
        line([
          r.agreement,
          r.month,
          m.municipality,
          'stay',
          s.id,
          s.days,
          s.billableDays,
          s.basis,
          amount,
          s.reason,
          m.name,
        ]),
      );
    }
    rows.push(
      line([
        r.agreement,
        r.month,
        m.municipality,
        'total',
        '',
        '',
        m.days,
        '',
        r.dailyRateMissing ? '' : m.amount,
        r.dailyRateMissing ? `no amount: ${r.dailyRateMissing}` : `daily amount ${r.dailyRate} SEK`,
        m.name,
      ]),
    );
  }
  for (const c of r.corrections) {
    const why = `${c.kind} against report ${r.reported?.seq ?? ''} of ${r.reported?.reportedAt ?? ''}`;
    rows.push(
      line([r.agreement, r.month, c.municipality, c.kind, '', '', c.difference.days, '', c.difference.amount, why]),
    );
  }
  return `${rows.join('\r\n')}\r\n`;
}
