import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../src/agreements/load-agreements';
import { paymentModelSchema } from '../../../src/core/liability/payment-model';

describe('payment blocks of the agreements', () => {
  it('when the shipped agreements load, then each payment block parses with its expected model', async () => {
    const all = await loadAgreements();
    const models = Object.fromEntries(
      [...all].map(([id, a]) => [id, paymentModelSchema.parse(a.payment).model] as const),
    );
    expect(models).toMatchObject({
      lag: 'law',
      gavleborg: 'law',
      vastmanland: 'average-next-month',
      jonkoping: 'average-retroactive',
      stockholm: 'average-retroactive',
    });
  });

  it('when an extra agreement has a broken payment block, then loading fails naming file and path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agr-'));
    writeFileSync(
      path.join(dir, 'broken.json'),
      JSON.stringify({
        id: 'broken',
        extends: 'lag',
        name: 'Broken',
        region: { name: 'Test' },
        payment: { model: 'law', freeDays: -1 },
      }),
    );
    await expect(loadAgreements({ extraDir: dir })).rejects.toThrow(/broken\.json.*payment\.freeDays/s);
  });
});
