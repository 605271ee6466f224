import { describe, expect, it } from 'vitest';
import express, { Router, type RequestHandler } from 'express';
import request from 'supertest';
import { gateRootRouters, literalStart } from '../../src/http/route-gate';

/** A router whose every entry is counted (the gate must not enter it for a path it cannot match). */
function counted(router: Router, counter: { n: number }): Router {
  const entry: RequestHandler = (req, res, next) => {
    counter.n++;
    router(req, res, next);
  };
  return Object.assign(entry, { stack: router.stack }) as unknown as Router;
}

function appWithRouters() {
  const admin = Router();
  admin.get('/admin/api/clients/:id', (req, res) => void res.send(`client ${req.params.id}`));
  admin.use('/admin/x', (_req, res) => void res.send('admin middleware'));
  const nested = Router();
  nested.get('/admin/nested', (_req, res) => void res.send('nested'));
  admin.use(nested);
  const ops = Router();
  ops.post('/fhir/Encounter/:id/\\$report-deviation', (_req, res) => void res.send('deviation'));
  ops.get('/fhir/\\$followup-deviations', (_req, res) => void res.send('deviations'));
  const open = Router();
  open.use((_req, res, next) => {
    res.setHeader('x-open', 'seen');
    next();
  });
  const counts = { admin: { n: 0 }, ops: { n: 0 }, open: { n: 0 } };
  const app = express();
  app.use(counted(admin, counts.admin));
  app.use(counted(ops, counts.ops));
  app.use(counted(open, counts.open));
  app.use('/fhir', (_req, res) => void res.send('fhir'));
  app.use((_req, res) => void res.status(404).send('none'));
  return { app, counts, gated: gateRootRouters(app) };
}

describe('root-mounted routers entered only for their own paths', () => {
  it('literal starts stop at a parameter, a wildcard or a group; an escaped $ is literal', () => {
    expect(literalStart('/fhir/Encounter/:id/\\$report-deviation')).toBe('/fhir/Encounter/');
    expect(literalStart('/fhir/\\$followup-deviations')).toBe('/fhir/$followup-deviations');
    expect(literalStart('/files/*rest')).toBe('/files/');
    expect(literalStart('/a{/:b}')).toBe('/a');
    expect(literalStart('/admin')).toBe('/admin');
  });

  it('a request for another path skips the routers, and each route is reached as before', async () => {
    const { app, counts, gated } = appWithRouters();
    expect(gated).toBe(2); // `open` has middleware at its root: left ungated

    const fhir = await request(app).post('/fhir').send({});
    expect(fhir.text).toBe('fhir');
    expect(fhir.headers['x-open']).toBe('seen');
    expect(counts.admin.n).toBe(0);
    expect(counts.ops.n).toBe(0);
    expect(counts.open.n).toBe(1);

    expect((await request(app).get('/admin/api/clients/c1')).text).toBe('client c1');
    expect((await request(app).get('/ADMIN/API/Clients/c2')).text).toBe('client c2'); // routing ignores case
    expect((await request(app).get('/admin/api/clients/c3/')).text).toBe('client c3'); // and a trailing slash
    expect((await request(app).get('/admin/x/deeper')).text).toBe('admin middleware');
    expect((await request(app).get('/admin/nested')).text).toBe('nested');
    expect((await request(app).post('/fhir/Encounter/e1/$report-deviation')).text).toBe('deviation');
    expect((await request(app).get('/fhir/$followup-deviations')).text).toBe('deviations');
    expect(counts.ops.n).toBe(2);
    // Its literal start matches, the route does not: entered, then on to the next layer.
    expect((await request(app).get('/admin/api/clients')).status).toBe(404);
  });
});
