/**
 * The shared set-up of the SIP tests that re-route a stay to another vårdcentral (sip-rerouted-fvk, sip-take-over):
 * the full gateway on a manual clock with the demo region (whose `demo-vc-sala` is Sala vårdcentral), a party client
 * per demo client, the hospital's HL7 feed over `POST /hl7v2`, and the fixture's messages re-listed or made a second
 * stay of the same patient.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import request from 'supertest';
import { loadDemoRegion } from '../../src/demo/demo-region';
import { systemRepository } from '../../src/compose';
import { splitHl7Messages } from '../../src/intake/hl7v2/split-messages';
import { ManualClock } from '../../src/platform/clock';
import { waitFor } from '../delivery/helpers';
import { uniquePrefix } from '../support/redis';
import { openShell, type Shell } from '../http/shell-fixture';
import type { Encounter, Task } from '@medplum/fhirtypes';
import { ok, partyClient, SKULTUNA, type PartyClient } from './party-client';

export const VC_SALA = 'Organization/vc-sala';
export const SALA_HSA = 'SE2321000172-DEMO0102';
export const SKULTUNA_HSA = 'SE2321000172-DEMO0101';

/** The fixture's A08 (ready, all criteria) with the patient listed elsewhere, sent later. */
export function relisted(a08: string, hsa: string, control: string, time: string): string {
  return a08.replaceAll(SKULTUNA_HSA, hsa).replace('|VS-0002|', `|${control}|`).replaceAll('20260117091500', time);
}

/** A fixture message made one of the patient's second visit, VS-20260115-0002 (control ids VS-010n). */
export const secondVisit = (msg: string): string =>
  msg.replaceAll('VS-20260115-0001', 'VS-20260115-0002').replace(/\|VS-000(\d)\|/, '|VS-010$1|');

/** The fixture's messages (test/fixtures/hl7/vasteras-stay.hl7): A01, A08 ready with all criteria, A03. */
export const fixtureFeed = (): string[] =>
  splitHl7Messages(readFileSync('test/fixtures/hl7/vasteras-stay.hl7', 'utf8'));

export interface Rerouting {
  shell: Shell;
  clock: ManualClock;
  /** A party client per demo client, with a token taken at the clock's time (`at`). */
  c: Record<string, PartyClient>;
  /** Moves the clock, and each party takes a fresh token (a token lasts as long as the clock says). */
  at: (time: string) => Promise<void>;
  /** The hospital sends one HL7 message; it must be acknowledged AA. */
  hl7: (msg: string) => Promise<void>;
  /**
   * A second stay of the fixture's patient (visit VS-20260115-0002), admitted at 2026-01-20 09:00 while Skultuna is
   * its named care contact: returns its Encounter id once Skultuna's invitation duty for it is there.
   */
  secondStay: (firstStay: string) => Promise<string>;
  /**
   * The fixture's admission and its update sent: the stay's Encounter once Skultuna's (the named care contact's)
   * invitation duty for it is there.
   */
  firstStay: () => Promise<Encounter>;
}

/** Registers the gateway's start and stop in the enclosing `describe`, under Västmanland's agreement. */
export function rerouting(kind: 'pglite' | 'postgres', parties: string[]): Rerouting {
  const clock = new ManualClock('2026-01-15T10:00:00Z');
  const r: Rerouting = {
    shell: undefined as unknown as Shell,
    clock,
    c: {},
    async at(time) {
      clock.set(time);
      for (const id of parties) r.c[id] = await partyClient(r.shell.gateway.app, id);
    },
    async hl7(msg) {
      const res = await request(r.shell.gateway.app)
        .post('/hl7v2')
        .set('Content-Type', 'x-application/hl7-v2+er7')
        .auth(r.c['demo-ehr']!.token, { type: 'bearer' })
        .send(msg);
      expect(res.text).toContain('MSA|AA');
    },
    async firstStay() {
      const feed = fixtureFeed();
      await r.hl7(feed[0]!);
      await r.hl7(feed[1]!);
      let duty: Task | undefined;
      await waitFor(
        async () =>
          (duty = (await r.c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' })).find(
            (t) => t.owner?.reference === SKULTUNA,
          )) !== undefined,
        10_000,
        'the invitation duty',
      );
      const stay = duty?.encounter?.reference?.slice('Encounter/'.length) ?? '';
      return ok(await r.c['demo-vc-skultuna']!.get(`/fhir/Encounter/${stay}`)) as Encounter;
    },
    async secondStay(firstStay) {
      await r.at('2026-01-20T08:00:00Z');
      await r.hl7(secondVisit(fixtureFeed()[0]!).replaceAll('20260115103500', '20260120090000'));
      let second = '';
      await waitFor(
        async () => {
          const t = (await r.c['demo-vc-skultuna']!.tasks({ code: 'kallelse-sip' })).find(
            (x) => x.owner?.reference === SKULTUNA && x.encounter?.reference !== `Encounter/${firstStay}`,
          );
          second = t?.encounter?.reference?.slice('Encounter/'.length) ?? '';
          return second !== '';
        },
        10_000,
        'the second stay',
      );
      return second;
    },
  };
  beforeAll(async () => {
    r.shell = await openShell({
      kind,
      clock,
      full: true,
      env: { QUEUE_PREFIX: uniquePrefix(), AGREEMENT: 'vastmanland' },
    });
    await loadDemoRegion(r.shell.db, systemRepository);
    for (const cap of r.shell.gateway.capabilities) await cap.start?.(new Set(['api'] as const));
    await r.at('2026-01-15T10:00:00Z');
  });
  afterAll(async () => r.shell.close());
  return r;
}
