/**
 * How the liability CLI prints a report. A year with no daily amount (neither agreed nor national) still gives
 * the invoice basis in days; its amounts are printed as null, never as 0 SEK, with the reason beside them.
 */
interface Printable {
  dailyRate: number;
  dailyRateMissing?: string;
  municipalities: { amount: number }[];
}

export function showReport(report: Printable): string {
  if (!report.dailyRateMissing) return JSON.stringify(report, null, 2);
  return JSON.stringify(
    {
      ...report,
      dailyRate: null,
      dailyRateSource: null,
      municipalities: report.municipalities.map((m) => ({ ...m, amount: null })),
    },
    null,
    2,
  );
}

/** What the CLI prints: the text on stdout and, when the year has no amount, why (a line on stderr). */
export interface Printed {
  text: string;
  missing?: string;
}
