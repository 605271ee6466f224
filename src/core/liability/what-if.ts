/**
 * Agreement what-if (pure): the same month's stays billed under two agreements, side by side per municipality,
 * with the difference — the comparison a region needs when it renegotiates its payment model.
 */
import type { LiabilityReport } from './compute-liability';

export interface WhatIfRow {
  municipality: string;
  base: { days: number; amount: number; patients: number };
  alternative: { days: number; amount: number; patients: number };
  difference: { days: number; amount: number };
}

export interface WhatIf {
  month: string;
  base: { agreement: string; model: string; dailyRate: number };
  alternative: { agreement: string; model: string; dailyRate: number };
  municipalities: WhatIfRow[];
  total: { base: number; alternative: number; difference: number };
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export function compareLiability(base: LiabilityReport, alt: LiabilityReport): WhatIf {
  const a = new Map(base.municipalities.map((m) => [m.municipality, m]));
  const b = new Map(alt.municipalities.map((m) => [m.municipality, m]));
  const codes = [...new Set([...a.keys(), ...b.keys()])].sort();
  const pick = (m: LiabilityReport['municipalities'][number] | undefined) => ({
    days: m?.days ?? 0,
    amount: m?.amount ?? 0,
    patients: m?.patients ?? 0,
  });
  const municipalities = codes.map((code) => {
    const x = pick(a.get(code));
    const y = pick(b.get(code));
    return {
      municipality: code,
      base: x,
      alternative: y,
      difference: { days: r4(y.days - x.days), amount: r2(y.amount - x.amount) },
    };
  });
  const sum = (f: (r: WhatIfRow) => number) => r2(municipalities.reduce((s, r) => s + f(r), 0));
  return {
    month: base.month,
    base: { agreement: base.agreement, model: base.model, dailyRate: base.dailyRate },
    alternative: { agreement: alt.agreement, model: alt.model, dailyRate: alt.dailyRate },
    municipalities,
    total: {
      base: sum((r) => r.base.amount),
      alternative: sum((r) => r.alternative.amount),
      difference: sum((r) => r.difference.amount),
    },
  };
}
