import { describe, it, expect } from 'vitest';
import { narrowScopes, parseScope } from '../../src/auth/scopes';
import { hashSecret, verifySecret } from '../../src/auth/secret-hash';

describe('SMART scope narrowing', () => {
  it.each([
    [['system/Task.rs'], ['system/Task.cruds'], ['system/Task.rs']],
    [['system/Task.cruds'], ['system/Task.rs'], ['system/Task.rs']],
    [['system/*.rs'], ['system/Task.cruds', 'system/Patient.r'], ['system/Task.rs', 'system/Patient.r']],
    [['system/Encounter.cu'], ['system/*.*'], ['system/Encounter.cu']],
    [['system/Task.read'], ['system/Task.cruds'], ['system/Task.rs']],
    [['system/*.*'], ['system/*.rs'], ['system/*.rs']],
    [['user/Task.rs'], ['system/Task.rs'], []],
    [['openid', 'launch', 'system/Task.xyz'], ['system/*.*'], []],
    [['system/Task.rs', 'system/*.rs'], ['system/*.rs'], ['system/*.rs']],
  ])('when %j is requested and %j allowed, then %j is granted', (req, allowed, granted) => {
    expect(narrowScopes(req, allowed)).toEqual(granted);
  });

  it('when a v2 scope has letters out of order, then it is not a scope', () => {
    expect(parseScope('system/Task.sr')).toBeUndefined();
    expect(parseScope('system/Task.rs')?.perms.size).toBe(2);
  });
});

describe('client secret hashing', () => {
  it('when the right secret is checked, then it verifies; a wrong one or a tampered hash does not', async () => {
    const h = await hashSecret('demo-ehr-secret');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifySecret('demo-ehr-secret', h)).toBe(true);
    expect(await verifySecret('demo-ehr-secreT', h)).toBe(false);
    expect(await verifySecret('demo-ehr-secret', 'plain')).toBe(false);
  });
});
