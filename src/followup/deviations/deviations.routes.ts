/**
 * `POST /fhir/Encounter/<id>/$report-deviation` (Parameters: responsible, kind, severity, description[, focus]):
 * a party of the stay reports that another party did not meet its duty (seed 001 §5.3). Answers 201 with a
 * Bundle of the `avvikelse` Tasks written (deviation-report.ts says who gets one). A caller that is not a party
 * of the stay gets 404, as for any stay it cannot see; the responsible party must be another party of the stay.
 * The responsible party answers on its own Task (note, status `completed`) through the ordinary Task update.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Task } from '@medplum/fhirtypes';
import { Router, type Request, type Response } from 'express';
import { authOf, requireScope, sendJson } from '../../fhir-api/http-util';
import type { Clock } from '../../platform/clock';
import { GatewayError } from '../../platform/errors';
import type { Db } from '../../store/db.port';
import { PgRepository } from '../../store/repository.pg';
import { deviationTasks, parseDeviationParameters } from './deviation-report';
import { loadStayParties } from './stay-parties.pg';
import { organisationNames } from '../../store/organisation-names.pg';

export function deviationRoutes(d: { db: Db; clock: Clock }): Router {
  const r = Router();
  r.post('/fhir/Encounter/:id/\\$report-deviation', async (req: Request, res: Response) => {
    const auth = authOf(res);
    // Any party that may update its own Tasks may report (municipalities have no Task create right).
    requireScope(auth, 'Task', 'u');
    const reporter = auth.access.organization;
    if (!reporter)
      throw new GatewayError(
        'forbidden',
        'a deviation is reported by a party of the stay (a client bound to an Organization)',
      );
    const input = parseDeviationParameters(req.body);
    const id = String(req.params.id);
    const stay = /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? await loadStayParties(d.db, id) : undefined;
    if (!stay || !stay.parties.has(reporter)) throw new GatewayError('not-found', `Encounter/${id} is not known`);
    if (input.responsible === reporter) {
      throw new GatewayError(
        'rule-violation',
        'responsible is the party whose duty was not met: another party than the reporter',
      );
    }
    if (!stay.parties.has(input.responsible)) {
      const name = (await organisationNames(d.db))(input.responsible);
      throw new GatewayError('rule-violation', `${name} is not a party of this stay`, [
        {
          path: "Parameters.parameter.where(name = 'responsible').valueReference",
          message: "the responsible party is the stay's hospital or an owner or requester of its Tasks",
        },
      ]);
    }
    if (input.focus) {
      const task = stay.tasks.get(input.focus.replace(/^Task\//, ''));
      if (!input.focus.startsWith('Task/') || !task) {
        throw new GatewayError('rule-violation', `focus ${input.focus} is not a Task of this stay`);
      }
    }
    const tasks = deviationTasks(input, {
      reportId: randomUUID(),
      reporter,
      encounter: `Encounter/${id}`,
      ...(stay.encounter.subject ? { patient: stay.encounter.subject } : {}),
      parties: stay.parties,
      name: (org) => stay.names.get(org) ?? org,
      now: d.clock.now(),
    });
    // One transaction: every copy (and its outbox row, so each owner's Subscription delivers it) or none. Each
    // copy is its owner's (as the engine's deviations are): only the owner may update it, not the reporter.
    const written = await d.db.transaction(async (tx) => {
      const repo = new PgRepository(tx, { system: true }, undefined, {}, { inTransaction: true });
      const out: Task[] = [];
      for (const t of tasks) {
        out.push(await repo.create<Task>(t, { author: auth.clientId, authorOrganization: t.owner?.reference }));
      }
      return out;
    });
    const bundle: Bundle<Task> = {
      resourceType: 'Bundle',
      type: 'collection',
      total: written.length,
      entry: written.map((t) => ({ fullUrl: `Task/${t.id}`, resource: t })),
    };
    sendJson(res, 201, bundle);
  });
  return r;
}
