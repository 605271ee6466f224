/**
 * HTTP for the SIP operations, mounted before the generic FHIR router (which answers every other /fhir path):
 * `POST /fhir/CarePlan/<id>/$sign`, `$approve`, `$meeting-held`, `$take-over` (Parameters in, the CarePlan out) and
 * `GET /fhir/CarePlan/<id>/$print` (the plan for the patient, as HTML that prints well, or PDF with `_format=pdf` or
 * `Accept: application/pdf`).
 */
import type { Express, Request } from 'express';
import type { CarePlan, Parameters } from '@medplum/fhirtypes';
import { authOf, requireScope, sendJson } from '../fhir-api/http-util';
import { GatewayError } from '../platform/errors';
import type { Db } from '../store/db.port';
import { hasTriage, triageCategory, type SipDeps } from './sip-hooks';
import { loadStayContext } from './stay-context';
import { approvePlan, meetingHeld, signPlan, type SignInput } from './sip-operations';
import { takeOverPlan } from './take-over';
import { planHtml, printedPlan } from './print-plan';
import { planPdf } from './print-pdf';
import { sendPageWithoutScripts } from '../http/page-policy';

/** `_format=pdf` (or `application/pdf`), or an Accept header that prefers PDF to HTML. */
function wantsPdf(req: Request): boolean {
  const f = typeof req.query._format === 'string' ? req.query._format : undefined;
  if (f !== undefined) return f === 'pdf' || f === 'application/pdf';
  return req.accepts(['text/html', 'application/pdf']) === 'application/pdf';
}

/** The string parameters of a Parameters body (none when the body is empty). */
function stringParams(req: Request): Record<string, string> {
  const body = req.body as Parameters | undefined;
  if (body === undefined || (typeof body === 'object' && Object.keys(body).length === 0)) return {};
  if (body.resourceType !== 'Parameters')
    throw new GatewayError('bad-request', 'The body is a Parameters resource (or empty)');
  const out: Record<string, string> = {};
  for (const p of body.parameter ?? []) {
    const v = p.valueString ?? p.valueDateTime ?? p.valueMarkdown;
    if (p.name && typeof v === 'string') out[p.name] = v;
  }
  return out;
}

const idOf = (req: Request): string => String(req.params.id);

export function mountSipRoutes(app: Express, db: Db, deps: SipDeps): void {
  // A SIP created by POST gets its colour triage before it is written, so the answer is the stored version (the
  // write hook adds it as a second version for the other ways in: transaction Bundles, PUT).
  app.post('/fhir/CarePlan', async (req, _res, next) => {
    const plan = req.body as CarePlan | undefined;
    if (plan?.resourceType !== 'CarePlan' || hasTriage(plan) || !plan.encounter?.reference) return next();
    const m = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/.exec(plan.encounter.reference);
    if (!m?.[1]) return next();
    const stayId = m[1];
    const category = await db
      .transaction((tx) => loadStayContext(tx, deps.repository(tx), deps.stay, stayId))
      .then(triageCategory, () => undefined);
    if (category) req.body = { ...plan, category: [...(plan.category ?? []), category] };
    next();
  });
  app.post('/fhir/CarePlan/:id/$sign', async (req, res) => {
    const auth = authOf(res);
    requireScope(auth, 'CarePlan', 'u');
    const p = stringParams(req);
    const input: SignInput = {};
    if (p.description !== undefined) input.description = p.description;
    if (p.contact !== undefined) input.contact = p.contact;
    const r = await signPlan(deps, db, auth, idOf(req), input);
    sendJson(res, 200, r.plan);
  });
  app.post('/fhir/CarePlan/:id/$approve', async (req, res) => {
    const auth = authOf(res);
    requireScope(auth, 'CarePlan', 'u');
    const r = await approvePlan(deps, db, auth, idOf(req));
    sendJson(res, 200, r.plan);
  });
  app.post('/fhir/CarePlan/:id/$meeting-held', async (req, res) => {
    const auth = authOf(res);
    requireScope(auth, 'CarePlan', 'u');
    const plan = await meetingHeld(deps, db, auth, idOf(req), stringParams(req).date);
    sendJson(res, 200, plan);
  });
  // The named care contact's unit after a re-routing takes the stay's plan over from the unit it left (ADR 045).
  app.post('/fhir/CarePlan/:id/$take-over', async (req, res) => {
    const auth = authOf(res);
    requireScope(auth, 'CarePlan', 'u');
    const plan = await takeOverPlan(deps, db, auth, idOf(req), stringParams(req).reason);
    sendJson(res, 200, plan);
  });
  app.get('/fhir/CarePlan/:id/$print', async (req, res) => {
    const auth = authOf(res);
    requireScope(auth, 'CarePlan', 'r');
    const plan = await printedPlan(db, auth, idOf(req), deps);
    if (wantsPdf(req)) {
      const pdf = await planPdf(plan);
      res
        .status(200)
        .type('application/pdf')
        .set('Content-Disposition', `inline; filename="sip-${idOf(req)}.pdf"`)
        .send(pdf);
      return;
    }
    sendPageWithoutScripts(res, planHtml(plan));
  });
}
