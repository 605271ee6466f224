import { describe, expect, it } from 'vitest';
import { buildAdminAuditEvent, isPersonalView } from '../../src/admin/admin-audit';

describe('which admin views are audited', () => {
  it('every view of personal data below /admin is audited; pages without data and the session list are not', () => {
    for (const p of [
      '/api/hl7/messages',
      '/api/hl7/messages/42',
      '/api/resources/Patient/p1',
      '/api/deliveries',
      '/api/dead-letters',
      '/cases/enc-1',
      '/api/dashboard/stays',
      '/api/deadlines/due-soon',
      '/api/deviations',
    ])
      expect(isPersonalView(p), p).toBe(true);
    for (const p of [
      '/',
      '/hl7',
      '/api/sessions',
      '/api/subscriptions',
      '/api/dashboard',
      '/api/hl7/summary',
      '/login',
    ])
      expect(isPersonalView(p), p).toBe(false);
  });

  it('a case page is recorded as a read of its Encounter', () => {
    const e = buildAdminAuditEvent(
      { method: 'GET', path: '/cases/enc-1', query: {}, status: 200 },
      new Date('2026-03-01T00:00:00Z'),
      'https://svu-gateway.dev/fhir',
    );
    expect(e.entity?.[0]?.what?.reference).toBe('Encounter/enc-1');
    expect(e.subtype?.[0]?.code).toBe('read');
  });
});
