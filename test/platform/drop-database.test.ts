import { describe, expect, it } from 'vitest';
import { dropDatabase } from '../support/db';

// Test and bench databases are dropped with `dropDatabase`: a refusal by an autovacuum worker (42501 for WITH
// (FORCE)) must not leave the database behind and fail the run after its results.

const refusal = (code: string) => Object.assign(new Error(code), { code });

describe('dropDatabase', () => {
  it('when WITH (FORCE) is refused for an autovacuum worker (42501), then a plain DROP is tried, which ends it itself', async () => {
    const sent: string[] = [];
    await dropDatabase(
      {
        query: (sql: string) => {
          sent.push(sql);
          return sql.includes('FORCE') ? Promise.reject(refusal('42501')) : Promise.resolve();
        },
      },
      'svu_test_x',
    );
    expect(sent).toEqual(['DROP DATABASE IF EXISTS svu_test_x WITH (FORCE)', 'DROP DATABASE IF EXISTS svu_test_x']);
  });

  it('when a plain DROP is refused because a session of ours is still there (55006), then WITH (FORCE) comes back', async () => {
    const answers = [refusal('42501'), refusal('55006'), undefined];
    const sent: string[] = [];
    await dropDatabase(
      {
        query: (sql: string) => {
          sent.push(sql);
          const a = answers.shift();
          return a ? Promise.reject(a) : Promise.resolve();
        },
      },
      'svu_test_y',
    );
    expect(sent.map((s) => s.endsWith('WITH (FORCE)'))).toEqual([true, false, true]);
  });

  it('when the refusal is of another kind, then it is thrown at once', async () => {
    let calls = 0;
    await expect(
      dropDatabase(
        {
          query: () => {
            calls++;
            return Promise.reject(refusal('42P01'));
          },
        },
        'svu_test_z',
      ),
    ).rejects.toThrow('42P01');
    expect(calls).toBe(1);
  });
});
