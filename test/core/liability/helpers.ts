import { readFileSync } from 'node:fs';
import type { StayInput } from '../../../src/core/liability/stay';
import { dailyRateTableSchema, paymentModelSchema, type PaymentModel } from '../../../src/core/liability/payment-model';

export const rates = dailyRateTableSchema.parse(
  JSON.parse(readFileSync(new URL('../../../agreements/rates/vardpris.json', import.meta.url), 'utf8')),
);

/** The payment block of a shipped agreement file (the engine's loader merges `extends`; payment is whole). */
export function payment(id: string): PaymentModel {
  const json = JSON.parse(readFileSync(new URL(`../../../agreements/${id}.json`, import.meta.url), 'utf8')) as {
    payment: unknown;
  };
  return paymentModelSchema.parse(json.payment);
}

let seq = 0;
const H = 3_600_000;

/** A stay ready at `readyAt` and discharged `hours` later, with every precondition met. */
export function stay(over: Partial<StayInput> & { readyAt: string; hours: number }): StayInput {
  const { hours, ...rest } = over;
  const ready = Date.parse(over.readyAt);
  return {
    id: `s${++seq}`,
    municipality: '0680',
    placingMunicipality: null,
    care: 'somatic',
    admittedAt: new Date(ready - 72 * H).toISOString(),
    dischargedAt: new Date(ready + hours * H).toISOString(),
    admissionNoticeSent: true,
    estimatedDischargeDateSent: true,
    readyNoticeSent: true,
    sipRequired: false,
    sipInvitationSent: false,
    ...rest,
  };
}

/** Stays whose 24 h-block day counts are `days` (ready 08:00 on `date`, plus 1 h into the last block). */
export function staysWithDays(
  days: number[],
  date = '2022-03-01',
  over: Omit<Partial<StayInput>, 'readyAt'> = {},
): StayInput[] {
  return days.map((d) => stay({ readyAt: `${date}T08:00:00+01:00`, hours: d * 24 + 1, ...over }));
}
